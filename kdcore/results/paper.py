"""Paper numbers as data: the record type. Each chapter owns its numbers.

Each chapter's ``kdcore/chapters/<chapter>/paper.py`` defines ``NUMBERS: list[PaperNumber]``.
``chapter`` is the notebook name; ``setting`` and ``metric`` must equal the names the
chapter's run records use, so :func:`kdcore.results.comparison_table` can join them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PaperNumber:
    """One number reported by a paper (or its authors' code), with where it comes from."""

    chapter: str          # notebook name, e.g. "kd_overview"
    setting: str          # e.g. "student 800-800, distilled T=20"
    metric: str           # e.g. "test_errors", "accuracy"
    value: float          # the reported mean
    std: float | None     # the reported spread, if any
    source: str           # paper, table / figure / file, e.g. "Hinton et al. 2015, section 3"
    note: str = ""        # caveats (approximate, a guess, ...)
