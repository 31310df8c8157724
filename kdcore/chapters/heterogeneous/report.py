"""Summaries of the 2022 table's runs and the claims the chapter decides from its records."""

from __future__ import annotations

import pandas as pd

from ...verdicts import Claim
from .data import LABELS
from .paper import MAX_2022, NUMBERS
from .runners import setting

__all__ = ["summary_table", "claims_2022", "trajectories"]


def summary_table(runs: pd.DataFrame, profile: str) -> pd.DataFrame:
    """One row per (dataset, method): ours as mean ± std and max over runs, the paper's mean
    (max), the number of runs and the profile (``runs`` from :func:`table_runs`)."""
    paper = {(p.setting, p.metric): p.value for p in NUMBERS}
    rows = []
    for (dataset, method), g in runs.groupby(["dataset", "method"], sort=False):
        s = setting(dataset, method)
        pm, px = paper.get((s, "accuracy")), MAX_2022.get(s)
        rows.append({"dataset": LABELS[dataset], "method": method,
                     "ours mean ± std": f"{g.accuracy.mean():.3f} ± {g.accuracy.std(ddof=1):.3f}" if len(g) > 1
                     else f"{g.accuracy.mean():.3f}",
                     "ours max": f"{g.accuracy.max():.3f}",
                     "paper mean (max)": "—" if pm is None else f"{pm:.2f}" + ("" if px is None else f" ({px:.2f})"),
                     "Δ mean": "—" if pm is None else f"{g.accuracy.mean() - pm:+.3f}",
                     "runs": len(g), "profile": profile})
    return pd.DataFrame(rows)


def claims_2022(datasets: list[str]) -> list[Claim]:
    """The 2022 paper's claims, per dataset: tuned metaparameters beat the same random start
    (paired by run), beat no distillation and the naive setting; the extrapolated
    trajectory does as well as the gradient (checked as: it beats the random start too)."""
    out = []
    for d in datasets:
        lab = LABELS[d]
        out += [Claim(f"{lab}: gradient-tuned (lambda, T) beat the same random start", setting(d, "gradient"),
                      "accuracy", setting(d, "random")),
                Claim(f"{lab}: gradient-tuned (lambda, T) beat no distillation", setting(d, "gradient"),
                      "accuracy", setting(d, "none")),
                Claim(f"{lab}: gradient-tuned (lambda, T) beat lambda = 0.5, T = 1", setting(d, "gradient"),
                      "accuracy", setting(d, "naive")),
                Claim(f"{lab}: the extrapolated trajectory beats the same random start", setting(d, "proposed"),
                      "accuracy", setting(d, "random")),
                Claim(f"{lab}: gradient-tuned (lambda, T) beat the Optuna search", setting(d, "gradient"),
                      "accuracy", setting(d, "hyperopt"), paired=False)]
    return out


def trajectories(records: list[dict], dataset: str, methods=("gradient", "proposed")) -> pd.DataFrame:
    """Long table of (method, run, step, lambda, temperature) from the records' trajectories."""
    rows = []
    for rec in records:
        for m in methods:
            if rec["setting"] == setting(dataset, m) and rec.get("extra") and rec["extra"].get("trajectory"):
                rows += [{"method": m, "run": rec["seed"], **p} for p in rec["extra"]["trajectory"]]
    return pd.DataFrame(rows)
