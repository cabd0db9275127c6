"""``graphrec train / write-back``: learning a recommender and writing it into the graph.

Each command parses its options, calls :mod:`graphrec.api`, and prints the result (:mod:`graphrec.cli.display`).
"""

from __future__ import annotations

import contextlib
import functools
import shlex
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from graphrec.cli import display
from graphrec.cli.root import Context, device_option, interrupted, writes
from graphrec.device import resolve_device
from graphrec.errors import CommandInterrupted, GraphRecError
from graphrec.home import runs_dir
from graphrec.models.presets import GNN_MODELS, model_spec
from graphrec.train.config import PROTOCOLS, TrainConfig
from graphrec.train.summary import training_summary

if TYPE_CHECKING:  # pragma: no cover
    from collections.abc import Callable

    from graphrec.api import Run
    from graphrec.store.bolt import GraphStore

DEFAULTS = TrainConfig()
"""The training defaults the options show (one source: :class:`~graphrec.train.config.TrainConfig`)."""


def _model_names() -> list[str]:
    return sorted(GNN_MODELS)


def _check_target_fraction(ctx: click.Context, param: click.Parameter, value: float) -> float:
    """``--target-fraction``: a usage error (before the store is opened) unless 0 < value <= 1."""
    from graphrec.data.splits import check_target_fraction

    try:
        check_target_fraction(value)
    except GraphRecError as e:
        raise click.BadParameter(str(e), ctx=ctx, param=param) from e
    return value


def _parse_num_neighbors(text: str | None, num_layers: int) -> tuple[int, ...] | None:
    """``"10,10,10"`` → ``(10, 10, 10)``, checked against the model's layers; fails before any work
    when no sampling backend is installed."""
    if text is None:
        return None
    from graphrec.train.minibatch import check_num_neighbors, require_neighbor_sampling

    try:
        hops = tuple(int(x) for x in text.split(","))
    except ValueError:
        raise click.BadParameter(
            f"{text!r} is not comma-separated integers (e.g. 10,10,10)", param_hint="--num-neighbors"
        ) from None
    try:
        check_num_neighbors(hops, num_layers)
    except GraphRecError as e:
        raise click.BadParameter(str(e), param_hint="--num-neighbors") from e
    require_neighbor_sampling()
    return hops


def _leader_writes(f: Callable[..., Any]) -> Callable[..., Any]:
    """``writes(when="write_back")``, taken by rank 0 only under ``torchrun``: the other processes train their
    shards and write nothing (:mod:`graphrec.train.distributed`)."""
    locked = writes(when="write_back")(f)

    @functools.wraps(f)
    def wrapper(c: Context, *args: Any, **kwargs: Any) -> Any:
        from graphrec.train.distributed import launch_rank

        return (f if launch_rank() else locked)(c, *args, **kwargs)

    return wrapper


RUN_OPTION = click.option(
    "--run", "run", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
    help="Training run folder (default: the latest under <home>/runs).",
)  # fmt: skip
VECTOR_INDEX_OPTION = click.option(
    "--vector-index/--no-vector-index", default=None,
    help="Require (or skip) vector indexes; default: create them where the store supports them.",
)  # fmt: skip


