"""Every run of the chapter as an independent job, for the runner (``python -m
kdcore run heterogeneous``, :mod:`.graph`) to spread over processes sharing one device. A job is a tuple whose first entry names its
kind: ``("table", dataset, method, run)`` (``run = -1`` for a whole Optuna search, which is
sequential), ``("sweep", lambda)``, ``("single", direction)``, ``("cross", teacher, method, seed)``.
"""

from __future__ import annotations

import os
import time

from ...run.profile import load_profile
from ...results import RunStore
from .pairs import SINGLE_DIRECTIONS, cross_run, single_pair_run, sweep_run
from .runners import CHAPTER, HeterogeneousConfig
from .table import hyperopt_runs, table_run

__all__ = ["jobs", "run_job", "load_config", "worker"]


def jobs(cfg: HeterogeneousConfig) -> list[tuple]:
    """All jobs of ``cfg``, the longest first (so the slow ones do not finish last)."""
    steps = {d: cfg.epochs[d] * cfg.n_rows.get(d, 100) / cfg.batch_size for d in cfg.datasets}
    weight = {"hyperopt": 1.2, "gradient": 4, "proposed": 3}   # relative cost of one run
    out: list[tuple[float, tuple]] = []
    for d in cfg.datasets:
        for m in cfg.methods:
            if m == "hyperopt":
                out.append((weight[m] * cfg.runs[d] * steps[d], ("table", d, m, -1)))
            else:
                out += [(weight.get(m, 1) * steps[d], ("table", d, m, r)) for r in range(cfg.runs[d])]
    cross_steps = cfg.cross_epochs * cfg.n_rows["cifar10_reduced"] / cfg.batch_size
    if cfg.draft_sweep:
        out += [(2 * cross_steps, ("sweep", lam)) for lam in [0.0, *cfg.sweep_lambdas]]
    if cfg.single_pair:
        out += [(4 * cross_steps, ("single", direction)) for direction in SINGLE_DIRECTIONS]
    for t in cfg.cross_teachers if cfg.all_pairs else []:
        for m in cfg.cross_methods:
            cost = {"tuned": 12, "none": 1, "hinton": 1}.get(m, 3) * (3 if t != "conv_tiny" else 1)
            out += [(cost * cross_steps, ("cross", t, m, s)) for s in cfg.cross_seeds]
    return [job for _, job in sorted(out, key=lambda c: -c[0])]


def run_job(cfg: HeterogeneousConfig, store: RunStore, job: tuple) -> list[dict]:
    kind, *args = job
    if kind == "table":
        dataset, method, run = args
        return hyperopt_runs(cfg, store, dataset) if method == "hyperopt" else [table_run(cfg, store, *args)]
    if kind == "sweep":
        return [sweep_run(cfg, store, args[0])]
    if kind == "single":
        return [single_pair_run(cfg, store, direction=args[0])]
    if kind == "cross":
        return [cross_run(cfg, store, *args)]
    raise ValueError(f"unknown job kind {kind!r}")


def load_config(profile: str, overrides: dict | None = None) -> HeterogeneousConfig:
    """The config of ``profile`` (``paper``: ``notebooks/params/heterogeneous.yaml``; ``smoke``:
    the defaults) with ``overrides``; unknown names and bad values fail here."""
    return load_profile(CHAPTER, HeterogeneousConfig, profile, overrides=overrides)


def worker(args: tuple) -> tuple[tuple, float, str]:
    """One job in a pool process (a module-level function, so ``spawn`` can pickle it)."""
    profile, overrides, results, job = args
    os.environ["KDCORE_RESULTS"] = results
    import torch

    torch.set_num_threads(1)
    cfg = load_config(profile, overrides)
    t0 = time.perf_counter()
    try:
        run_job(cfg, RunStore(results), job)
        return job, time.perf_counter() - t0, ""
    except Exception as err:  # reported; the other jobs go on
        return job, time.perf_counter() - t0, f"{type(err).__name__}: {err}"
