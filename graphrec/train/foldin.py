"""The fold-in parts of a fitted model (:class:`~graphrec.serve.foldin.FoldIn`): each channel's item layers and
degrees, a ridge map from a user's propagated part to its ID embedding, and the closed-form blocks' user maps.
Serving embeds users who arrive after training from these, without torch (:mod:`graphrec.serve.foldin`)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import numpy as np
import torch

from graphrec.models.lightgcn import CrossScenarioLightGCN
from graphrec.models.routed import RoutedLightGCN
from graphrec.serve.foldin import ChannelFoldIn, FoldIn

if TYPE_CHECKING:  # pragma: no cover
    from graphrec.data.export import GraphExport
    from graphrec.train.fitted import Fitted
    from graphrec.train.inputs import Inputs

logger = logging.getLogger(__name__)

ID_MAP_RIDGE = 1e-2
"""Ridge of the map from a user's propagated part to its ID embedding, relative to the mean diagonal of
the Gram matrix of the propagated parts (a scale-free amount of shrinkage)."""


def fit_id_map(propagated: np.ndarray, ids: np.ndarray, *, ridge: float = ID_MAP_RIDGE) -> np.ndarray:
    """Ridge regression ``ids ≈ propagated @ M`` (float32 ``[dim, dim]``) over users' rows."""
    p = propagated.astype(np.float64)
    gram = p.T @ p
    gram[np.diag_indices_from(gram)] += ridge * max(float(np.trace(gram)) / len(gram), 1e-12)
    return np.linalg.solve(gram, p.T @ ids.astype(np.float64)).astype(np.float32)


def channel_fold_in(
    model: CrossScenarioLightGCN, adj: torch.Tensor, degree: np.ndarray, fit_users: np.ndarray
) -> ChannelFoldIn:
    """A channel's :class:`~graphrec.serve.foldin.ChannelFoldIn`: its items' layers ``0 … L−1`` on ``adj``, their
    ``1/√degree``, and the ID map fitted on ``fit_users`` (bool ``[num_users]``; all users with an edge where
    fewer than ``2·dim`` are given).

    Raises:
        ValueError: A model with the cold-start transfer head (its cold users are not embedded by propagation).
    """
    if model.transfer is not None:
        raise ValueError("a model with the cold-start transfer head has no fold-in")
    nu, ni = model.num_users, model.num_items
    model.eval()
    with torch.inference_mode():
        layers = [h.cpu().numpy() for h in model.layers(adj)]
    item_layers = np.stack([h[nu : nu + ni] for h in layers[:-1]]).astype(np.float32)
    inv_sqrt = _inv_sqrt(degree[nu : nu + ni])
    topic_layers = topic_inv_sqrt = None
    if model.num_topics:
        topic_layers = np.stack([h[nu + ni :] for h in layers[:-1]]).astype(np.float32)
        topic_inv_sqrt = _inv_sqrt(degree[nu + ni :])
    item_proj = None if model.item_proj is None else model.item_proj.weight.detach().cpu().numpy().astype(np.float32)
    id_map = None
    if model.user_emb is not None:
        has_edges = degree[:nu] > 0
        users = fit_users & has_edges
        if users.sum() < 2 * model.dim:
            users = has_edges
        propagated = np.sum([h[:nu][users] for h in layers[1:]], axis=0)
        ids = model.user_emb.weight.detach().cpu().numpy()[users]
        id_map = fit_id_map(propagated, ids)
    return ChannelFoldIn(
        item_layers, inv_sqrt, id_map, items_mean=model.user_items is not None, item_proj=item_proj,
        topic_layers=topic_layers, topic_inv_sqrt_degree=topic_inv_sqrt,
    )  # fmt: skip


def _inv_sqrt(degree: np.ndarray) -> np.ndarray:
    """``1/√d`` (float32), 1 where ``d`` is 0 (a node without edges: a new user's edge is its only one)."""
    d = degree.astype(np.float64)
    return np.where(d > 0, 1.0 / np.sqrt(np.where(d > 0, d, 1.0)), 1.0).astype(np.float32)


def fold_in_parts(fitted: Fitted, export: GraphExport, *, width: int) -> FoldIn | None:
    """The :class:`~graphrec.serve.foldin.FoldIn` of a fitted model, or ``None`` where it has none (a
    closed-form reference; a model with the transfer head, logged).

    Args:
        width: Columns of the run's user vectors (checked when a user is folded in).
    """
    target = np.asarray(fitted.inputs.candidates, dtype=bool)
    model = fitted.model
    if model is None:
        return (
            FoldIn("ranking", width, target, scenarios=tuple(export.scenarios))
            if fitted.popularity is not None
            else None
        )
    inputs = fitted.inputs
    assert inputs.degree is not None  # build_inputs sets it
    if isinstance(model, RoutedLightGCN):
        cold = model.cold_users.cpu().numpy()
        know_inputs: Inputs = fitted.knowledge_inputs or inputs
        assert know_inputs.degree is not None
        know_adj = model.knowledge_adj if model.knowledge_adj is not None else inputs.adj
        channels = {
            "knowledge": channel_fold_in(model.knowledge, know_adj, know_inputs.degree, cold),
            "collaborative": channel_fold_in(model.collaborative, inputs.adj, inputs.degree, ~cold),
        }
        weights = {
            "prior": float(model.prior_weight),
            "cold_prior": float(model.cold_prior_weight),
            "bridge": float(model.bridge_weight),
            "ease": float(model.ease_weight),
            "text": float(model.text_weight),
        }
        present = {
            "bridge": model.bridge_users is not None,
            "ease": model.ease_users is not None,
            "text": model.text_users is not None,
        }
        blocks = {
            name: np.asarray(value)
            for name, value in fitted.fold_in_blocks.items()
            if present[name.split("_", 1)[0]] and name != "bridge_gamma"
        }
        missing = [b for b, on in present.items() if on and not any(k.startswith(b) for k in blocks)]
        if missing:
            logger.warning("no fold-in for run: the model's %s block(s) have no user map", missing)
            return None
        gamma = float(fitted.fold_in_blocks.get("bridge_gamma", 0.0)) if present["bridge"] else 0.0
        scenarios = tuple(export.scenarios)
        return FoldIn("routed", width, target, channels, weights, blocks, bridge_gamma=gamma, scenarios=scenarios)
    try:
        channel = channel_fold_in(model, inputs.adj, inputs.degree, np.ones(model.num_users, dtype=bool))
    except ValueError as e:
        logger.warning("no fold-in for %s: %s", fitted.spec.name, e)
        return None
    return FoldIn("single", width, target, {"model": channel}, scenarios=tuple(export.scenarios))
