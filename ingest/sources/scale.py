"""Write the SYNTHETIC scale dataset as files ``graphrec ingest`` reads (the model: :mod:`ingest.sources.scale_model`).

Per scenario an interactions TSV (``user_id``, ``item_id``, ``rating``, ``timestamp``) and an items TSV
(``item_id``, ``title``, ``topic``, ``description``; ``topic`` is the item's latent topic, declared as its
categories; texts from :mod:`ingest.sources.scale_text`), a dataset spec ``scale.toml`` and ``manifest.json``
with the parameters and the counts an ingest must find. Exactly ``interactions`` rows, no repeated
(user, item) pair in a scenario, every item of an interaction in the scenario's items file, every user with
at least one interaction. Rows are written block by block as they are drawn (bounded memory); the same
configuration writes byte-identical files (given the same NumPy). Nothing here is real data.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np

from graphrec.errors import ConfigError
from ingest.sources.scale_model import (
    TEXTS,
    ScaleConfig,
    Sizes,
    block_interactions,
    catalogues,
    scenario_counts,
    sizes_of,
    stream,
    user_degrees,
)
from ingest.sources.scale_text import SCENARIOS, item_texts, topic_names

__all__ = ["ScaleConfig", "ScaleFiles", "generate_scale", "parse_count", "size_label"]

WRITE_ROWS = 200_000  # rows formatted into one string before writing
ITEM_BLOCK = 65_536  # items whose texts are drawn together (part of the output's definition, as USER_BLOCK)
VERSION = 1  # of the model and the files: raise it whenever the same configuration would write other bytes
SPEC_FILE, MANIFEST_FILE = "scale.toml", "manifest.json"


@dataclass(frozen=True)
class ScaleFiles:
    """What :func:`generate_scale` wrote.

    Attributes:
        directory: The folder holding everything.
        spec: The dataset spec to pass to ``graphrec ingest``.
        manifest: The JSON manifest (parameters and counts).
        counts: The manifest's ``counts``: ``interactions``, ``users``, ``overlap_users``, ``items`` and
            per scenario (``scenarios[name]``) ``interactions``, ``users``, ``items``,
            ``items_with_interactions``.
    """

    directory: Path
    spec: Path
    manifest: Path
    counts: dict[str, Any]


def parse_count(text: str) -> int:
    """A count written as ``100000``, ``100k``, ``1M``, ``2.5M`` or ``1_000_000``.

    Raises:
        ConfigError: Not a positive whole number.
    """
    raw = text.strip().replace("_", "")
    scale = {"k": 10**3, "m": 10**6, "g": 10**9}.get(raw[-1:].lower(), 1)
    number = raw[:-1] if scale > 1 else raw
    try:
        value = float(number) * scale
    except ValueError as e:
        raise ConfigError(f"{text!r} is not a count; write e.g. 100000, 100k, 1M or 10M") from e
    if not math.isfinite(value) or value < 1 or value != int(value):
        raise ConfigError(f"{text!r} is not a positive whole number of interactions; write e.g. 100k, 1M or 10M")
    return int(value)


def size_label(count: int) -> str:
    """``100k``, ``1M``, ``10M``, ``2500``: a folder name for a dataset of ``count`` interactions."""
    for unit, scale in (("M", 10**6), ("k", 10**3)):
        if count >= scale and count % scale == 0:
            return f"{count // scale}{unit}"
    return str(count)


def generate_scale(
    directory: Path, config: ScaleConfig, *, progress: Callable[[int, int], None] | None = None
) -> ScaleFiles:
    """Write the dataset of ``config`` into ``directory``: TSV files, ``scale.toml`` and ``manifest.json``.

    Files are written as ``*.part`` and renamed when complete; the manifest comes last (a folder with a
    manifest holds a complete dataset). Existing files of the same names are replaced.

    Args:
        directory: The output folder (created).
        config: What to generate.
        progress: Called with ``(interactions written, interactions in all)`` after each block of users.

    Raises:
        ConfigError: ``config`` is out of range (the message names the parameter and the fix).
    """
    sizes = sizes_of(config)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / MANIFEST_FILE).unlink(missing_ok=True)
    degrees = user_degrees(config, sizes)
    counts = scenario_counts(config, sizes, degrees)
    scenarios = SCENARIOS[: config.scenarios]
    cats = catalogues(config, sizes)
    names = topic_names(config.topics)
    for s, (name, prefix, kinds) in enumerate(scenarios):
        with _part(directory / f"{name}_items.tsv") as fh:
            fh.write("item_id\ttitle\ttopic\tdescription\n")
            for block, start in enumerate(range(0, sizes.items[s], ITEM_BLOCK)):
                topics = cats[s].topics[start : start + ITEM_BLOCK]
                texts = item_texts(stream(config, TEXTS, s, block), topics, config.topics, kinds)
                fh.write(
                    "".join(
                        f"{prefix}{i}\t{title}\t{names[t]}\t{text}\n"
                        for i, t, (title, text) in zip(range(start, start + len(topics)), topics.tolist(), texts)
                    )
                )
    item_degrees = [np.zeros(n, dtype=np.int64) for n in sizes.items]
    handles = [_part(directory / f"{name}_interactions.tsv") for name, _, _ in scenarios]
    written = 0
    try:
        for fh in handles:
            fh.write("user_id\titem_id\trating\ttimestamp\n")
        for s, user, item, rating, stamp in block_interactions(config, sizes, counts, cats):
            _write_interactions(handles[s], scenarios[s][1], user, item, rating, stamp)
            item_degrees[s] += np.bincount(item, minlength=sizes.items[s])
            written += len(user)
            if progress is not None and s == config.scenarios - 1:
                progress(written, config.interactions)
    finally:
        for fh in handles:
            fh.close()
    if written != config.interactions:  # the model's own invariant (user_degrees sums to it exactly)
        raise RuntimeError(f"wrote {written} interactions, not the {config.interactions} asked for")
    for name, _, _ in scenarios:
        for kind in ("items", "interactions"):
            os.replace(_part_path(directory / f"{name}_{kind}.tsv"), directory / f"{name}_{kind}.tsv")
    spec = directory / SPEC_FILE
    spec.write_text(_spec_text(config, scenarios), encoding="utf-8")
    summary = _counts(config, sizes, degrees, counts, item_degrees)
    manifest = directory / MANIFEST_FILE
    document = {
        "generator": __name__,
        "version": VERSION,
        "synthetic": True,
        "config": asdict(config),
        "spec": SPEC_FILE,
        "files": {name: [f"{name}_interactions.tsv", f"{name}_items.tsv"] for name, _, _ in scenarios},
        "counts": summary,
    }
    manifest.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    return ScaleFiles(directory=directory, spec=spec, manifest=manifest, counts=summary)


def _part_path(path: Path) -> Path:
    return path.with_name(path.name + ".part")


def _part(path: Path) -> IO[str]:
    return open(_part_path(path), "w", encoding="utf-8", newline="\n")  # closed by the caller


def _write_interactions(
    fh: IO[str], prefix: str, user: np.ndarray, item: np.ndarray, rating: np.ndarray, stamp: np.ndarray
) -> None:
    for a in range(0, len(user), WRITE_ROWS):
        rows = zip(*(x[a : a + WRITE_ROWS].tolist() for x in (user, item, rating, stamp)))
        fh.write("".join(f"u{u}\t{prefix}{i}\t{r}\t{t}\n" for u, i, r, t in rows))


def _spec_text(config: ScaleConfig, scenarios: tuple[tuple[str, str, tuple[str, ...]], ...]) -> str:
    lines = [
        f"# SYNTHETIC scale dataset written by {__name__} (not real data): {config.interactions} interactions, "
        f"{config.scenarios} scenarios, overlap {config.overlap}, seed {config.seed}\n"
    ]
    for name, _, _ in scenarios:
        lines.append(
            f'\n[[scenario]]\nname = "{name}"\n'
            f'interactions = {{ path = "{name}_interactions.tsv", format = "tsv", user = "user_id", item = "item_id", '
            'rating = "rating", timestamp = "timestamp" }\n'
            f'items = {{ path = "{name}_items.tsv", format = "tsv", id = "item_id", title = "title", '
            'text = ["description"], categories = "topic" }\n'
        )
    return "".join(lines)


def _stats(values: np.ndarray) -> dict[str, float]:
    return {
        "min": int(values.min()),
        "median": float(np.median(values)),
        "p99": round(float(np.percentile(values, 99)), 2),
        "max": int(values.max()),
    }


def _counts(
    config: ScaleConfig, sizes: Sizes, degrees: np.ndarray, counts: np.ndarray, item_degrees: list[np.ndarray]
) -> dict[str, Any]:
    active = counts > 0
    per = {
        name: {
            "interactions": int(counts[:, s].sum()),
            "users": int(active[:, s].sum()),
            "items": sizes.items[s],
            "items_with_interactions": int((item_degrees[s] > 0).sum()),
        }
        for s, (name, _, _) in enumerate(SCENARIOS[: config.scenarios])
    }
    return {
        "interactions": int(counts.sum()),
        "users": sizes.users,
        "overlap_users": int((active.sum(axis=1) >= 2).sum()),
        "items": sum(sizes.items),
        "scenarios": per,
        "user_degree": _stats(degrees),
        "item_degree": _stats(np.concatenate(item_degrees)),
    }
