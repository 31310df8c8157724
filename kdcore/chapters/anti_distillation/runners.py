"""Chapter "Anti-distillation": config and the Table 1 runners (fully connected, Fashion-MNIST).

Petrushina, Bakhteev, Grabovoy & Strijov (2022). Teacher: MLP 784-128-64-32-10 trained on
classes 0-4 (D1, multiplicative class mask), student: MLP 784-256-128-64-10 trained on all
10 classes (D2), initialised by φ (zero / uniform pad, Net2Net), by transfer, by default
init, or by default init plus anti-distillation (AD) pre-training on D1.

Two variants (``shared/PAPERS.md`` section 2 lists the facts from the authors' final code):

- *faithful* = what the authors ran: ReLU on the logits, unshuffled batches, six rows
  trained ``student_epochs`` (30) on D2 and "Transfer" and "AD, all λ" ``student_epochs_short``
  (10), the λ4 term a constant (uniform probe, no ``create_graph``), the block distance one
  norm over all blocks, Net2Net without noise, the teacher's lr decayed once at epoch 10;
- *corrected*: no ReLU on the logits, shuffled batches, every row ``student_epochs``, a
  differentiable Rademacher λ4 term, Net2Net with ``net2net_noise``; the block distance
  is ``corrected_block_norm``.

The conv / LSTM / synthetic growth experiments live in :mod:`.experiments`, the measures in
:mod:`.measures`, tables from records in :mod:`.report`.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field

import torch
from torch import nn

from ...run.config import ConfigBase
from ...base.checks import config_dataclass, check_choice, check_each, check_int, check_profile, check_range
from ...data import Split, first_n, load_fashion_mnist
from ...models.growth import freeze_body, grow, transfer
from ...losses import CrossEntropy
from ...losses.anti_distillation import BLOCK_NORMS, AntiDistillation, MaskedCrossEntropy, masked_logits
from ...models import MLP
from ...results import RunStore
from ...training.loop import TrainConfig, fit, predict, seed_everything
from .measures import EpochProbe, duplicate_units, robustness, untouched_new_units
from .paper import fc_setting
from .report import curves_frame, records_frame, summary

CHAPTER = "anti_distillation"
D1 = tuple(range(5))          # the teacher's classes
FGSM_HEADLINE, NOISE_HEADLINE = 0.018, 0.09
INITS = ("default", "zero", "uniform", "net2net", "transfer")


@config_dataclass
class AntiDistillationConfig(ConfigBase):
    """Parameters of the chapter (papermill names = field names). Defaults: paper profile."""

    profile: str = "paper"                    # "smoke" (seconds) or "paper" (the paper's settings)
    # --- fully connected, Fashion-MNIST 5 -> 10 classes (Table 1) ---
    fc_seeds: int = 10                        # repeats of the faithful variant, seeds 0..n-1, own teacher each
    fc_corrected_seeds: int = 3               # repeats of the corrected variant (budget: one CPU core)
    fc_extra_seeds: int = 0                   # repeats of the extra row "AD, all λ (best-trial λ)"
    fc_train_size: int = 60000                # first n training rows (60000 = all, as the authors)
    fc_test_size: int = 10000                 # first n test rows
    teacher_hidden: list = field(default_factory=lambda: [128, 64, 32])
    student_hidden: list = field(default_factory=lambda: [256, 128, 64])
    batch_size: int = 256                     # the authors' batch size
    teacher_epochs: int = 30                  # teacher on D1: Adam lr 1e-2, x0.1 once after teacher_step epochs
    teacher_lr: float = 1e-2
    teacher_step: int = 10
    student_epochs: int = 30                  # students on D2 (Adam lr 1e-3); the authors' six long rows
    student_epochs_short: int = 10            # faithful "Transfer" and "AD, all λ" (their histories: 10)
    checkpoint_epoch: int = 10                # every row is also measured after this epoch
    student_lr: float = 1e-3
    transfer_frozen_epochs: int = 3           # transfer baseline: body frozen for the first epochs
    ad_epochs: int = 15                       # AD pre-training on D1: Adam lr 5e-3, exponential 0.85
    ad_lr: float = 5e-3
    ad_gamma: float = 0.85
    ad_noise: float = 0.1                     # uniform input noise width (±0.05)
    net2net_noise: float = 0.1                # corrected and growth tasks: Net2Net replica noise, x the layer's weight std
    corrected_block_norm: str = "concatenated"   # corrected AD block distance: "concatenated" or "per_tensor"
    fgsm_eps: list = field(default_factory=lambda: [i / 500 for i in range(10)])
    noise_eps: list = field(default_factory=lambda: [i / 100 for i in range(10)])
    # --- growth experiments: conv (CIFAR-10), LSTM (Fashion-MNIST rows), synthetic ---
    growth_seeds: int = 3                     # repeats per task and initialisation
    growth_inits: list = field(default_factory=lambda: list(INITS))
    growth_lr: float = 1e-3                   # students: Adam, shuffled batches, no ReLU on logits
    growth_teacher_lr: float = 2e-3           # teachers on classes 0-4 (CIFAR-10: >= 0.65 needs it)
    growth_batch_size: int = 128
    reach_fraction: float = 0.9               # "epochs to reach" = epochs to this x the weakest row's final accuracy
    conv_train_size: int = 12000              # random CIFAR-10 training subset (seed 0)
    conv_test_size: int = 1000                # first n exact CIFAR-10 test images (<= 1000)
    conv_teacher_epochs: int = 15
    conv_epochs: int = 8
    conv_noise_eps: list = field(default_factory=lambda: [i / 500 for i in range(10)])   # 0.09: chance
    lstm_train_size: int = 10000              # random Fashion-MNIST subset, read row by row
    lstm_test_size: int = 2000
    lstm_teacher_hidden: int = 32
    lstm_student_hidden: int = 64
    lstm_teacher_epochs: int = 8
    lstm_epochs: int = 8
    lstm_noise_eps: list = field(default_factory=lambda: [i / 100 for i in range(10)])
    synth_train_size: int = 5000              # Gaussian clusters, classes 0-4 of the same 10-class task
    synth_test_size: int = 2000
    synth_dim: int = 20
    synth_noise: float = 0.8                  # cluster std (larger = harder)
    synth_teacher_hidden: list = field(default_factory=lambda: [32, 16])
    synth_student_hidden: list = field(default_factory=lambda: [64, 32])
    synth_teacher_epochs: int = 15
    synth_epochs: int = 15
    synth_noise_eps: list = field(default_factory=lambda: [i / 100 for i in range(10)])

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
        for name in ("batch_size", "teacher_epochs", "teacher_step", "student_epochs", "student_epochs_short",
                     "checkpoint_epoch", "ad_epochs", "growth_batch_size", "conv_teacher_epochs", "conv_epochs",
                     "lstm_teacher_epochs", "lstm_epochs", "synth_teacher_epochs", "synth_epochs", "synth_dim",
                     "lstm_teacher_hidden", "lstm_student_hidden"):
            check_int(name, getattr(self, name), 1)
        check_int("student_epochs_short", self.student_epochs_short, 1, self.student_epochs)
        check_int("transfer_frozen_epochs", self.transfer_frozen_epochs, 0, self.student_epochs_short - 1)
        for name in ("teacher_lr", "student_lr", "ad_lr", "growth_lr", "growth_teacher_lr"):
            check_range(name, getattr(self, name), 0, 1, low_open=True)
        check_range("ad_gamma", self.ad_gamma, 0, 1, low_open=True)
        check_range("ad_noise", self.ad_noise, 0, 1)
        check_range("net2net_noise", self.net2net_noise, 0, 1)
        check_range("reach_fraction", self.reach_fraction, 0, 1, low_open=True)
        check_choice("corrected_block_norm", self.corrected_block_norm, BLOCK_NORMS)
        check_range("synth_noise", self.synth_noise, 0, None, low_open=True)
        for name in ("fgsm_eps", "noise_eps", "conv_noise_eps", "lstm_noise_eps", "synth_noise_eps"):
            check_each(name, getattr(self, name), check_range, 0, 1)
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

    def required_data(self) -> tuple[str, ...]:
        return ("fashion_mnist", "cifar10") if self.growth_seeds else ("fashion_mnist",)


@dataclass(frozen=True)
class Row:
    """One row of Table 1: an initialisation, optionally followed by AD pre-training on D1."""

    init: str                                  # "default", "zero", "uniform", "net2net", "transfer"
    lambdas: tuple[float, float, float, float] | None = None   # AD pre-training λ1..λ4 (None: none)
    short: bool = False                        # faithful: trained student_epochs_short on D2 (their histories)
    matched: bool = False                      # default init trained ad_epochs longer (compute-matched to AD)


TABLE1_ROWS: dict[str, Row] = {
    "Xavier": Row("default"),
    "Zero pad": Row("zero"),
    "Uniform pad": Row("uniform"),
    "Transfer": Row("transfer", short=True),
    "Net2Net": Row("net2net"),
    "With data noise": Row("default", (1.0, 0.0, 1.0, 0.0)),
    "AD, λ4=0": Row("default", (0.579, 0.995, 0.498, 0.0)),                      # best λ4=0 trial
    "AD, all λ (code's λ)": Row("default", (0.362, 0.245, 0.217, 0.176), short=True),   # Optuna importances
}
MATCHED_ROWS: dict[str, Row] = {   # ours: the default init given AD's pre-training epochs on D2 instead
    "Xavier, compute-matched": Row("default", matched=True),
}
EXTRA_ROWS: dict[str, Row] = {     # not in the paper's table: what the code meant to run
    "AD, all λ (best-trial λ)": Row("default", (0.716, 0.626, 0.003, 0.563), short=True),
}


# ---------------------------------------------------------------------------------------
# data and models
# ---------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=2)
def _fc_data(train_size: int, test_size: int) -> tuple[Split, Split]:
    train, test = load_fashion_mnist(True), load_fashion_mnist(False)
    return (first_n(train, train_size) if train_size < len(train) else train,
            first_n(test, test_size) if test_size < len(test) else test)


def fc_data(cfg: AntiDistillationConfig) -> tuple[Split, Split]:
    """Fashion-MNIST train (first ``fc_train_size`` rows, in file order) and test."""
    return _fc_data(cfg.fc_train_size, cfg.fc_test_size)


def fc_model(hidden: list, faithful: bool) -> MLP:
    """MLP 784-hidden-10; the faithful variant has the authors' ReLU on the logits."""
    return MLP([784, *hidden, 10], final_activation=nn.ReLU if faithful else None)


