"""Importing PyTorch Geometric without the deprecation warning its import prints, and the PyG names graphrec uses.

Modules of graphrec import PyG from here (``from graphrec.data.pyg import HeteroData``), never directly, so that
the first import of ``torch_geometric`` is the quiet one below.
"""

from __future__ import annotations

import warnings


def import_torch_geometric() -> None:
    """Import ``torch_geometric`` (once; later imports are cached), hiding one warning of that import.

    torch_geometric (2.8) decorates a function with ``torch.jit.script`` when it is imported
    (``torch_geometric/nn/pool/select/base.py``, reached from ``import torch_geometric`` through
    ``datasets`` → ``llm`` → ``nn``), and recent torch (2.15 here) answers with
    ``FutureWarning: `torch.jit.script` is deprecated`` from ``torch.jit._script``. graphrec scripts
    nothing, the warning is for PyG's maintainers, and every training run printed it. Only that
    message, raised from ``torch.jit._script`` during this import, is hidden. Importing this module
    calls it; code that imports ``torch_geometric`` itself (tests) calls it first.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore",
            message=r"`torch\.jit\.script` is (deprecated|not supported)",
            category=FutureWarning,
            module=r"torch\.jit\._script",
        )
        import torch_geometric  # noqa: F401  (lazy: the import this function exists for)


import_torch_geometric()

# the first import of torch_geometric is the quiet one above (these are cached):
import torch_geometric.typing as pyg_typing  # noqa: E402
from torch_geometric.data import HeteroData  # noqa: E402
from torch_geometric.loader import LinkNeighborLoader  # noqa: E402
from torch_geometric.sampler import NegativeSampling  # noqa: E402

__all__ = ["HeteroData", "LinkNeighborLoader", "NegativeSampling", "import_torch_geometric", "pyg_typing"]
