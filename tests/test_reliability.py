"""The rows of issue 11's table, one fault each: the fault injected, the message checked,
the records counted. (Data faults: tests/test_data_files.py; papermill parameters:
tests/test_notebooks.py.)"""

import math

import pytest
import torch

from kdcore.chapters.anti_distillation import AntiDistillationConfig
from kdcore.chapters.kd_overview import KDOverviewConfig
from kdcore.chapters.multidomain import MultidomainConfig
from kdcore.config import ConfigError, injected_parameters
from kdcore.data import make_synthetic
from kdcore.losses import CrossEntropy
from kdcore.models import MLP
from kdcore.results import RunStore
from kdcore.train import NonFiniteLossError, TrainConfig, fit

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
