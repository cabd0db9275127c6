"""Topic quality: discovered topics vs genres on MovieLens-100K (titles only), and cross-scenario topics on
Amazon-KG.

    .venv/bin/python bench/topics_bench.py

ML-100K: items are encoded from their titles alone (genres are the answer, not the input); NMI between
the discovered topic of each movie and (a) its first listed genre, (b) its full genre combination,
next to a random assignment with the same topic sizes (and adjusted MI for (a), which is 0 for chance);
seeds 0, 1, 2; k = 19 (the number of genres) and k = default (sqrt(n/2)). Amazon-KG Movies_and_TV + Books:
share of discovered topics holding both movies and books, and the most balanced bridging topics with their
labels.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path
from typing import Any

from common import REPO  # bench/common.py (beside this script): also puts the repository root on sys.path

from graphrec.features import item_text
from graphrec.results import run_metadata
from graphrec.text.cache import EmbeddingCache, encode_cached
from graphrec.text.encoder import TextEncoder
from ingest.mapping import read_file
from ingest.prepare import prepare_dataset
from ingest.records import RawRow
from ingest.spec import FileOptions, load_spec
from ingest.summary import IngestSummary
from ingest.topics.base import scenario_balance
from ingest.topics.discovered import default_n_topics, discover_topics

SEEDS = (0, 1, 2)


def movielens(encoder: TextEncoder, cache: EmbeddingCache, data: Path) -> dict[str, Any]:
    import numpy as np
    from sklearn.metrics import adjusted_mutual_info_score as ami
    from sklearn.metrics import normalized_mutual_info_score as nmi

    rows = [
        r
        for r in read_file(FileOptions(data / "ml-100k" / "ml-100k.item", "recbole"), "items")
        if isinstance(r, RawRow)
    ]
    titles = [r.values["movie_title"] for r in rows]
    genres = [r.values["class"].split() for r in rows]
    first = [g[0] if g else "none" for g in genres]
    combo = [" ".join(sorted(g)) for g in genres]
    x = encode_cached(encoder, titles, cache).vectors
    ids = [r.values["item_id"] for r in rows]
    out: dict[str, Any] = {"items": len(rows), "genres": len({g for gs in genres for g in gs}), "runs": []}
    for k in (19, default_n_topics(len(rows))):
        for seed in SEEDS:
            ts = discover_topics(["movies"] * len(ids), ids, x, titles, n_topics=k, seed=seed)
            labels = np.array(ts.meta["hard_labels"])
            rng = np.random.default_rng(seed)
            shuffled = rng.permutation(labels)
            out["runs"].append({
                "k": k, "seed": seed,
                "nmi_first_genre": round(nmi(first, labels), 4),
                "nmi_genre_set": round(nmi(combo, labels), 4),
                "random_nmi_first_genre": round(nmi(first, shuffled), 4),
                "random_nmi_genre_set": round(nmi(combo, shuffled), 4),
                "ami_first_genre": round(ami(first, labels), 4),
                "random_ami_first_genre": round(ami(first, shuffled), 4),
            })  # fmt: skip
    return out


def amazon(encoder: TextEncoder, cache: EmbeddingCache, tmp: Path) -> dict[str, Any]:
    spec = REPO / "ingest" / "specs" / "amazon-kg.toml"
    prepared = prepare_dataset(load_spec(spec), tmp / "rejects.tsv", IngestSummary(spec=str(spec)))
    items = [(i.scenario, i.id, item_text(i.title, i.text)) for p in prepared.values() for i in p.items.values()]
    items = [t for t in items if t[2]]
    x = encode_cached(encoder, [t for _, _, t in items], cache).vectors
    out: dict[str, Any] = {"items": len(items), "runs": []}
    for seed in SEEDS:
        ts = discover_topics([s for s, _, _ in items], [i for _, i, _ in items], x, [t for _, _, t in items], seed=seed)
        counts: dict[str, dict[str, int]] = {t.id: {"movies": 0, "books": 0} for t in ts.topics}
        for (scenario, _, _), label in zip(items, ts.meta["hard_labels"]):
            counts[f"discovered:{label}"][scenario] += 1
        labels = {t.id: t.label for t in ts.topics}
        both = [tid for tid, c in counts.items() if c["movies"] and c["books"]]
        balanced = [tid for tid, c in counts.items() if min(c.values()) >= 0.2 * sum(c.values())]
        bridges = sorted(
            counts, key=lambda tid: -scenario_balance(counts[tid], 2) * min(sum(counts[tid].values()), 100)
        )[:10]
        out["runs"].append({
            "seed": seed, "topics": len(ts.topics),
            "share_with_both_scenarios": round(len(both) / len(ts.topics), 3),
            "share_with_minority_at_least_20pct": round(len(balanced) / len(ts.topics), 3),
            "bridging_examples": [{"label": labels[t], **counts[t], "balance": scenario_balance(counts[t], 2)}
                                  for t in bridges],
        })  # fmt: skip
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "topics.json")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="graphrec-topics-bench-"))
    encoder = TextEncoder(progress=False)
    with EmbeddingCache(tmp / "cache.sqlite") as cache:
        results = {
            "benchmark": "topics",
            "movielens_100k_titles": movielens(encoder, cache, args.data / "movielens"),
            "amazon_kg": amazon(encoder, cache, tmp),
            "metadata": run_metadata(),
        }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    for run in results["movielens_100k_titles"]["runs"]:
        print("ml-100k", run)
    for run in results["amazon_kg"]["runs"]:
        print("amazon-kg", {k: v for k, v in run.items() if k != "bridging_examples"})
        for b in run["bridging_examples"][:5]:
            print("   ", b)


if __name__ == "__main__":
    main()
