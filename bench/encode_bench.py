"""Encoding benchmark: graphrec's TextEncoder vs sentence-transformers, same model, same texts, one run.

    .venv/bin/python bench/encode_bench.py                 # Amazon-KG item texts (titles), 13,592 items
    .venv/bin/python bench/encode_bench.py --spec ingest/specs/ml-100k.toml

Both encoders run in this process with the same torch thread count and batch size, each after a
warm-up; the order alternates over --repeats rounds and the best round of each counts. The outputs
are compared (max absolute difference). A cached rerun of `graphrec embed` is timed too.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from common import REPO  # bench/common.py (beside this script): also puts the repository root on sys.path

from graphrec.features import item_text
from graphrec.results import run_metadata
from graphrec.text.encoder import TextEncoder, default_model_path
from ingest.prepare import prepare_dataset
from ingest.spec import load_spec
from ingest.summary import IngestSummary


def spec_texts(spec: Path, tmp: Path) -> list[str]:
    prepared = prepare_dataset(load_spec(spec), tmp / "rejects.tsv", IngestSummary(spec=str(spec)))
    texts = [item_text(i.title, i.text) for p in prepared.values() for i in p.items.values()]
    return [t for t in texts if t]


def cached_embed_seconds(spec: Path, tmp: Path) -> dict[str, Any]:
    home = tmp / "home"
    gr = [sys.executable, "-m", "graphrec", "--home", str(home), "--no-progress"]
    subprocess.run([*gr, "server", "start"], check=True, capture_output=True)
    try:
        subprocess.run([*gr, "ingest", str(spec)], check=True, capture_output=True)
        subprocess.run([*gr, "embed"], check=True, capture_output=True)
        t = time.perf_counter()
        out = subprocess.run([*gr, "embed"], check=True, capture_output=True, text=True).stdout
        seconds = time.perf_counter() - t
    finally:
        subprocess.run([*gr, "server", "stop"], capture_output=True)
    return {"seconds": round(seconds, 2), "output": out.strip().splitlines()[0]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--spec", type=Path, default=REPO / "ingest" / "specs" / "amazon-kg.toml")
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--skip-embed", action="store_true", help="skip the cached `graphrec embed` timing")
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "encode.json")
    args = ap.parse_args()

    import numpy as np
    import torch
    from sentence_transformers import SentenceTransformer

    torch.set_num_threads(args.threads)
    tmp = Path(tempfile.mkdtemp(prefix="graphrec-encode-bench-"))
    texts = spec_texts(args.spec, tmp)
    ours = TextEncoder(batch_size=args.batch_size, progress=False)
    st = SentenceTransformer(str(default_model_path()), device="cpu")
    ours.encode(texts[:256])
    st.encode(texts[:256], batch_size=args.batch_size)
    best = {"graphrec": float("inf"), "sentence_transformers": float("inf")}
    outputs: dict[str, Any] = {}
    for r in range(args.repeats):
        order = ["graphrec", "sentence_transformers"] if r % 2 == 0 else ["sentence_transformers", "graphrec"]
        for name in order:
            t = time.perf_counter()
            if name == "graphrec":
                outputs[name] = ours.encode(texts)
            else:
                outputs[name] = st.encode(texts, batch_size=args.batch_size, normalize_embeddings=True)
            best[name] = min(best[name], time.perf_counter() - t)
            print(f"round {r} {name}: {len(texts) / (time.perf_counter() - t):,.0f} texts/s", flush=True)
    rate = {k: len(texts) / v for k, v in best.items()}
    results: dict[str, Any] = {
        "benchmark": "encode",
        "spec": str(args.spec.relative_to(REPO)) if args.spec.is_relative_to(REPO) else str(args.spec),
        "texts": len(texts),
        "mean_chars": round(sum(map(len, texts)) / len(texts), 1),
        "batch_size": args.batch_size,
        "torch_threads": args.threads,
        "texts_per_second": {k: round(v, 1) for k, v in rate.items()},
        "ratio_graphrec_over_sentence_transformers": round(rate["graphrec"] / rate["sentence_transformers"], 3),
        "max_abs_difference": float(np.abs(outputs["graphrec"] - outputs["sentence_transformers"]).max()),
        "metadata": run_metadata(cpus=os.cpu_count(), machine=platform.machine()),
    }
    if not args.skip_embed:
        results["cached_graphrec_embed"] = cached_embed_seconds(args.spec, tmp)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps({k: v for k, v in results.items() if k != "metadata"}, indent=2))


if __name__ == "__main__":
    main()
