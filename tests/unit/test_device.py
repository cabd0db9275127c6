"""``--device auto|cpu|cuda`` (issue 14 item 4): the device names, and training, scoring and the text encoder
on the device they resolve to.

On a machine without a GPU, ``cpu`` and ``auto`` train the same model as the default configuration, to
the bit (same seed), and ``cuda`` stops with the fix. Where torch sees a GPU, ``cuda`` and ``auto`` resolve
to it instead, and the model trained there must hold every tensor on it and give finite embeddings back on
the CPU (no claim that they equal the CPU's: a GPU's sums differ in the last bits, and choices made on
validation may then differ).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from graphrec.data.splits import coldstart_transfer, no_holdout
from graphrec.device import check_device_name, resolve_device
from graphrec.errors import ConfigError
from graphrec.models.presets import model_spec
from graphrec.text.encoder import TextEncoder
from graphrec.train.config import TrainConfig
from graphrec.train.fit import fit
from graphrec.train.fitted import Fitted
from graphrec.train.record import record_run
from tests.helpers import toy_export

GPU = torch.cuda.is_available()
CONFIG = TrainConfig(epochs=3, batch_size=64, lr=0.05, seed=0)


def test_device_names() -> None:
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device("auto") == (torch.device("cuda", torch.cuda.current_device()) if GPU else torch.device("cpu"))
    for name in ("auto", "cpu", "cuda", "cuda:0", "cuda:12"):
        assert check_device_name(name) == name
    for bad in ("gpu", "CUDA", "cuda:", "cuda:x", "mps", "cpu:0", ""):
        with pytest.raises(ConfigError, match=r"unknown device .*; use auto, cpu, cuda or cuda:N"):
            resolve_device(bad)


def test_cuda_without_a_gpu_is_a_clear_error() -> None:
    if GPU:  # a GPU machine: cuda is the GPU, and an index torch does not have is the error
        assert resolve_device("cuda").type == "cuda"
        count = torch.cuda.device_count()
        with pytest.raises(ConfigError, match=rf"no CUDA device {count} .*torch sees {count} GPU"):
            resolve_device(f"cuda:{count}")
        return
    for name in ("cuda", "cuda:0"):
        with pytest.raises(
            ConfigError, match=r"no CUDA device .*torch\.cuda\.is_available\(\) is False.*use --device cpu or auto"
        ):
            resolve_device(name)


def _embeddings(fitted: Fitted) -> dict[str, np.ndarray]:
    emb = fitted.embeddings()
    assert emb and all(x.dtype == np.float32 for x in emb.values())
    return emb


@pytest.mark.parametrize(
    ("model", "protocol"),
    [("graphrec", "coldstart"), ("graphrec", "none"), ("lightgcn-merged", "coldstart"), ("graphrec-single", "none")],
)
def test_cpu_and_auto_train_the_default_model_to_the_bit(model: str, protocol: str) -> None:
    """The routed model (cold path, bridge, blocks, gate chosen on validation) and a single channel (with the
    transfer head), on a split with and without validation: ``device="cpu"`` and, without a GPU, ``"auto"``
    give the embeddings, metrics and checkpoint of the default configuration, bit for bit."""
    export, x = toy_export()
    split = (
        coldstart_transfer(export, source="movies", target="books", seed=0)
        if protocol == "coldstart"
        else no_holdout(export, source="movies", target="books")
    )
    spec = model_spec(model, dim=8)

    def train(config: TrainConfig) -> Fitted:
        return fit(export, split, spec, config, target="books", item_x=x)

    default = train(CONFIG)
    want = _embeddings(default)
    for name in ("cpu", "auto") if not GPU else ("cpu",):
        fitted = train(dataclasses.replace(CONFIG, device=name))
        got = _embeddings(fitted)
        assert got.keys() == want.keys()
        for kind in want:
            assert np.array_equal(got[kind], want[kind]), (name, kind)
        assert fitted.metrics == default.metrics
        assert fitted.result is not None and default.result is not None
        assert fitted.result.history == default.result.history
        assert fitted.model is not None and default.model is not None
        state, want_state = fitted.model.state_dict(), default.model.state_dict()
        assert state.keys() == want_state.keys()
        assert all(torch.equal(state[k], want_state[k]) for k in state)


@pytest.mark.parametrize("model", ["graphrec", "lightgcn-merged"])
def test_every_tensor_lives_on_the_device_and_the_run_comes_back_to_the_cpu(model: str) -> None:
    """The model (parameters, buffers, closed-form blocks, the knowledge channel's own graph) is on the
    resolved device; the recorded run (embeddings, checkpoint) is on the CPU and holds the device."""
    export, x = toy_export()
    split = coldstart_transfer(export, source="movies", target="books", seed=0)
    device = resolve_device("auto")
    config = dataclasses.replace(CONFIG, device=str(device))
    fitted = fit(export, split, model_spec(model, dim=8), config, target="books", item_x=x)
    assert fitted.model is not None
    tensors = dict(fitted.model.named_parameters()) | dict(fitted.model.named_buffers())
    assert tensors and {t.device for t in tensors.values()} == {device}
    record = record_run(fitted, export, split, config, name="run", target="books", source="movies")
    assert record.config["train"]["device"] == str(device)
    assert record.state is not None and {t.device.type for t in record.state.values()} == {"cpu"}
    for emb in (record.user, record.item, record.topic):
        assert isinstance(emb, np.ndarray) and np.isfinite(emb).all()
    # the run's scores on the device rank as the CPU's (dot products of the same float32 vectors)
    rows = torch.arange(len(export.user_ids))
    on_cpu, on_device = record.score_fn()(rows), record.score_fn(device)(rows)
    assert on_device.device == device
    assert torch.allclose(on_device.cpu(), on_cpu, atol=1e-5)


TEXTS = ["A space opera with starships and a galactic war.", "An Italian cookbook of fresh pasta.", "Short."]


def test_text_encoder_on_cpu_and_auto_encodes_to_the_bit() -> None:
    """The BERT encoder on ``cpu`` and ``auto`` gives the default encoder's vectors, bit for bit (without a GPU;
    with one, ``auto`` runs there and its vectors agree to float tolerance); ``cuda`` without a GPU fails
    when the encoder is made, before any text is read."""
    want = TextEncoder(progress=False).encode(TEXTS)
    assert TextEncoder(progress=False, device="cpu").device == torch.device("cpu")
    assert np.array_equal(TextEncoder(progress=False, device="cpu").encode(TEXTS), want)
    auto = TextEncoder(progress=False, device="auto")
    assert auto.device == resolve_device("auto")
    if GPU:
        np.testing.assert_allclose(auto.encode(TEXTS), want, atol=1e-4)
        return
    assert np.array_equal(auto.encode(TEXTS), want)
    with pytest.raises(ConfigError, match=r"torch\.cuda\.is_available\(\) is False.*use --device cpu or auto"):
        TextEncoder(progress=False, device="cuda")
    with pytest.raises(ConfigError, match="unknown device 'gpu'"):
        TextEncoder(progress=False, device="gpu")
