"""The text encoder on the real packaged all-MiniLM-L6-v2 weights, and its cache."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from graphrec.errors import ConfigError
from graphrec.features import item_text
from graphrec.text.cache import EmbeddingCache, encode_cached
from graphrec.text.encoder import TextEncoder, default_model_path, model_identity

TEXTS = [
    "A space opera with starships, aliens and a galactic war.",
    "A novel about astronauts stranded in orbit around a distant planet.",
    "An Italian cookbook of fresh pasta and sauces.",
    "Short.",
]


@pytest.fixture(scope="module")
def encoder() -> TextEncoder:
    return TextEncoder(progress=False, batch_size=2)


def test_matches_sentence_transformers(encoder: TextEncoder) -> None:
    st = pytest.importorskip("sentence_transformers")
    ours = encoder.encode(TEXTS)
    theirs = st.SentenceTransformer(str(default_model_path()), device="cpu").encode(TEXTS, normalize_embeddings=True)
    assert ours.shape == (4, 384) and ours.dtype == np.float32
    np.testing.assert_allclose(ours, theirs, atol=1e-5)


def test_vectors_are_normalised_and_meaningful(encoder: TextEncoder) -> None:
    v = encoder.encode(TEXTS)
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    assert v[0] @ v[1] > v[0] @ v[2] + 0.05  # space opera is closer to astronauts than to pasta
    # batching and length-sorting do not change results
    np.testing.assert_allclose(TextEncoder(progress=False, batch_size=64).encode(TEXTS), v, atol=1e-5)
    assert encoder.max_length == 256


def test_cache_reuses_vectors_and_never_loads_the_model_when_complete(tmp_path: Path) -> None:
    enc = TextEncoder(progress=False)
    texts = [*TEXTS, TEXTS[0], "", "   "]
    with EmbeddingCache(tmp_path / "c.sqlite") as cache:
        first = encode_cached(enc, texts, cache)
        assert (first.encoded, first.cached, first.empty) == (4, 0, 2)
        assert cache.count(enc.identity) == 4
        np.testing.assert_array_equal(first.vectors[4], first.vectors[0])
        assert not first.vectors[5].any() and not first.vectors[6].any()
    fresh = TextEncoder(progress=False)
    with EmbeddingCache(tmp_path / "c.sqlite") as cache:
        second = encode_cached(fresh, texts, cache)
    assert (second.encoded, second.cached) == (0, 4)
    assert "_loaded" not in fresh.__dict__  # the model was never loaded
    np.testing.assert_array_equal(second.vectors, first.vectors)


def test_a_changed_model_invalidates_the_cache(tmp_path: Path) -> None:
    from safetensors.numpy import load_file, save_file

    src = default_model_path()
    variant = tmp_path / "variant"
    shutil.copytree(src, variant)
    weights = load_file(str(variant / "model.safetensors"))
    name = next(k for k in weights if k.endswith("embeddings.word_embeddings.weight"))
    weights[name] = weights[name] * np.float32(1.01)
    save_file(weights, str(variant / "model.safetensors"))
    base, changed = TextEncoder(progress=False), TextEncoder(variant, progress=False)
    assert model_identity(src) == base.identity != changed.identity
    with EmbeddingCache(tmp_path / "c.sqlite") as cache:
        a = encode_cached(base, TEXTS, cache)
        b = encode_cached(changed, TEXTS, cache)
        assert (b.encoded, b.cached) == (4, 0)
        assert not np.allclose(a.vectors, b.vectors, atol=1e-4)
        assert encode_cached(base, TEXTS, cache).encoded == 0


def test_bad_model_dir_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not a Hugging Face model directory"):
        TextEncoder(tmp_path).identity  # noqa: B018


def test_item_text() -> None:
    assert item_text("Dune", "desert; spice") == "Dune. desert; spice"
    assert item_text(None, " x ") == "x" and item_text("  ", None) == ""
