"""What every fitted model offers its consumers (evaluation, run folders, write-back): a :class:`Scorer` —
scores over all items for a batch of users, and the embeddings it has to write back (none for the
counted and closed-form references).

Three implementations cover the harness's models (:data:`~graphrec.models.presets.MODELS`):
:class:`ModelScorer` (a trained GNN over its adjacency), :class:`PopularityScorer` (training-interaction
counts) and :class:`FunctionScorer` (a closed-form reference's score function: ``ease``, ``text-knn``,
``bridge+ease``). Importing this module loads no torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

import torch

from graphrec.train.loop import score_fn

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

    from graphrec.eval.ranking import ScoreFn
    from graphrec.models.lightgcn import CrossScenarioLightGCN
    from graphrec.models.routed import RoutedLightGCN


@runtime_checkable
class Scorer(Protocol):
    """A fitted model as its consumers see it."""

    def score(self, user_rows: torch.Tensor) -> torch.Tensor:
        """Scores ``[len(user_rows), num_items]`` over all items for the 1-D tensor of user rows ``user_rows``."""
        ...

    def embeddings(self) -> dict[str, np.ndarray]:
        """Final ``user``, ``item`` and ``topic`` embeddings as float32 arrays, or ``{}`` for a model without
        any (popularity, the closed-form references)."""
        ...

    def refresh(self) -> None:
        """Forget what was computed from the model as it was (after changing it); a no-op where nothing is."""
        ...


class PopularityScorer:
    """Popularity: every user gets the items' training-interaction counts.

    Attributes:
        counts: Float scores ``[num_items]`` (:func:`~graphrec.train.references.popularity_scores`).
    """

    def __init__(self, counts: torch.Tensor) -> None:
        self.counts = counts

    def score(self, user_rows: torch.Tensor) -> torch.Tensor:
        """``counts`` for each of ``user_rows``."""
        return self.counts.expand(len(user_rows), -1)

    def embeddings(self) -> dict[str, np.ndarray]:
        """None: popularity has no embeddings."""
        return {}

    def refresh(self) -> None:
        """Nothing is cached."""


class FunctionScorer:
    """A closed-form reference's score function (``ease``, ``text-knn``, ``bridge+ease``); no embeddings."""

    def __init__(self, fn: ScoreFn) -> None:
        self.fn = fn

    def score(self, user_rows: torch.Tensor) -> torch.Tensor:
        """``fn(user_rows)``."""
        return self.fn(user_rows)

    def embeddings(self) -> dict[str, np.ndarray]:
        """None: a closed-form reference is harness-only, with nothing to write back."""
        return {}

    def refresh(self) -> None:
        """Nothing is cached."""


class ModelScorer:
    """A trained GNN (:class:`~graphrec.models.lightgcn.CrossScenarioLightGCN` or
    :class:`~graphrec.models.routed.RoutedLightGCN`) over the adjacency it propagates on.

    :meth:`score` propagates once, on its first call after construction or :meth:`refresh`, and scores from
    that propagation until the next :meth:`refresh`; :meth:`embeddings` propagates afresh on every call.
    """

    def __init__(self, model: CrossScenarioLightGCN | RoutedLightGCN, adj: torch.Tensor) -> None:
        self.model = model
        self.adj = adj
        self._scores: ScoreFn | None = None

    def refresh(self) -> None:
        """Propagate the model as it is now (in eval mode) for the next scores."""
        self.model.eval()
        self._scores = score_fn(self.model, self.adj)

    def score(self, user_rows: torch.Tensor) -> torch.Tensor:
        """``users[user_rows] @ items.T`` of the model's final embeddings (users as its ``forward`` gives them)."""
        if self._scores is None:
            self.refresh()
        assert self._scores is not None
        return self._scores(user_rows)

    def embeddings(self) -> dict[str, np.ndarray]:
        """Final (propagated) ``user``, ``item`` and ``topic`` embeddings as float32 arrays (users as
        :meth:`~graphrec.models.lightgcn.CrossScenarioLightGCN.forward` gives them: cold users by the transfer
        head). Topic embeddings of a model without topic nodes are the membership-weighted mean of their items'.
        On the CPU, whatever device the model is on.
        """
        self.model.eval()
        with torch.inference_mode():
            users, items, topics = self.model.embed(self.adj)
        return {name: x.cpu().numpy().copy() for name, x in (("user", users), ("item", items), ("topic", topics))}
