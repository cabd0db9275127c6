"""Importing PyTorch Geometric without the deprecation warning its import prints."""

from __future__ import annotations

import warnings


def import_torch_geometric() -> None:
    """Import ``torch_geometric`` (once; later imports are cached), hiding one warning of that import.

    torch_geometric (2.8) decorates a function with ``torch.jit.script`` when it is imported
    (``torch_geometric/nn/pool/select/base.py``, reached from ``import torch_geometric`` through
    ``datasets`` → ``llm`` → ``nn``), and recent torch (2.15 here) answers with
    ``FutureWarning: `torch.jit.script` is deprecated`` from ``torch.jit._script``. graphrec scripts
    nothing, the warning is for PyG's maintainers, and every training run printed it. Only that
    message, raised from ``torch.jit._script`` during this import, is hidden; call this before the
    first ``from torch_geometric… import …`` of a function.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore",
            message=r"`torch\.jit\.script` is (deprecated|not supported)",
            category=FutureWarning,
            module=r"torch\.jit\._script",
        )
        import torch_geometric  # noqa: F401
