"""Reading the records of :mod:`kdcore.studies.all_pairs_weighting`: the tables, claims,
verdicts (with the difference the seeds could detect) and λ maps chapter 4 shows."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ..results import RunStore
from ..results.verdicts import Claim, FailureRule, detectable_difference, verdict_table
from types import ModuleType

from . import all_pairs_weighting
from .all_pairs_weighting import METHODS, StudyConfig, chosen_ratio

__all__ = ["CONTINUED_BY", "EXTRA_METHODS", "methods", "layers", "study_records", "probe_record", "grid_table", "grid_choice", "main_table", "claims", "verdicts",
           "lambda_maps"]


# Every function takes the study module (``study``): :mod:`.all_pairs_weighting` (ConvTiny
# teacher, the default) or :mod:`.all_pairs_resnet18` (ResNet18 teacher); both name their runs
# with ``study.setting(method, rho)`` and share the methods, grid and seeds.


def layers(study: ModuleType = all_pairs_weighting) -> tuple[list[str], list[str]]:
    """``(teacher layers, student layers)`` of a study (the rows and columns of its λ maps)."""
    same = getattr(study, "LAYERS", None)         # one list when teacher and student share a design
    return getattr(study, "TEACHER_LAYERS", same), getattr(study, "STUDENT_LAYERS", same)


# Studies whose runs continue another study's: all_pairs_resnet18's tuned runs are too long
# for one session, so all_pairs_resnet18_tuned runs them resumably, as that study would.
# Its random-λ control (chapter 4's *random* rows: a fixed λ drawn per seed) is its own study too,
# added after the study's records were made.
CONTINUED_BY = {"all_pairs_resnet18": ("all_pairs_resnet18_tuned", "all_pairs_resnet18_random")}
EXTRA_METHODS = {"all_pairs_resnet18": ("random",)}


def methods(study: ModuleType = all_pairs_weighting) -> tuple[str, ...]:
    """The methods of a study's main comparison: the shared :data:`METHODS` and its extras."""
    return (*METHODS, *EXTRA_METHODS.get(study.STUDY, ()))


def study_records(store: RunStore, profile: str = "paper",
                  study: ModuleType = all_pairs_weighting) -> tuple[list[dict], list[dict]]:
    """``(records, failure notes)`` of this study at ``profile``, with those of the studies that
    continue it (:data:`CONTINUED_BY`); where both hold a (setting, seed), the study's own wins."""
    recs, notes = [], []
    for name in (study.STUDY, *CONTINUED_BY.get(study.STUDY, ())):
        seen = {(r["setting"], r["seed"]) for r in recs} | {(n["setting"], n["seed"]) for n in notes}
        recs += [r for r in store.records(name) if r["profile"] == profile and (r["setting"], r["seed"]) not in seen]
        notes += [n for n in store.failures(name) if n["profile"] == profile and (n["setting"], n["seed"]) not in seen]
    return recs, notes


def probe_record(recs: list[dict]) -> dict | None:
    return next((r for r in recs if r["setting"] == "gradient ratio at initialisation"), None)


def grid_table(cfg: StudyConfig, recs: list[dict], notes: list[dict],
               study: ModuleType = all_pairs_weighting) -> pd.DataFrame:
    """One row per ρ of the grid: β, finished and diverged runs, mean validation and test
    accuracy, and the weighted VID/CE gradient ratio measured at the last epoch."""
    rows = []
    for rho in cfg.ratios:
        name = study.setting("uniform", rho)
        done = [r for r in recs if r["setting"] == name and r["seed"] in cfg.grid_seeds]
        failed = [n for n in notes if n["setting"] == name and n["seed"] in cfg.grid_seeds]
        beta = (done or failed)[0]["params"]["beta"] if (done or failed) else math.nan
        mean = lambda k: float(np.mean([r["metrics"][k] for r in done])) if done else math.nan
        rows.append({"VID/CE gradient (ρ)": rho, "β": beta, "runs": len(done), "diverged": len(failed),
                     "val accuracy": mean("val_accuracy"), "test accuracy": mean("accuracy"),
                     "ρ measured, last epoch": mean("weighted_ratio_last")})
    return pd.DataFrame(rows)


