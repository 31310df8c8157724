"""Chapter "Anti-distillation": config and the Table 1 runners (fully connected, Fashion-MNIST).

Petrushina, Bakhteev, Grabovoy & Strijov (2022). Teacher: MLP 784-128-64-32-10 trained on
classes 0-4 (D1, multiplicative class mask), student: MLP 784-256-128-64-10 trained on all
10 classes (D2), initialised by φ (zero / uniform pad, Net2Net), by transfer, by default
init, or by default init plus anti-distillation (AD) pre-training on D1. The *faithful*
variant keeps the authors' ReLU on the logits and unshuffled batches; the *corrected*
variant removes both. The conv / LSTM / synthetic growth experiments live in
:mod:`.experiments`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import pandas as pd
import torch
from torch import nn

from ...config import ConfigBase, config_dataclass, check_choice, check_each, check_int, check_profile, check_range
from ...data import Split, first_n, load_fashion_mnist
from ...growth import freeze_body, grow, transfer
from ...losses import CrossEntropy
from ...losses.anti_distillation import AntiDistillation, MaskedCrossEntropy, masked_logits
from ...models import MLP
from .paper import fc_setting
from ...results import RunStore
from ...robustness import fgsm_accuracy, param_noise_accuracy
from ...train import TrainConfig, fit, predict, seed_everything

CHAPTER = "anti_distillation"
D1 = tuple(range(5))          # the teacher's classes
FGSM_HEADLINE, NOISE_HEADLINE = 0.018, 0.09
INITS = ("default", "zero", "uniform", "net2net", "transfer")


@config_dataclass
class AntiDistillationConfig(ConfigBase):
    """Parameters of the chapter (papermill names = field names). Defaults: paper profile."""

    profile: str = "paper"                    # "smoke" (seconds) or "paper" (the paper's settings)
    # --- fully connected, Fashion-MNIST 5 -> 10 classes (Table 1) ---
    fc_seeds: int = 10                        # repeats, seeds 0..n-1, each with its own teacher
    fc_corrected_seeds: int = 3               # repeats of the corrected variant (budget: one CPU core)
    fc_extra_seeds: int = 3                   # repeats of the extra row "AD, all λ (best-trial λ)"
    fc_train_size: int = 60000                # first n training rows (60000 = all, as the authors)
    fc_test_size: int = 10000                 # first n test rows
    teacher_hidden: list = field(default_factory=lambda: [128, 64, 32])
    student_hidden: list = field(default_factory=lambda: [256, 128, 64])
    batch_size: int = 256                     # the authors' batch size
    teacher_epochs: int = 30                  # teacher on D1: Adam lr 1e-2, x0.1 every 10 epochs
    teacher_lr: float = 1e-2
    teacher_step: int = 10
    student_epochs: int = 10                  # every student on D2: Adam lr 1e-3
    student_lr: float = 1e-3
    transfer_frozen_epochs: int = 3           # transfer baseline: body frozen for the first epochs
    ad_epochs: int = 15                       # AD pre-training on D1: Adam lr 5e-3, exponential 0.85
    ad_lr: float = 5e-3
    ad_gamma: float = 0.85
    ad_noise: float = 0.1                     # uniform input noise width (±0.05)
    fgsm_eps: list = field(default_factory=lambda: [i / 500 for i in range(10)])
    noise_eps: list = field(default_factory=lambda: [i / 100 for i in range(10)])
    # --- growth experiments: conv (CIFAR-10), LSTM (Fashion-MNIST rows), synthetic ---
    growth_seeds: int = 3                     # repeats per task and initialisation
    growth_inits: list = field(default_factory=lambda: list(INITS))
    growth_lr: float = 1e-3                   # Adam, shuffled batches, no ReLU on logits
    growth_batch_size: int = 128
    conv_train_size: int = 5000               # random CIFAR-10 training subset (seed 0)
    conv_test_size: int = 1000                # first n exact CIFAR-10 test images (<= 1000)
    conv_teacher_epochs: int = 10
    conv_epochs: int = 10
    lstm_train_size: int = 10000              # random Fashion-MNIST subset, read row by row
    lstm_test_size: int = 2000
    lstm_teacher_hidden: int = 32
    lstm_student_hidden: int = 64
    lstm_teacher_epochs: int = 8
    lstm_epochs: int = 8
    synth_train_size: int = 5000              # Gaussian clusters, classes 0-4 of the same 10-class task
    synth_test_size: int = 2000
    synth_dim: int = 20
    synth_noise: float = 0.8                  # cluster std (larger = harder)
    synth_teacher_hidden: list = field(default_factory=lambda: [32, 16])
    synth_student_hidden: list = field(default_factory=lambda: [64, 32])
    synth_teacher_epochs: int = 15
    synth_epochs: int = 15

    def __post_init__(self) -> None:
        check_profile(self.profile)
        for name in ("fc_seeds", "fc_corrected_seeds", "fc_extra_seeds", "growth_seeds"):
            check_int(name, getattr(self, name), 0, 10)
        check_int("fc_train_size", self.fc_train_size, 256, 60000)
        check_int("fc_test_size", self.fc_test_size, 100, 10000)
        check_each("teacher_hidden", self.teacher_hidden, check_int, 1)
        check_each("student_hidden", self.student_hidden, check_int, 1)
        if len(self.teacher_hidden) != len(self.student_hidden) or any(
                s < t for s, t in zip(self.student_hidden, self.teacher_hidden)):
            raise ValueError("parameter 'student_hidden' must have the depth of 'teacher_hidden' and "
                             "no narrower layer")
        for name in ("batch_size", "teacher_epochs", "teacher_step", "student_epochs", "ad_epochs",
                     "growth_batch_size", "conv_teacher_epochs", "conv_epochs", "lstm_teacher_epochs",
                     "lstm_epochs", "synth_teacher_epochs", "synth_epochs", "synth_dim",
                     "lstm_teacher_hidden", "lstm_student_hidden"):
            check_int(name, getattr(self, name), 1)
        check_int("transfer_frozen_epochs", self.transfer_frozen_epochs, 0, self.student_epochs - 1)
        for name in ("teacher_lr", "student_lr", "ad_lr", "growth_lr"):
            check_range(name, getattr(self, name), 0, 1, low_open=True)
        check_range("ad_gamma", self.ad_gamma, 0, 1, low_open=True)
        check_range("ad_noise", self.ad_noise, 0, 1)
        check_range("synth_noise", self.synth_noise, 0, None, low_open=True)
        check_each("fgsm_eps", self.fgsm_eps, check_range, 0, 1)
        check_each("noise_eps", self.noise_eps, check_range, 0, 1)
        for name, eps, value in (("fgsm_eps", self.fgsm_eps, FGSM_HEADLINE), ("noise_eps", self.noise_eps, NOISE_HEADLINE)):
            if not any(math.isclose(e, value) for e in eps):
                raise ValueError(f"parameter {name!r} must contain the headline value {value}")
        check_each("growth_inits", self.growth_inits, check_choice, INITS)
        check_int("conv_train_size", self.conv_train_size, 100, 50000)
        check_int("conv_test_size", self.conv_test_size, 100, 1000)
        check_int("lstm_train_size", self.lstm_train_size, 100, 60000)
        check_int("lstm_test_size", self.lstm_test_size, 100, 10000)
        check_int("lstm_student_hidden", self.lstm_student_hidden, self.lstm_teacher_hidden)
        check_int("synth_train_size", self.synth_train_size, 100)
        check_int("synth_test_size", self.synth_test_size, 100)

    def datasets(self) -> tuple[str, ...]:
        return ("fashion_mnist", "cifar10") if self.growth_seeds else ("fashion_mnist",)


@dataclass(frozen=True)
class Row:
    """One row of Table 1: an initialisation, optionally followed by AD pre-training on D1."""

    init: str                                  # "default", "zero", "uniform", "net2net", "transfer"
    lambdas: tuple[float, float, float, float] | None = None   # AD pre-training λ1..λ4 (None: none)


TABLE1_ROWS: dict[str, Row] = {
    "Xavier": Row("default"),
    "Zero pad": Row("zero"),
    "Uniform pad": Row("uniform"),
    "Transfer": Row("transfer"),
    "Net2Net": Row("net2net"),
    "With data noise": Row("default", (1.0, 0.0, 1.0, 0.0)),
    "AD, λ4=0": Row("default", (0.579, 0.995, 0.498, 0.0)),           # best λ4=0 trial
    "AD, all λ (code's λ)": Row("default", (0.362, 0.245, 0.217, 0.176)),   # Optuna importances
}
EXTRA_ROWS: dict[str, Row] = {   # not in the paper's table: what the code meant to run
    "AD, all λ (best-trial λ)": Row("default", (0.716, 0.626, 0.003, 0.563)),
}


# ---------------------------------------------------------------------------------------
# data and models
# ---------------------------------------------------------------------------------------
def fc_data(cfg: AntiDistillationConfig) -> tuple[Split, Split]:
    """Fashion-MNIST train (first ``fc_train_size`` rows, in file order) and test."""
    train, test = load_fashion_mnist(True), load_fashion_mnist(False)
    if cfg.fc_train_size < len(train):
        train = first_n(train, cfg.fc_train_size)
    if cfg.fc_test_size < len(test):
        test = first_n(test, cfg.fc_test_size)
    return train, test


def fc_model(hidden: list, faithful: bool) -> MLP:
    """MLP 784-hidden-10; the faithful variant has the authors' ReLU on the logits."""
    return MLP([784, *hidden, 10], final_activation=nn.ReLU if faithful else None)


