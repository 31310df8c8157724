"""Model store: a stored model is reused (nothing trained), an interrupted training resumes
to the same weights, a truncated file is named in the error."""

import pytest
import torch

from kdcore.results.model_store import CheckpointError, ModelStore, model_key
from kdcore.data import make_synthetic
from kdcore.losses import CrossEntropy
from kdcore.models import MLP
from kdcore.training.loop import TrainConfig, fit

DATA = make_synthetic(96, dim=6, n_classes=3, seed=0)
CONFIG = {"arch": "MLP 6-8-3", "data": "synthetic 96 seed 0", "epochs": 4, "lr": 1e-2, "batch_size": 16, "seed": 3}


def _build():
    torch.manual_seed(CONFIG["seed"])
    return MLP([6, 8, 3])


class Interrupt(Exception):
    pass


def _fit_fn(calls, stop_after=None):
    def fit_fn(model, resume, on_checkpoint):
        calls.append(resume["epoch"] if resume else 0)

        def checkpoint(state):
            on_checkpoint(state)
            if stop_after is not None and state["epoch"] == stop_after:
                raise Interrupt
        cfg = TrainConfig(epochs=CONFIG["epochs"], batch_size=CONFIG["batch_size"], lr=CONFIG["lr"],
                          seed=CONFIG["seed"], device="cpu", progress=False)
        return fit(model, DATA, CrossEntropy(), cfg, DATA, resume=resume, on_checkpoint=checkpoint)
    return fit_fn


def test_second_request_trains_nothing(tmp_path):
    store, calls = ModelStore(tmp_path), []
    first = store.get(CONFIG, _build, _fit_fn(calls), name="mlp")
    second = store.get(CONFIG, _build, _fit_fn(calls), name="mlp")
    assert calls == [0] and first.trained_epochs == 4 and second.trained_epochs == 0
    assert second.path == first.path and first.path.name == f"mlp-{model_key(CONFIG)}.pt"
    for a, b in zip(first.model.state_dict().values(), second.model.state_dict().values()):
        assert torch.equal(a, b)
    assert second.history.test_metric == first.history.test_metric
    other = {**CONFIG, "lr": 2e-2}
    assert model_key(other) != model_key(CONFIG) and not store.has(other, "mlp")


def test_interrupted_training_resumes_to_the_same_weights(tmp_path):
    whole = ModelStore(tmp_path / "a").get(CONFIG, _build, _fit_fn([]), name="mlp")
    store, calls = ModelStore(tmp_path / "b"), []
    with pytest.raises(Interrupt):
        store.get(CONFIG, _build, _fit_fn(calls, stop_after=2), name="mlp")
    assert store.partial_path(CONFIG, "mlp").exists() and not store.has(CONFIG, "mlp")
    resumed = store.get(CONFIG, _build, _fit_fn(calls), name="mlp")
    assert calls == [0, 2] and resumed.trained_epochs == 2
    assert not store.partial_path(CONFIG, "mlp").exists()
    for k, v in whole.model.state_dict().items():
        assert torch.equal(v, resumed.model.state_dict()[k]), k
    assert resumed.history.train_loss == whole.history.train_loss


def test_truncated_file_is_named(tmp_path):
    store = ModelStore(tmp_path)
    stored = store.get(CONFIG, _build, _fit_fn([]), name="mlp")
    data = stored.path.read_bytes()
    stored.path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match=str(stored.path)):
        store.get(CONFIG, _build, _fit_fn([]), name="mlp")
