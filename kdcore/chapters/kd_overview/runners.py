"""Chapter 1, knowledge distillation overview: config and experiment runners.

Experiments (Hinton, Vinyals & Dean 2015, section 3 on MNIST; LeCun et al. 1990):

- a large MLP teacher, a small MLP student alone and distilled at temperature ``T``;
- a temperature sweep; an ensemble teacher (average of softened outputs);
- a transfer set that differs from the teacher's training set (all 3s removed);
- Optimal Brain Damage vs magnitude pruning on a trained MLP, with the exact and the
  Hutchinson Hessian diagonal.

Each run is a :meth:`kdcore.results.RunStore.run` call, so the notebook is resumable.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch
from torch import nn

from ...obd import hessian, saliency as obd
from ...config import ConfigBase, config_dataclass, check_choice, check_each, check_int, check_profile, check_range
from ...data import Split, load_dataset, random_split, select_classes
from ...losses import CrossEntropy, HintonKD
from ...models import MLP
from ...results import RunStore
from ...train import TrainConfig, cache_outputs, evaluate, fit, seed_everything

CHAPTER = "kd_overview"


@config_dataclass
class KDOverviewConfig(ConfigBase):
    """Parameters of chapter 1 (papermill parameter names equal these field names)."""

    profile: str = "smoke"                     # "smoke" (seconds) or "paper" (Hinton-scale MNIST)
    dataset: str = "mnist"                     # "mnist" or "fashion_mnist"
    n_train: int = 2000                        # training rows used (60000 = all of MNIST train)
    teacher_hidden: list[int] = field(default_factory=lambda: [1200, 1200])   # Hinton's teacher
    student_hidden: list[int] = field(default_factory=lambda: [800, 800])     # Hinton's student
    teacher_epochs: int = 2                    # Adam epochs for each teacher
    teacher_dropout: float = 0.5               # dropout on the teacher's hidden units (Hinton: yes)
    teacher_input_dropout: float = 0.2         # dropout on the teacher's inputs
    student_epochs: int = 2                    # Adam epochs for each student
    batch_size: int = 128                      # rows per step
    bf16: bool = False                         # bfloat16 autocast for training (2-3x faster on AVX-512 CPUs)
    lr: float = 1e-3                           # Adam learning rate (all runs)
    temperature: float = 20.0                  # the distillation temperature of the headline run
    alpha: float = 0.9                         # weight of the soft term; 1 - alpha on hard labels
    temperatures: list[float] = field(default_factory=lambda: [1.0, 20.0])   # the T sweep
    seeds: list[int] = field(default_factory=lambda: [0])                    # seeds of headline runs
    sweep_seeds: list[int] = field(default_factory=lambda: [0])              # seeds of the T sweep, ensemble, transfer set
    ensemble_size: int = 2                     # teachers averaged in the ensemble experiment
    omitted_class: int = 3                     # class removed from the transfer set
    obd_hidden: int = 16                       # hidden units of the MLP pruned by OBD (784-h-10)
    obd_epochs: int = 2                        # its training epochs
    obd_hessian_rows: int = 200                # training rows the Hessian is computed on
    hutchinson_probes: int = 20                # Rademacher probes of the Hutchinson diagonal
    prune_fractions: list[float] = field(default_factory=lambda: [0.0, 0.5, 0.9])  # fractions removed

    def __post_init__(self) -> None:
        check_profile(self.profile)
        check_choice("dataset", self.dataset, ("mnist", "fashion_mnist"))
        check_int("n_train", self.n_train, 100, 60000)
        check_each("teacher_hidden", self.teacher_hidden, check_int, 1)
        check_each("student_hidden", self.student_hidden, check_int, 1)
        check_int("teacher_epochs", self.teacher_epochs, 1)
        check_range("teacher_dropout", self.teacher_dropout, 0, 1, high_open=True)
        check_range("teacher_input_dropout", self.teacher_input_dropout, 0, 1, high_open=True)
        check_int("student_epochs", self.student_epochs, 1)
        check_int("batch_size", self.batch_size, 1)
        check_range("lr", self.lr, 0, 10, low_open=True)
        check_range("temperature", self.temperature, 0, 1000, low_open=True)
        check_range("alpha", self.alpha, 0, 1)
        check_each("temperatures", self.temperatures, check_range, 0, 1000, low_open=True)
        check_each("seeds", self.seeds, check_int, 0)
        check_each("sweep_seeds", self.sweep_seeds, check_int, 0)
        check_int("ensemble_size", self.ensemble_size, 1, 10)
        check_int("omitted_class", self.omitted_class, 0, 9)
        check_int("obd_hidden", self.obd_hidden, 1)
        check_int("obd_epochs", self.obd_epochs, 1)
        check_int("obd_hessian_rows", self.obd_hessian_rows, 10, 60000)
        check_int("hutchinson_probes", self.hutchinson_probes, 1)
        check_each("prune_fractions", self.prune_fractions, check_range, 0, 1)

    def datasets(self) -> tuple[str, ...]:
        return (self.dataset,)


@dataclass
class Data:
    train: Split
    test: Split


def load_data(cfg: KDOverviewConfig) -> Data:
    """The first ``n_train`` rows of a fixed random permutation (seed 0) of the train set."""
    train, test = load_dataset(cfg.dataset, True), load_dataset(cfg.dataset, False)
    if cfg.n_train < len(train):
        train = random_split(train, [cfg.n_train, len(train) - cfg.n_train], seed=0)[0]
    return Data(train, test)


def _sizes(hidden: list[int]) -> list[int]:
    return [784, *hidden, 10]


def _train_cfg(cfg: KDOverviewConfig, epochs: int, seed: int) -> TrainConfig:
    return TrainConfig(epochs=epochs, batch_size=cfg.batch_size, lr=cfg.lr, seed=seed, bf16=cfg.bf16,
                       progress=False)


def _metrics(model: nn.Module, test: Split, omitted: int | None = None) -> dict[str, float]:
    ev = evaluate(model, test)
    out = {"accuracy": ev["accuracy"], "test_errors": round((1 - ev["accuracy"]) * len(test))}
    if omitted is not None:
        only = select_classes(test, [omitted])
        out[f"accuracy_on_{omitted}"] = evaluate(model, only)["accuracy"]
    return out


def train_teacher(cfg: KDOverviewConfig, data: Data, store: RunStore, seed: int = 0
                  ) -> tuple[dict, nn.Module]:
    """Train (or load) the teacher MLP of this seed; its weights are cached for reuse."""
    params = {"sizes": _sizes(cfg.teacher_hidden), "epochs": cfg.teacher_epochs, "n_train": cfg.n_train,
              "dataset": cfg.dataset, "lr": cfg.lr, "batch_size": cfg.batch_size, "bf16": cfg.bf16,
              "dropout": cfg.teacher_dropout, "input_dropout": cfg.teacher_input_dropout}

    def build() -> nn.Module:
        seed_everything(seed)
        return MLP(params["sizes"], dropout=cfg.teacher_dropout, input_dropout=cfg.teacher_input_dropout)

    def train(model: nn.Module) -> dict:
        hist = fit(model, data.train, CrossEntropy(), _train_cfg(cfg, cfg.teacher_epochs, seed), data.test,
                   desc=f"teacher seed {seed}")
        return {"metrics": _metrics(model, data.test), "history": hist.to_dict()}

    setting = f"teacher {'-'.join(map(str, cfg.teacher_hidden))}"
    return store.model_run(CHAPTER, setting, seed, params, cfg.profile, build, train)


def train_student(cfg: KDOverviewConfig, train: Split, test: Split, store: RunStore, setting: str,
                  seed: int, objective, extra_params: dict, omitted: int | None = None) -> dict:
    """One student run (alone or distilled) as a stored record."""
    params = {"sizes": _sizes(cfg.student_hidden), "epochs": cfg.student_epochs, "n_train": len(train),
              "dataset": cfg.dataset, "lr": cfg.lr, "batch_size": cfg.batch_size, "bf16": cfg.bf16, **extra_params}

    def run() -> dict:
        seed_everything(seed)
        model = MLP(params["sizes"])
        hist = fit(model, train, objective, _train_cfg(cfg, cfg.student_epochs, seed), test,
                   desc=f"{setting} seed {seed}")
        return {"metrics": _metrics(model, test, omitted), "history": hist.to_dict()}

    return store.run(CHAPTER, setting, seed, params, cfg.profile, run)


def student_name(cfg: KDOverviewConfig) -> str:
    return f"student {'-'.join(map(str, cfg.student_hidden))}"


def distillation_runs(cfg: KDOverviewConfig, data: Data, store: RunStore) -> pd.DataFrame:
    """Student alone, distilled at ``cfg.temperature``, and the temperature sweep.

    Returns one row per run: setting, temperature (NaN alone), seed, accuracy, test_errors.
    """
    t_rec, teacher = train_teacher(cfg, data, store, seed=0)
    train_kd = cache_outputs(teacher, data.train)  # teacher logits computed once, reused every epoch
    rows = []
    for seed in cfg.seeds:
        rec = train_student(cfg, data.train, data.test, store, f"{student_name(cfg)} alone", seed,
                            CrossEntropy(), {})
        rows.append({"setting": rec["setting"], "temperature": np.nan, "seed": seed, **rec["metrics"]})
    runs = {(cfg.temperature, s) for s in cfg.seeds} | {(t, s) for t in cfg.temperatures for s in cfg.sweep_seeds}
    for temp, seed in sorted(runs):
        rec = train_student(cfg, train_kd, data.test, store, f"{student_name(cfg)} distilled T={temp:g}", seed,
                            HintonKD(temp, cfg.alpha), {"teacher": t_rec["key"], "T": temp, "alpha": cfg.alpha})
        rows.append({"setting": rec["setting"], "temperature": temp, "seed": seed, **rec["metrics"]})
    return pd.DataFrame(rows)


def ensemble_runs(cfg: KDOverviewConfig, data: Data, store: RunStore) -> pd.DataFrame:
    """Distil from the average of ``ensemble_size`` teachers' softened outputs."""
    members = [train_teacher(cfg, data, store, seed=s) for s in range(cfg.ensemble_size)]
    train_kd = cache_outputs([m for _, m in members], data.train)        # (N, M, 10)
    keys = [r["key"] for r, _ in members]
    rows = [{"setting": f"teacher seed {r['seed']}", "seed": r["seed"], **r["metrics"]} for r, _ in members]
    ens_logits = torch.stack([torch.softmax(cache_outputs(m, data.test).extras["teacher_logits"], -1)
                              for _, m in members]).mean(0)
    ens_acc = float((ens_logits.argmax(1) == data.test.y).float().mean())
    rows.append({"setting": f"ensemble of {cfg.ensemble_size} teachers", "seed": -1, "accuracy": ens_acc,
                 "test_errors": round((1 - ens_acc) * len(data.test))})
    for seed in cfg.sweep_seeds:
        rec = train_student(cfg, train_kd, data.test, store,
                            f"{student_name(cfg)} distilled from ensemble of {cfg.ensemble_size}, T={cfg.temperature:g}",
                            seed, HintonKD(cfg.temperature, cfg.alpha), {"teachers": keys, "T": cfg.temperature})
        rows.append({"setting": rec["setting"], "seed": seed, **rec["metrics"]})
    return pd.DataFrame(rows)


