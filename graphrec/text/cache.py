"""On-disk embedding cache keyed by (model identity, text hash), in SQLite.

A rerun re-encodes nothing; a different model (any change to its weights or tokenizer files
changes :func:`graphrec.text.encoder.model_identity`) misses the cache and re-encodes.
"""

from __future__ import annotations

import hashlib
import sqlite3
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from graphrec.text.encoder import TextEncoder

_CHUNK = 900  # below SQLite's default limit of host parameters


def text_key(text: str) -> str:
    """sha256 of the UTF-8 text, hex."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class EmbeddingCache:
    """Vectors keyed by (model identity, text hash).

    Args:
        path: SQLite file (created with its folder).
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path)
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS embedding (model TEXT NOT NULL, key TEXT NOT NULL, dim INTEGER NOT NULL, "
            "vector BLOB NOT NULL, PRIMARY KEY (model, key)) WITHOUT ROWID"
        )

    def close(self) -> None:
        """Close the database."""
        self._db.close()

    def __enter__(self) -> EmbeddingCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def lookup(self, model: str, keys: Sequence[str]) -> dict[str, np.ndarray]:
        """Cached vectors for those ``keys`` that are present."""
        found: dict[str, np.ndarray] = {}
        for start in range(0, len(keys), _CHUNK):
            chunk = list(keys[start : start + _CHUNK])
            marks = ",".join("?" * len(chunk))
            rows = self._db.execute(
                f"SELECT key, vector FROM embedding WHERE model = ? AND key IN ({marks})",
                [model, *chunk],
            )
            for key, blob in rows:
                found[key] = np.frombuffer(blob, dtype=np.float32)
        return found

    def store(self, model: str, keys: Sequence[str], vectors: np.ndarray) -> None:
        """Store one vector per key (float32), replacing existing entries."""
        rows = [(model, k, int(v.shape[0]), v.astype("float32").tobytes()) for k, v in zip(keys, vectors)]
        with self._db:
            self._db.executemany("INSERT OR REPLACE INTO embedding VALUES (?, ?, ?, ?)", rows)

    def count(self, model: str | None = None) -> int:
        """Number of cached vectors (for one model, or all)."""
        if model is None:
            return int(self._db.execute("SELECT count(*) FROM embedding").fetchone()[0])
        return int(self._db.execute("SELECT count(*) FROM embedding WHERE model = ?", [model]).fetchone()[0])


@dataclass(frozen=True)
class EncodeResult:
    """Vectors for a list of texts, with what the cache did.

    Attributes:
        vectors: float32 ``[n, dim]``; rows of empty texts are zeros.
        empty: Texts that were empty or whitespace (zero vectors, not encoded).
        cached: Distinct non-empty texts found in the cache.
        encoded: Distinct non-empty texts encoded now.
        seconds: Wall time.
    """

    vectors: np.ndarray
    empty: int
    cached: int
    encoded: int
    seconds: float


def encode_cached(encoder: TextEncoder, texts: Sequence[str], cache: EmbeddingCache) -> EncodeResult:
    """Encode ``texts`` through the cache: identical texts are encoded once, cached ones never.

    The model is loaded only if something is missing from the cache.
    """
    t0 = time.perf_counter()
    keys = [text_key(t) if t.strip() else "" for t in texts]
    distinct = list(dict.fromkeys(k for k in keys if k))
    found = cache.lookup(encoder.identity, distinct)
    missing = [k for k in distinct if k not in found]
    if missing:
        first_text: dict[str, str] = {}
        for k, t in zip(keys, texts):
            if k in found or not k:
                continue
            first_text.setdefault(k, t)
        new = encoder.encode([first_text[k] for k in missing])
        cache.store(encoder.identity, missing, new)
        found.update(zip(missing, new))
    dim = next(iter(found.values())).shape[0] if found else encoder.dim
    vectors = np.zeros((len(texts), dim), dtype=np.float32)
    for row, k in enumerate(keys):
        if k:
            vectors[row] = found[k]
    return EncodeResult(
        vectors=vectors,
        empty=sum(1 for k in keys if not k),
        cached=len(distinct) - len(missing),
        encoded=len(missing),
        seconds=time.perf_counter() - t0,
    )
