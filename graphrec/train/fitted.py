"""What the harness returns (:func:`~graphrec.train.fit.fit`): a trained (or counted) model as a
:class:`~graphrec.train.scorer.Scorer`, what it trained on and what training recorded."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from graphrec.train.scorer import PopularityScorer

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np
    import torch

    from graphrec.eval.ranking import ScoreFn
    from graphrec.models.lightgcn import CrossScenarioLightGCN
    from graphrec.models.presets import ModelSpec
    from graphrec.models.routed import RoutedLightGCN
    from graphrec.train.inputs import Inputs
    from graphrec.train.loop import TrainResult
    from graphrec.train.scorer import Scorer


@dataclass
class Fitted:
    """A trained (or counted) model and what training recorded.

    Attributes:
        spec: The preset trained.
        inputs: What it trained on.
        scorer: Its scores and embeddings: a :class:`~graphrec.train.scorer.ModelScorer` for a GNN, a
            :class:`~graphrec.train.scorer.PopularityScorer` or :class:`~graphrec.train.scorer.FunctionScorer`
            for the references.
        model: The trained torch module of a GNN (its checkpoint); ``None`` for the references.
        result: What training recorded (``None`` for popularity: nothing is trained or chosen).
        metrics: Test metrics per slice (:func:`~graphrec.eval.slices.evaluate_slices`).
        knowledge_inputs, fold_in_blocks: See below.
    """

    spec: ModelSpec
    inputs: Inputs
    scorer: Scorer
    model: CrossScenarioLightGCN | RoutedLightGCN | None = None
    result: TrainResult | None = None
    metrics: dict[str, dict[str, float]] = field(default_factory=dict)
    knowledge_inputs: Inputs | None = None
    """A routed model's knowledge channel's graph where it is not ``inputs``'s (a cold path kept without refit)."""
    fold_in_blocks: dict[str, Any] = field(default_factory=dict)
    """What a routed model's closed-form blocks need to fold in a user who arrives later (their per-item user
    maps, :class:`~graphrec.serve.foldin.FoldIn` ``blocks``), set where the blocks are built."""

    def score_fn(self) -> ScoreFn:
        """Score function over all items, of the model as it is now (one propagation, kept by the scorer)."""
        self.scorer.refresh()
        return self.scorer.score

    def embeddings(self) -> dict[str, np.ndarray]:
        """The scorer's final ``user``, ``item`` and ``topic`` embeddings (``{}`` for the references)."""
        return self.scorer.embeddings()

    @property
    def popularity(self) -> torch.Tensor | None:
        """A popularity model's item counts (``None`` for the others), which its run folder saves as a 1-d
        embedding that reproduces its ranking (:func:`~graphrec.train.rundir.save_run`)."""
        return self.scorer.counts if isinstance(self.scorer, PopularityScorer) else None