def _train_cfg(cfg: AntiDistillationConfig, seed: int, faithful: bool, epochs: int, lr: float, **kw) -> TrainConfig:
    return TrainConfig(epochs=epochs, batch_size=cfg.batch_size, lr=lr, seed=seed, shuffle=not faithful,
                       progress=False, device="cpu", **kw)


@torch.no_grad()
def masked_accuracy(model: nn.Module, split: Split, classes=D1) -> float:
    """Accuracy on the rows of ``classes`` with the multiplicative mask (the teacher's D1 test)."""
    logits, y, _ = masked_logits(predict(model, split), split.y, classes)
    return float((logits.argmax(1) == y).float().mean())


def fc_teacher(cfg: AntiDistillationConfig, seed: int, faithful: bool, data: tuple[Split, Split],
               store: RunStore) -> nn.Module:
    """The seed's teacher, trained on D1 (cached in ``results/.cache``; record kept)."""
    train, test = data
    params = {"hidden": cfg.teacher_hidden, "epochs": cfg.teacher_epochs, "lr": cfg.teacher_lr,
              "step": cfg.teacher_step, "batch_size": cfg.batch_size, "train": len(train), "test": len(test)}

    def build() -> nn.Module:
        seed_everything(seed)
        return fc_model(cfg.teacher_hidden, faithful)

    def train_fn(model: nn.Module) -> dict:
        tc = _train_cfg(cfg, seed, faithful, cfg.teacher_epochs, cfg.teacher_lr, schedule="step",
                        step_size=cfg.teacher_step, gamma=0.1)
        hist = fit(model, train, MaskedCrossEntropy(D1), tc)
        return {"metrics": {"accuracy (D1 test)": masked_accuracy(model, test)},
                "history": {"train_loss": hist.train_loss}}

    _, model = store.model_run(CHAPTER, fc_setting("teacher (classes 0-4)", faithful), seed, params,
                               cfg.profile, build, train_fn)
    return model.eval()


