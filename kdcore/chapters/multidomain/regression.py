"""Bike Sharing regression of the multi-domain chapter (Orlov & Grabovoy 2022, Table 5 and
Figure 1): a [d,32,1] student on Reg-Small (300 rows), alone and with a
[d,256,128,64,64,1] teacher trained on Reg-Big (8,700 rows), for each feature reading of
:data:`.data.BIKE_READINGS` (``d`` = 15, or 13 for the raw leak-free columns).

The paper gives no training length for the student. At 200 epochs (3 steps each) its test
MSE is still falling, so each student is trained up to ``bike_student_epochs`` and its
reported test MSE is the one at the epoch of lowest *validation* MSE (1,000 rows of
hour.csv outside the paper's 10,000; :func:`.data.load_bike_validation`); the test set
never chooses anything.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ...losses import MSE
from ...losses.multidomain import MultiDomainKD
from ...models import MLP
from ...results import RunStore
from ...train import cache_outputs, evaluate, fit, seed_everything
from .data import BIKE_READINGS, BIKE_SUFFIX, load_bike_splits, load_bike_validation
from .runners import CHAPTER, REG_TEACHER_SIZES, MultidomainConfig, _train_cfg

__all__ = ["run_regression", "ValidationCurve", "select_on_validation", "EVAL_EVERY"]

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
