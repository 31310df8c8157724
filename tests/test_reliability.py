"""The rows of issue 11's table, one fault each: the fault injected, the message checked,
the records counted. (Data faults: tests/test_data_files.py; papermill parameters:
tests/test_notebooks.py.)"""

import math

import pytest
import torch

from kdcore.chapters.anti_distillation import AntiDistillationConfig
from kdcore.chapters.kd_overview import KDOverviewConfig
from kdcore.chapters.multidomain import MultidomainConfig
from kdcore.base.checks import ConfigError
from kdcore.run.config import injected_parameters
from kdcore.data import make_synthetic
from kdcore.losses import CrossEntropy
from kdcore.models import MLP
from kdcore.results import RunStore
from kdcore.training.loop import NonFiniteLossError, TrainConfig, fit

CONFIGS = [KDOverviewConfig, AntiDistillationConfig, MultidomainConfig]


# -- non-finite and absurd numbers ------------------------------------------------------
@pytest.mark.parametrize("cls,name,value", [
    (KDOverviewConfig, "temperature", math.inf), (KDOverviewConfig, "temperature", math.nan),
    (KDOverviewConfig, "lr", math.inf), (KDOverviewConfig, "lr", 1e6),
    (KDOverviewConfig, "temperatures", [1.0, math.inf]), (KDOverviewConfig, "alpha", -math.inf),
    (AntiDistillationConfig, "fgsm_eps", [0.018, math.nan]), (AntiDistillationConfig, "synth_noise", math.inf),
    (MultidomainConfig, "lambda_grid", [0.5, math.inf]), (MultidomainConfig, "student_lr", math.inf),
    (TrainConfig, "lr", math.inf), (TrainConfig, "lr", 1e6), (TrainConfig, "weight_decay", math.inf),
])
def test_non_finite_or_absurd_numbers_are_refused_naming_the_parameter(cls, name, value):
    with pytest.raises(ConfigError) as err:
        cls(**{name: value})
    assert repr(name) in str(err.value) or repr(f"{name}[1]") in str(err.value)


@pytest.mark.parametrize("cls,name", [(KDOverviewConfig, "bf16"), (MultidomainConfig, "continued"),
                                      (TrainConfig, "bf16"), (TrainConfig, "shuffle"),
                                      (TrainConfig, "progress")])
@pytest.mark.parametrize("value", ["false", "true", 0, 1, None])
def test_booleans_are_strict(cls, name, value):
    with pytest.raises(ConfigError, match=f"parameter '{name}' must be true or false"):
        cls(**{name: value})


@pytest.mark.parametrize("cls", CONFIGS + [TrainConfig])
def test_unknown_keywords_are_refused(cls):
    with pytest.raises(ConfigError, match="unknown parameter 'temprature'"):
        cls(temprature=5.0)


def test_a_misspelt_papermill_parameter_is_refused_with_a_suggestion():
    # what IPython's In holds after papermill injected `-p temprature 5`
    namespace = {"In": ["", "profile = 'smoke'\ntemperature = 20.0", "# Parameters\ntemprature = 5\n"],
                 **KDOverviewConfig().asdict()}
    assert injected_parameters(namespace) == ["temprature"]
    with pytest.raises(ConfigError, match=r"unknown parameter 'temprature' \(did you mean 'temperature'\?\)"):
        KDOverviewConfig.from_namespace(namespace)
    namespace["In"][-1], namespace["temperature"] = "# Parameters\ntemperature = 5.0\n", 5.0
    assert KDOverviewConfig.from_namespace(namespace).temperature == 5.0


def test_valid_values_still_pass_and_ints_become_floats():
    cfg = KDOverviewConfig(temperature=5, temperatures=[1, 2.5])
    assert cfg.temperature == 5.0 and isinstance(cfg.temperature, float) and cfg.temperatures == [1.0, 2.5]
    assert TrainConfig(lr=10, bf16=True).lr == 10.0


# -- a non-finite training loss -----------------------------------------------------------
class _Explodes:
    """Cross-entropy that turns into ``inf`` from the ``at``-th call on."""

    def __init__(self, at: int):
        self.calls, self.at, self.ce = 0, at, CrossEntropy()

    def __call__(self, model, batch):
        self.calls += 1
        parts = self.ce(model, batch)
        return {k: v * (math.inf if self.calls >= self.at else 1.0) for k, v in parts.items()}


def test_a_non_finite_loss_stops_fit_naming_epoch_and_step_and_writes_no_record(tmp_path):
    store = RunStore(tmp_path)
    train = make_synthetic(200, dim=4, n_classes=3, seed=0)
    cfg = TrainConfig(epochs=3, batch_size=50, progress=False)

    def run(at):
        def fn():
            torch.manual_seed(0)
            return {"metrics": {"loss": fit(MLP([4, 8, 3]), train, _Explodes(at), cfg, desc="teacher").train_loss[-1]}}
        return fn

    store.run("ch", "fine", 0, {}, "smoke", run(10**6))      # a finished run, kept
    with pytest.raises(NonFiniteLossError, match=r"teacher: the training loss is not finite at epoch 2, step 6 "
                                                 r"\(batch 2 of the epoch; ce=inf\)"):
        store.run("ch", "explodes", 0, {}, "smoke", run(6))
    assert [r["setting"] for r in store.records()] == ["fine"]


