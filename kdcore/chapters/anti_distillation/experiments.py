"""Growth experiments the anti-distillation draft promised but never published: a teacher
trained on classes 0-4 grown into a wider student for all 10 classes, for a conv net with
BatchNorm (CIFAR-10), an LSTM (Fashion-MNIST read row by row) and an MLP on synthetic
Gaussian clusters (the 10-class task contains the 5-class one).

For every task, initialisation and seed: the test-accuracy curve, the final accuracy and
robustness (FGSM, parameter noise at a per-task ε list, so that no row sits at chance).
The teacher has 5 outputs; φ grows the class axis too (new classes: zero rows for zero
pad, the student's default init otherwise); Net2Net adds ``net2net_noise`` to replicas.
Batches are shuffled and there is no ReLU on the logits (the corrected setting).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd
import torch
from torch import nn

from .measures import robustness
from .runners import CHAPTER, D1, FGSM_HEADLINE, AntiDistillationConfig, train_student
from ...data import Split, load_cifar10, load_fashion_mnist, make_synthetic, random_split, select_classes
from ...models.growth import grow, transfer
from ...losses import CrossEntropy
from ...models import LSTMClassifier, MLP, ConvTiny, ConvVeryTiny
from ...results import RunStore
from ...training.loop import TrainConfig, evaluate, fit, seed_everything

__all__ = ["GrowthTask", "growth_tasks", "run_growth_task", "teacher_records", "reach_target",
           "epochs_to_reach", "INIT_LABELS"]

INIT_LABELS = {"default": "default init", "zero": "zero pad", "uniform": "uniform pad",
               "net2net": "Net2Net", "transfer": "transfer"}


@dataclass
class GrowthTask:
    """One growth experiment: data, teacher (5 classes) and student (10 classes) builders."""

    name: str                                   # setting prefix, e.g. "CIFAR-10 conv"
    data: Callable[[], tuple[Split, Split]]     # (train, test), all 10 classes
    teacher: Callable[[], nn.Module]
    student: Callable[[], nn.Module]
    teacher_epochs: int
    epochs: int
    noise_eps: list                             # parameter-noise ε of this task (headline: the largest)
    params: dict                                # what determines the runs (record key)


def _cifar(cfg: AntiDistillationConfig) -> tuple[Split, Split]:
    train = load_cifar10(True)
    train, _ = random_split(train, [cfg.conv_train_size, len(train) - cfg.conv_train_size], seed=0)
    test = load_cifar10(False, test_set="exact_1k")
    return train, test.subset(torch.arange(cfg.conv_test_size))


def _fmnist_rows(cfg: AntiDistillationConfig) -> tuple[Split, Split]:
    train, test = load_fashion_mnist(True), load_fashion_mnist(False)
    train, _ = random_split(train, [cfg.lstm_train_size, len(train) - cfg.lstm_train_size], seed=0)
    test, _ = random_split(test, [cfg.lstm_test_size, len(test) - cfg.lstm_test_size], seed=0)
    return train, test


def _synthetic(cfg: AntiDistillationConfig) -> tuple[Split, Split]:
    full = make_synthetic(cfg.synth_train_size + cfg.synth_test_size, cfg.synth_dim, 10, seed=0,
                          noise=cfg.synth_noise)
    train, test = random_split(full, [cfg.synth_train_size, cfg.synth_test_size], seed=0)
    return train, test


def growth_tasks(cfg: AntiDistillationConfig) -> list[GrowthTask]:
    """The three tasks with the config's sizes."""
    keys = lambda *names: {n: getattr(cfg, n) for n in ("growth_lr", "growth_teacher_lr", "growth_batch_size",
                                                          "fgsm_eps", "net2net_noise", *names)}
    return [
        GrowthTask("CIFAR-10 conv 8/16/32→16/32/64", lambda: _cifar(cfg), lambda: ConvVeryTiny(5),
                   lambda: ConvTiny(10), cfg.conv_teacher_epochs, cfg.conv_epochs, cfg.conv_noise_eps,
                   keys("conv_train_size", "conv_test_size", "conv_teacher_epochs", "conv_epochs", "conv_noise_eps")),
        GrowthTask(f"Fashion-MNIST rows LSTM {cfg.lstm_teacher_hidden}→{cfg.lstm_student_hidden}",
                   lambda: _fmnist_rows(cfg), lambda: LSTMClassifier(28, cfg.lstm_teacher_hidden, 5),
                   lambda: LSTMClassifier(28, cfg.lstm_student_hidden, 10), cfg.lstm_teacher_epochs,
                   cfg.lstm_epochs, cfg.lstm_noise_eps,
                   keys("lstm_train_size", "lstm_test_size", "lstm_teacher_epochs", "lstm_epochs", "lstm_noise_eps")),
        GrowthTask(f"synthetic MLP {cfg.synth_teacher_hidden}→{cfg.synth_student_hidden}",
                   lambda: _synthetic(cfg), lambda: MLP([cfg.synth_dim, *cfg.synth_teacher_hidden, 5]),
                   lambda: MLP([cfg.synth_dim, *cfg.synth_student_hidden, 10]), cfg.synth_teacher_epochs,
                   cfg.synth_epochs, cfg.synth_noise_eps,
                   keys("synth_train_size", "synth_test_size", "synth_dim", "synth_noise", "synth_teacher_hidden",
                        "synth_student_hidden", "synth_teacher_epochs", "synth_epochs", "synth_noise_eps")),
    ]


