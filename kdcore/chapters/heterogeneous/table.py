"""Runs of the 2022 table: one student per (dataset, method, run), each a stored record.

:func:`table_run` trains one student; :func:`hyperopt_runs` runs the Optuna search of a
dataset (sequential by nature: each trial depends on the ones before); :func:`table_runs`
runs or reads a whole column; :func:`jobs` lists the independent pieces for
the runner (``python -m kdcore run heterogeneous``) to spread over processes.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd

from ...hyper import HintonMeta, HyperConfig, HyperStep, TrajectoryExtrapolation
from ...losses import CrossEntropy, MetaHintonKD
from ...results import RunStore
from ...training.loop import TrainConfig, evaluate, fit, seed_everything
from .data import SYNTHETIC, synthetic_feature
from .runners import (CHAPTER, HeterogeneousConfig, _student, data, random_start, setting, train_with_logits, _teacher_name)

__all__ = ["table_run", "hyperopt_runs", "table_runs", "student_config"]

TRAJECTORY_POINTS = 200   # at most this many (step, lambda, T) points per record
# The authors' synthetic upper level (MetaOptDistillation code/synthetic_funcs.py): SGD with
# learning rate 0.1 on (lambda, T), each hypergradient entry clipped to 0.01.
SYNTHETIC_HYPER = {"hyper_optimizer": "sgd", "hyper_lr": 0.1, "hyper_clip": 0.01}
# Their synthetic "hyperopt" rows: each run is its own search of this many TPE trials scored on
# the upper level's rows, and the best trial is the run. The corrected column does the same on
# its validation rows, so a run is what a search chooses, not one of its trials (elsewhere: one
# search, a trial per run).
PER_RUN_SEARCH = {"synthetic": 5, "synthetic_corrected": 5}


def student_config(cfg: HeterogeneousConfig, dataset: str, seed: int) -> TrainConfig:
    """The authors' student optimiser: SGD, lr 1.0 halved every 10 epochs (synthetic:
    full-batch SGD with a constant lr, evaluated every 100 steps)."""
    if dataset in SYNTHETIC:
        n = cfg.epochs[dataset]
        return TrainConfig(epochs=n, batch_size=1000, lr=cfg.lr, optimizer="sgd", seed=seed, device="cpu",
                           progress=False, eval_every=max(1, n // 20))
    return TrainConfig(epochs=cfg.epochs[dataset], batch_size=cfg.batch_size, lr=cfg.lr, optimizer="sgd",
                       schedule="step", step_size=cfg.lr_step, gamma=0.5, seed=seed, device=cfg.device,
                       progress=False)


def _params(cfg: HeterogeneousConfig, dataset: str, method: str, extra: dict) -> dict:
    p = {"dataset": dataset, "method": method, "epochs": cfg.epochs[dataset], "lr": cfg.lr, "lr_step": cfg.lr_step,
         "batch_size": cfg.batch_size, "n_rows": cfg.n_rows.get(dataset), "test_rows": cfg.test_rows, **extra}
    if method != "none":
        p["teacher"] = _teacher_name(cfg, dataset)
        p["teacher_epochs"] = cfg.teacher_epochs
    if dataset in SYNTHETIC:
        p.update(feature=synthetic_feature(dataset, method), validation="test" if dataset == "synthetic" else "val")
    if method in ("gradient", "proposed"):
        p.update(hyper_method=cfg.hyper_method, **_hyper(cfg, dataset))
    if method == "proposed":
        p.update(mini_epochs_per_epoch=cfg.mini_epochs_per_epoch, synthetic_mini_epoch=cfg.synthetic_mini_epoch,
                 fit_mini_epochs=cfg.fit_mini_epochs, extrapolate_mini_epochs=cfg.extrapolate_mini_epochs)
    return p


def _hyper(cfg: HeterogeneousConfig, dataset: str) -> dict:
    if dataset in SYNTHETIC:
        return dict(SYNTHETIC_HYPER)
    return {"hyper_optimizer": cfg.hyper_optimizer, "hyper_lr": cfg.hyper_lr, "hyper_clip": cfg.hyper_clip}


def _thin(trajectory: list[dict]) -> list[dict]:
    step = max(1, math.ceil(len(trajectory) / TRAJECTORY_POINTS))
    return trajectory[::step] + ([trajectory[-1]] if (len(trajectory) - 1) % step else [])


def _train(cfg: HeterogeneousConfig, store: RunStore, dataset: str, method: str, seed: int,
           lam: float | None, temp: float | None) -> dict:
    """Train one student; returns the record body (metrics, history, extra)."""
    d = data(cfg, dataset, method)
    tcfg = student_config(cfg, dataset, seed)
    train = d.train if method == "none" else train_with_logits(cfg, store, dataset, method)
    seed_everything(seed)
    model = _student(cfg, dataset, d.in_channels)
    callbacks = []
    if method == "none":
        objective = CrossEntropy()
    else:
        meta = HintonMeta(lam, temp)
        objective = MetaHintonKD(meta)
        h = _hyper(cfg, dataset)
        hcfg = HyperConfig(lr=h["hyper_lr"], optimizer=h["hyper_optimizer"], clip=h["hyper_clip"],
                           method=cfg.hyper_method, val_batch_size=min(cfg.batch_size, len(d.val)), seed=seed,
                           record_every=10)
        if method == "gradient":
            callbacks = [HyperStep(meta, objective, CrossEntropy(), d.val, hcfg)]
        elif method == "proposed":
            steps_per_epoch = max(1, math.ceil(len(train) / tcfg.batch_size))
            mini = cfg.synthetic_mini_epoch if dataset in SYNTHETIC else max(1, steps_per_epoch // cfg.mini_epochs_per_epoch)
            callbacks = [TrajectoryExtrapolation(meta, objective, CrossEntropy(), d.val, hcfg, mini,
                                                 cfg.fit_mini_epochs, cfg.extrapolate_mini_epochs)]
    hist = fit(model, train, objective, tcfg, d.test, callbacks=callbacks, desc=setting(dataset, method))
    val_acc = evaluate(model, d.val)["accuracy"]
    metrics = {"accuracy": hist.last, "best_accuracy": hist.best, "val_accuracy": val_acc}
    extra: dict = {}
    if method != "none":
        end = objective.meta.snapshot()
        metrics.update(final_lambda=end["lambda"], final_temperature=end["temperature"])
        extra = {"start": {"lambda": lam, "temperature": temp}}
        if callbacks:
            extra["trajectory"] = _thin(callbacks[0].trajectory)
            extra["hyper_steps"] = callbacks[0].hyper_steps
    return {"metrics": metrics, "history": hist.to_dict(), "extra": extra}


def table_run(cfg: HeterogeneousConfig, store: RunStore, dataset: str, method: str, run: int) -> dict:
    """Run ``run`` of ``method`` on ``dataset`` (not ``hyperopt``: see :func:`hyperopt_runs`)."""
    if method == "hyperopt":
        raise ValueError("hyperopt runs come from hyperopt_runs (each trial depends on the previous ones)")
    lam, temp = {"none": (None, None), "naive": (0.5, 1.0)}.get(method, random_start(run))
    extra = {} if lam is None else {"lambda": lam, "temperature": temp}
    return store.run(CHAPTER, setting(dataset, method), run, _params(cfg, dataset, method, extra), cfg.profile,
                     lambda: _train(cfg, store, dataset, method, run, lam, temp))


def hyperopt_runs(cfg: HeterogeneousConfig, store: RunStore, dataset: str) -> list[dict]:
    """Optuna TPE over ``lambda in [0, 1]``, ``log10 T in [-1, 1]``, each trial a full training
    scored by the upper level's rows (validation; the authors' synthetic run: the test rows).

    One search of ``runs[dataset]`` trials, a trial per run; or, for the datasets of
    :data:`PER_RUN_SEARCH`, one search per run whose best trial is the run.
    Resumable: stored trials are replayed with their stored suggestions, then TPE (seeded)
    suggests the missing ones, which alone are trained.
    """
    if dataset in PER_RUN_SEARCH:
        return [_best_of_search(cfg, store, dataset, run, PER_RUN_SEARCH[dataset]) for run in range(cfg.runs[dataset])]
    return _search(cfg, store, dataset, setting(dataset, "hyperopt"), cfg.runs[dataset], seed=0, first=0)


def _best_of_search(cfg: HeterogeneousConfig, store: RunStore, dataset: str, run: int, trials: int) -> dict:
    """Run ``run`` of a per-run search: ``trials`` trials (seeds ``100 run + k``), then the
    best (by the upper level's accuracy) as the run's record. The authors retrained the best
    values; a trial's training is deterministic given its seed, so its record is that retrain."""
    found = _search(cfg, store, dataset, setting(dataset, "hyperopt") + " trial", trials, seed=run, first=100 * run)
    best = max(found, key=lambda r: r["metrics"]["val_accuracy"])
    out = {k: v for k, v in best.items() if k in ("metrics", "history", "extra")}
    params = {**_params(cfg, dataset, "hyperopt", {"hyperopt_startup": cfg.hyperopt_startup, "trials": trials}),
              "best_trial": best["seed"], "lambda": best["params"]["lambda"], "temperature": best["params"]["temperature"]}
    return store.run(CHAPTER, setting(dataset, "hyperopt"), run, params, cfg.profile, lambda: out)


def _search(cfg: HeterogeneousConfig, store: RunStore, dataset: str, name: str, n_trials: int, seed: int,
            first: int) -> list[dict]:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    sampler = optuna.samplers.TPESampler(seed=seed, n_startup_trials=cfg.hyperopt_startup)
    study = optuna.create_study(direction="maximize", sampler=sampler)
    base = _params(cfg, dataset, "hyperopt", {"hyperopt_startup": cfg.hyperopt_startup})
    # Stored trials are replayed with the values they had (enqueued), so reading the records
    # never depends on the sampler reproducing its suggestions (another Optuna version).
    stored = {r["seed"]: r for r in store.records(CHAPTER) if r["setting"] == name and r["profile"] == cfg.profile
              and {k: v for k, v in r["params"].items() if k not in ("lambda", "temperature", "suggested")}
              == {k: v for k, v in json.loads(json.dumps(base)).items()} and store.usable(r)}
    records = []
    for trial_no in range(first, first + n_trials):
        if trial_no in stored:
            study.enqueue_trial(stored[trial_no]["params"]["suggested"])
        trial = study.ask()
        raw = {"lambda": trial.suggest_float("lambda", 0.0, 1.0), "log10_T": trial.suggest_float("log10_T", -1.0, 1.0)}
        lam = float(np.clip(raw["lambda"], 1e-3, 1 - 1e-3))
        temp = float(np.clip(10 ** raw["log10_T"], 0.1 + 1e-3, 10 - 1e-3))
        rec = store.run(CHAPTER, name, trial_no, {**base, "lambda": lam, "temperature": temp, "suggested": raw},
                        cfg.profile, lambda: _train(cfg, store, dataset, "hyperopt", trial_no, lam, temp))
        study.tell(trial, rec["metrics"]["val_accuracy"])
        records.append(rec)
    return records


def table_runs(cfg: HeterogeneousConfig, store: RunStore, dataset: str) -> pd.DataFrame:
    """Every run of one column (read from records where they exist): one row per run."""
    rows = []
    for method in cfg.methods:
        recs = (hyperopt_runs(cfg, store, dataset) if method == "hyperopt"
                else [table_run(cfg, store, dataset, method, r) for r in range(cfg.runs[dataset])])
        for rec in recs:
            rows.append({"dataset": dataset, "method": method, "run": rec["seed"], **rec["metrics"],
                         "start_lambda": rec["params"].get("lambda"), "start_temperature": rec["params"].get("temperature"),
                         "seconds": rec["seconds"], "device": rec["device"]})
    return pd.DataFrame(rows)