def _train_cfg(cfg: AntiDistillationConfig, seed: int, faithful: bool, epochs: int, lr: float, **kw) -> TrainConfig:
    return TrainConfig(epochs=epochs, batch_size=cfg.batch_size, lr=lr, seed=seed, shuffle=not faithful,
                       progress=False, device="cpu", **kw)


def row_epochs(cfg: AntiDistillationConfig, row: Row, faithful: bool) -> int:
    """Epochs on D2 of a row: the authors' 30 / 10 split (faithful), ``student_epochs``
    for every corrected row, plus ``ad_epochs`` for the compute-matched baseline."""
    if row.matched:
        return cfg.student_epochs + cfg.ad_epochs
    return cfg.student_epochs_short if faithful and row.short else cfg.student_epochs


@torch.no_grad()
def masked_accuracy(model: nn.Module, split: Split, classes=D1) -> float:
    """Accuracy on the rows of ``classes`` with the multiplicative mask (the teacher's D1 test)."""
    logits, y, _ = masked_logits(predict(model, split), split.y, classes)
    return float((logits.argmax(1) == y).float().mean())


def teacher_params(cfg: AntiDistillationConfig) -> dict:
    """What determines a teacher (its record key)."""
    return {"hidden": cfg.teacher_hidden, "epochs": cfg.teacher_epochs, "lr": cfg.teacher_lr,
            "step": cfg.teacher_step, "schedule": "once", "batch_size": cfg.batch_size,
            "train": cfg.fc_train_size, "test": cfg.fc_test_size}


