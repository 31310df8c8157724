"""One package per paper: ``kdcore/chapters/<name>/`` holds what only that chapter needs.

Each chapter package has its typed config and runners, its data splits, its report and
table helpers, and its paper numbers as data (``paper.py`` with ``NUMBERS``, the kind of
each metric ``METRIC_KINDS``, the explained misses ``EXPLAINED`` (graded by evidence),
when a run failed ``FAILURE`` (:class:`kdcore.results.verdicts.FailureRule`) and the paper's claims
``CLAIMS`` (:class:`kdcore.results.verdicts.Claim`) for the scoreboard). Chapters
import the core and the methods; nothing in the core or the methods imports a chapter
(``tests/test_layout.py`` walks the imports).
"""

from __future__ import annotations

import importlib
import pkgutil

from ..results.paper import PaperNumber
from ..results.scoreboard import Explanation
from ..results.verdicts import Claim, FailureRule

__all__ = ["names", "paper_numbers", "metric_kinds", "explanations", "claims", "failure_rules", "scored"]


def names() -> list[str]:
    """The chapter packages, in name order (each is also the notebook's name)."""
    return sorted(m.name for m in pkgutil.iter_modules(__path__) if m.ispkg)


def paper_numbers() -> list[PaperNumber]:
    """Every chapter's ``paper.NUMBERS``, chapter by chapter in name order."""
    out: list[PaperNumber] = []
    for name in names():
        out.extend(_paper(name).NUMBERS)
    return out


def _paper(name: str):
    return importlib.import_module(f"{__name__}.{name}.paper")


def metric_kinds() -> dict[tuple[str, str], str]:
    """``{(chapter, metric): kind}`` from every chapter's ``paper.METRIC_KINDS``."""
    return {(name, metric): kind for name in names() for metric, kind in _paper(name).METRIC_KINDS.items()}


def explanations() -> dict[str, list[Explanation]]:
    """``{chapter: [Explanation, ...]}`` from every chapter's ``paper.EXPLAINED``."""
    return {name: list(_paper(name).EXPLAINED) for name in names()}


def claims() -> dict[str, list[Claim]]:
    """``{chapter: [Claim, ...]}`` from every chapter's ``paper.CLAIMS`` (none: an empty list)."""
    return {name: list(getattr(_paper(name), "CLAIMS", ())) for name in names()}


def failure_rules() -> dict[str, list[FailureRule]]:
    """``{chapter: [FailureRule, ...]}`` from every chapter's ``paper.FAILURE`` (none: no run fails)."""
    return {name: list(getattr(_paper(name), "FAILURE", ())) for name in names()}


def scored(chapter: str, root=None, profile: str = "paper"):
    """The results page's judgement of one chapter's paper numbers at ``profile``: one row per
    (setting, metric) with its ``status`` (agrees / differs / inconclusive / failed / not run),
    as :func:`kdcore.results.scoreboard.score` gives it for the page; a chapter's paper-vs-ours
    table shows it as its status column (:func:`kdcore.results.display.show_comparison`)."""
    from ..results import comparison_table
    from ..results.scoreboard import score

    numbers = [p for p in paper_numbers() if p.chapter == chapter]
    return score(comparison_table(chapter, root, numbers, keep_values=True), numbers, metric_kinds(), explanations(),
                 failure_rules(), profile=profile)
