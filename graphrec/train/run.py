"""A training run on an exported graph: split, train (with a refit where chosen), evaluate.

:func:`graphrec.api.train` (behind ``graphrec train``) goes through :func:`train_from_export`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from graphrec.data import splits
from graphrec.data.export import item_feature_matrix
from graphrec.data.splits import check_target_fraction
from graphrec.errors import ConfigError, NoValidationError
from graphrec.features import ItemFeatures
from graphrec.train.config import PROTOCOLS, Protocol
from graphrec.train.fit import fit
from graphrec.train.refit import fit_refit

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

    from graphrec.data.export import GraphExport
    from graphrec.data.splits import Split
    from graphrec.models.presets import ModelSpec
    from graphrec.train.config import TrainConfig
    from graphrec.train.fitted import Fitted

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SplitConfig:
    """How interactions are split.

    Attributes:
        protocol: ``coldstart`` (cold-start transfer from ``source`` to the target; needs a source),
            ``coldstart-items`` (20% of the target's items held out with all their interactions, see
            :func:`~graphrec.data.splits.coldstart_items`), ``random`` (per-user 80/10/10) or ``none``
            (train on everything; no evaluation).
        source: Source scenario of the coldstart protocol; with ``none``, the scenario a routed model's
            cold path is selected from (default there: the graph's other scenario, where it has only two).
        seed: Split seed (default 0); also seeds the sparse-target draw.
        target_fraction: Share of each user's target training interactions kept after the split
            (sparse-target protocol, :func:`~graphrec.data.splits.sparse_target`; ``0 < p <= 1``,
            default 1: all).

    Raises:
        ConfigError: ``target_fraction`` outside ``(0, 1]``.
    """

    protocol: Protocol = "coldstart"
    source: str | None = None
    seed: int = 0
    target_fraction: float = 1.0

    def __post_init__(self) -> None:
        check_target_fraction(self.target_fraction)


def make_split(export: GraphExport, config: SplitConfig, *, target: str) -> Split:
    """The split ``config`` describes, then thinned to ``config.target_fraction`` of the target's
    training interactions (recorded in ``split.meta`` whatever its value).

    Raises:
        ConfigError: coldstart without a source, or an unknown protocol.
    """
    if config.protocol == "coldstart":
        if not config.source:
            raise ConfigError("the coldstart protocol needs a source scenario (--source), e.g. --source movies")
        split = splits.coldstart_transfer(export, source=config.source, target=target, seed=config.seed)
    elif config.protocol == "coldstart-items":
        split = splits.coldstart_items(export, target=target, seed=config.seed)
    elif config.protocol == "random":
        split = splits.random_per_user(export, seed=config.seed)
    elif config.protocol == "none":
        source = config.source
        others = [s for s in export.scenarios if s != target]
        if source is None and len(others) == 1:  # the one scenario cold users can come from
            source = others[0]
            logger.info("production split: cold users' source scenario is %r, the graph's only other scenario", source)
        split = splits.no_holdout(export, source=source, target=target)
    else:
        raise ConfigError(f"unknown split protocol {config.protocol!r}; use one of {', '.join(PROTOCOLS)}")
    return splits.sparse_target(split, export, target=target, fraction=config.target_fraction, seed=config.seed)


def load_item_features(export: GraphExport, path: Path) -> np.ndarray:
    """Item features aligned with the export, from the feature file of ``graphrec embed``.

    Raises:
        ConfigError: The feature file is missing.
    """
    if not path.exists():
        raise ConfigError(
            f"item feature file {path} not found; run `graphrec embed` first (or use --model lightgcn-merged)"
        )
    x, _ = item_feature_matrix(export, ItemFeatures.load(path))
    return x


def train_from_export(
    export: GraphExport,
    *,
    target: str,
    spec: ModelSpec,
    split_config: SplitConfig,
    train_config: TrainConfig,
    item_x: np.ndarray | None,
    progress: bool = False,
    refit: bool | None = None,
) -> tuple[Fitted, Split]:
    """Split, train and evaluate.

    Args:
        refit: Select on validation, then train again on training + validation with the choices made
            (:func:`~graphrec.train.refit.fit_refit`; a split without validation has it carved from
            training). Default ``None``: refit a trainable model of a production split (``none``), whose
            epochs, gate, prior and block weights nothing would choose otherwise; where no target user has
            3 interactions to carve validation from, that default trains without selection, with a warning
            (an explicit ``True`` raises).

    Returns:
        ``(fitted, the split it was trained on)`` (with a refit: training + validation, no validation).

    Raises:
        ConfigError: Unknown target, or a model that needs features without them.
    """
    if target not in export.scenarios:
        raise ConfigError(f"target scenario {target!r} is not in the graph; it has {export.scenarios}")
    split = make_split(export, split_config, target=target)
    auto = refit is None
    if auto:
        refit = split_config.protocol == "none" and spec.kind == "gnn"
    fitted = None
    if refit:
        try:
            fitted, split = fit_refit(
                export, split, spec, train_config, target=target, item_x=item_x, progress=progress
            )
        except NoValidationError as e:
            if not auto:
                raise
            logger.warning("training on everything without selection (%s)", e)
    if fitted is None:
        fitted = fit(export, split, spec, train_config, target=target, item_x=item_x, progress=progress)
    return fitted, split
