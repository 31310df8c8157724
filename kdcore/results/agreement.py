"""When does one of our numbers agree with the paper's? An equivalence test per number.

The rule (one for the whole book, stated on the results page): build the 95 % interval of
the difference ``ours − paper`` from both sides' standard errors, with a Student-t quantile
at Welch's degrees of freedom (3 to 10 seeds are far from normal). Then the number

- **agrees** when the whole interval lies inside ``± margin``, the practical margin of its
  metric's kind (:data:`KINDS`, each with its reason);
- **differs** when the whole interval lies outside ``± margin``;
- is **inconclusive** when the interval straddles a margin's edge: more runs could decide
  it, and :func:`seeds_to_decide` says how many of ours would (if any number would).

Standard errors: ours is ``sd / sqrt(n)`` over our runs (``n - 1`` degrees of freedom); the
paper's is its reported ``sd / sqrt(n)`` with the runs the paper states, or, for a number
printed without a spread, the error of its rounding (``10**-decimals / sqrt(12)``, a uniform
error known exactly: no degrees of freedom are lost to it). One run of ours has no spread,
so a comparison resting on it is inconclusive by construction.

Each chapter maps its metric names to a kind in its ``paper.py`` (``METRIC_KINDS``); the
kind also picks the panel and scale of the paper-vs-ours figure.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from scipy import stats

__all__ = ["MetricKind", "KINDS", "LEVEL", "STATUSES", "Estimate", "Judgement", "judge", "seeds_to_decide",
           "rounding_se"]

LEVEL = 0.95          # coverage of the interval of ours − paper
STATUSES = ("agrees", "differs", "inconclusive")
MAX_SEEDS = 1000      # seeds_to_decide looks no further


@dataclass(frozen=True)
class MetricKind:
    """A family of metrics judged and drawn alike: its practical margin and why."""

    label: str          # the figure panel's title, e.g. "accuracy-like"
    margin_abs: float   # the margin in metric units ...
    margin_rel: float   # ... or this fraction of |paper|, whichever is larger
    log_scale: bool     # draw on log axes (values spanning decades)
    reason: str         # why this margin: shown on the results page

    def __post_init__(self) -> None:
        for name in ("margin_abs", "margin_rel"):
            v = getattr(self, name)
            if not (math.isfinite(v) and v >= 0):
                raise ValueError(f"metric kind {self.label!r}: {name} must be finite and >= 0, got {v!r}")
        if self.margin_abs == 0 and self.margin_rel == 0:
            raise ValueError(f"metric kind {self.label!r}: a zero margin can never be met (set margin_abs or margin_rel)")

    def margin(self, paper: float) -> float:
        """The practical margin around the paper number ``paper``."""
        return max(self.margin_abs, self.margin_rel * abs(paper))


KINDS: dict[str, MetricKind] = {
    "accuracy": MetricKind(
        "accuracy-like", 0.01, 0.0, False,
        "one accuracy point: people re-running public CIFAR distillation code find five reruns of one "
        "setting within about half a point of each other and report a gap of a point as 'cannot "
        "reproduce'; a paper printing two decimals cannot state anything finer than ±0.005 either"),
    "errors": MetricKind(
        "error counts", 10.0, 0.0, False,
        "10 test errors out of 10,000 (0.1 %): MNIST papers of the period quote error rates to 0.1 %, a "
        "test-set count near 70 has binomial noise of √70 ≈ 8 from the test sample alone, and the "
        "smallest effect the overview chapter's paper draws a conclusion from is 67 vs 74 errors"),
    "runs": MetricKind(
        "counts of runs", 2.0, 0.0, False,
        "2 runs of 20: a count of diverged runs out of 20 is binomial, with sd √(20 · 0.35 · 0.65) ≈ 2.1 "
        "runs at the authors' 7 of 20"),
    "loss": MetricKind(
        "losses", 0.0, 0.05, True,
        "5 % of the paper's value: a loss has no natural unit, and the effects the papers here draw "
        "conclusions from are 10-15 % of the loss (thesis test CE 0.666 → 0.570 with a teacher)"),
    "mse": MetricKind(
        "MSE (log scale)", 0.0, 0.05, True,
        "5 % of the paper's value: an MSE over the paper's 1,000 test rows carries about √(2/1000) ≈ "
        "4.5 % of test-sample noise (Gaussian residuals), so smaller gaps are not a property of a model"),
}


def rounding_se(decimals: int) -> float:
    """The standard error of a number rounded to ``decimals`` decimals: its error is
    uniform on ``±0.5·10**-decimals``, whose sd is ``10**-decimals / sqrt(12)``."""
    if decimals < -6 or decimals > 12:
        raise ValueError(f"decimals must be between -6 and 12, got {decimals!r}")
    return 10.0 ** -decimals / math.sqrt(12)


@dataclass(frozen=True)
class Estimate:
    """A mean with its standard error and the degrees of freedom of that error
    (``inf``: known, e.g. a rounding error; ``nan`` se: no spread known)."""

    mean: float
    se: float
    df: float

    @classmethod
    def from_runs(cls, mean: float, sd: float | None, n: int) -> "Estimate":
        """Our mean over ``n`` runs with sample sd ``sd`` (one run: se unknown)."""
        if n < 1:
            raise ValueError(f"an estimate needs at least one run, got n={n!r}")
        if n < 2 or sd is None or sd != sd:
            return cls(float(mean), math.nan, math.nan)
        return cls(float(mean), float(sd) / math.sqrt(n), float(n - 1))

    @classmethod
    def printed(cls, value: float, sd: float | None, n: int | None, decimals: int) -> "Estimate":
        """A paper's number: its reported ``sd`` over ``n`` runs when it gives one, else the
        error of its rounding to ``decimals``."""
        if sd is not None and sd == sd:
            if not n or n < 2:
                raise ValueError(f"paper number {value!r} has a spread {sd!r} but no run count n >= 2 (got {n!r})")
            return cls(float(value), float(sd) / math.sqrt(n), float(n - 1))
        return cls(float(value), rounding_se(decimals), math.inf)


@dataclass(frozen=True)
class Judgement:
    """One comparison: ``delta = ours − paper`` and its interval ``[low, high]``."""

    status: str        # "agrees" | "differs" | "inconclusive"
    delta: float
    low: float
    high: float
    margin: float
    df: float          # Welch's degrees of freedom of the interval (nan: no interval)


def welch_df(a: Estimate, b: Estimate) -> float:
    """Welch-Satterthwaite degrees of freedom of ``a.mean − b.mean``; a side whose se is
    known exactly (``df = inf``) adds variance but no uncertainty about it."""
    va, vb = a.se ** 2, b.se ** 2
    den = (va ** 2 / a.df if math.isfinite(a.df) else 0.0) + (vb ** 2 / b.df if math.isfinite(b.df) else 0.0)
    return math.inf if den == 0 else (va + vb) ** 2 / den


def judge(ours: Estimate, paper: Estimate, margin: float, level: float = LEVEL) -> Judgement:
    """The equivalence test of the module docstring.

    >>> judge(Estimate(0.805, 0.002, 4), Estimate(0.80, 0.003, 9), 0.01).status
    'agrees'
    >>> judge(Estimate(0.70, 0.002, 4), Estimate(0.80, 0.003, 9), 0.01).status
    'differs'
    """
    if not (math.isfinite(ours.mean) and math.isfinite(paper.mean)):
        raise ValueError(f"a comparison needs two finite numbers, got ours={ours.mean!r}, paper={paper.mean!r}")
    if not (margin > 0 and math.isfinite(margin)):
        raise ValueError(f"margin must be finite and > 0, got {margin!r}")
    delta = ours.mean - paper.mean
    if ours.se != ours.se or paper.se != paper.se:
        return Judgement("inconclusive", delta, -math.inf, math.inf, margin, math.nan)
    df = welch_df(ours, paper)
    q = stats.norm.ppf(0.5 + level / 2) if math.isinf(df) else stats.t.ppf(0.5 + level / 2, df)
    half = q * math.hypot(ours.se, paper.se)
    low, high = delta - half, delta + half
    if -margin <= low and high <= margin:
        status = "agrees"
    elif low > margin or high < -margin:
        status = "differs"
    else:
        status = "inconclusive"
    return Judgement(status, delta, low, high, margin, df)


def seeds_to_decide(mean: float, sd: float, n: int, paper: Estimate, margin: float,
                    level: float = LEVEL) -> int | None:
    """How many runs of ours would decide an inconclusive comparison, if our mean and sd
    stayed as they are: the least ``m > n`` whose interval is wholly inside or wholly
    outside the margin; ``None`` when no number of runs up to :data:`MAX_SEEDS` would (the
    gap sits on the margin, or the paper's own error is too wide)."""
    if sd != sd or n < 2:      # no spread of ours to extrapolate from
        return None
    for m in range(n + 1, MAX_SEEDS + 1):
        j = judge(Estimate(mean, sd / math.sqrt(m), m - 1), paper, margin, level)
        if j.status != "inconclusive":
            return m
    return None
