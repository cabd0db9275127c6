"""What the commands print: tables and one-line reports built from the API's results (no work here)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from graphrec.output import print_table

if TYPE_CHECKING:  # pragma: no cover
    from graphrec.api import Run
    from graphrec.serve.explain import Explanation
    from graphrec.stats import GraphStats

METRIC_KEYS = ["slice", "users", "recall@10", "ndcg@10", "recall@20", "ndcg@20", "hr@20", "mrr@20"]


def print_stats(stats: GraphStats) -> None:
    """Node, relationship and per-scenario counts."""
    print_table(["label", "count"], [{"label": k, "count": v} for k, v in stats.nodes.items()], title="Nodes")
    print_table(
        ["type", "count"], [{"type": k, "count": v} for k, v in stats.relationships.items()], title="Relationships"
    )
    if stats.scenarios:
        keys = ["scenario", "items", "items_with_interactions", "users", "interactions"]
        print_table(keys, stats.scenarios, title="Scenarios")


def print_metrics(metrics: dict[str, dict[str, float]], *, title: str) -> None:
    """One row per user slice."""
    rows = [
        {"slice": name, **{k: (f"{v:.4f}" if k != "users" else int(v)) for k, v in m.items() if k in METRIC_KEYS}}
        for name, m in metrics.items()
    ]
    print_table(METRIC_KEYS, rows, title=title)


def print_write_back(report: Any) -> None:
    """The write-back's counts and notes."""
    click.echo(
        f"write-back ({report.run}): embeddings {report.embeddings}; RECOMMENDED {report.recommended} "
        f"(replaced {report.replaced_recommended}); INTERESTED_IN {report.interested_in} "
        f"(replaced {report.replaced_interested_in}); vector indexes: {', '.join(report.vector_indexes) or 'none'}"
    )
    for note in report.notes:
        click.secho(f"note: {note}", fg="yellow")


def selection_lines(run: Run) -> list[str]:
    """What training chose on validation: the cold path, the text and EASE blocks, a refit."""
    from graphrec.data.splits import SIMULATED_COLD

    result = run.fitted.result if run.fitted is not None else None
    if result is None:
        return []
    config, lines = result.config, []
    cold_path = config.get("cold_path", {})
    if cold_path.get("selected_on") == SIMULATED_COLD:
        lines.append(
            f"cold path selected on {cold_path['record']['users']} simulated-cold users: knowledge channel "
            f"{cold_path['selection']['best_epoch'] + 1} epochs at lr {cold_path['selection']['lr']:g}, "
            f"cold users' popularity prior {cold_path['prior']:g} "
            f"(simulated-cold recall@20 {cold_path['val_recall@20']:.4f})"
        )
    text = config.get("item_gate", {}).get("text")
    if text:
        lines.append(
            f"text block {text['text']:g} for items with item gate count {text['gate_count']:g}"
            + (f" (validation recall@20 {text['val_recall@20']:.4f})" if "val_recall@20" in text else "")
        )
    ease = config.get("item_gate", {}).get("ease")
    if ease:
        lines.append(
            f"EASE block {ease['ease']:g} for warm users (ridge {ease['params']['l2']:g}"
            + (f"; validation recall@20 {ease['val_recall@20']:.4f})" if "val_recall@20" in ease else ")")
        )
    refit = config.get("refit")
    if refit:
        validation = refit["validation"]
        epochs_by = ", ".join(f"{name or 'model'} {n}" for name, n in refit["choices"]["epochs"].items())
        lines.append(
            f"selected on {validation['pairs']} validation pairs"
            + (" carved from training" if validation.get("carved_from") else "")
            + f", then trained again on all {run.record.train.shape[1]} training interactions"
            + (f" (epochs: {epochs_by})" if epochs_by else "")
        )
    return lines


def describe_topics(report: Any) -> str:
    """One line on what ``ingest.api.extract_topics`` wrote (an :class:`ingest.api.TopicReport`)."""
    m, method = report.meta, report.method
    line = f"{method}: {report.topics} topics, {report.memberships} HAS_TOPIC edges "
    if method == "llm":
        return line + (
            f"(replaced {report.replaced}); {m['requests']} requests ({m['retries']} retries), "
            f"{m['cache_hits']} cached answers, {m['failed_items']} items failed, {m['dropped_topics']} topics named "
            f"for fewer than {m['min_items']} items dropped"
        )
    if method == "metadata":
        return line + (
            f"(replaced {report.replaced}); {m['dropped_topics']} categories with fewer than {m['min_items']} items "
            f"dropped, {m['items_without_kept_topic']} items with categories but none kept"
        )
    return (
        line + f"(replaced {report.replaced} earlier {method} topics); {m.get('items_without_text', 0)} items without "
        "text skipped"
        + (f"; {m['unassigned']} items matched no label" if "unassigned" in m else "")
        + ("; item features embedded on demand (no `graphrec embed` run before)" if report.embedded else "")
    )


def print_recommendations(recs: Any, titles: dict[str, str | None], *, run: str) -> None:
    """The top-K table of :meth:`graphrec.api.Run.recommend`, with each item's title."""
    rows = [{"user_id": r.user_id, "item_id": r.item_id, "title": titles.get(r.item_id) or "", "rank": r.rank,
             "score": f"{r.score:.4f}"} for r in recs.rows]  # fmt: skip
    print_table(["user_id", "item_id", "title", "rank", "score"], rows, title=f"recommendations ({run})")


def print_explanation(ex: Explanation) -> None:
    """The recommendation's rank and score, its topic paths and its shared-user paths ("none found" when empty)."""
    rec = ex.recommendation
    click.secho(f"user {ex.user} → {ex.scenario} item {ex.item} ({ex.title or 'untitled'})", bold=True)
    if rec:
        click.echo(f"recommended at rank {rec['rank']} with score {rec['score']:.4f} (run {rec['run']})")
    else:
        click.echo("not among the user's written-back recommendations (RECOMMENDED); the paths below still apply")
    paths = [
        {**p, "examples": "; ".join(p["examples"] or []), "support": f"{p['support']:.2f}",
         "affinity": None if p["affinity"] is None else f"{p['affinity']:.3f}"}
        for p in ex.topic_paths
    ]  # fmt: skip
    title = "topic paths: user → item → topic ← recommended item"
    if paths:
        print_table(["label", "source", "via_items", "examples", "support", "affinity"], paths, title=title)
    else:
        click.echo(f"{title}: none found (no topic links the user's items to this item)")
    title = "shared-user paths: user → item ← other users → recommended item"
    if ex.shared_users:
        print_table(["scenario", "item", "title", "shared_users"], ex.shared_users, title=title)
    else:
        click.echo(f"{title}: none found (no other user has both one of the user's items and this item)")