def fc_teacher(cfg: AntiDistillationConfig, seed: int, faithful: bool, store: RunStore):
    """The seed's teacher on D1 as a :class:`~kdcore.results.TrainedModel`: its record now,
    the network (``.model``) built or loaded only when a student run needs it. Adam lr
    ``teacher_lr`` decayed x0.1 once after ``teacher_step`` epochs (MultiStepLR([10]))."""

    def build() -> nn.Module:
        seed_everything(seed)
        return fc_model(cfg.teacher_hidden, faithful)

    def train_fn(model: nn.Module) -> dict:
        train, test = fc_data(cfg)
        tc = _train_cfg(cfg, seed, faithful, cfg.teacher_epochs, cfg.teacher_lr, schedule="once",
                        step_size=cfg.teacher_step, gamma=0.1)
        hist = fit(model, train, MaskedCrossEntropy(D1), tc)
        model.eval()
        return {"metrics": {"accuracy (D1 test)": masked_accuracy(model, test)},
                "history": {"train_loss": hist.train_loss}}

    return store.trained_model(CHAPTER, fc_setting("teacher (classes 0-4)", faithful), seed, teacher_params(cfg),
                               cfg.profile, build, train_fn)


def train_student(model: nn.Module, train: Split, test: Split, tc: TrainConfig, frozen_epochs: int = 0,
                  checkpoint: int | None = None, measure=None):
    """Train on D2 with CE; with ``frozen_epochs`` the body is frozen first (transfer).

    With ``checkpoint`` and ``measure`` (``model -> dict``), ``measure`` also runs after
    that epoch; the History then carries it as ``.probe`` (``None`` if never reached).
    """
    probe = EpochProbe(checkpoint, measure) if checkpoint is not None else None
    cbs = [probe] if probe else []
    if frozen_epochs == 0:
        hist = fit(model, train, CrossEntropy(), tc, test=test, callbacks=cbs)
    else:
        freeze_body(model, True)
        hist = fit(model, train, CrossEntropy(), TrainConfig(**{**tc.__dict__, "epochs": frozen_epochs}), test=test,
                   callbacks=cbs)
        freeze_body(model, False)
        if probe:
            probe.offset = frozen_epochs
        h2 = fit(model, train, CrossEntropy(), TrainConfig(**{**tc.__dict__, "epochs": tc.epochs - frozen_epochs,
                                                                "seed": tc.seed + 1}), test=test, callbacks=cbs)
        hist.test_metric += h2.test_metric
        hist.test_loss += h2.test_loss
        hist.train_loss += h2.train_loss
        hist.test_epochs += [e + frozen_epochs for e in h2.test_epochs]
    hist.probe = probe.result if probe else None
    return hist