def _tc(cfg: AntiDistillationConfig, epochs: int, seed: int, lr: float) -> TrainConfig:
    return TrainConfig(epochs=epochs, batch_size=cfg.growth_batch_size, lr=lr, seed=seed,
                       shuffle=True, progress=False, device="cpu")


def run_growth_task(cfg: AntiDistillationConfig, task: GrowthTask, store: RunStore | None = None) -> list[dict]:
    """Teacher per seed on classes 0-4, then every initialisation of ``cfg.growth_inits``
    trained on all 10 classes; returns the student records (teachers are records too)."""
    store = store or RunStore()
    data = functools.lru_cache(maxsize=1)(task.data)      # loaded only if a run has to be computed
    out = []
    for seed in range(cfg.growth_seeds):
        def build(seed: int = seed) -> nn.Module:
            seed_everything(seed)
            return task.teacher()

        def train_teacher(model: nn.Module, seed: int = seed) -> dict:
            train, test = data()
            hist = fit(model, select_classes(train, D1), CrossEntropy(),
                       _tc(cfg, task.teacher_epochs, seed, cfg.growth_teacher_lr), test=select_classes(test, D1))
            return {"metrics": {"accuracy (D1 test)": hist.last}, "history": {"test_accuracy": hist.test_metric}}

        teacher = store.trained_model(CHAPTER, f"{task.name}: teacher (classes 0-4)", seed, task.params,
                                      cfg.profile, build, train_teacher)
        for init in cfg.growth_inits:
            def run(init: str = init, seed: int = seed, teacher=teacher) -> dict:
                train, test = data()
                t = teacher.model.eval()
                seed_everything(seed)
                if init == "transfer":
                    student = transfer(t, 10)
                else:
                    student = task.student()
                    if init != "default":
                        grow(t, student, init, seed=seed, noise=cfg.net2net_noise if init == "net2net" else 0.0)
                start = evaluate(student, test)["accuracy"]
                hist = train_student(student, train, test, _tc(cfg, task.epochs, seed, cfg.growth_lr))
                rob = robustness(student, test, cfg.fgsm_eps, task.noise_eps, FGSM_HEADLINE, max(task.noise_eps),
                                 seed, cfg.growth_batch_size)
                curve = [start, *hist.test_metric]
                return {"metrics": {"accuracy": hist.last, "accuracy at epoch 0": start,
                                    "accuracy after epoch 1": curve[1],
                                    "mean accuracy over epochs": sum(curve[1:]) / len(curve[1:]),
                                    **rob["headline"]},
                        "history": {"test_accuracy_from_0": curve, "train_loss": hist.train_loss},
                        "extra": {"fgsm": rob["fgsm"], "fgsm_kept": rob["fgsm_kept"], "param_noise": rob["param_noise"],
                                  "fgsm_eps": cfg.fgsm_eps, "noise_eps": task.noise_eps}}

            out.append(store.run(CHAPTER, f"{task.name}: {INIT_LABELS[init]}", seed, {**task.params, "init": init},
                                 cfg.profile, run))
    return out


def teacher_records(cfg: AntiDistillationConfig, task: GrowthTask, store: RunStore | None = None) -> list[dict]:
    """The task's teacher records (seeds ``0..growth_seeds-1``) that exist; nothing is trained."""
    store = store or RunStore()
    recs = [store.load(CHAPTER, f"{task.name}: teacher (classes 0-4)", s, task.params, cfg.profile)
            for s in range(cfg.growth_seeds)]
    return [r for r in recs if r is not None]


def reach_target(records: list[dict], fraction: float) -> float:
    """``fraction`` x the lowest mean final accuracy over the settings in ``records``: an
    accuracy that every setting's mean curve reaches, so "epochs to reach" is defined for
    every row."""
    df = pd.DataFrame([{"setting": r["setting"], "accuracy": r["metrics"]["accuracy"]} for r in records])
    if df.empty:
        raise ValueError("no records to define a target from")
    return fraction * float(df.groupby("setting")["accuracy"].mean().min())


def epochs_to_reach(records: list[dict], target: float) -> pd.DataFrame:
    """Per record: the first epoch (0 = right after φ) whose test accuracy is ``>= target``.

    A run that never gets there is counted as ``epochs + 1`` and flagged ``reached=False``
    (censored), so every row has a number and the table says how many runs are censored.
    """
    rows = []
    for r in records:
        curve = r["history"]["test_accuracy_from_0"]
        hit = next((e for e, a in enumerate(curve) if a >= target), None)
        rows.append({"setting": r["setting"], "seed": r["seed"], "target": target,
                     "epochs to target": len(curve) if hit is None else hit, "reached": hit is not None})
    return pd.DataFrame(rows)