def grid_choice(cfg: StudyConfig, recs: list[dict], notes: list[dict],
                study: ModuleType = all_pairs_weighting) -> float | None:
    """The chosen ρ, as :func:`run` chooses it, once every grid run has a record or a note."""
    grid: list[dict] = []
    for rho in cfg.ratios:
        for seed in cfg.grid_seeds:
            rec = next((r for r in recs if r["setting"] == study.setting("uniform", rho) and r["seed"] == seed), None)
            note = next((n for n in notes if n["setting"] == study.setting("uniform", rho) and n["seed"] == seed), None)
            if rec is None and note is None:
                return None
            grid.append(rec if rec is not None else {"failed": note["message"], "args": ["uniform", rho, 0.0, seed]})
    return chosen_ratio(grid)


def main_table(recs: list[dict], notes: list[dict], rho: float,
               study: ModuleType = all_pairs_weighting) -> pd.DataFrame:
    """Test accuracy per method at the chosen ρ: runs, diverged, mean, sd, lowest, and the
    mean validation accuracy."""
    rows = []
    for m in methods(study):
        name = study.setting(m, rho)
        acc = [r["metrics"]["accuracy"] for r in recs if r["setting"] == name]
        val = [r["metrics"]["val_accuracy"] for r in recs if r["setting"] == name]
        rows.append({"method": m, "runs": len(acc), "diverged": sum(n["setting"] == name for n in notes),
                     "test accuracy": float(np.mean(acc)) if acc else math.nan,
                     "sd": float(np.std(acc, ddof=1)) if len(acc) > 1 else math.nan,
                     "lowest": min(acc) if acc else math.nan,
                     "val accuracy": float(np.mean(val)) if val else math.nan})
    return pd.DataFrame(rows)


def claims(rho: float, study: ModuleType = all_pairs_weighting) -> list[Claim]:
    """What the all-pairs weighting should show, as comparisons the records decide (paired by
    seed: same split, teacher and initial student per seed; a run ending within two points of
    chance, 0.1 on ten classes, counts as failed)."""
    s = lambda m: study.setting(m, rho)
    t, st = layers(study)
    every = f"all {len(t) * len(st)} pairs"
    DEAD = FailureRule("accuracy", 0.1)
    # A tuned λ could beat uniform only because any uneven weighting helps; against a random
    # fixed λ (where the study has one) it cannot.
    extra = ([Claim(f"tuned λ beats a random fixed λ over {every}", s("tuned"), "accuracy", s("random"), failure=DEAD)]
             if "random" in methods(study) else [])
    return [Claim(f"tuned λ beats uniform λ over {every}", s("tuned"), "accuracy", s("uniform"), failure=DEAD),
            *extra,
            Claim("tuned λ beats the four i↔i pairs", s("tuned"), "accuracy", s("pairwise"), failure=DEAD),
            Claim(f"{every} (uniform λ) beat the four i↔i pairs", s("uniform"), "accuracy", s("pairwise"),
                  failure=DEAD),
            Claim(f"{every} (uniform λ) beat the student alone", s("uniform"), "accuracy", s("none"), failure=DEAD),
            Claim("tuned λ beats the student alone", s("tuned"), "accuracy", s("none"), failure=DEAD)]


def verdicts(recs: list[dict], rho: float, profile: str = "paper",
             study: ModuleType = all_pairs_weighting) -> pd.DataFrame:
    """:func:`kdcore.results.verdicts.verdict_table` of :func:`claims`, with the difference the
    seeds could have detected (80 % power, :func:`~kdcore.results.verdicts.detectable_difference`)."""
    table = verdict_table(recs, claims(rho, study), profile)
    n = table["n"].astype(str).str.extract(r"^(\d+)")[0].astype(float)
    table["detectable (80 %)"] = [detectable_difference(sd, int(k), paired=bool(p)) if k == k else math.nan
                                  for sd, k, p in zip(table["std"], n, table["paired"])]
    return table


def lambda_maps(recs: list[dict], rho: float, study: ModuleType = all_pairs_weighting) -> dict[str, np.ndarray]:
    """λ of the tuned runs as teacher × student matrices: at the start and at the end (mean
    over seeds); empty without tuned runs."""
    runs = [r for r in recs if r["setting"] == study.setting("tuned", rho) and r.get("extra", {}).get("trajectory")]
    if not runs:
        return {}
    at = lambda k: np.mean([np.array(r["extra"]["trajectory"][k]["lambda"], dtype=float) for r in runs], axis=0)
    return {"start": at(0), "end": at(-1)}
