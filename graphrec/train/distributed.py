"""Multi-process training with ``torch.distributed``: the process group of a ``torchrun`` launch, what its
processes share, and who does what.

``torchrun --nproc-per-node N -m graphrec train ... --num-neighbors 10,10,10`` starts N processes of the
same command. Each joins one process group (:func:`process_group`: ``gloo`` on the CPU, ``nccl`` on GPUs,
one GPU per process). Rank 0 — the *leader* — is the only one that opens the store, reads the feature file,
validates, saves the run folder and writes back; it exports the graph and hands it to the others
(:meth:`Group.share`). Every process trains its shard of each mini-batch
(:mod:`graphrec.train.sharded`), gradients are all-reduced by ``DistributedDataParallel``, and the
leader's validation figure is broadcast after each epoch, so every process keeps the same best epoch
and stops at the same one.

:func:`current` finds the group torch holds (``torch.distributed.init_process_group`` is torch's own
state; graphrec keeps none); outside a group training is the single-process path, unchanged.
"""

from __future__ import annotations

import contextlib
import datetime
import logging
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from graphrec.errors import ConfigError, GraphRecError

if TYPE_CHECKING:  # pragma: no cover
    import torch

logger = logging.getLogger(__name__)

T = TypeVar("T")

#: The environment variables ``torchrun`` sets for each process it starts (``env://`` initialisation).
LAUNCH_ENV = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")

TIMEOUT = datetime.timedelta(minutes=60)
"""How long a process waits in a collective for the others (the leader's export of a large graph, its
validation and selection run while the others wait)."""


class LeaderFailedError(GraphRecError):
    """Rank 0 failed before it could hand the graph to the other processes; its own output has the reason."""


@dataclass(frozen=True)
class Group:
    """The process group this process belongs to.

    Attributes:
        rank: This process's rank (0 = the leader).
        world_size: Number of processes.
        backend: ``gloo`` (CPU) or ``nccl`` (GPU).
    """

    rank: int
    world_size: int
    backend: str

    @property
    def leader(self) -> bool:
        """Whether this process is rank 0 (it validates, saves, writes back)."""
        return self.rank == 0

    def _device(self) -> torch.device:
        """Where collective tensors live: the current GPU for ``nccl``, else the CPU."""
        import torch

        return torch.device("cuda", torch.cuda.current_device()) if self.backend == "nccl" else torch.device("cpu")

    def share(self, make: Callable[[], T]) -> T:
        """``make()`` run on the leader, its result sent to every process (pickled).

        A failure of ``make`` on the leader is raised there, and the others raise :class:`LeaderFailedError`
        instead of waiting for a result that will never come.
        """
        import torch.distributed as dist

        box: list[Any] = [None]
        if self.leader:
            try:
                box[0] = ("ok", make())
            except BaseException as e:
                box[0] = ("failed", f"{type(e).__name__}: {e}")
                dist.broadcast_object_list(box, src=0, device=self._device())
                raise
        dist.broadcast_object_list(box, src=0, device=self._device())
        status, value = box[0]
        if status != "ok":
            raise LeaderFailedError(
                f"rank 0 failed before training ({value}); this process (rank {self.rank}) stops with it. "
                "Fix what rank 0 reports and relaunch"
            )
        return value

    def broadcast_float(self, value: float) -> float:
        """The leader's ``value`` on every process (exactly: float64)."""
        import torch
        import torch.distributed as dist

        t = torch.tensor([value], dtype=torch.float64, device=self._device())
        dist.broadcast(t, src=0)
        return float(t.item())

    def sum_floats(self, *values: float) -> list[float]:
        """Each of ``values`` summed over every process (float64)."""
        import torch
        import torch.distributed as dist

        t = torch.tensor(values, dtype=torch.float64, device=self._device())
        dist.all_reduce(t)
        return [float(x) for x in t.tolist()]

    def sync_parameters(self, module: torch.nn.Module) -> None:
        """Copy the leader's parameters into every process's ``module`` (after restoring the best epoch:
        every process then holds the leader's weights, whatever the last bits of its own all-reduce)."""
        import torch.distributed as dist

        for p in module.parameters():
            dist.broadcast(p.data, src=0)


def current() -> Group | None:
    """The process group torch holds (``torch.distributed`` initialised), or ``None`` (one process)."""
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()):
        return None
    return Group(rank=dist.get_rank(), world_size=dist.get_world_size(), backend=str(dist.get_backend()))


def launched() -> bool:
    """Whether this process was started by ``torchrun`` (its ``RANK`` and ``WORLD_SIZE`` are set); torch-free."""
    return "RANK" in os.environ and "WORLD_SIZE" in os.environ


def launch_rank() -> int:
    """This process's rank under ``torchrun`` (0 outside it); torch-free, for decisions made before torch loads.

    Raises:
        ConfigError: ``RANK`` is not an integer.
    """
    text = os.environ.get("RANK", "0") if launched() else "0"
    try:
        return int(text)
    except ValueError:
        raise ConfigError(f"RANK={text!r} is not an integer; launch multi-process training with torchrun") from None


@contextlib.contextmanager
def process_group(device: str) -> Iterator[Group]:
    """Join the process group of a ``torchrun`` launch for the duration of the block, then leave it.

    On a GPU (``device`` ``cuda`` or ``auto`` where torch sees one) each process takes the GPU of its
    ``LOCAL_RANK`` and the group talks over ``nccl``; on the CPU over ``gloo``.

    Args:
        device: The ``--device`` name (``cpu``, ``auto``, ``cuda``; not ``cuda:N``, which would put every
            process on one GPU).

    Raises:
        ConfigError: Not launched by torchrun, a ``cuda:N`` device, or the group cannot be formed.
    """
    import torch
    import torch.distributed as dist

    from graphrec.device import resolve_device

    missing = [name for name in LAUNCH_ENV if name not in os.environ]
    if missing:
        raise ConfigError(
            f"multi-process training needs the environment torchrun sets ({', '.join(missing)} missing); launch "
            "it as `torchrun --nproc-per-node 2 -m graphrec train ... --num-neighbors 10,10,10`"
        )
    if device.startswith("cuda:"):
        raise ConfigError(
            f"--device {device} would put every process on one GPU; under torchrun use --device cuda (or auto): "
            "each process takes the GPU of its LOCAL_RANK"
        )
    local_rank = int(os.environ["LOCAL_RANK"])
    if device != "cpu" and torch.cuda.is_available():
        torch.cuda.set_device(local_rank)
    resolved = resolve_device(device)
    backend = "nccl" if resolved.type == "cuda" else "gloo"
    try:
        dist.init_process_group(backend=backend, init_method="env://", timeout=TIMEOUT)
    except (RuntimeError, ValueError) as e:
        raise ConfigError(
            f"could not join the torchrun process group ({backend}, MASTER_ADDR={os.environ['MASTER_ADDR']}, "
            f"MASTER_PORT={os.environ['MASTER_PORT']}): {e}. Check that every process was started by the same torchrun"
        ) from e
    group = current()
    assert group is not None
    logger.info("process %d of %d (%s, %s)", group.rank, group.world_size, backend, resolved)
    try:
        yield group
    finally:
        dist.destroy_process_group()
