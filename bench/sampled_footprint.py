"""How much of the graph one mini-batch touches, as the graph grows (issue 15: why a mini-batch epoch
grows faster than linearly at these sizes).

    .venv/bin/python bench/sampled_footprint.py --sizes 100k 1M 10M      # bench/results/sampled_footprint.json

For each synthetic scale set (``bench/.work/scale/<size>``, made by ``bench/scale_data.py``), the
user–item graph of every interaction (both directions, as graphrec's message graph has them; no topics)
is sampled the way :func:`graphrec.train.minibatch.scenario_loaders` samples it: PyG's
``LinkNeighborLoader`` over one scenario's pairs, ``--batch-size`` pairs with one triplet negative each,
``--num-neighbors`` per hop. Reported per size: nodes and edges of the graph, and the mean nodes and edges
of the sampled subgraphs over ``--batches`` batches — the work of one step. An epoch is (pairs / batch
size) steps, so while a batch's subgraph is a fixed share of the graph the epoch costs pairs × graph
size; it turns linear once the subgraph stops growing with the graph (at most batch × 3 seeds ×
(1 + f₁ + f₁f₂ + …) nodes). Counts only, no timings.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from common import REPO  # bench/common.py (beside this script): also puts the repository root on sys.path

from graphrec.results import run_metadata

WORK = REPO / "bench" / ".work" / "scale"
RESULTS = REPO / "bench" / "results" / "sampled_footprint.json"


def read_pairs(folder: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, int, int]:
    """``(users, items, scenario of each pair, number of users, number of items)`` of a scale set."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv

    user_parts, item_parts, scenario_parts = [], [], []
    for s, path in enumerate(sorted(folder.glob("*_interactions.tsv"))):
        table = pacsv.read_csv(
            path,
            parse_options=pacsv.ParseOptions(delimiter="\t"),
            convert_options=pacsv.ConvertOptions(include_columns=["user_id", "item_id"],
                                                 column_types={"user_id": pa.string(), "item_id": pa.string()}),
        )  # fmt: skip
        user_parts.append(table["user_id"])
        item_parts.append(
            pc.binary_join_element_wise(path.name.removesuffix("_interactions.tsv"), table["item_id"], ":")
        )
        scenario_parts.append(np.full(table.num_rows, s))
    users = pa.chunked_array([c for part in user_parts for c in part.chunks]).dictionary_encode().combine_chunks()
    items = pa.chunked_array([c for part in item_parts for c in part.chunks]).dictionary_encode().combine_chunks()
    return (users.indices.to_numpy().astype(np.int64), items.indices.to_numpy().astype(np.int64),
            np.concatenate(scenario_parts), len(users.dictionary), len(items.dictionary))  # fmt: skip


def footprint(size: str, num_neighbors: list[int], batch_size: int, batches: int) -> dict[str, float]:
    import torch

    from graphrec.data.pyg import HeteroData, LinkNeighborLoader, NegativeSampling

    u, i, s, n_users, n_items = read_pairs(WORK / size)
    data = HeteroData()
    data["user"].num_nodes = n_users
    data["item"].num_nodes = n_items
    edge = torch.from_numpy(np.stack([u, i]))
    data["user", "interacts", "item"].edge_index = edge
    data["item", "rev_interacts", "user"].edge_index = edge.flip(0)
    first = s == 0
    pairs = torch.from_numpy(np.stack([u[first], i[first]]))
    in_scenario = np.zeros(n_items, dtype=np.float32)
    in_scenario[np.unique(i[first])] = 1.0
    loader = LinkNeighborLoader(
        data,
        num_neighbors=num_neighbors,
        edge_label_index=(("user", "interacts", "item"), pairs),
        neg_sampling=NegativeSampling("triplet", dst_weight=torch.from_numpy(in_scenario)),
        batch_size=batch_size,
        shuffle=True,
    )
    nodes, edges = [], []
    torch.manual_seed(0)
    for b, batch in enumerate(loader):
        if b == batches:
            break
        nodes.append(batch["user"].num_nodes + batch["item"].num_nodes)
        edges.append(sum(int(batch[t].edge_index.shape[1]) for t in batch.edge_types))
    n_nodes, n_edges = n_users + n_items, 2 * len(u)
    return {"size": size, "interactions": len(u), "nodes": n_nodes, "message_edges": n_edges,
            "batch_nodes": float(np.mean(nodes)), "batch_edges": float(np.mean(edges)),
            "node_share": float(np.mean(nodes)) / n_nodes, "edge_share": float(np.mean(edges)) / n_edges,
            "steps_per_epoch_of_all_pairs": -(-len(u) // batch_size)}  # fmt: skip


def main(argv: list[str]) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", nargs="+", default=["100k", "1M", "10M"])
    p.add_argument("--num-neighbors", default="10,10,10")
    p.add_argument("--batch-size", type=int, default=2048)
    p.add_argument("--batches", type=int, default=5)
    args = p.parse_args(argv)
    fanout = [int(x) for x in args.num_neighbors.split(",")]
    rows = []
    for size in args.sizes:
        row = {**footprint(size, fanout, args.batch_size, args.batches), "num_neighbors": args.num_neighbors}
        rows.append(row)
        print(f"{size}: graph {row['nodes']:,} nodes / {row['message_edges']:,} edges; one batch "
              f"{row['batch_nodes']:,.0f} nodes ({row['node_share']:.0%}) / {row['batch_edges']:,.0f} edges "
              f"({row['edge_share']:.0%})", flush=True)  # fmt: skip
    RESULTS.write_text(json.dumps({"meta": run_metadata(), "config": vars(args), "rows": rows}, indent=1))


if __name__ == "__main__":
    main(sys.argv[1:])
