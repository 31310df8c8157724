"""The paper-vs-ours table and the number formats every chapter shares.

Paper numbers are data that each chapter owns (``kdcore/chapters/<name>/paper.py``); the
core never imports a chapter, so callers hand them in: a notebook passes its chapter's
``NUMBERS``, the command line (``python -m kdcore results``) gathers every chapter's.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from .paper import PaperNumber
from .records import RunStore, is_current

__all__ = ["comparison_table", "readable_table", "format_mean_std", "format_metric", "metric_digits",
           "markdown_sections", "TABLE_COLUMNS", "METRIC_DIGITS"]

TABLE_COLUMNS = ["chapter", "setting", "metric", "paper", "ours", "ours_std", "delta", "n_runs", "profile",
                 "dirty", "current"]


def _fmt(x: float, digits: int = 4) -> str:
    """Numbers as a reader wants them: counts and values of 10 or more with one decimal,
    the rest (accuracies, losses) with ``digits`` decimals."""
    return f"{x:.1f}" if abs(x) >= 10 else f"{x:.{digits}f}"


def format_mean_std(mean: float, std: float | None, digits: int = 4) -> str:
    """``"0.8560 ± 0.0120"`` (or just the mean when there is no spread). The std has as many
    decimals as the mean (chosen from the mean as in :func:`_fmt`): "155.0 ± 3.5", never
    "155.0 ± 3.4641"."""
    if mean != mean:  # NaN
        return "—"
    d = 1 if abs(mean) >= 10 else digits
    if std is None or std != std:
        return f"{mean:.{d}f}"
    return f"{mean:.{d}f} ± {std:.{d}f}"


METRIC_DIGITS = {"accuracy": 3, "ce": 3, "loss": 3, "integral": 2, "mse": 0, "errors": 0, "neg_elbo": 1, "points": 1}
"""Decimals per metric: accuracies as fractions to 0.1 point, losses to 3 decimals, the
integral criterion to 2, squared errors, counts and epochs as whole numbers, differences of
accuracies in percentage points to 1 decimal."""


def metric_digits(metric: str, value: float = float("nan")) -> int:
    """Decimals for ``metric``: :data:`METRIC_DIGITS` by name, else by the words in it
    (``accuracy``, ``mse``, ``errors``, ``epoch``), else 1 for values of 10 or more and 3 below."""
    name = metric.lower()
    if name in METRIC_DIGITS:
        return METRIC_DIGITS[name]
    for word, d in (("accuracy", 3), ("fgsm", 3), ("noise", 3), ("mse", 0), ("error", 0), ("epoch", 0),
                    ("count", 0), ("never predicted", 1), ("norm", 1), ("seconds", 0), ("integral", 2)):
        if word in name:
            return d
    return 1 if value == value and abs(value) >= 10 else 3


def format_metric(mean: float, std: float | None, metric: str) -> str:
    """The book's one number format: ``"0.798 ± 0.005"`` (accuracy), ``"18695 ± 266"`` (MSE):
    mean and std with the decimals of :func:`metric_digits`; the mean alone without a spread."""
    if mean != mean:  # NaN
        return "—"
    d = metric_digits(metric, mean)
    return f"{mean:.{d}f}" if std is None or std != std else f"{mean:.{d}f} ± {std:.{d}f}"


def _latest_per_seed(records: list[dict]) -> list[dict]:
    """One record per (chapter, setting, profile, seed): the newest.

    A setting re-run with other parameters (e.g. a retrained teacher) leaves the older
    record on disk; it must not be averaged with the new one. Superseded records are
    reported so they can be deleted.
    """
    latest: dict[tuple, dict] = {}
    for rec in records:
        k = (rec["chapter"], rec["setting"], rec["profile"], rec["seed"])
        if k not in latest or rec["created"] > latest[k]["created"]:
            if k in latest:
                warnings.warn(f"run record {latest[k]['key']} of {k} is superseded by {rec['key']}", stacklevel=3)
            latest[k] = rec
        else:
            warnings.warn(f"run record {rec['key']} of {k} is superseded by {latest[k]['key']}", stacklevel=3)
    return list(latest.values())


def comparison_table(chapter: str | None = None, root: Path | str | None = None,
                     paper_numbers: Iterable[PaperNumber] = (), keep_values: bool = False) -> pd.DataFrame:
    """The paper-vs-ours table: one row per (chapter, setting, metric, profile).

    ``ours`` is the mean over seeds of the run records, ``ours_std`` their sample std
    (NaN for one run), ``delta = ours - paper``. Paper numbers without a run of ours
    appear with ``ours`` empty, so what is missing is visible. ``paper_numbers`` are the
    chapters' :class:`PaperNumber` data (none: our numbers only). ``current`` is true when
    every record behind the row was computed by today's code (see
    :mod:`kdcore.results.provenance`); ``dirty`` counts records made from a working tree
    with uncommitted changes. With ``keep_values`` two more columns hold the runs behind
    each row: ``values`` (the metric per run) and ``run_metrics`` (each run's metrics, for
    the failed-run rule of :mod:`kdcore.results.scoreboard`).
    """
    numbers = list(paper_numbers)
    rows: dict[tuple, dict] = {}
    for rec in _latest_per_seed(RunStore(root).records(chapter)):
        for metric, value in rec["metrics"].items():
            k = (rec["chapter"], rec["setting"], metric, rec["profile"])
            row = rows.setdefault(k, {"values": [], "runs": [], "current": True, "dirty": 0})
            row["values"].append(value)
            row["runs"].append(rec["metrics"])
            row["current"] &= is_current(rec)
            row["dirty"] += str(rec.get("git_commit", "")).endswith("-dirty")
    paper = {(p.chapter, p.setting, p.metric): p for p in numbers
             if chapter is None or p.chapter == chapter}
    out = []
    for (ch, setting, metric, profile), r in rows.items():
        vals = pd.Series(r["values"], dtype=float)
        p = paper.get((ch, setting, metric))
        pv = p.value if p else float("nan")
        out.append({"chapter": ch, "setting": setting, "metric": metric, "paper": pv,
                    "ours": vals.mean(), "ours_std": vals.std(ddof=1) if len(vals) > 1 else float("nan"),
                    "delta": vals.mean() - pv, "n_runs": len(vals), "profile": profile,
                    "dirty": r["dirty"], "current": r["current"], "values": r["values"], "run_metrics": r["runs"]})
    have = {(r["chapter"], r["setting"], r["metric"]) for r in out}
    for key, p in paper.items():
        if key not in have:
            out.append({"chapter": p.chapter, "setting": p.setting, "metric": p.metric, "paper": p.value,
                        "ours": float("nan"), "ours_std": float("nan"), "delta": float("nan"),
                        "n_runs": 0, "profile": "", "dirty": 0, "current": pd.NA, "values": [], "run_metrics": []})
    df = pd.DataFrame(out, columns=TABLE_COLUMNS + (["values", "run_metrics"] if keep_values else []))
    order = {(p.chapter, p.setting): i for i, p in enumerate(numbers)}
    df["_o"] = [order.get((c, s), 10**6) for c, s in zip(df.chapter, df.setting)]
    return df.sort_values(["chapter", "_o", "setting", "metric", "profile"], kind="stable").drop(columns="_o").reset_index(drop=True)


def _provenance(profile: str, current, dirty: int) -> str:
    """The profile, marked where the records are stale or come from a dirty tree."""
    if not profile:
        return "—"
    marks = ([] if current is pd.NA or bool(current) else ["stale code"]) + (["dirty tree"] if dirty else [])
    return profile + (f" ({', '.join(marks)})" if marks else "")


def readable_table(df: pd.DataFrame, chapter_column: bool = True) -> pd.DataFrame:
    """The comparison table as strings for readers: ``ours`` as "mean ± std", Δ signed,
    missing values as "—", the profile marked "stale code" / "dirty tree" where it applies."""
    out = pd.DataFrame({
        "chapter": df.chapter,
        "setting": df.setting,
        "metric": df.metric,
        "paper": [format_metric(p, None, m) for p, m in zip(df.paper, df.metric)],
        "ours (mean ± std)": [format_metric(v, s, m) for v, s, m in zip(df.ours, df.ours_std, df.metric)],
        "Δ": ["—" if d != d else ("+" if d >= 0 else "") + format_metric(d, None, m) for d, m in zip(df.delta, df.metric)],
        "runs": df.n_runs.astype(int),
        "profile": [_provenance(p, c, d) for p, c, d in zip(df.profile, df.current, df.dirty)],
    })
    return out if chapter_column else out.drop(columns="chapter")


def markdown_sections(df: pd.DataFrame) -> str:
    """One section per chapter (``## <chapter>``) holding its table, for the book's page."""
    parts = []
    for chapter, sub in df.groupby("chapter", sort=False):
        table = readable_table(sub, chapter_column=False)
        # Non-breaking spaces keep "mean ± std" on one line in narrow columns.
        table["ours (mean ± std)"] = table["ours (mean ± std)"].str.replace(" ± ", "\u00a0±\u00a0")
        lines = [f"## {chapter}", "", "| " + " | ".join(table.columns) + " |", "|" + "---|" * len(table.columns)]
        lines += ["| " + " | ".join(str(v) for v in row) + " |" for row in table.itertuples(index=False)]
        parts.append("\n".join(lines))
    return "\n\n".join(parts)
