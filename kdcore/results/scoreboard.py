"""The scoreboard: every paper number judged against ours, and the count per chapter.

:func:`score` takes the paper-vs-ours table (:func:`kdcore.results.comparison_table`) and
judges each paper number that has runs of ours in one profile (the paper profile: a
reduced profile is never set against a paper) by the rule of
:mod:`kdcore.results.agreement`. A miss is *explained* when the chapter names its cause
in an :class:`Explanation` (data in the chapter's ``paper.py``, ``EXPLAINED``), which
points at the chapter's "What differed from the paper" section. :func:`chapter_summary`
counts, per chapter: compared, agree, misses, explained.

The core imports no chapter: callers hand in the chapters' data (the command line
``python -m kdcore.results --summary`` gathers it with :mod:`kdcore.chapters`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import pandas as pd

from ..verdicts import VERDICTS
from .agreement import KINDS, agrees, tolerance
from .paper import PaperNumber
from .records import PAPER_PROFILE

__all__ = ["Explanation", "WHAT_DIFFERED", "PAPER_PROFILE", "STATUSES", "score", "chapter_summary",
           "summary_lines", "verdict_counts"]

WHAT_DIFFERED = "what-differed-from-the-paper"   # anchor of the "## What differed from the paper" heading
STATUSES = ("agrees", "misses", "not run")

SCORE_COLUMNS = ["chapter", "setting", "metric", "kind", "paper", "paper_std", "ours", "ours_std", "delta",
                 "n_runs", "profile", "allowed", "rule", "status", "explained", "anchor", "source"]


@dataclass(frozen=True)
class Explanation:
    """Why some of a chapter's paper numbers are missed: a cause the chapter's "What
    differed from the paper" section names. Empty ``settings`` / ``metrics`` cover all."""

    why: str                          # one line, e.g. "our teacher has no input jitter"
    settings: tuple[str, ...] = ()    # run-record settings it covers (as in the chapter's NUMBERS)
    metrics: tuple[str, ...] = ()     # metric names it covers
    anchor: str = WHAT_DIFFERED       # heading anchor in the chapter's page

    def covers(self, setting: str, metric: str) -> bool:
        return (not self.settings or setting in self.settings) and (not self.metrics or metric in self.metrics)


def score(table: pd.DataFrame, numbers: Iterable[PaperNumber], kinds: Mapping[tuple[str, str], str],
          explanations: Mapping[str, Sequence[Explanation]] | None = None,
          profile: str = PAPER_PROFILE) -> pd.DataFrame:
    """One row per paper number (in ``numbers`` order): ``status`` is "agrees" or
    "misses" when ``profile`` has runs of it, else "not run"; ``allowed`` the allowed
    |ours − paper| and ``rule`` how it was set; ``explained`` the first covering
    :class:`Explanation`'s ``why`` for a miss ("" otherwise) and ``anchor`` its anchor.

    ``table`` is :func:`~kdcore.results.comparison_table` output; rows of other profiles
    are ignored. ``kinds`` maps ``(chapter, metric)`` to a key of
    :data:`~kdcore.results.agreement.KINDS`; a paper number of a metric with no kind
    raises ``ValueError`` naming it.
    """
    explanations = explanations or {}
    ours = {(r.chapter, r.setting, r.metric): r for r in table.itertuples(index=False) if r.profile == profile}
    rows = []
    for p in numbers:
        key = kinds.get((p.chapter, p.metric))
        if key not in KINDS:
            raise ValueError(f"{p.chapter}: metric {p.metric!r} has no kind (got {key!r}); name one of "
                             f"{sorted(KINDS)} in METRIC_KINDS of kdcore/chapters/{p.chapter}/paper.py")
        kind = KINDS[key]
        row = {"chapter": p.chapter, "setting": p.setting, "metric": p.metric, "kind": kind.label,
               "paper": p.value, "paper_std": float("nan") if p.std is None else p.std, "source": p.source,
               "ours": float("nan"), "ours_std": float("nan"), "delta": float("nan"), "n_runs": 0,
               "profile": profile, "allowed": float("nan"), "rule": "", "status": "not run",
               "explained": "", "anchor": ""}
        r = ours.get((p.chapter, p.setting, p.metric))
        if r is not None and r.n_runs > 0:
            tol = tolerance(p.value, p.std, r.ours_std, kind)
            ok = agrees(r.ours, p.value, tol.allowed)
            row.update(ours=r.ours, ours_std=r.ours_std, delta=r.ours - p.value, n_runs=int(r.n_runs),
                       allowed=tol.allowed, rule=tol.rule, status="agrees" if ok else "misses")
            if not ok:
                why = next((e for e in explanations.get(p.chapter, ()) if e.covers(p.setting, p.metric)), None)
                if why is not None:
                    row.update(explained=why.why, anchor=why.anchor)
        rows.append(row)
    return pd.DataFrame(rows, columns=SCORE_COLUMNS)


def chapter_summary(scored: pd.DataFrame) -> pd.DataFrame:
    """Per chapter (first-seen order): ``numbers`` (paper numbers), ``compared`` (with runs
    of ours), ``agree``, ``misses``, ``explained`` (misses with a named cause), ``not_run``."""
    out = []
    for chapter, sub in scored.groupby("chapter", sort=False):
        miss = sub.status == "misses"
        out.append({"chapter": chapter, "numbers": len(sub), "compared": int((sub.status != "not run").sum()),
                    "agree": int((sub.status == "agrees").sum()), "misses": int(miss.sum()),
                    "explained": int((miss & (sub.explained != "")).sum()),
                    "not_run": int((sub.status == "not run").sum())})
    return pd.DataFrame(out, columns=["chapter", "numbers", "compared", "agree", "misses", "explained", "not_run"])


def summary_lines(summary: pd.DataFrame, profile: str = PAPER_PROFILE) -> list[str]:
    """One line per chapter, e.g. ``kd_overview  compared 3  agree 0  misses 3 (explained 3)``."""
    width = max([len(c) for c in summary.chapter] + [1])
    lines = []
    for r in summary.itertuples(index=False):
        line = (f"{r.chapter:<{width}}  compared {r.compared:>3}  agree {r.agree:>3}  "
                f"misses {r.misses:>3} (explained {r.explained})")
        if r.not_run:
            line += f"  not run {r.not_run}"
        lines.append(line + f"  [{profile} profile]")
    return lines


def verdict_counts(verdicts: pd.DataFrame, sep: str = " · ") -> str:
    """``"3 holds · 1 does not hold"``: a chapter's claims per verdict
    (:func:`kdcore.verdicts.verdict_table` output), in :data:`kdcore.verdicts.VERDICTS` order."""
    counts = verdicts.verdict.value_counts()
    return sep.join(f"{counts[v]} {v}" for v in VERDICTS if v in counts) or "—"