@click.command()
@click.option("--target", required=True, help="Scenario to recommend in (e.g. books).")
@click.option(
    "--source",
    default=None,
    help="Source scenario of the coldstart protocol (e.g. movies); with --split none, graphrec's cold path "
    "is selected on simulated-cold users of this scenario (default there: the other scenario of a "
    "two-scenario graph).",
)
@click.option(
    "--model",
    "model_name",
    type=click.Choice(_model_names()),
    default="graphrec",
    show_default=True,
    help="graphrec, an ablation, or a baseline.",
)
@click.option(
    "--split",
    "protocol",
    type=click.Choice(list(PROTOCOLS)),
    default=None,
    help="Held-out data: coldstart (needs --source; default then), coldstart-items (20% of the target's "
    "items held out with all their interactions, 10% more for validation), random per-user 80/10/10 "
    "(default otherwise), or none (train on everything, no evaluation).",
)
@click.option(
    "--target-fraction",
    type=float,
    default=1.0,
    show_default=True,
    callback=_check_target_fraction,
    help="Sparse target: after the split, keep this seeded share (0 < P <= 1) of each user's target "
    "training interactions; the source and the held-out data stay complete.",
)
@click.option("--seed", default=0, show_default=True, help="Seed of the split and of training.")
@click.option(
    "--refit/--no-refit",
    default=None,
    help="Select on validation (with --split none: 10% of each target user's interactions, carved out), "
    "then train again on training + validation with the epochs, gate and block weights chosen. "
    "Default: on for --split none, off otherwise.",
)
@click.option(
    "--epochs",
    default=DEFAULTS.epochs,
    show_default=True,
    help="Most epochs per channel (early stopping on validation).",
)
@click.option("--lr", default=DEFAULTS.lr, show_default=True, help="Adam learning rate.")
@click.option("--batch-size", default=DEFAULTS.batch_size, show_default=True, help="BPR pairs per step.")
@click.option("--dim", default=64, show_default=True, help="Embedding size.")
@click.option("--layers", default=None, type=int, help="Propagation layers (default: the model's, 3; bpr-mf 0).")
@click.option(
    "--weight-decay", default=DEFAULTS.weight_decay, show_default=True, help="L2 on the batch's layer-0 embeddings."
)
@click.option(
    "--patience", default=DEFAULTS.patience, show_default=True, help="Early stopping: epochs without validation gain."
)
@click.option(
    "--num-neighbors",
    default=None,
    metavar="N,N,N",
    help="Mini-batch training with PyG's LinkNeighborLoader: neighbours sampled per hop, one per layer "
    "(-1 = all), e.g. 10,10,10. Needs torch-sparse or pyg-lib. Default: full-batch. Under torchrun (several "
    "processes: torchrun --nproc-per-node 2 -m graphrec train ...) each process trains a shard of every batch.",
)
@click.option(
    "--features",
    "features_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Item feature file (default: <home>/features/item_features.npz, from `graphrec embed`).",
)
@click.option(
    "--write-back/--no-write-back",
    default=True,
    show_default=True,
    help="Write embeddings, RECOMMENDED and INTERESTED_IN into the graph.",
)
@click.option("-k", "k", default=20, show_default=True, help="Recommendations per user written back.")
@click.option("--topics-per-user", default=5, show_default=True, help="INTERESTED_IN edges per user written back.")
@VECTOR_INDEX_OPTION
@click.option(
    "--write-batch-size",
    type=click.IntRange(min=1),
    default=5_000,
    show_default=True,
    help="Rows per write transaction of the write-back.",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Run folder (default: <home>/runs/train-<time>-<model>-s<seed>).",
)
@device_option("to train on (recorded in the run's config.json)")
@click.pass_obj
@_leader_writes
def train(
    c: Context, target: str, source: str | None, model_name: str, protocol: str | None, seed: int, refit: bool | None,
    epochs: int, lr: float, batch_size: int, dim: int, layers: int | None, weight_decay: float, patience: int,
    num_neighbors: str | None, features_path: Path | None, target_fraction: float,
    write_back: bool, k: int, topics_per_user: int, vector_index: bool | None, write_batch_size: int, out: Path | None,
    device: str,
) -> None:  # fmt: skip
    """Train a recommender on the graph, evaluate it by full ranking, save the run, and write results back.

    A failed or interrupted training leaves no run folder that later commands would use; an interrupted
    write-back is finished by `graphrec write-back --run RUN`.

    Launched by torchrun (`torchrun --nproc-per-node 2 -m graphrec train ... --num-neighbors 10,10,10`), every
    process trains a shard of each mini-batch; rank 0 alone opens the store, validates, saves the run and
    writes back."""
    from graphrec import api
    from graphrec.train.distributed import launched, process_group

    resolve_device(device)  # a GPU asked for where there is none: the error before the store is opened
    spec = model_spec(model_name, **({} if layers is None else {"num_layers": layers}))
    config = TrainConfig(
        epochs=epochs, batch_size=batch_size, lr=lr, weight_decay=weight_decay, patience=patience, seed=seed,
        num_neighbors=_parse_num_neighbors(num_neighbors, spec.num_layers),
    )  # fmt: skip
    if launched() and config.num_neighbors is None:
        raise click.UsageError(
            "under torchrun every process would train the whole model: multi-process training shards mini-batch "
            "training only; add --num-neighbors (e.g. 10,10,10) or run graphrec train without torchrun"
        )
    options: dict[str, Any] = dict(
        target=target, source=source, model=model_name, split=protocol, seed=seed, target_fraction=target_fraction,
        refit=refit, config=config, dim=dim, layers=layers, features=features_path, home=c.home, device=device,
    )  # fmt: skip
    with contextlib.ExitStack() as stack:
        group = stack.enter_context(process_group(device)) if launched() else None
        if group is not None and not group.leader:
            api.train(None, **options, progress=False)  # its shards; rank 0 reads, saves and writes back
            return
        _train_and_save(c, options, model_name=model_name, protocol=protocol, source=source, seed=seed,
                        target_fraction=target_fraction, write_back=write_back, k=k, topics_per_user=topics_per_user,
                        vector_index=vector_index, write_batch_size=write_batch_size, out=out)  # fmt: skip


