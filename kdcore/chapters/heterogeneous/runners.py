"""The 2022 paper's table: six ways to set ``(lambda, T)`` of the distillation loss.

Gorpinich, Bakhteev & Strijov (2022): the student minimises
``lambda * CE + (1 - lambda) * KL_T(teacher || student)`` (:class:`kdcore.losses.MetaHintonKD`);
the rows of their table differ only in how ``(lambda, T)`` is chosen:

- ``none``: cross-entropy alone (no teacher);
- ``naive``: ``lambda = 0.5, T = 1``;
- ``random``: ``lambda ~ U(0, 1)``, ``log10 T ~ U(-1, 1)``, fixed for the run;
- ``gradient``: the same random start, then one-step unrolled hypergradient steps on a
  validation batch every step (:class:`kdcore.hyper.HyperStep`);
- ``hyperopt``: a TPE search (Optuna; the authors used the hyperopt package) over the same
  box, one full training per trial, scored on the validation split;
- ``proposed``: as ``gradient`` for 10 mini-epochs, then the fitted straight line for the
  next 10, and so on (:class:`kdcore.hyper.TrajectoryExtrapolation`).

Run ``r`` of ``random``, ``gradient`` and ``proposed`` starts from the same draw and the same
student initialisation (seed ``r``), so the three are compared run by run. Every run is a
:meth:`kdcore.results.RunStore.run` record; the paper reports the mean and the max over runs.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from ...run.config import ConfigBase
from ...base.checks import check_choice, check_each, check_int, check_profile, check_range
from ...hyper import HyperConfig
from ...losses import CrossEntropy
from ...models import MLP, build_model
from ...results import RunStore
from ...data import Split
from ...training.loop import TrainConfig, cache_outputs, evaluate, fit, resolve_device, seed_everything
from .data import DATASETS, LABELS, SYNTHETIC, TableData, load_table_data, synthetic_feature

CHAPTER = "heterogeneous"
METHODS = ("none", "naive", "random", "gradient", "hyperopt", "proposed")
CROSS_METHODS = ("none", "hinton", "pairwise", "uniform", "random", "tuned")
TEACHERS = ("resnet18", "resnet10", "conv_tiny")   # CIFAR teachers; Fashion-MNIST: conv_tiny only


def _check_per_dataset(name: str, values: dict, low: int) -> None:
    if not isinstance(values, dict) or not values:
        raise ValueError(f"parameter {name!r} must be a non-empty mapping dataset -> integer, got {values!r}")
    for k, v in values.items():
        check_choice(f"{name} key", k, DATASETS)
        check_int(f"{name}[{k!r}]", v, low)


@dataclass
class HeterogeneousConfig(ConfigBase):
    """Parameters of the chapter (papermill parameter names equal these field names)."""

    profile: str = "smoke"                     # "smoke" (seconds on a CPU) or "paper"
    datasets: list[str] = field(default_factory=lambda: ["synthetic"])   # columns of the 2022 table
    methods: list[str] = field(default_factory=lambda: list(METHODS))    # rows of the 2022 table
    runs: dict = field(default_factory=lambda: {"synthetic": 2})         # runs per method (paper: 10)
    epochs: dict = field(default_factory=lambda: {"synthetic": 300})     # student epochs (synthetic: full-batch steps)
    n_rows: dict = field(default_factory=lambda: {"fashion_mnist": 2000, "cifar10_reduced": 640,
                                                  "cifar10": 2000})      # rows before the 9:1 split (paper: 60000 / 12800 / 50000)
    test_rows: int = 300                       # test rows used (paper: all 10,000)
    batch_size: int = 128                      # student batch (image datasets)
    lr: float = 1.0                            # student SGD learning rate (authors: 1.0)
    lr_step: int = 10                          # halve the student lr every this many epochs
    teacher: str = "conv_tiny"                 # CIFAR teacher (paper profile: resnet18, "a pretrained CIFAR ResNet")
    teacher_fmnist: str = "conv_tiny"          # Fashion-MNIST teacher (a guess: the paper names none)
    teacher_epochs: int = 1                    # Adam epochs of each image teacher
    teacher_bf16: bool = False                 # bf16 autocast + channels_last for the teacher (GPU)
    hyper_method: str = "finite_difference"    # "exact" or "finite_difference" (the authors')
    hyper_optimizer: str = "adam"              # upper-level optimiser on the raw metaparameters
    hyper_lr: float = 0.01                     # its learning rate (a guess; see the chapter)
    hyper_clip: float = 0.0                    # clip hypergradient entries (0: off)
    mini_epochs_per_epoch: int = 10            # image datasets: a mini-epoch is 1/10 of an epoch
    synthetic_mini_epoch: int = 100            # synthetic: full-batch steps per mini-epoch (authors: 100)
    fit_mini_epochs: int = 10                  # proposed: mini-epochs of hypergradient steps ...
    extrapolate_mini_epochs: int = 10          # ... then mini-epochs on the fitted line
    hyperopt_startup: int = 3                  # TPE's random trials before it models
    # -- the heterogeneous draft's experiments (CIFAR-10 reduced, student ConvVeryTiny) --
    draft_sweep: bool = True                   # run the draft's fixed-lambda sweep ...
    sweep_lambdas: list[float] = field(default_factory=lambda: [1e-4, 0.5])   # (1-l) CE + l VID(fc1), Adam
    all_pairs: bool = True                     # run the book's all-pairs comparison ...
    cross_teachers: list[str] = field(default_factory=lambda: ["conv_tiny"])   # teachers of the all-pairs runs
    cross_methods: list[str] = field(default_factory=lambda: ["none", "hinton", "pairwise", "uniform", "random",
                                                              "tuned"])
    cross_seeds: list[int] = field(default_factory=lambda: [0])               # seeds of the all-pairs runs
    cross_epochs: int = 1                      # student epochs of the draft's experiments (authors: 25)
    cross_beta: float = 1e-4                   # weight of the VID sum (the sweep's best lambda)
    single_pair: bool = True                   # run the draft's single-pair bi-level experiment
    device: str = "auto"                       # "auto": CUDA when present

    def __post_init__(self) -> None:
        check_profile(self.profile)
        check_each("datasets", self.datasets, check_choice, DATASETS)
        check_each("methods", self.methods, check_choice, METHODS)
        for name in ("runs", "epochs", "n_rows"):
            _check_per_dataset(name, getattr(self, name), 1)
        for name in ("runs", "epochs"):
            missing = [d for d in self.datasets if d not in getattr(self, name)]
            if missing:
                raise ValueError(f"parameter {name!r} has no entry for datasets {missing}")
        if "cifar10_reduced" not in self.n_rows:
            raise ValueError("parameter 'n_rows' needs 'cifar10_reduced' (the draft's experiments run on it)")
        check_int("test_rows", self.test_rows, 1)
        check_int("batch_size", self.batch_size, 1)
        check_range("lr", self.lr, 0, None, low_open=True)
        check_int("lr_step", self.lr_step, 1)
        check_choice("teacher", self.teacher, TEACHERS)
        check_choice("teacher_fmnist", self.teacher_fmnist, ("conv_tiny",))
        check_int("teacher_epochs", self.teacher_epochs, 1)
        HyperConfig(lr=self.hyper_lr, optimizer=self.hyper_optimizer, clip=self.hyper_clip, method=self.hyper_method)
        check_int("mini_epochs_per_epoch", self.mini_epochs_per_epoch, 1)
        check_int("synthetic_mini_epoch", self.synthetic_mini_epoch, 1)
        check_int("fit_mini_epochs", self.fit_mini_epochs, 1)
        check_int("extrapolate_mini_epochs", self.extrapolate_mini_epochs, 1)
        check_int("hyperopt_startup", self.hyperopt_startup, 1)
        for name in ("draft_sweep", "all_pairs", "single_pair", "teacher_bf16"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"parameter {name!r} must be true or false, got {getattr(self, name)!r}")
        check_each("sweep_lambdas", self.sweep_lambdas, check_range, 0, 1)
        check_each("cross_teachers", self.cross_teachers, check_choice, TEACHERS)
        check_each("cross_methods", self.cross_methods, check_choice, CROSS_METHODS)
        check_each("cross_seeds", self.cross_seeds, check_int, 0)
        check_int("cross_epochs", self.cross_epochs, 1)
        check_range("cross_beta", self.cross_beta, 0, 1, low_open=True)
        check_choice("device", self.device.split(":")[0], ("auto", "cpu", "cuda"))


def setting(dataset: str, method: str) -> str:
    """Run-record setting name, e.g. ``"CIFAR-10 reduced: gradient"``."""
    return f"{LABELS[dataset]}: {method}"


def random_start(run: int) -> tuple[float, float]:
    """Run ``r``'s draw ``lambda ~ U(0, 1)``, ``log10 T ~ U(-1, 1)`` (kept inside the open
    interval HintonMeta allows)."""
    rng = np.random.default_rng(1000 + run)
    lam, log_t = rng.uniform(0, 1), rng.uniform(-1, 1)
    return float(np.clip(lam, 1e-3, 1 - 1e-3)), float(np.clip(10 ** log_t, 0.1 + 1e-3, 10 - 1e-3))


# ----------------------------------------------------------------------------------------
# Data and teachers (loaded lazily: with every record present nothing is loaded)
# ----------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=None)
def _data(dataset: str, n_rows: int, test_rows: int, feature: str) -> TableData:
    return load_table_data(dataset, n_rows, test_rows, feature)


def data(cfg: HeterogeneousConfig, dataset: str, method: str = "none") -> TableData:
    """The splits of a column as ``method``'s student sees them (see :func:`synthetic_feature`)."""
    return _data(dataset, cfg.n_rows.get(dataset, 0), cfg.test_rows, synthetic_feature(dataset, method))