def robustness(model: nn.Module, test: Split, cfg: AntiDistillationConfig, seed: int) -> dict:
    """FGSM and parameter-noise curves over the config's ε lists, and the headline values."""
    fg = fgsm_accuracy(model, test, cfg.fgsm_eps, cfg.batch_size)
    pn = param_noise_accuracy(model, test, cfg.noise_eps, cfg.batch_size, seed=seed)
    at = lambda eps, vals, v: vals[min(range(len(eps)), key=lambda i: abs(eps[i] - v))]
    return {"fgsm": fg, "param_noise": pn,
            "headline": {f"FGSM ε={FGSM_HEADLINE}": at(cfg.fgsm_eps, fg, FGSM_HEADLINE),
                         f"param noise ε={NOISE_HEADLINE}": at(cfg.noise_eps, pn, NOISE_HEADLINE)}}


def train_student(model: nn.Module, train: Split, test: Split, tc: TrainConfig, frozen_epochs: int = 0):
    """Train on D2 with CE; with ``frozen_epochs`` the body is frozen first (transfer)."""
    if frozen_epochs == 0:
        return fit(model, train, CrossEntropy(), tc, test=test)
    freeze_body(model, True)
    h1 = fit(model, train, CrossEntropy(), TrainConfig(**{**tc.__dict__, "epochs": frozen_epochs}), test=test)
    freeze_body(model, False)
    h2 = fit(model, train, CrossEntropy(), TrainConfig(**{**tc.__dict__, "epochs": tc.epochs - frozen_epochs,
                                                            "seed": tc.seed + 1}), test=test)
    h1.test_metric += h2.test_metric
    h1.test_loss += h2.test_loss
    h1.train_loss += h2.train_loss
    h1.test_epochs += [e + frozen_epochs for e in h2.test_epochs]
    return h1


