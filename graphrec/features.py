"""Node features from the text encoder, kept in a feature file keyed by node id.

Item features live in ``<home>/features/item_features.npz`` (arrays ``scenario``, ``id``, ``x``
float32 ``[n, dim]``, ``has_text`` bool, and ``meta`` JSON with the model path and identity). The
training stage joins them to ``HeteroData`` by ``(scenario, id)``; a file whose model identity
differs from the encoder in use is stale and must be recomputed with ``graphrec embed``.

User features are not stored: :func:`user_features` derives them from the training split's
interactions at training time, so they can never contain held-out interactions.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from graphrec.errors import GraphRecError
from graphrec.home import replace_private
from graphrec.store import cypher
from graphrec.text.cache import EmbeddingCache, encode_cached

if TYPE_CHECKING:  # pragma: no cover
    from graphrec.store.bolt import GraphStore
    from graphrec.text.cache import EncodeResult
    from graphrec.text.encoder import TextEncoder


def item_text(title: str | None, text: str | None) -> str:
    """The text encoded for an item: ``"<title>. <text>"``, either part alone, or ``""`` if both are empty."""
    parts = [p.strip() for p in (title, text) if p and p.strip()]
    return ". ".join(parts)


@dataclass(frozen=True)
class ItemFeatures:
    """Encoder features of items.

    Attributes:
        scenario: Scenario of each row.
        ids: Raw item id of each row.
        x: float32 ``[n, dim]``, L2-normalised; zero rows where the item has no text.
        has_text: Whether each item had any title or text.
        meta: Model path and identity, counts and timing.
    """

    scenario: list[str]
    ids: list[str]
    x: np.ndarray
    has_text: np.ndarray
    meta: dict[str, Any] = field(default_factory=dict)

    def row_of(self, *, with_text_only: bool = False) -> dict[tuple[str, str], int]:
        """``{(scenario, id): row}``; with ``with_text_only`` only items that had text."""
        return {key: k for k, key in enumerate(zip(self.scenario, self.ids)) if not with_text_only or self.has_text[k]}

    def save(self, path: Path) -> None:
        """Write the ``.npz`` feature file (atomically)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        arrays: dict[str, Any] = {  # (Any: numpy's savez stub would match a dict of arrays to allow_pickle)
            "scenario": np.array(self.scenario, dtype=object).astype(str),
            "id": np.array(self.ids, dtype=object).astype(str),
            "x": self.x,
            "has_text": self.has_text,
            "meta": np.array(json.dumps(self.meta)),
        }
        replace_private(path, lambda f: np.savez(f, **arrays))

    @classmethod
    def load(cls, path: Path) -> ItemFeatures:
        """Read a feature file written by :meth:`save`.

        Raises:
            GraphRecError: Missing file (with the command that creates it).
        """
        if not path.exists():
            raise GraphRecError(f"no item features at {path}; run `graphrec embed` first")
        with np.load(path, allow_pickle=False) as data:
            return cls(
                scenario=data["scenario"].tolist(),
                ids=data["id"].tolist(),
                x=data["x"],
                has_text=data["has_text"],
                meta=json.loads(str(data["meta"])),
            )


def user_features(
    users: Sequence[str],
    train_interactions: Iterable[tuple[str, str, str]],
    items: ItemFeatures,
) -> tuple[np.ndarray, np.ndarray]:
    """User features as the mean vector of the items each user interacted with **in training**.

    Only ``train_interactions`` are read, so held-out interactions cannot leak into user features
    (tests/unit/test_user_features.py changes the held-out set and checks nothing moves).

    Args:
        users: User ids, one row each in the result.
        train_interactions: ``(user, scenario, item)`` triples of the training split only.
        items: Item features.

    Returns:
        ``(x, has_history)``: float32 ``[len(users), dim]`` L2-normalised means (zero rows for users
        without training interactions with text), and a bool mask of users that have one.
    """
    row_of_user = {u: k for k, u in enumerate(users)}
    row_of_item = items.row_of(with_text_only=True)
    sums = np.zeros((len(users), items.x.shape[1]), dtype=np.float64)
    counts = np.zeros(len(users), dtype=np.int64)
    for user, scenario, item in train_interactions:
        u, k = row_of_user.get(user), row_of_item.get((scenario, item))
        if u is None or k is None:
            continue
        sums[u] += items.x[k]
        counts[u] += 1
    norms = np.linalg.norm(sums, axis=1, keepdims=True)
    x = np.divide(sums, norms, out=np.zeros_like(sums), where=norms > 0).astype(np.float32)
    return x, counts > 0


def embed_items(
    store: GraphStore,
    encoder: TextEncoder,
    cache: EmbeddingCache,
    *,
    scenarios: list[str] | None = None,
) -> tuple[ItemFeatures, EncodeResult]:
    """Encode the text of every item in the store (or of ``scenarios``) through the cache."""
    rows = list(store.stream(cypher.ITEM_TEXTS, {"scenarios": scenarios}))
    texts = [item_text(r["title"], r["text"]) for r in rows]
    result = encode_cached(encoder, texts, cache)
    features = ItemFeatures(
        scenario=[r["scenario"] for r in rows],
        ids=[r["id"] for r in rows],
        x=result.vectors,
        has_text=np.array([bool(t) for t in texts], dtype=bool),
        meta={
            "model_path": str(encoder.model_path),
            "model_identity": encoder.identity,
            "dim": int(result.vectors.shape[1]),
            "items": len(rows),
            "empty_texts": result.empty,
            "encoded": result.encoded,
            "cached": result.cached,
            "max_length": encoder.max_length,
            "device": str(encoder.device),  # where the texts encoded now ran (cached ones: where they first did)
        },
    )
    return features, result


def embed_items_to_file(
    store: GraphStore,
    path: Path,
    *,
    cache_path: Path,
    model_path: Path | None = None,
    scenarios: list[str] | None = None,
    batch_size: int = 64,
    device: str = "cpu",
    progress: bool = False,
) -> tuple[ItemFeatures, EncodeResult]:
    """Encode every item's text (or ``scenarios``' items) with the encoder of ``model_path`` (default
    all-MiniLM-L6-v2) through the embedding cache at ``cache_path``, and save the feature file at ``path``:
    what ``graphrec embed`` does, and topic extraction when it finds no feature file.

    Args:
        batch_size: Texts per forward pass (default 64).
        device: Torch device of the encoder: ``auto``, ``cpu``, ``cuda`` or ``cuda:N`` (default ``"cpu"``);
            recorded in the feature file's ``meta["device"]``.
        progress: Show a progress bar.

    Raises:
        ConfigError: An unknown device, or a GPU where torch sees none.
    """
    # lazy: torch and transformers only when something is encoded (topic extraction by metadata or an
    # LLM imports this module and never encodes)
    from graphrec.text.encoder import TextEncoder

    encoder = TextEncoder(model_path, batch_size=batch_size, device=device, progress=progress)
    with EmbeddingCache(cache_path) as cache:
        features, result = embed_items(store, encoder, cache, scenarios=scenarios)
    features.save(path)
    return features, result
