"""Zero-shot topics: assign items to a user-supplied label list by embedding similarity."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from graphrec.errors import InputDataError
from ingest.topics.base import Membership, Topic, TopicSet

SOURCE = "zero-shot"


def read_taxonomy(path: Path) -> list[tuple[str, str]]:
    """Read a taxonomy file: one topic per line, ``label`` or ``label: description``; ``#`` comments.

    Returns:
        ``(label, text to embed)`` pairs (the description when given, else the label).

    Raises:
        InputDataError: Missing or empty file, or a repeated label (with its line).
    """
    if not path.is_file():
        raise InputDataError("taxonomy file not found", path=str(path))
    out: list[tuple[str, str]] = []
    seen: dict[str, int] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        label, _, description = line.partition(":")
        label = re.sub(r"\s+", " ", label).strip()
        if label.lower() in seen:
            raise InputDataError(
                f"label {label!r} repeats line {seen[label.lower()]}; keep one", path=str(path), line=number
            )
        seen[label.lower()] = number
        out.append((label, description.strip() or label))
    if not out:
        raise InputDataError("taxonomy has no labels; write one label per line", path=str(path))
    return out


def zero_shot_topics(
    scenarios: Sequence[str],
    ids: Sequence[str],
    x: np.ndarray,
    labels: Sequence[str],
    label_vectors: np.ndarray,
    *,
    threshold: float = 0.3,
    max_topics_per_item: int = 3,
) -> TopicSet:
    """Assign each item to the labels whose vector has cosine similarity ≥ ``threshold`` (at most
    ``max_topics_per_item``, most similar first); the weight is the similarity.

    Items with no label above the threshold get none (counted in ``meta['unassigned']``).
    """
    sims = x @ label_vectors.T
    order = np.argsort(-sims, axis=1)[:, :max_topics_per_item]
    memberships = []
    unassigned = 0
    for row in range(x.shape[0]):
        chosen = [int(t) for t in order[row] if sims[row, t] >= threshold]
        unassigned += not chosen
        memberships += [
            Membership(scenarios[row], ids[row], f"{SOURCE}:{labels[t]}", round(float(sims[row, t]), 4), SOURCE)
            for t in chosen
        ]
    sizes = {f"{SOURCE}:{lab}": 0 for lab in labels}
    for m in memberships:
        sizes[m.topic] += 1
    topics = [Topic(f"{SOURCE}:{lab}", lab, SOURCE, (lab,), sizes[f"{SOURCE}:{lab}"]) for lab in labels]
    return TopicSet(SOURCE, topics, memberships, meta={"threshold": threshold, "unassigned": unassigned})