def fc_student_run(cfg: AntiDistillationConfig, row: Row, seed: int, faithful: bool, teacher: nn.Module,
                   data: tuple[Split, Split]) -> dict:
    """One Table 1 run: initialise, (AD pre-train on D1), train on D2, measure robustness."""
    train, test = data
    seed_everything(seed)
    if row.init == "transfer":
        student = transfer(teacher, 10)
    else:
        student = fc_model(cfg.student_hidden, faithful)
        if row.init != "default":
            grow(teacher, student, row.init, seed=seed)
    parts = {}
    if row.lambdas is not None:
        ad = AntiDistillation(teacher, row.lambdas, D1, noise_eps=cfg.ad_noise)
        tc = _train_cfg(cfg, seed, faithful, cfg.ad_epochs, cfg.ad_lr, schedule="exponential", gamma=cfg.ad_gamma)
        parts = fit(student, train, ad, tc).train_parts
    frozen = cfg.transfer_frozen_epochs if row.init == "transfer" else 0
    hist = train_student(student, train, test, _train_cfg(cfg, seed, faithful, cfg.student_epochs, cfg.student_lr),
                         frozen)
    rob = robustness(student, test, cfg, seed)
    untouched = untouched_new_units(student, cfg.teacher_hidden) if row.init != "transfer" else None
    return {"metrics": {"accuracy": hist.last, **rob["headline"]},
            "history": {"test_accuracy": hist.test_metric, "train_loss": hist.train_loss, "ad_parts": parts},
            "extra": {"fgsm": rob["fgsm"], "param_noise": rob["param_noise"],
                      "fgsm_eps": cfg.fgsm_eps, "noise_eps": cfg.noise_eps,
                      "untouched_new_units": untouched}}


@torch.no_grad()
def untouched_new_units(student: MLP, teacher_hidden: list) -> list[float]:
    """Per hidden layer, the fraction of the student's *new* units (beyond the teacher's
    width) whose incoming weights and bias are still exactly zero. After zero pad with
    ReLU such a unit has pre-activation 0, ReLU'(0) = 0 and output 0, so it never gets a
    gradient: the grown network keeps training as the teacher-sized one."""
    out = []
    for layer, n_t in zip(student.layers[:-1], teacher_hidden):
        w = torch.cat([layer.weight[n_t:], layer.bias[n_t:, None]], 1)
        out.append(float((w == 0).all(1).float().mean()) if len(w) else float("nan"))
    return out


