"""Tables and figure data of the deep-nets chapter, built from run records only."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ...results import RunStore, format_mean_std
from .experiments import TABLES, VARIANT_LABEL, sweep_setting
from .paper import NUMBERS
from .runners import CHAPTER, NAMES
from .search import SEARCHES, search_name

__all__ = ["chapter_records", "by_setting", "sweep_frame", "table_frame", "trials_frame", "lambda_matrices",
           "curves", "cost_frame", "mean_std"]


def chapter_records(store: RunStore, profile: str) -> list[dict]:
    """The chapter's records of one profile (the newest per setting and seed)."""
    latest: dict[tuple, dict] = {}
    for r in store.records(CHAPTER):
        if r["profile"] == profile:
            k = (r["setting"], r["seed"])
            if k not in latest or r["created"] > latest[k]["created"]:
                latest[k] = r
    return list(latest.values())


def by_setting(records: list[dict]) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for r in sorted(records, key=lambda r: r["seed"]):
        out.setdefault(r["setting"], []).append(r)
    return out


def mean_std(values: list[float], digits: int = 4) -> str:
    """``"0.5812 ± 0.0040"`` (sample std; the mean alone for one value; "—" for none)."""
    if not values:
        return "—"
    v = pd.Series(values, dtype=float)
    return format_mean_std(v.mean(), v.std(ddof=1) if len(v) > 1 else None, digits)


def sweep_frame(records: list[dict]) -> pd.DataFrame:
    """One row per Hinton-sweep run: student, loss, β, T, accuracy, diverged."""
    rows = []
    for student in ("conv_tiny", "conv_very_tiny"):
        for variant, label in VARIANT_LABEL.items():
            for r in by_setting(records).get(sweep_setting(student, variant), []):
                rows.append({"student": NAMES[student], "loss": label, "run": r["seed"], "beta": r["params"]["beta"],
                             "T": r["params"]["T"], "accuracy": r["metrics"]["accuracy"],
                             "diverged": bool(r["extra"]["diverged"])})
    return pd.DataFrame(rows, columns=["student", "loss", "run", "beta", "T", "accuracy", "diverged"])


def _paper(setting: str, metric: str = "accuracy") -> str:
    for p in NUMBERS:
        if p.setting == setting and p.metric == metric:
            return f"{p.value:.4g}"
    return "—"


def table_frame(records: list[dict], table: str) -> pd.DataFrame:
    """Table 1 or 2: every row the chapter ran, ours (mean ± std over seeds, last epoch,
    both test sets) beside the paper's number."""
    teacher, student, tag = TABLES[table]
    groups = by_setting(records)
    rows = []

    def add(row: str, setting: str, mode: str = "—", metric: str = "accuracy", paper_metric: str = "accuracy") -> None:
        recs = groups.get(setting, [])
        rows.append({"row": row, "code": mode,
                     "ours: 10k JPEG test": mean_std([r["metrics"][metric] for r in recs]),
                     "ours: exact first 1k": mean_std([r["metrics"].get("accuracy_exact_1k", np.nan) for r in recs
                                                       if metric == "accuracy"]),
                     "runs": len(recs), "paper": _paper(setting, paper_metric)})

    add(f"teacher {NAMES[teacher]}", f"teacher {NAMES[teacher]}")
    add(f"{NAMES[student]} alone", f"{tag} {NAMES[student]} alone")
    for variant, label in VARIANT_LABEL.items():
        mode = "faithful" if variant == "oleinik2023" else "corrected"
        add(f"Hinton ({label})", f"{tag} {NAMES[student]} Hinton ← {NAMES[teacher]} ({label})", mode)
    for t, method in SEARCHES:
        if t != table:
            continue
        for mode in ("faithful", "corrected"):
            name = search_name(table, method, mode)
            add(f"{method}: best trial on test (trained on the carved rows)", f"{name}: search", mode,
                metric="accuracy_best_trial_on_test", paper_metric="accuracy_best_trial_on_test")
            add(f"{method}: trial chosen on test, retrained", f"{name}, chosen on test", mode)
            add(f"{method}: trial chosen on validation, retrained", f"{name}, chosen on val", mode)
    return pd.DataFrame(rows)


def trials_frame(records: list[dict]) -> pd.DataFrame:
    """Every search trial: table, method, mode, number, β, test / validation accuracy."""
    rows = []
    for table, method in SEARCHES:
        for mode in ("faithful", "corrected"):
            for s in by_setting(records).get(f"{search_name(table, method, mode)}: search", []):
                for t in s["extra"]["trials"]:
                    rows.append({"table": TABLES[table][2], "method": method, "mode": mode, "trial": t["number"],
                                 "beta": t["beta"], "test accuracy": t["accuracy"],
                                 "validation accuracy": t["val_accuracy"],
                                 "chosen on test": t["number"] == s["extra"]["chosen"]["test"],
                                 "chosen on validation": t["number"] == s["extra"]["chosen"]["val"]})
    return pd.DataFrame(rows)


def lambda_matrices(records: list[dict], table: str, mode: str, k: int = 4) -> list[tuple[dict, pd.DataFrame]]:
    """λ (student layer × teacher layer, rows summing to 1) of the ``k`` trials with the best
    test accuracy of a table's all-to-all search, as the paper's figure 7 drew them."""
    s = by_setting(records).get(f"{search_name(table, 'all-to-all', mode)}: search", [])
    if not s:
        return []
    ex = s[0]["extra"]
    t_layers, s_layers = ex["teacher_layers"], ex["student_layers"]
    out = []
    for t in sorted(ex["trials"], key=lambda t: -t["accuracy"])[:k]:
        lam = np.asarray(t["lam"]).reshape(len(t_layers), len(s_layers)).T * len(s_layers)
        out.append((t, pd.DataFrame(lam, index=s_layers, columns=t_layers)))
    return out


def curves(records: list[dict], settings: dict[str, str]) -> pd.DataFrame:
    """Long table of test accuracy per epoch: ``settings`` maps a record setting to a label."""
    rows = []
    groups = by_setting(records)
    for setting, label in settings.items():
        for r in groups.get(setting, []):
            h = r["history"]
            rows += [{"run": label, "seed": r["seed"], "epoch": e, "test accuracy": a}
                     for e, a in zip(h["test_epochs"], h["test_metric"])]
    return pd.DataFrame(rows, columns=["run", "seed", "epoch", "test accuracy"])


def cost_frame(records: list[dict]) -> pd.DataFrame:
    """The teacher-output cost record as a table: seconds per epoch and ratio to student-only."""
    from .cost import COST_MODES

    recs = by_setting(records).get("cost of teacher outputs (ConvTiny student)", [])
    if not recs:
        return pd.DataFrame()
    r = recs[-1]
    sec = r["extra"]["epoch_seconds"]
    rows = [{"mode": "student only", "seconds per epoch": sec["student_only"], "× student-only": 1.0}]
    rows += [{"mode": label, "seconds per epoch": sec[k], "× student-only": r["metrics"][f"ratio_{k}"]}
             for k, label in COST_MODES.items()]
    return pd.DataFrame(rows)
