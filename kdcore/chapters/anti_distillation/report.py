"""Tables and long frames of the anti-distillation chapter, built from run records only."""

from __future__ import annotations

import pandas as pd

from ...results.display import mean_std

__all__ = ["records_frame", "curves_frame", "summary", "short_name"]


def short_name(setting: str) -> str:
    """``"FC faithful: Zero pad"`` -> ``"Zero pad"`` (the part after the first ``": "``)."""
    return setting.split(": ", 1)[-1]


def records_frame(records: list[dict]) -> pd.DataFrame:
    """One row per record: setting, seed, profile and every headline metric."""
    return pd.DataFrame([{"setting": r["setting"], "seed": r["seed"], "profile": r["profile"], **r["metrics"]}
                         for r in records])


def curves_frame(records: list[dict], key: str, x_key: str | None = None) -> pd.DataFrame:
    """Long table of a curve for seaborn: ``setting, seed, x, value``.

    ``key`` is a list in ``history`` or ``extra`` (e.g. ``"test_accuracy"``, ``"fgsm"``);
    ``x_key`` names the list of x values in ``extra`` (default: epochs 1, 2, ...).
    """
    rows = []
    for r in records:
        src = r.get("history") or {}
        vals = src.get(key) if key in src else (r.get("extra") or {}).get(key)
        if vals is None:
            continue
        xs = (r.get("extra") or {}).get(x_key) if x_key else range(1, len(vals) + 1)
        rows += [{"setting": r["setting"], "seed": r["seed"], "x": x, "value": v} for x, v in zip(xs, vals)]
    return pd.DataFrame(rows, columns=["setting", "seed", "x", "value"])


def summary(records: list[dict], metrics: list[str] | None = None, short: bool = True) -> pd.DataFrame:
    """Mean ± std over seeds per setting (strings from :func:`kdcore.results.display.mean_std`),
    with the number of runs; ``metrics`` picks and orders the columns (default: all)."""
    df = records_frame(records)
    metrics = metrics or [c for c in df.columns if c not in ("setting", "seed", "profile")]
    g = df.groupby("setting", sort=False)
    out = pd.DataFrame({"runs": g.size()})
    for m in metrics:
        out[m] = g[m].agg(lambda v, m=m: mean_std(v, m))
    out = out.reset_index()
    if short:
        out["setting"] = out["setting"].map(short_name)
    return out
