"""Every run of the chapter as an independent job, for ``python -m kdcore.chapters.heterogeneous``
to spread over processes sharing one device. A job is a tuple whose first entry names its
kind: ``("table", dataset, method, run)`` (``run = -1`` for a whole Optuna search, which is
sequential), ``("sweep", lambda)``, ``("single",)``, ``("cross", teacher, method, seed)``.
"""

from __future__ import annotations

from ...results import RunStore
from .pairs import cross_run, single_pair_run, sweep_run
from .runners import HeterogeneousConfig
from .table import hyperopt_runs, table_run

__all__ = ["jobs", "run_job"]


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
    out += [(2 * cross_steps, ("sweep", lam)) for lam in [0.0, *cfg.sweep_lambdas]]
    if cfg.single_pair:
        out.append((4 * cross_steps, ("single",)))
    for t in cfg.cross_teachers:
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
        return [single_pair_run(cfg, store)]
    if kind == "cross":
        return [cross_run(cfg, store, *args)]
    raise ValueError(f"unknown job kind {kind!r}")
