"""Which torch device training, text encoding and scoring run on: ``auto``, ``cpu``, ``cuda`` or ``cuda:N``
(``graphrec train / embed / recommend --device``).

Importing this module loads no torch (:func:`check_device_name` is torch-free, for the CLI's option
checks); :func:`resolve_device` imports it when called.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from graphrec.errors import ConfigError

if TYPE_CHECKING:  # pragma: no cover
    import torch

#: The device names ``--device`` takes (besides ``cuda:N``, a GPU by index).
DEVICE_CHOICES = ("auto", "cpu", "cuda")
_CUDA_INDEX = re.compile(r"cuda:(\d+)")


def check_device_name(name: str) -> str:
    """``name`` if it is a device name graphrec takes (:data:`DEVICE_CHOICES` or ``cuda:N``), without
    looking for a GPU.

    Raises:
        ConfigError: Any other name, with the ones allowed.
    """
    if name in DEVICE_CHOICES or _CUDA_INDEX.fullmatch(name):
        return name
    raise ConfigError(f"unknown device {name!r}; use auto, cpu, cuda or cuda:N (a GPU by index, e.g. cuda:0)")


def resolve_device(name: str = "auto") -> torch.device:
    """The torch device ``name`` stands for.

    Args:
        name: ``"auto"`` (the first GPU where ``torch.cuda.is_available()``, else the CPU), ``"cpu"``,
            ``"cuda"`` (the current GPU) or ``"cuda:N"`` (GPU ``N``).

    Raises:
        ConfigError: An unknown name, a GPU asked for where torch sees none, or a GPU index it does not have.
    """
    import torch  # lazy: the CLI checks names and resolves them in its commands, not at import

    check_device_name(name)
    if name == "cpu":
        return torch.device("cpu")
    available = torch.cuda.is_available()
    if name == "auto":
        return torch.device("cuda", torch.cuda.current_device()) if available else torch.device("cpu")
    if not available:
        raise ConfigError(
            f"no CUDA device for --device {name}: torch.cuda.is_available() is False (torch {torch.__version__}, "
            f"built for CUDA {torch.version.cuda or 'none'}); use --device cpu or auto"
        )
    match = _CUDA_INDEX.fullmatch(name)
    index = int(match.group(1)) if match else torch.cuda.current_device()
    count = torch.cuda.device_count()
    if index >= count:
        raise ConfigError(
            f"no CUDA device {index} for --device {name}: torch sees {count} GPU(s) (cuda:0 to cuda:{count - 1}); "
            "use one of those, cuda, or auto"
        )
    return torch.device("cuda", index)