def fc_params(cfg: AntiDistillationConfig, row: Row) -> dict:
    """What determines an FC run (the record key)."""
    keys = ("teacher_hidden", "student_hidden", "batch_size", "teacher_epochs", "teacher_lr", "teacher_step",
            "student_epochs", "student_lr", "fc_train_size", "fc_test_size", "fgsm_eps", "noise_eps")
    p = {k: getattr(cfg, k) for k in keys}
    p["init"] = row.init
    if row.init == "transfer":
        p["transfer_frozen_epochs"] = cfg.transfer_frozen_epochs
    if row.lambdas is not None:
        p.update(lambdas=list(row.lambdas), ad_epochs=cfg.ad_epochs, ad_lr=cfg.ad_lr, ad_gamma=cfg.ad_gamma,
                 ad_noise=cfg.ad_noise)
    return p


def run_table1(cfg: AntiDistillationConfig, faithful: bool = True, store: RunStore | None = None) -> list[dict]:
    """The eight Table 1 rows for every seed (faithful: ``fc_seeds``, corrected:
    ``fc_corrected_seeds``), and, for the faithful variant, the extra best-trial-λ row for
    the first ``fc_extra_seeds`` seeds. Finished runs are read from their records."""
    store = store or RunStore()
    data = fc_data(cfg)
    n_seeds = cfg.fc_seeds if faithful else cfg.fc_corrected_seeds
    out = []
    for seed in range(n_seeds):
        teacher = fc_teacher(cfg, seed, faithful, data, store)
        rows = dict(TABLE1_ROWS)
        if faithful and seed < cfg.fc_extra_seeds:
            rows.update(EXTRA_ROWS)
        for name, row in rows.items():
            out.append(store.run(CHAPTER, fc_setting(name, faithful), seed, fc_params(cfg, row), cfg.profile,
                                 lambda: fc_student_run(cfg, row, seed, faithful, teacher, data)))
    return out


# ---------------------------------------------------------------------------------------
# tables and curves from records
# ---------------------------------------------------------------------------------------
def records_frame(records: list[dict]) -> pd.DataFrame:
    """One row per record: setting, seed, profile and every headline metric."""
    return pd.DataFrame([{"setting": r["setting"], "seed": r["seed"], "profile": r["profile"], **r["metrics"]}
                         for r in records])


def curves_frame(records: list[dict], key: str, x_key: str | None = None) -> pd.DataFrame:
    """Long table of a curve for seaborn: ``setting, seed, x, value``.

    ``key`` is a list in ``history`` or ``extra`` (e.g. ``"test_accuracy"``, ``"fgsm"``);
    ``x_key`` names the list of x values in ``extra`` (default: epochs 1, 2, ...).
    """
    rows = []
    for r in records:
        src = r.get("history") or {}
        vals = src.get(key) if key in src else (r.get("extra") or {}).get(key)
        if vals is None:
            continue
        xs = (r.get("extra") or {}).get(x_key) if x_key else range(1, len(vals) + 1)
        rows += [{"setting": r["setting"], "seed": r["seed"], "x": x, "value": v} for x, v in zip(xs, vals)]
    return pd.DataFrame(rows, columns=["setting", "seed", "x", "value"])


def summary(records: list[dict]) -> pd.DataFrame:
    """Mean ± std over seeds of every headline metric per setting (formatted strings)."""
    df = records_frame(records)
    metrics = [c for c in df.columns if c not in ("setting", "seed", "profile")]
    g = df.groupby("setting", sort=False)
    out = pd.DataFrame({"runs": g.size()})
    for m in metrics:
        out[m] = [f"{a:.3f} ± {b:.3f}" if b == b else f"{a:.3f}" for a, b in zip(g[m].mean(), g[m].std())]
    return out.reset_index()