def _train_and_save(
    c: Context, options: dict[str, Any], *, model_name: str, protocol: str | None,
    source: str | None, seed: int, target_fraction: float, write_back: bool, k: int, topics_per_user: int,
    vector_index: bool | None, write_batch_size: int, out: Path | None,
) -> None:  # fmt: skip
    """Open the store, train (:func:`graphrec.api.train` with ``options``), save the run, print it and write it
    back (under torchrun: what rank 0 does)."""
    from graphrec import api
    from graphrec.train.rundir import new_run_dir

    target = options["target"]
    with c.open_store() as store:
        if write_back and vector_index:
            store.capabilities.require_vector_index()  # fail before training, not after
        split_name = protocol or ("coldstart" if source else "random")
        click.echo(
            f"training {model_name}: target {target}, split {split_name}, seed {seed}"
            + (f", target fraction {target_fraction:g}" if target_fraction < 1 else "")
        )
        try:
            run = api.train(store, **options, progress=c.progress)
        except BaseException as e:
            if interrupted(e):
                raise CommandInterrupted(
                    "interrupted (Ctrl-C) while training: no run was saved and nothing was written to the "
                    "graph. Rerun the command to train again"
                ) from e
            raise
        run_dir = _save(
            run, out or new_run_dir(runs_dir(c.home), model_name, seed), created=out is None or not out.exists()
        )
        _print_training(run, run_dir, split=split_name)
        if write_back:
            _write_back(store, run, scenario=target, k=k, topics_per_user=topics_per_user, vector_index=vector_index,
                        batch_size=write_batch_size)  # fmt: skip


def _save(run: Run, run_dir: Path, *, created: bool) -> Path:
    """Save ``run`` into ``run_dir``; a failed or interrupted save removes a folder this command created
    (``config.json`` is written last, so no command ever uses a half-written one)."""
    from graphrec.train.rundir import is_complete

    try:
        return run.save(run_dir)
    except BaseException as e:
        if created:
            shutil.rmtree(run_dir, ignore_errors=True)
            kept = ""
        elif not is_complete(run_dir) and any(run_dir.iterdir()):
            kept = f" ({run_dir} holds an incomplete save: no config.json, so no command uses it)"
        else:
            kept = ""
        if interrupted(e):
            raise CommandInterrupted(
                f"interrupted (Ctrl-C) while saving the run: no run was saved{kept} and nothing was written to the "
                "graph. Rerun the command to train again"
            ) from e
        raise


def _print_training(run: Run, run_dir: Path, *, split: str) -> None:
    result = run.fitted.result if run.fitted is not None else None
    if result is not None:
        for line in training_summary(result, name=run.config["model"]["name"]):
            click.echo(line)
        for line in display.selection_lines(run):
            click.echo(line)
    r = run.record
    click.echo(
        f"trained on {len(r.user_ids)} users, {len(r.item_keys)} items, {r.train.shape[1]} training interactions; "
        f"run: {run_dir}"
    )
    if run.metrics:
        display.print_metrics(run.metrics, title=f"test metrics ({split} split, {run.target})")


def _write_back(
    store: GraphStore,
    run: Run,
    *,
    scenario: str,
    k: int,
    topics_per_user: int,
    vector_index: bool | None,
    batch_size: int,
) -> None:
    """Write ``run`` (as it is in memory) back into the graph and print the report; a Ctrl-C says how to finish it."""
    try:
        report = run.write_back(
            store,
            scenario=scenario,
            k=k,
            topics_per_user=topics_per_user,
            vector_index=vector_index,
            batch_size=batch_size,
        )
    except BaseException as e:
        if interrupted(e):
            root = click.get_current_context().find_root().params
            command = shlex.join(
                ["graphrec",
                 *(f"--{name}={root[name]}" for name in ("home", "uri", "user", "database") if root.get(name)),
                 "write-back", "--run", str(run.path), "--scenario", scenario, "-k", str(k), "--topics-per-user",
                 str(topics_per_user),
                 *([] if vector_index is None else ["--vector-index" if vector_index else "--no-vector-index"])]
            )  # fmt: skip
            raise CommandInterrupted(
                f"interrupted (Ctrl-C) during the write-back of run {run.name}: the run folder {run.path} is "
                "complete and the graph holds part of its results (embeddings, RECOMMENDED, INTERESTED_IN). "
                f"Finish with `{command}`; it replaces what was written"
            ) from e
        raise
    display.print_write_back(report)


@click.command("write-back")
@RUN_OPTION
@click.option("--scenario", default=None, help="Scenario to recommend in (default: the run's target).")
@click.option("-k", "k", default=20, show_default=True, help="Recommendations per user written back.")
@click.option("--topics-per-user", default=5, show_default=True, help="INTERESTED_IN edges per user written back.")
@VECTOR_INDEX_OPTION
@click.option(
    "--batch-size", type=click.IntRange(min=1), default=5_000, show_default=True, help="Rows per write transaction."
)
@click.pass_obj
@writes()
def write_back_cmd(
    c: Context, run: Path | None, scenario: str | None, k: int, topics_per_user: int, vector_index: bool | None,
    batch_size: int,
) -> None:  # fmt: skip
    """Write a saved run's embeddings, RECOMMENDED and INTERESTED_IN edges into the graph, replacing the
    previous ones (what `graphrec train` does after training; finishes an interrupted write-back)."""
    from graphrec import api

    saved = api.load_run(c.run_path(run))
    with c.open_store() as store:
        _write_back(store, saved, scenario=scenario or saved.target, k=k, topics_per_user=topics_per_user,
                    vector_index=vector_index, batch_size=batch_size)  # fmt: skip