def fc_robustness(model: nn.Module, test: Split, cfg: AntiDistillationConfig, seed: int) -> dict:
    """:func:`.measures.robustness` at the paper's ε lists and headline values."""
    return robustness(model, test, cfg.fgsm_eps, cfg.noise_eps, FGSM_HEADLINE, NOISE_HEADLINE, seed, cfg.batch_size)


def fc_student_run(cfg: AntiDistillationConfig, row: Row, seed: int, faithful: bool, teacher: nn.Module) -> dict:
    """One Table 1 run: initialise, (AD pre-train on D1), train on D2, measure robustness
    at the end and after ``checkpoint_epoch`` epochs."""
    train, test = fc_data(cfg)
    seed_everything(seed)
    if row.init == "transfer":
        student = transfer(teacher, 10)
    else:
        student = fc_model(cfg.student_hidden, faithful)
        if row.init != "default":
            # noise breaks the symmetry of Net2Net replicas only; padded inits stay what they are
            noise = cfg.net2net_noise if not faithful and row.init == "net2net" else 0.0
            grow(teacher, student, row.init, seed=seed, noise=noise)
    start_duplicates = duplicate_units(student) if row.init != "transfer" else None
    parts = {}
    if row.lambdas is not None:
        ad = AntiDistillation(teacher, row.lambdas, D1, noise_eps=cfg.ad_noise,
                              block_norm="concatenated" if faithful else cfg.corrected_block_norm,
                              hessian="uniform_detached" if faithful else "rademacher")
        tc = _train_cfg(cfg, seed, faithful, cfg.ad_epochs, cfg.ad_lr, schedule="exponential", gamma=cfg.ad_gamma)
        parts = fit(student, train, ad, tc).train_parts
    epochs = row_epochs(cfg, row, faithful)
    frozen = cfg.transfer_frozen_epochs if row.init == "transfer" else 0
    measure = lambda m: fc_robustness(m, test, cfg, seed)["headline"]
    hist = train_student(student, train, test, _train_cfg(cfg, seed, faithful, epochs, cfg.student_lr), frozen,
                         cfg.checkpoint_epoch if cfg.checkpoint_epoch < epochs else None, measure)
    rob = fc_robustness(student, test, cfg, seed)
    at_k = hist.probe if hist.probe is not None else (
        {"accuracy": hist.last, **rob["headline"]} if epochs == cfg.checkpoint_epoch else {})
    grown = row.init != "transfer"
    return {"metrics": {"accuracy": hist.last, **rob["headline"],
                        **{f"{k} (epoch {cfg.checkpoint_epoch})": v for k, v in at_k.items()}},
            "history": {"test_accuracy": hist.test_metric, "train_loss": hist.train_loss, "ad_parts": parts},
            "extra": {"fgsm": rob["fgsm"], "fgsm_kept": rob["fgsm_kept"], "param_noise": rob["param_noise"],
                      "fgsm_eps": cfg.fgsm_eps, "noise_eps": cfg.noise_eps,
                      "untouched_new_units": untouched_new_units(student, cfg.teacher_hidden) if grown else None,
                      "duplicate_units_start": start_duplicates,
                      "duplicate_units_end": duplicate_units(student) if grown else None}}