def _student(cfg: HeterogeneousConfig, dataset: str, channels: int) -> nn.Module:
    return MLP([3, 2]) if dataset in SYNTHETIC else build_model("conv_very_tiny", in_channels=channels)


def _teacher_name(cfg: HeterogeneousConfig, dataset: str) -> str:
    return "logreg" if dataset in SYNTHETIC else cfg.teacher_fmnist if dataset == "fashion_mnist" else cfg.teacher


def teacher(cfg: HeterogeneousConfig, store: RunStore, dataset: str, name: str | None = None):
    """The teacher of a column (or the model ``name`` trained the same way on it) as a
    :class:`kdcore.results.TrainedModel` (weights loaded or trained on first use)."""
    name = name or _teacher_name(cfg, dataset)
    if dataset in SYNTHETIC:   # the authors' logistic regression: 10,000 full-batch Adam steps
        params = {"model": name, "steps": 10000, "lr": 1e-3}
        tcfg = None
    else:
        params = {"model": name, "dataset": dataset, "n_rows": cfg.n_rows[dataset], "epochs": cfg.teacher_epochs,
                  "lr": 1e-3, "batch_size": 128, "bf16": cfg.teacher_bf16}
        tcfg = TrainConfig(epochs=cfg.teacher_epochs, batch_size=128, lr=1e-3, device=cfg.device, progress=False,
                           bf16=cfg.teacher_bf16, channels_last=cfg.teacher_bf16)

    def build() -> nn.Module:
        seed_everything(0)
        if dataset in SYNTHETIC:
            return MLP([3, 2])
        return build_model(name, in_channels=1) if dataset == "fashion_mnist" else build_model(name)

    def train(model: nn.Module) -> dict:
        d = data(cfg, dataset)
        if dataset in SYNTHETIC:  # a plain full-batch loop: fit's per-epoch bookkeeping would dominate
            opt = torch.optim.Adam(model.parameters(), lr=1e-3)
            x, y = d.teacher_train.inputs(), d.teacher_train.y
            for _ in range(params["steps"]):
                loss = torch.nn.functional.cross_entropy(model(x), y)
                opt.zero_grad()
                loss.backward()
                opt.step()
            return {"metrics": {"accuracy": evaluate(model, d.teacher_test)["accuracy"]}}
        hist = fit(model, d.teacher_train, CrossEntropy(), tcfg, desc=f"teacher {name}")
        ev = evaluate(model, d.teacher_test)
        return {"metrics": {"accuracy": ev["accuracy"]}, "history": hist.to_dict()}

    return store.trained_model(CHAPTER, f"{LABELS[dataset]}: teacher {name}", 0, params, cfg.profile, build, train)


def _with_teacher_logits(cfg: HeterogeneousConfig, store: RunStore, dataset: str, method: str):
    """Train split with the teacher's logits cached once (the 2022 paper precomputed them)."""
    d = data(cfg, dataset, method)
    t = teacher(cfg, store, dataset).model
    if dataset in SYNTHETIC:  # the teacher sees its own features of the same rows
        inputs = Split(d.train.extras["teacher_x"], d.train.y)
        return d.train.with_extra("teacher_logits", cache_outputs(t, inputs).extras["teacher_logits"])
    t.to(resolve_device(cfg.device))
    return cache_outputs(t, d.train, bf16=cfg.teacher_bf16)


_logit_cache: dict = {}


def train_with_logits(cfg: HeterogeneousConfig, store: RunStore, dataset: str, method: str = "gradient"):
    key = (str(store.root), dataset, cfg.n_rows.get(dataset, 0), cfg.teacher, cfg.teacher_fmnist, cfg.teacher_epochs,
           cfg.teacher_bf16, cfg.device, cfg.profile, synthetic_feature(dataset, method))
    if key not in _logit_cache:
        _logit_cache[key] = _with_teacher_logits(cfg, store, dataset, method)
    return _logit_cache[key]