def transfer_set_runs(cfg: KDOverviewConfig, data: Data, store: RunStore) -> pd.DataFrame:
    """Hinton et al. section 3: the student never sees class ``omitted_class``.

    The transfer set is the training set without that class; hard labels alone cannot
    teach it, the teacher's soft targets on the other digits can.
    """
    c = cfg.omitted_class
    t_rec, teacher = train_teacher(cfg, data, store, seed=0)
    keep = [k for k in range(10) if k != c]
    transfer = cache_outputs(teacher, select_classes(data.train, keep))
    rows = []
    for seed in cfg.sweep_seeds:
        for name, obj, extra in [("hard labels", CrossEntropy(), {}),
                                 (f"distilled T={cfg.temperature:g}", HintonKD(cfg.temperature, cfg.alpha),
                                  {"teacher": t_rec["key"], "T": cfg.temperature})]:
            rec = train_student(cfg, transfer, data.test, store,
                                f"{student_name(cfg)} without {c}s, {name}", seed, obj,
                                {"omitted": c, **extra}, omitted=c)
            rows.append({"setting": rec["setting"], "seed": seed, **rec["metrics"]})
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------------------
# Gradient scaling and the logit-matching limit (numerical checks of the formulas)
# ----------------------------------------------------------------------------------------
def soft_gradient(z: torch.Tensor, v: torch.Tensor, temperature: float, t2: bool) -> torch.Tensor:
    """``d/dz`` of the soft KD term for student logits ``z`` ``(B, C)``, teacher ``v``.

    With ``t2`` the term is weighted by ``T^2`` as in Hinton et al.; computed by autograd
    through :func:`kdcore.losses.kd_loss` (alpha = 1), summed over the batch.
    """
    from ...losses import kd_loss

    z = z.detach().clone().requires_grad_(True)
    loss = kd_loss(z, v, temperature=temperature, alpha=1.0)["soft"] * len(z)
    if not t2:
        loss = loss / temperature ** 2
    (g,) = torch.autograd.grad(loss, z)
    return g


