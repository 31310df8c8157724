"""Paper numbers as data: the record type. Each chapter owns its numbers.

Each chapter's ``kdcore/chapters/<chapter>/paper.py`` defines ``NUMBERS: list[PaperNumber]``.
``chapter`` is the notebook name; ``setting`` and ``metric`` must equal the names the
chapter's run records use, so :func:`kdcore.results.comparison_table` can join them.

One paper number is compared with exactly one setting of ours, the one whose setup the
paper describes (``variant == ""``). Where the book also runs other variants of it
(corrected, re-initialised, other features), each is a further :class:`PaperNumber` with the
same ``paper_row`` and a ``variant`` label: shown beside the paper number, never counted.
"""

from __future__ import annotations

import math
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
    n: int | None = None  # runs behind the number (required with a spread; None: one run or unknown)
    decimals: int | None = None   # decimals as printed (None: read off ``value``); sets the rounding error
    table: str = ""       # the paper table it belongs to, for the power check ("": ``source``)
    variant: str = ""     # "": the faithful comparison (counted); else our variant's label (shown, not counted)
    paper_row: str = ""   # the paper's own row it is ("": ``setting``); variants share their faithful row's
    includes_failed: bool = False   # the paper's mean evidently averages in failed runs: compare all runs
    one_chain: bool = False   # one draw of what each of our runs measures (e.g. one chain of continued
                              # attempts, whose printed ± is within the chain): its error is our run-to-run sd

    def __post_init__(self) -> None:
        if not math.isfinite(self.value):
            raise ValueError(f"{self.chapter}: paper number {self.setting!r} / {self.metric!r} is not finite")
        if self.std is not None and self.std == self.std and (self.n is None or self.n < 2) and not self.one_chain:
            raise ValueError(f"{self.chapter}: paper number {self.setting!r} / {self.metric!r} has a spread "
                             f"but no run count n >= 2: say how many runs the paper averaged")

    @property
    def counted(self) -> bool:
        """Whether this is the paper number's one counted comparison."""
        return not self.variant

    @property
    def row(self) -> str:
        return self.paper_row or self.setting

    @property
    def table_name(self) -> str:
        return self.table or self.source

    @property
    def printed_decimals(self) -> int:
        """Decimals the number was printed with (``decimals``, else the shortest repr's)."""
        if self.decimals is not None:
            return self.decimals
        text = repr(float(self.value))
        if "e" in text:
            return 0
        whole, _, frac = text.partition(".")
        return 0 if frac in ("", "0") else len(frac)
