"""The kernel-ridge bridge for cold users (issue 12's closed-form reference), and the closed-form
reference that routes cold users to it and the others to target-only EASE.

* :func:`fit_bridge_model` — a user's binary source history ``x``, smoothed by an EASE model of the
  source scenario and L2-normalised (:func:`smoothed_profiles`: ``z = row_normalise(x + γ·x·B_S)``), is
  mapped to target scores by kernel ridge regression with a linear kernel (:func:`kernel_ridge_bridge`:
  ``K(Z_q, Z_fit) (K(Z_fit, Z_fit) + λI)⁻¹ Y_fit``), fitted on the shared users with target training
  data (``Y_fit``: their binary target training rows). ``γ``, ``λ`` and the source EASE ridge are chosen
  on the simulated-cold validation slice (:func:`graphrec.data.splits.simulated_cold`).
* :func:`combined_reference` — the bridge for users without target training data, EASE
  (:func:`graphrec.models.ease.fit_target_ease`) for the others.
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from graphrec.data.splits import SIMULATED_COLD, cold_path_train, scenario_index, simulated_cold_targets
from graphrec.errors import ConfigError
from graphrec.eval.ranking import evaluate_ranking, group_by_user
from graphrec.models.ease import ease_item_weights, user_item_matrix

if TYPE_CHECKING:  # pragma: no cover
    from collections.abc import Callable, Sequence

    import scipy.sparse

    from graphrec.data.export import GraphExport
    from graphrec.data.splits import Split

    ScoreFn = Callable[[torch.Tensor], torch.Tensor]

logger = logging.getLogger(__name__)


BRIDGE_GAMMAS: tuple[float, ...] = (0.0, 1.0, 4.0, 16.0, 64.0, 256.0)
"""Source-smoothing weights ``γ`` of the bridge tried on the simulated-cold slice (0: no smoothing; the
largest make the profile essentially the row-normalised ``x·B_S``: on Amazon-KG movies→books the
simulated-cold optimum was at the top of a 0–4 grid, hence the wide range)."""
BRIDGE_L2: tuple[float, ...] = (1.0, 3.0, 10.0, 30.0, 100.0)
"""Kernel-ridge ``λ`` values of the bridge tried on the simulated-cold slice (the kernel's diagonal is 1)."""
BRIDGE_SOURCE_L2: tuple[float, ...] = (300.0, 1000.0, 3000.0)
"""Ridge values of the source scenario's EASE (the bridge's smoother) tried on the simulated-cold slice."""


def smoothed_profiles(x: scipy.sparse.csr_matrix, b_source: np.ndarray | None, gamma: float) -> np.ndarray:
    """The bridge's user profiles: ``x + γ·x·B_S``, each row L2-normalised (float32 ``[n, n_source]``).

    Args:
        x: Binary source histories (CSR ``[n, n_source]``).
        b_source: EASE weights of the source scenario over the same columns (``None`` with ``γ = 0``).
        gamma: Weight of the smoothing (0: the plain history).

    A user without source history keeps a zero row (its kernel row is 0: it scores 0 everywhere).
    """
    z = np.asarray(x.toarray(), dtype=np.float32)
    if gamma and b_source is not None:
        z += np.float32(gamma) * np.asarray(x @ b_source, dtype=np.float32)
    norm = np.linalg.norm(z, axis=1, keepdims=True)
    return z / np.where(norm > 0, norm, 1.0)


def kernel_ridge_bridge(z_query: np.ndarray, z_fit: np.ndarray, y_fit: np.ndarray, *, l2: float) -> np.ndarray:
    """Kernel ridge regression with a linear kernel: ``K(Z_q, Z_fit) (K(Z_fit, Z_fit) + λI)⁻¹ Y_fit``.

    Args:
        z_query: ``[n_q, d]`` profiles to score.
        z_fit: ``[n_fit, d]`` profiles of the fitted users.
        y_fit: ``[n_fit, n_target]`` their target rows.
        l2: The ridge ``λ`` (> 0).

    Returns:
        float32 ``[n_q, n_target]`` scores.
    """
    gram = z_fit.astype(np.float64) @ z_fit.T.astype(np.float64)
    gram[np.diag_indices_from(gram)] += l2
    alpha = np.linalg.solve(gram, y_fit.astype(np.float64))
    return (z_query.astype(np.float64) @ z_fit.T.astype(np.float64) @ alpha).astype(np.float32)


def _source_ease(train: np.ndarray, items: np.ndarray, l2: float, cache: dict[Any, np.ndarray] | None) -> np.ndarray:
    """EASE weights of the source scenario (float32 numpy), memoised in ``cache`` by the exact training
    pairs on ``items`` and ``l2`` (the source part of a coldstart-transfer split does not depend on its seed)."""
    on = train[:, np.isin(train[1], items)]
    key = (
        hashlib.sha1(np.ascontiguousarray(on).tobytes() + np.ascontiguousarray(items).tobytes()).hexdigest(),
        float(l2),
    )
    if cache is not None and key in cache:
        return cache[key]
    b = ease_item_weights(train, items, l2=l2).numpy()
    if cache is not None:
        cache[key] = b
    return b


def _rows_score_fn(rows: dict[int, int], scores: np.ndarray, columns: np.ndarray, num_items: int) -> ScoreFn:
    """A score function over precomputed target scores of some users (others score 0)."""

    def score(user_rows: torch.Tensor) -> torch.Tensor:
        out = np.zeros((len(user_rows), num_items), dtype=np.float32)
        for k, u in enumerate(user_rows.tolist()):
            if u in rows:
                out[k, columns] = scores[rows[u]]
        return torch.from_numpy(out)

    return score


def evaluate_simulated_cold(
    score: ScoreFn, split: Split, export: GraphExport, candidates: np.ndarray, *, ks: tuple[int, ...] = (20,)
) -> dict[str, float]:
    """Full-ranking metrics of a *cold path* on the simulated-cold validation targets
    (:func:`graphrec.data.splits.simulated_cold_targets`), each user's cold-path training items
    (:func:`graphrec.data.splits.cold_path_train`: never the hidden ones) excluded. ``score`` must come
    from a model that did not see :attr:`Split.cold_hidden`."""
    out = evaluate_ranking(
        score, simulated_cold_targets(split, export), group_by_user(cold_path_train(split)), candidates, ks=ks
    )
    return out.get("all", {})


@dataclass(frozen=True)
class BridgeModel:
    """A fitted kernel-ridge bridge (:func:`fit_bridge_model`): scores ``z_u · Z_fitᵀ · α`` over the
    target items for any user's smoothed source profile ``z_u``.

    Attributes:
        params: The chosen parameters, the grid and counts (JSON-safe).
        x_source: Binary source histories of every user (CSR ``[num_users, n_source]``).
        source_ease: Source EASE weights of the chosen smoothing (``None`` with ``γ = 0``).
        z_fit: Smoothed profiles of the fit users ``[n_fit, n_source]``.
        alpha: ``(K + λI)⁻¹ Y_fit`` ``[n_fit, n_target]``.
        target_items: Item rows of the target scenario (the columns of ``alpha``).
        num_items: Items in the graph.
        val_users: The simulated-cold users, in the order of ``val_scores``.
        val_scores: Their out-of-fold scores over ``target_items`` with the chosen parameters: each
            from a bridge fitted without its fold's users (float32 ``[n_val, n_target]``).
        source_items: Item rows of the source scenario (the columns of ``x_source``).
    """

    params: dict[str, Any]
    x_source: scipy.sparse.csr_matrix
    source_ease: np.ndarray | None
    z_fit: np.ndarray
    alpha: np.ndarray
    target_items: np.ndarray
    num_items: int
    val_users: np.ndarray
    val_scores: np.ndarray
    source_items: np.ndarray

    def user_factors(self, user_rows: np.ndarray) -> np.ndarray:
        """``z_u · Z_fitᵀ`` of ``user_rows`` (float32 ``[n, n_fit]``; 0 without a source history)."""
        z = smoothed_profiles(self.x_source[np.asarray(user_rows)], self.source_ease, self.params["gamma"])
        return (z @ self.z_fit.T).astype(np.float32)

    def score_fn(self) -> ScoreFn:
        """Scores over all items (0 outside the target scenario)."""
        target_t = torch.from_numpy(self.target_items)

        def score(user_rows: torch.Tensor) -> torch.Tensor:
            out = torch.zeros(len(user_rows), self.num_items)
            out[:, target_t] = torch.from_numpy(self.user_factors(user_rows.numpy()) @ self.alpha)
            return out

        return score

    def val_score_fn(self) -> ScoreFn:
        """The out-of-fold scores of :attr:`val_users` over all items (0 for other users and items)."""
        return _rows_score_fn(
            {int(u): k for k, u in enumerate(self.val_users)}, self.val_scores, self.target_items, self.num_items
        )

    def fold_in_blocks(self, rank: int) -> dict[str, Any]:
        """What folds in a user who arrives later (:class:`~graphrec.serve.foldin.FoldIn`): the source columns'
        item rows, the map ``Z_fitᵀ U √S`` (float32 ``[n_source, rank]``) that turns a smoothed source profile
        into the user's block of :meth:`embeddings`, and the smoothing (``B_S`` where ``γ`` > 0)."""
        u, sv, _ = np.linalg.svd(self.alpha.astype(np.float64), full_matrices=False)
        r = min(rank, len(sv))
        proj = np.zeros((self.z_fit.shape[1], rank), dtype=np.float32)
        proj[:, :r] = self.z_fit.T @ (u[:, :r] * np.sqrt(sv[:r]))
        out: dict[str, Any] = {"bridge_source_items": self.source_items.astype(np.int64), "bridge_proj": proj}
        if self.params["gamma"] and self.source_ease is not None:
            out["bridge_source_ease"] = np.asarray(self.source_ease, dtype=np.float32)
        return out

    def embeddings(self, num_users: int, rank: int) -> tuple[np.ndarray, np.ndarray]:
        """The bridge as ``rank``-d user and item vectors whose dot products are its scores truncated to
        the top ``rank`` singular directions of ``α`` (``α ≈ U S Vᵀ``: users ``z_u Z_fitᵀ U √S``, target
        items ``V √S``, other items 0); float32 ``[num_users, rank]``, ``[num_items, rank]``. Returns
        fewer than ``rank`` columns, zero-padded, where ``α`` has a lower rank."""
        u, sv, vt = np.linalg.svd(self.alpha.astype(np.float64), full_matrices=False)
        r = min(rank, len(sv))
        root = np.sqrt(sv[:r])
        users = np.zeros((num_users, rank), dtype=np.float32)
        items = np.zeros((self.num_items, rank), dtype=np.float32)
        users[:, :r] = self.user_factors(np.arange(num_users)) @ (u[:, :r] * root)
        items[self.target_items, :r] = (vt[:r].T * root).astype(np.float32)
        return users, items


def fit_bridge(
    export: GraphExport,
    split: Split,
    *,
    source: str,
    target: str,
    **options: Any,
) -> tuple[ScoreFn, dict[str, Any]]:
    """:func:`fit_bridge_model` as ``(score function over all items, params)`` (same options)."""
    bridge = fit_bridge_model(export, split, source=source, target=target, **options)
    return bridge.score_fn(), bridge.params


def fit_bridge_model(
    export: GraphExport,
    split: Split,
    *,
    source: str,
    target: str,
    gammas: Sequence[float] = BRIDGE_GAMMAS,
    l2s: Sequence[float] = BRIDGE_L2,
    source_l2s: Sequence[float] = BRIDGE_SOURCE_L2,
    folds: int = 5,
    seed: int = 0,
    cache: dict[Any, np.ndarray] | None = None,
) -> BridgeModel:
    """Fit the kernel-ridge bridge (module docstring), its parameters chosen on the simulated-cold slice.

    *Fit users* have source and target training interactions (``split.train``); ``Y_fit`` are their
    binary target training rows over every target item, ``Z_fit`` their smoothed source profiles.

    *Selection* (validation only; no test pair is read): the simulated-cold users
    (``split.slices["val-simulated-cold"]``) are divided into ``folds`` seeded folds; each fold's users
    are scored by a bridge fitted on the fit users **without that fold's users** (so a simulated-cold
    user's target rows never reach the bridge that scores it; ``folds=1`` leaves every simulated-cold
    user out at once, exactly :attr:`Split.cold_hidden`; more folds keep the fit set near its test-time
    size). Scores are ranked over all target items against the simulated-cold targets (their target
    validation and hidden training pairs, :func:`evaluate_simulated_cold`), and the ``(source ridge, γ,
    λ)`` with the best Recall@20 wins (ties: the first in grid order).

    The returned scorer is refitted on **all** fit users with the chosen parameters; it scores any user
    from their source history (0 everywhere without one) and is meant for users without target
    history (see :func:`combined_reference`).

    Args:
        export: The exported graph.
        split: A coldstart-transfer split with a simulated-cold slice.
        source: Source scenario.
        target: Target scenario (the scored items).
        gammas: Smoothing weights tried.
        l2s: Kernel-ridge values tried.
        source_l2s: Source EASE ridge values tried (skipped for ``γ = 0``).
        folds: Folds of the simulated-cold users (>= 1).
        seed: Seed of the fold assignment.
        cache: Optional memo of source EASE weights shared across calls (e.g. seeds of one pair).

    Returns:
        The :class:`BridgeModel` (``params``: ``{"gamma", "l2", "source_l2", "val_recall@20", "grid", ...}``).

    Raises:
        ConfigError: No simulated-cold slice, empty grids, ``folds < 1`` or no fit user.
    """
    if SIMULATED_COLD not in split.slices:
        raise ConfigError(
            "the bridge is selected on a simulated-cold validation slice and this split has none; apply "
            "graphrec.data.splits.simulated_cold(split, export, source=..., target=..., seed=...) first"
        )
    if not (gammas and l2s and source_l2s) or folds < 1:
        raise ConfigError(
            f"bridge grids must be non-empty and folds >= 1; got gammas={gammas}, l2s={l2s}, "
            f"source_l2s={source_l2s}, folds={folds}"
        )
    started = time.perf_counter()
    s_idx, t_idx = scenario_index(export, source), scenario_index(export, target)
    n_users, n_items = len(export.user_ids), len(export.item_keys)
    train = split.train
    scen = export.item_scenario[train[1]]
    source_items = np.unique(train[1, scen == s_idx])
    target_items = np.flatnonzero(export.item_scenario == t_idx)
    x_source = user_item_matrix(train, n_users, source_items)
    y_all = user_item_matrix(train, n_users, target_items)
    has_source = np.asarray(x_source.sum(axis=1)).ravel() > 0
    has_target = np.asarray(y_all.sum(axis=1)).ravel() > 0
    fit_users = np.flatnonzero(has_source & has_target)
    if not len(fit_users):
        raise ConfigError(
            f"no user has both {source!r} and {target!r} training interactions: the bridge has nothing to fit"
        )
    val_users = np.asarray(split.slices[SIMULATED_COLD], dtype=np.int64)
    fold_of = np.random.default_rng(seed).permutation(len(val_users)) % min(folds, len(val_users))
    targets = simulated_cold_targets(split, export)
    exclude = group_by_user(cold_path_train(split))
    candidates = export.item_scenario == t_idx
    y_fit = np.asarray(y_all[fit_users].toarray(), dtype=np.float32)
    fit_pos = {int(u): k for k, u in enumerate(fit_users)}
    val_pos = {int(u): k for k, u in enumerate(val_users)}
    grid: list[dict[str, float]] = []
    best: dict[str, float] | None = None
    for s_l2 in source_l2s:
        b_source = _source_ease(train, source_items, s_l2, cache) if any(g for g in gammas) else None
        for gamma in gammas:
            if not gamma and s_l2 != source_l2s[0]:
                continue  # γ = 0 does not use the source EASE: tried once
            z_fit = smoothed_profiles(x_source[fit_users], b_source, gamma)
            z_val = smoothed_profiles(x_source[val_users], b_source, gamma)
            scores = {l2: np.zeros((len(val_users), len(target_items)), dtype=np.float32) for l2 in l2s}
            for f in range(int(fold_of.max(initial=-1)) + 1):
                query = np.flatnonzero(fold_of == f)
                keep = np.ones(len(fit_users), dtype=bool)
                keep[[fit_pos[int(u)] for u in val_users[query] if int(u) in fit_pos]] = False
                zf = z_fit[keep].astype(np.float64)
                evals, vecs = np.linalg.eigh(zf @ zf.T)
                vty = vecs.T @ y_fit[keep].astype(np.float64)
                w = z_val[query].astype(np.float64) @ zf.T @ vecs
                for l2 in l2s:
                    scores[l2][query] = ((w / (evals + l2)[None, :]) @ vty).astype(np.float32)
            for l2 in l2s:
                fn = _rows_score_fn(val_pos, scores[l2], target_items, n_items)
                metrics = evaluate_ranking(fn, targets, exclude, candidates, ks=(20,)).get("all", {})
                row = {
                    "source_l2": float(s_l2),
                    "gamma": float(gamma),
                    "l2": float(l2),
                    "val_recall@20": metrics.get("recall@20", 0.0),
                    "val_ndcg@20": metrics.get("ndcg@20", 0.0),
                }
                grid.append(row)
                if best is None or row["val_recall@20"] > best["val_recall@20"]:
                    best, best_scores = row, scores[l2]
    assert best is not None
    b_best = _source_ease(train, source_items, best["source_l2"], cache) if best["gamma"] else None
    z_fit = smoothed_profiles(x_source[fit_users], b_best, best["gamma"])
    gram = z_fit.astype(np.float64) @ z_fit.T.astype(np.float64)
    gram[np.diag_indices_from(gram)] += best["l2"]
    alpha = np.linalg.solve(gram, y_fit.astype(np.float64)).astype(np.float32)
    params: dict[str, Any] = {
        **best, "folds": int(min(folds, len(val_users))), "fit_users": len(fit_users), "val_users": len(val_users),
        "val_targets": int(targets.shape[1]), "source_items": len(source_items), "target_items": len(target_items),
        "seconds": time.perf_counter() - started, "selected_on": "simulated-cold validation", "grid": grid,
    }  # fmt: skip
    logger.info(
        "bridge: source_l2 %g, gamma %g, l2 %g (simulated-cold recall@20 %.4f)",
        best["source_l2"],
        best["gamma"],
        best["l2"],
        best["val_recall@20"],
    )
    return BridgeModel(
        params, x_source, b_best, z_fit, alpha, target_items, n_items, val_users, best_scores, source_items
    )


def combined_reference(cold_score: ScoreFn, warm_score: ScoreFn, cold_users: np.ndarray) -> ScoreFn:
    """Route each user: ``cold_score`` (e.g. the bridge) where the bool mask ``cold_users`` is set
    (users without target training interactions), ``warm_score`` (e.g. target-only EASE) elsewhere."""
    mask = torch.from_numpy(cold_users.astype(bool))

    def score(user_rows: torch.Tensor) -> torch.Tensor:
        cold = mask[user_rows]
        if bool(cold.all()):
            return cold_score(user_rows)
        if not bool(cold.any()):
            return warm_score(user_rows)
        out = warm_score(user_rows).clone()
        out[cold] = cold_score(user_rows[cold])
        return out

    return score