def gradient_scaling_table(temperatures: list[float], n_classes: int = 10, seed: int = 0) -> pd.DataFrame:
    """Gradient norms with and without ``T^2`` and the gap to logit matching, per ``T``.

    Zero-mean random logits ``z`` (student) and ``v`` (teacher). ``logit_match`` is
    ``(z - v) / N``, the gradient of ``(1/2N)||z - v||^2``; ``rel_gap`` is
    ``||T^2 dKL/dz - (z - v)/N|| / ||(z - v)/N||``, which should fall like ``1/T``.
    """
    g = torch.Generator().manual_seed(seed)
    z = torch.randn(64, n_classes, generator=g, dtype=torch.float64)
    v = torch.randn(64, n_classes, generator=g, dtype=torch.float64) * 2
    z, v = z - z.mean(1, keepdim=True), v - v.mean(1, keepdim=True)
    match = (z - v) / n_classes
    rows = []
    for t in temperatures:
        with_t2, without = soft_gradient(z, v, t, True), soft_gradient(z, v, t, False)
        rows.append({"T": t, "grad_norm_without_T2": float(without.norm()), "grad_norm_with_T2": float(with_t2.norm()),
                     "rel_gap_to_logit_matching": float((with_t2 - match).norm() / match.norm())})
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------------------
# Optimal Brain Damage
# ----------------------------------------------------------------------------------------
def obd_experiment(cfg: KDOverviewConfig, data: Data, store: RunStore, seed: int = 0) -> dict:
    """Train a 784-h-10 MLP, compute ``diag(H)`` exactly and by Hutchinson, and prune its
    weights by OBD saliency (exact / Hutchinson) and by magnitude.

    Returns the stored record; ``extra["curve"]`` holds accuracy per method and fraction,
    ``extra["diag"]`` a sample of exact vs Hutchinson diagonal entries.
    """
    params = {"sizes": [784, cfg.obd_hidden, 10], "epochs": cfg.obd_epochs, "n_train": len(data.train),
              "hessian_rows": cfg.obd_hessian_rows, "probes": cfg.hutchinson_probes,
              "fractions": cfg.prune_fractions, "dataset": cfg.dataset}

    def run() -> dict:
        seed_everything(seed)
        model = MLP(params["sizes"])
        fit(model, data.train, CrossEntropy(), _train_cfg(cfg, cfg.obd_epochs, seed), desc="OBD model")
        model.cpu().eval()
        rows = data.train.subset(torch.arange(min(cfg.obd_hessian_rows, len(data.train))))
        loss_fn = hessian.loss_of_params(model, rows.inputs(), rows.y)
        named = {k: v.detach() for k, v in model.named_parameters()}
        exact = hessian.hessian_diagonal(loss_fn, named)
        hutch = hessian.hutchinson_diagonal(loss_fn, named, cfg.hutchinson_probes, seed=seed)
        weights = obd.weight_names(model)
        saliencies = {"OBD (exact diagonal)": obd.obd_saliency(named, exact),
                      "OBD (Hutchinson diagonal)": obd.obd_saliency(named, hutch),
                      "magnitude": obd.magnitude_saliency(named)}
        curve = []
        for method, sal in saliencies.items():
            for frac in cfg.prune_fractions:
                pruned = obd.apply_masks(model, obd.prune_masks(sal, frac, weights))
                curve.append({"method": method, "fraction": frac, "accuracy": evaluate(pruned, data.test)["accuracy"]})
        e, h = hessian.flatten(exact), hessian.flatten(hutch)
        pick = torch.randperm(len(e), generator=torch.Generator().manual_seed(seed))[:2000]
        corr = float(np.corrcoef(e.numpy(), h.numpy())[0, 1])
        top = max(cfg.prune_fractions)
        at = {c["method"]: c["accuracy"] for c in curve if c["fraction"] == top}
        return {"metrics": {"accuracy_unpruned": evaluate(model, data.test)["accuracy"],
                            f"accuracy_obd_exact_{top:g}": at["OBD (exact diagonal)"],
                            f"accuracy_magnitude_{top:g}": at["magnitude"],
                            "corr_exact_hutchinson": corr},
                "extra": {"curve": curve, "diag": {"exact": e[pick].tolist(), "hutchinson": h[pick].tolist()},
                          "n_params": int(len(e))}}

    return store.run(CHAPTER, f"OBD 784-{cfg.obd_hidden}-10", seed, params, cfg.profile, run)
