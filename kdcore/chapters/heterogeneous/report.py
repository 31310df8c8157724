"""Summaries of the 2022 table's runs and the claims the chapter decides from its records."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .data import LABELS
from .paper import MAX_2022, NUMBERS, claims_2022, cross_claims  # noqa: F401 (re-exported)
from .runners import setting

__all__ = ["summary_table", "claims_2022", "trajectories", "cross_claims", "cross_summary", "lambda_snapshots"]


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


def trajectories(records: list[dict], dataset: str, methods=("gradient", "proposed")) -> pd.DataFrame:
    """Long table of (method, run, step, lambda, temperature) from the records' trajectories."""
    rows = []
    for rec in records:
        for m in methods:
            if rec["setting"] == setting(dataset, m) and rec.get("extra") and rec["extra"].get("trajectory"):
                rows += [{"method": m, "run": rec["seed"], **p} for p in rec["extra"]["trajectory"]]
    return pd.DataFrame(rows)


def cross_summary(records: list[dict], profile: str) -> pd.DataFrame:
    """Mean ± std, n and mean epoch time of every all-pairs / sweep / single-pair setting."""
    rows = {}
    for r in records:
        if r["profile"] != profile or not r["setting"].startswith(("all pairs", "sweep", "single pair")):
            continue
        rows.setdefault(r["setting"], []).append(r)
    out = []
    for s, recs in rows.items():
        acc = pd.Series([r["metrics"]["accuracy"] for r in recs])
        best = pd.Series([r["metrics"]["best_accuracy"] for r in recs])
        out.append({"setting": s, "accuracy (last)": f"{acc.mean():.4f}" + (f" ± {acc.std():.4f}" if len(acc) > 1 else ""),
                    "best epoch": f"{best.mean():.4f}", "runs": len(recs),
                    "s / epoch": round(float(pd.Series([r["metrics"]["epoch_seconds"] for r in recs]).mean()), 2),
                    "profile": profile})
    return pd.DataFrame(out)


def lambda_snapshots(records: list[dict], setting_name: str) -> dict[str, np.ndarray]:
    """Mean over seeds of the (teacher x student) weights at the start, middle and end of
    the recorded trajectories of ``setting_name``."""
    trajs = [r["extra"]["trajectory"] for r in records if r["setting"] == setting_name and r.get("extra")
             and r["extra"].get("trajectory")]
    if not trajs:
        return {}
    picks = {"start": 0, "middle": None, "end": -1}
    out = {}
    for name, i in picks.items():
        mats = [np.array(t[len(t) // 2 if i is None else i]["lambda"]) for t in trajs]
        out[f"{name} (step {trajs[0][len(trajs[0]) // 2 if i is None else i]['step']})"] = np.mean(mats, 0)
    return out