# -- run records: corrupt, foreign, unwritable, full disk, truncated caches ----------------
def _two_records(root):
    store = RunStore(root)
    for seed in (0, 1):
        store.run("kd_overview", "s", seed, {}, "paper", lambda: {"metrics": {"accuracy": 0.9}})
    return store


def test_a_truncated_record_is_named_by_path_in_records_and_the_cli(tmp_path, capsys):
    from kdcore.run.results_cli import main
    from kdcore.results.records import CorruptRecordError

    store = _two_records(tmp_path)
    path = store.path("kd_overview", "s", 1, {}, "paper")
    path.write_text(path.read_text()[:40])                  # truncated mid-write
    with pytest.raises(CorruptRecordError, match="corrupt run record") as err:
        store.records()
    assert str(path) in str(err.value)
    assert main(["--root", str(tmp_path), "--format", "markdown"]) == 1
    assert str(path) in capsys.readouterr().err
    path.unlink()                                           # deleting it, as the message says
    assert main(["--root", str(tmp_path)]) == 0 and len(store.records()) == 1


def test_a_foreign_json_file_is_named_by_path(tmp_path, capsys):
    from kdcore.run.results_cli import main

    store = _two_records(tmp_path)
    foreign = tmp_path / "kd_overview" / "notes.json"
    foreign.write_text('{"note": "not a run"}')
    with pytest.raises(ValueError, match="is not a kdcore run record") as err:
        store.records("kd_overview")
    assert str(foreign) in str(err.value)
    assert main(["--root", str(tmp_path)]) == 1 and str(foreign) in capsys.readouterr().err


@pytest.mark.parametrize("args,message", [(["--chapter", "nope"], "unknown chapter 'nope'"),
                                          (["--root", "{tmp}/missing"], "does not exist")])
def test_results_cli_refuses_an_unknown_chapter_or_a_missing_root(tmp_path, capsys, args, message):
    from kdcore.run.results_cli import main

    _two_records(tmp_path)
    args = [a.format(tmp=tmp_path) for a in args]
    assert main(args + (["--root", str(tmp_path)] if "--root" not in args else [])) == 2
    assert message in capsys.readouterr().err


def test_an_unwritable_results_folder_is_found_before_training(tmp_path):
    (tmp_path / "a_file").write_text("")
    store, calls = RunStore(tmp_path / "a_file" / "results"), []
    with pytest.raises(OSError, match="results folder .* is not writable") as err:
        store.run("ch", "s", 0, {}, "smoke", lambda: calls.append(1) or {"metrics": {"m": 1.0}})
    assert str(tmp_path / "a_file" / "results") in str(err.value) and calls == []


def test_a_full_disk_names_the_path_and_keeps_finished_records(tmp_path, monkeypatch):
    import errno
    from pathlib import Path

    store = _two_records(tmp_path)
    real = Path.write_text

    def full(self, *a, **k):
        if self.name.endswith(".tmp"):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(self, *a, **k)

    monkeypatch.setattr(Path, "write_text", full)
    with pytest.raises(OSError, match="the disk is full") as err:
        store.run("kd_overview", "s", 2, {}, "paper", lambda: {"metrics": {"accuracy": 0.8}})
    assert str(store.path("kd_overview", "s", 2, {}, "paper")) in str(err.value)
    monkeypatch.undo()
    assert len(store.records()) == 2 and not list(tmp_path.rglob("*.tmp"))


def test_truncated_weights_are_named_by_path(tmp_path):
    from kdcore.results.weights import WeightsMismatch

    store = RunStore(tmp_path)

    def build():
        torch.manual_seed(0)
        return torch.nn.Linear(2, 1)

    store.trained_model("ch", "t", 0, {}, "smoke", build, lambda m: {"metrics": {"w": 1.0}})
    (weights,) = tmp_path.rglob("*.safetensors")
    weights.write_bytes(weights.read_bytes()[:100])
    again = store.trained_model("ch", "t", 0, {}, "smoke", build, lambda m: {"metrics": {"w": 1.0}})
    with pytest.raises(WeightsMismatch, match="refusing") as err:
        again.model
    assert str(weights) in str(err.value) and len(store.records()) == 1


def test_a_truncated_cifar_mirror_cache_is_named_by_path(tmp_path):
    from kdcore.data import cifar_mirror

    cache = tmp_path / "cifar10" / "kdcore_mirror_train.pt"
    cache.parent.mkdir()
    torch.save({"x": torch.zeros(2, 32, 32, 3, dtype=torch.uint8)}, cache)
    cache.write_bytes(cache.read_bytes()[:64])
    with pytest.raises(cifar_mirror.MirrorError, match="cannot be read") as err:
        cifar_mirror.read(tmp_path, True)
    assert str(cache) in str(err.value)


def test_every_torch_load_is_weights_only():
    import ast
    from pathlib import Path

    calls = []
    for path in Path(__file__).resolve().parent.parent.joinpath("kdcore").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and ast.unparse(node.func) == "torch.load":
                kw = {k.arg: ast.unparse(k.value) for k in node.keywords}
                calls.append((path.name, kw.get("weights_only")))
    assert calls and all(w == "True" for _, w in calls), calls
