"""Bike Sharing regression of the multi-domain chapter (Orlov & Grabovoy 2022, Table 5 and
Figure 1), for each feature reading of :data:`.data.BIKE_READINGS` (``d`` = 13 raw
leak-free columns, or 15 with the hour as sin/cos).

- :func:`run_reg_train`: the paper's Table 5 layout ("Reg-Train" student, "Reg-Train"
  teacher): a [d,32,1] student on the 9,000 training rows, alone and with a
  [d,256,128,64,64,1] teacher trained on the same rows, trained as the thesis code trained
  its regression students (``bike_attempts`` attempts of ``bike_attempt_epochs`` epochs
  continuing one student, a fresh Adam each; reported: the mean over attempts of each
  attempt's last test MSE), beside the mean predictor and ordinary least squares on the
  same rows, a teacher trained to its validation plateau (ours), and the thesis code's
  loss, whose ``(B, 1)`` prediction minus ``(B,)`` target broadcasts to a ``B × B`` matrix
  (:class:`BroadcastMSE`).
- :func:`run_regression`: our Reg-Small reading (student on the 300 Small rows, teacher
  on the 8,700 Big rows), described below.

The paper gives no training length for the student. At 200 epochs (3 steps each) its test
MSE is still falling, so each student is trained up to ``bike_student_epochs`` and its
reported test MSE is the one at the epoch of lowest *validation* MSE (1,000 rows of
hour.csv outside the paper's 10,000; :func:`.data.load_bike_validation`); the test set
never chooses anything.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import torch
from torch import Tensor, nn

from ...data import Split
from ...losses import MSE
from ...losses.multidomain import MultiDomainKD
from ...models import MLP
from ...results import RunStore
from ...training.loop import TrainConfig, cache_outputs, evaluate, fit, seed_everything
from .data import BIKE_READINGS, BIKE_SUFFIX, load_bike_splits, load_bike_validation
from .runners import CHAPTER, REG_TEACHER_SIZES, MultidomainConfig, _train_cfg

__all__ = ["run_regression", "run_reg_train", "reg_train_split", "BroadcastMSE", "ValidationCurve",
           "select_on_validation", "EVAL_EVERY", "REG_TRAIN"]

EVAL_EVERY = 10   # epochs between validation (and test) measurements of a Bike student


class ValidationCurve:
    """``fit`` callback: the validation MSE every ``every`` epochs (and at the last)."""

    def __init__(self, val, every: int, epochs: int) -> None:
        self.val, self.every, self.epochs = val, every, epochs
        self.epochs_seen: list[int] = []
        self.mse: list[float] = []

    def on_epoch_end(self, epoch: int, model, history) -> None:
        if epoch % self.every == 0 or epoch == self.epochs:
            self.epochs_seen.append(epoch)
            self.mse.append(evaluate(model, self.val, "mse")["mse"])


def select_on_validation(val_epochs: list[int], val_mse: list[float], test_epochs: list[int],
                         test_mse: list[float]) -> dict[str, float]:
    """The test MSE at the measured epoch of lowest validation MSE (first on ties), the
    test MSE at the last epoch, and that epoch. Both curves must share their epochs."""
    if list(val_epochs) != list(test_epochs):
        raise ValueError("validation and test curves must be measured at the same epochs")
    i = int(np.argmin(val_mse))
    return {"mse": float(test_mse[i]), "mse_last_epoch": float(test_mse[-1]),
            "chosen_epoch": float(val_epochs[i]), "val_mse": float(val_mse[i])}


def run_regression(cfg: MultidomainConfig, store: RunStore | None = None,
                   readings=tuple(BIKE_READINGS)) -> list[dict]:
    """Teachers (one per teacher seed) and students (alone, with the teacher of seed
    ``seeds[i mod teacher_seeds]``) for each reading; returns every record."""
    store = store or RunStore()
    out = []
    tseeds = list(cfg.seeds[:cfg.teacher_seeds])
    for reading in readings:
        big, small, test = load_bike_splits(reading, cfg.bike_rows, tuple(cfg.bike_sizes), cfg.split_seed)
        val = load_bike_validation(reading, cfg.bike_rows, cfg.bike_val_rows, cfg.split_seed)
        width = big.x.shape[1]
        suffix = BIKE_SUFFIX[reading]
        base = {"reading": reading, "rows": cfg.bike_rows, "sizes": cfg.bike_sizes, "split_seed": cfg.split_seed}
        teachers = {}
        for ts in tseeds:
            def build(ts=ts):
                seed_everything(ts)
                return MLP([width] + REG_TEACHER_SIZES[1:])

            def fit_teacher(model, ts=ts):
                hist = fit(model, big, MSE(), _train_cfg(cfg, "bike_teacher", ts, "mse"), test=test)
                return {"metrics": {"mse": hist.last}, "history": hist.to_dict()}

            teachers[ts] = store.trained_model(
                CHAPTER, f"teacher: Reg-Big{suffix}", ts,
                {**base, "kind": "teacher", "epochs": cfg.bike_teacher_epochs, "batch": cfg.teacher_batch,
                 "lr": cfg.bike_teacher_lr}, cfg.profile, build, fit_teacher)
            out.append(teachers[ts].record)
        for with_teacher in (False, True):
            setting = ("Reg-Small, teacher on Reg-Big" if with_teacher else "Reg-Small, no teacher") + suffix
            for i, seed in enumerate(cfg.seeds):
                t = teachers[tseeds[i % len(tseeds)]] if with_teacher else None
                params = {**base, "kind": "student", "max_epochs": cfg.bike_student_epochs,
                          "batch": cfg.bike_student_batch, "lr": cfg.bike_student_lr, "lam": cfg.lam,
                          "scale": cfg.loss_scale, "val_rows": cfg.bike_val_rows, "eval_every": EVAL_EVERY,
                          "teacher": t.record["key"] if t else None}

                def go(seed=seed, t=t):
                    data = cache_outputs(t.model.eval(), small) if t else small
                    obj = (MultiDomainKD("regression", cfg.lam, scale=cfg.loss_scale) if t
                           else MultiDomainKD("regression", 1.0, scale=1.0))  # plain MSE
                    seed_everything(seed)
                    student = MLP([width, 32, 1])
                    tc = dataclasses.replace(_train_cfg(cfg, "bike_student", seed, "mse"), eval_every=EVAL_EVERY)
                    curve = ValidationCurve(val, EVAL_EVERY, tc.epochs)
                    hist = fit(student, data, obj, tc, test=test, callbacks=[curve])
                    metrics = select_on_validation(curve.epochs_seen, curve.mse, hist.test_epochs, hist.test_metric)
                    return {"metrics": metrics, "history": _thin(hist.to_dict()),
                            "extra": {"val_epochs": curve.epochs_seen, "val_mse": curve.mse}}

                out.append(store.run(CHAPTER, setting, seed, params, cfg.profile, go))
    return out


def _thin(history: dict) -> dict:
    """A Bike student's history without its per-epoch train columns (thousands of epochs):
    the test curve (measured every ``EVAL_EVERY`` epochs) is what the chapter plots."""
    return {k: v for k, v in history.items() if k in ("metric", "test_epochs", "test_loss", "test_metric")}


# -- Table 5's layout: student and teacher on Reg-Train ----------------------------------------
REG_TRAIN = {   # setting name (before the reading's suffix) -> what it runs
    "Reg-Train, mean predictor": "the training rows' mean target for every row",
    "Reg-Train, OLS": "ordinary least squares with an intercept on the same inputs",
    "Reg-Train, no teacher": "the thesis' student schedule, corrected loss",
    "Reg-Train, teacher on Reg-Train": "the same, distilled from the thesis' 20-epoch teacher",
    "Reg-Train, no teacher, thesis loss (B×B broadcast)": "the thesis code's loss as written",
    "Reg-Train, teacher on Reg-Train trained to its plateau": "distilled from a teacher trained to its "
                                                               "validation plateau (ours)",
}


class BroadcastMSE:
    """The thesis code's regression loss as written: ``MSELoss()(g(x), y)`` with ``g(x)`` of
    shape ``(B, 1)`` and ``y`` of shape ``(B,)``, which broadcasts to the ``B × B`` matrix of
    every prediction against every target:

        L = mean_ij (g_i - y_j)^2 = mean_i (g_i - ȳ)^2 + var(y)        (ȳ, var over the batch)

    so its gradient pulls every prediction to the batch's mean target, whatever the input.
    """

    def __call__(self, model: nn.Module, batch: dict[str, Tensor]) -> dict[str, Tensor]:
        pred = model(batch["x"]).reshape(-1, 1).float()          # (B, 1)
        y = batch["y"].float().reshape(1, -1)                     # (1, B), as (B,) broadcasts
        return {"mse_broadcast": ((pred - y) ** 2).mean()}


def reg_train_split(big: Split, small: Split) -> Split:
    """Reg-Train: the 9,000 training rows (Big and Small together, the paper's Table 3)."""
    return Split(torch.cat([big.x, small.x]), torch.cat([big.y, small.y]), big.prepare,
                 description=big.description.replace("Big", "Train") if "Big" in big.description
                 else "Bike Sharing Reg-Train (9,000 rows)")


def _closed_form(train: Split, test: Split) -> dict[str, dict]:
    """Test MSE of the mean predictor and of least squares (intercept + inputs), in float64."""
    x, y = train.x.double(), train.y.double()
    xt, yt = test.x.double(), test.y.double()
    design = torch.cat([torch.ones(len(x), 1, dtype=x.dtype), x], dim=1)
    w = torch.linalg.lstsq(design, y[:, None]).solution[:, 0]
    ols = torch.cat([torch.ones(len(xt), 1, dtype=x.dtype), xt], dim=1) @ w
    return {"Reg-Train, mean predictor": {"mse": float(((y.mean() - yt) ** 2).mean())},
            "Reg-Train, OLS": {"mse": float(((ols - yt) ** 2).mean()), "train_mse": float(
                ((design @ w - y) ** 2).mean())}}


def _attempts(cfg: MultidomainConfig, seed: int, width: int, train: Split, test: Split, objective) -> dict:
    """One student trained as the thesis code trained it: ``bike_attempts`` attempts of
    ``bike_attempt_epochs`` epochs in a row, a fresh Adam each, weights kept."""
    seed_everything(seed)
    student = MLP([width, 32, 1])
    ends, curve = [], {"test_epochs": [], "test_metric": []}
    for a in range(cfg.bike_attempts):
        tc = TrainConfig(epochs=cfg.bike_attempt_epochs, batch_size=cfg.bike_student_batch, lr=cfg.bike_attempt_lr,
                         seed=1000 * seed + a, metric="mse", progress=False)
        hist = fit(student, train, objective, tc, test=test)
        ends.append(float(hist.test_metric[-1]))
        curve["test_epochs"] += [a * cfg.bike_attempt_epochs + e for e in hist.test_epochs]
        curve["test_metric"] += [float(v) for v in hist.test_metric]
    t = torch.tensor(ends, dtype=torch.float64)
    return {"metrics": {"mse": float(t.mean()), "mse_attempt_sd": float(t.std()), "mse_last_attempt": ends[-1]},
            "history": curve, "extra": {"attempt_mse": ends}}


def run_reg_train(cfg: MultidomainConfig, store: RunStore | None = None,
                  readings=("leak-free, 13 raw", "leak-free")) -> list[dict]:
    """Every setting of :data:`REG_TRAIN` for each reading; returns every record (the
    closed-form baselines are one record each, seed 0; teachers one per teacher seed)."""
    store = store or RunStore()
    out = []
    tseeds = list(cfg.seeds[:cfg.teacher_seeds])
    for reading in readings:
        big, small, test = load_bike_splits(reading, cfg.bike_rows, tuple(cfg.bike_sizes), cfg.split_seed)
        val = load_bike_validation(reading, cfg.bike_rows, cfg.bike_val_rows, cfg.split_seed)
        train = reg_train_split(big, small)
        width, suffix = train.x.shape[1], BIKE_SUFFIX[reading]
        base = {"reading": reading, "rows": cfg.bike_rows, "sizes": cfg.bike_sizes, "split_seed": cfg.split_seed,
                "train": "Reg-Train"}
        for name, metrics in _closed_form(train, test).items():
            out.append(store.run(CHAPTER, name + suffix, 0, {**base, "kind": name}, cfg.profile,
                                 lambda metrics=metrics: {"metrics": metrics}))
        teachers: dict[tuple[str, int], object] = {}
        for length, epochs in (("thesis", cfg.bike_teacher_epochs), ("plateau", cfg.bike_long_teacher_epochs)):
            for ts in tseeds:
                def build(ts=ts):
                    seed_everything(ts)
                    return MLP([width] + REG_TEACHER_SIZES[1:])

                def fit_teacher(model, ts=ts, epochs=epochs):
                    tc = TrainConfig(epochs=epochs, batch_size=cfg.teacher_batch, lr=cfg.bike_teacher_lr, seed=ts,
                                     metric="mse", progress=False)
                    curve = ValidationCurve(val, 1 if epochs <= 50 else EVAL_EVERY, epochs)
                    hist = fit(model, train, MSE(), tc, test=test, callbacks=[curve])
                    return {"metrics": {"mse": hist.last, "val_mse": curve.mse[-1]}, "history": hist.to_dict(),
                            "extra": {"val_epochs": curve.epochs_seen, "val_mse": curve.mse}}

                label = "teacher: Reg-Train" + ("" if length == "thesis" else ", trained to its plateau") + suffix
                teachers[length, ts] = store.trained_model(
                    CHAPTER, label, ts, {**base, "kind": "teacher", "epochs": epochs, "batch": cfg.teacher_batch,
                                         "lr": cfg.bike_teacher_lr}, cfg.profile, build, fit_teacher)
                out.append(teachers[length, ts].record)
        runs = {"Reg-Train, no teacher": (None, MultiDomainKD("regression", 1.0, scale=1.0)),
                "Reg-Train, teacher on Reg-Train": ("thesis", MultiDomainKD("regression", cfg.lam, scale=cfg.loss_scale)),
                "Reg-Train, no teacher, thesis loss (B×B broadcast)": (None, BroadcastMSE()),
                "Reg-Train, teacher on Reg-Train trained to its plateau":
                    ("plateau", MultiDomainKD("regression", cfg.lam, scale=cfg.loss_scale))}
        for name, (length, objective) in runs.items():
            for i, seed in enumerate(cfg.seeds):
                t = teachers[length, tseeds[i % len(tseeds)]] if length else None
                params = {**base, "kind": "student", "attempts": cfg.bike_attempts, "epochs": cfg.bike_attempt_epochs,
                          "batch": cfg.bike_student_batch, "lr": cfg.bike_attempt_lr, "lam": cfg.lam,
                          "scale": cfg.loss_scale, "loss": type(objective).__name__,
                          "teacher": t.record["key"] if t else None}

                def go(seed=seed, t=t, objective=objective):
                    data = cache_outputs(t.model.eval(), train) if t else train
                    return _attempts(cfg, seed, width, data, test, objective)

                out.append(store.run(CHAPTER, name + suffix, seed, params, cfg.profile, go))
    return out