def fc_params(cfg: AntiDistillationConfig, row: Row, faithful: bool = True) -> dict:
    """What determines an FC run (the record key)."""
    keys = ("teacher_hidden", "student_hidden", "batch_size", "teacher_epochs", "teacher_lr", "teacher_step",
            "student_lr", "fc_train_size", "fc_test_size", "fgsm_eps", "noise_eps", "checkpoint_epoch")
    p = {k: getattr(cfg, k) for k in keys}
    p.update(init=row.init, epochs=row_epochs(cfg, row, faithful), teacher_schedule="once")
    if row.init == "transfer":
        p["transfer_frozen_epochs"] = cfg.transfer_frozen_epochs
    if row.init == "net2net":
        p["net2net_noise"] = 0.0 if faithful else cfg.net2net_noise
    if row.lambdas is not None:
        p.update(lambdas=list(row.lambdas), ad_epochs=cfg.ad_epochs, ad_lr=cfg.ad_lr, ad_gamma=cfg.ad_gamma,
                 ad_noise=cfg.ad_noise, block_norm="concatenated" if faithful else cfg.corrected_block_norm,
                 hessian="uniform_detached" if faithful else "rademacher")
    return p


def table1_rows(cfg: AntiDistillationConfig, faithful: bool, seed: int) -> dict[str, Row]:
    """The rows one seed runs: Table 1, the compute-matched baseline (faithful), and the
    best-trial-λ row for the first ``fc_extra_seeds`` faithful seeds."""
    rows = dict(TABLE1_ROWS)
    if faithful:
        rows.update(MATCHED_ROWS)
        if seed < cfg.fc_extra_seeds:
            rows.update(EXTRA_ROWS)
    return rows


def run_table1(cfg: AntiDistillationConfig, faithful: bool = True, store: RunStore | None = None) -> list[dict]:
    """Every row of :func:`table1_rows` for every seed (faithful: ``fc_seeds``, corrected:
    ``fc_corrected_seeds``). Finished runs are read from their records; a teacher is only
    built (or loaded) when one of its students still has to run."""
    store = store or RunStore()
    n_seeds = cfg.fc_seeds if faithful else cfg.fc_corrected_seeds
    out = []
    for seed in range(n_seeds):
        teacher = fc_teacher(cfg, seed, faithful, store)
        for name, row in table1_rows(cfg, faithful, seed).items():
            out.append(store.run(CHAPTER, fc_setting(name, faithful), seed, fc_params(cfg, row, faithful), cfg.profile,
                                 lambda row=row, seed=seed: fc_student_run(cfg, row, seed, faithful,
                                                                           teacher.model.eval())))
    return out
