"""When does one of our numbers agree with the paper's? The rule, and the kinds of metric.

The rule (one for the whole book, stated on the results page):

    |ours - paper|  <=  2 * max(paper spread, our spread)

where a spread is the standard deviation over runs (seeds) reported by the paper, and
the sample standard deviation over our runs; a missing spread counts as 0. Where the
paper gives no spread at all, the allowed difference is at least the stated tolerance of
the metric's kind (:data:`KINDS`), ``max(abs_tol, rel_tol * |paper|, sqrt_tol * sqrt|paper|)``,
each with its reason. Two spreads is a plain, stated rule (not a test with a p-value): it asks whether
the run-to-run noise that either side measured could account for the difference.

Each chapter maps its metric names to a kind in its ``paper.py`` (``METRIC_KINDS``); the
kind also picks the panel and scale of the paper-vs-ours figure.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["MetricKind", "KINDS", "SPREADS", "Tolerance", "tolerance", "agrees"]

SPREADS = 2.0   # how many spreads a difference may be and still agree


@dataclass(frozen=True)
class MetricKind:
    """A family of metrics judged and drawn alike."""

    label: str          # the figure panel's title, e.g. "accuracy-like"
    abs_tol: float      # allowed |ours - paper| when the paper gives no spread (metric units) ...
    rel_tol: float      # ... or this fraction of |paper| ...
    log_scale: bool     # draw on log axes (values spanning decades)
    reason: str         # why these tolerances: shown on the results page
    sqrt_tol: float = 0.0   # ... or this many sqrt(|paper|) (counts), whichever is largest

    def __post_init__(self) -> None:
        tols = (self.abs_tol, self.rel_tol, self.sqrt_tol)
        if not all(t >= 0 and math.isfinite(t) for t in tols):
            raise ValueError(f"metric kind {self.label!r}: tolerances must be finite and >= 0, got "
                             f"abs_tol={self.abs_tol!r}, rel_tol={self.rel_tol!r}, sqrt_tol={self.sqrt_tol!r}")

    def stated(self, paper: float) -> float:
        """The allowed |ours - paper| of a paper number given without a spread."""
        return max(self.abs_tol, self.rel_tol * abs(paper), self.sqrt_tol * math.sqrt(abs(paper)))


KINDS: dict[str, MetricKind] = {
    "accuracy": MetricKind(
        "accuracy-like", 0.01, 0.0, False,
        "one point: two binomial standard deviations of an accuracy near 0.9 on a 10,000-image "
        "test set (2 × 0.003) plus the ±0.005 of a paper number rounded to two decimals "
        "(a fallback: the accuracies the papers here report come with a spread)"),
    "errors": MetricKind(
        "error counts", 0.0, 0.0, False,
        "2√count: two binomial standard deviations of the paper's count of errors (rare errors "
        "out of thousands of test images are nearly Poisson, sd ≈ √count), the spread a single "
        "run's count has from the test sample alone; e.g. ±16 for 67 errors", sqrt_tol=2.0),
    "loss": MetricKind(
        "losses", 0.0, 0.05, True,
        "5% of the paper's value: a loss has no natural unit, so the tolerance is relative "
        "(a fallback: every loss the papers here report comes with a spread)"),
    "mse": MetricKind(
        "MSE (log scale)", 0.0, 0.05, True,
        "5% of the paper's value, as for losses: an MSE's scale is the target's squared "
        "(a fallback: the MSEs the papers here report come with a spread)"),
}


@dataclass(frozen=True)
class Tolerance:
    """The allowed |ours - paper| of one number and the rule that set it."""

    allowed: float
    rule: str           # "2 × spread" or "stated tolerance"


def _spread(x: float | None) -> float:
    return 0.0 if x is None or x != x else float(x)


def tolerance(paper: float, paper_std: float | None, ours_std: float | None, kind: MetricKind) -> Tolerance:
    """The allowed difference of one paper number (see the module docstring).

    >>> tolerance(0.86, 0.02, 0.04, KINDS["accuracy"]).allowed
    0.08
    >>> tolerance(100, None, 3.0, KINDS["errors"])
    Tolerance(allowed=20.0, rule='stated tolerance')
    """
    by_spread = SPREADS * max(_spread(paper_std), _spread(ours_std))
    if paper_std is not None and paper_std == paper_std:
        return Tolerance(by_spread, "2 × spread")
    stated = kind.stated(paper)
    return Tolerance(by_spread, "2 × spread") if by_spread > stated else Tolerance(stated, "stated tolerance")


def agrees(ours: float, paper: float, allowed: float) -> bool:
    """``|ours - paper| <= allowed`` (a tiny slack absorbs float rounding of printed numbers)."""
    if ours != ours or paper != paper:
        raise ValueError(f"agreement needs two numbers, got ours={ours!r}, paper={paper!r}")
    return abs(ours - paper) <= allowed * (1 + 1e-9) + 1e-12
