"""Node features from the text encoder, kept in a feature file keyed by node id.

Item features live in ``<home>/features/item_features.npz`` (arrays ``scenario``, ``id``, ``x``
float32 ``[n, dim]``, ``has_text`` bool, and ``meta`` JSON with the model path and identity). The
training stage joins them to ``HeteroData`` by ``(scenario, id)``; a file whose model identity
differs from the encoder in use is stale and must be recomputed with ``graphrec embed``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from graphrec.errors import GraphRecError
from graphrec.store import cypher

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

    from graphrec.store.bolt import GraphStore
    from graphrec.text.cache import EmbeddingCache, EncodeResult
    from graphrec.text.encoder import TextEncoder

ITEM_FEATURES_FILE = "item_features.npz"


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

    def save(self, path: Path) -> None:
        """Write the ``.npz`` feature file (atomically)."""
        import numpy as np

        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp.npz")
        np.savez(
            tmp,
            scenario=np.array(self.scenario, dtype=object).astype(str),
            id=np.array(self.ids, dtype=object).astype(str),
            x=self.x,
            has_text=self.has_text,
            meta=np.array(json.dumps(self.meta)),
        )
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> ItemFeatures:
        """Read a feature file written by :meth:`save`.

        Raises:
            GraphRecError: Missing file (with the command that creates it).
        """
        import numpy as np

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


def embed_items(
    store: GraphStore,
    encoder: TextEncoder,
    cache: EmbeddingCache,
    *,
    scenarios: list[str] | None = None,
) -> tuple[ItemFeatures, EncodeResult]:
    """Encode the text of every item in the store (or of ``scenarios``) through the cache."""
    import numpy as np

    from graphrec.text.cache import encode_cached

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
        },
    )
    return features, result
