"""Verdicts: does a chapter's claim hold in its own run records?

Every chapter ends with "Does the claim hold here?", one line per claim, computed from
the records rather than written by hand. A :class:`Claim` says that ``setting`` beats
``baseline`` on ``metric`` (or, with ``target``, that it reaches a fixed value). For each
claim :func:`verdict_table` gives

- ``difference``: mean of ``setting`` minus mean of ``baseline``, signed so that a
  positive number is the direction the claim predicts (fewer errors, higher accuracy);
- ``std``: the spread over seeds of that difference. Where both settings ran the same
  seeds and the claim says the seeds pair (same teacher, same split per seed), the runs
  are compared seed by seed: ``std`` is the sample std of the per-seed differences and
  ``se = std / sqrt(n)``. Otherwise the two groups are independent: ``std`` is
  ``sqrt(s_a^2 + s_b^2)`` (the spread of one run's difference) and ``se`` Welch's
  ``sqrt(s_a^2 / n_a + s_b^2 / n_b)``;
- ``verdict``: from the 95 % Student-t interval of that difference (``n - 1`` degrees of
  freedom for paired seeds, Welch's for independent groups: 3 to 10 seeds are far from
  normal): **holds** if the whole interval is above zero (and the difference beyond
  ``margin``), **does not hold** if it is wholly below zero (the opposite is true here),
  else **within noise**. Fewer than two runs on a side give no spread, so the verdict is
  **too few runs**.

Failed runs (:class:`FailureRule`: a run that ends non-finite or within two points of
chance) are a result, not noise: a claim with a ``failure`` rule drops them from both sides
before comparing (``failed`` counts them per side), and where more than half of a side's
runs failed the verdict is **failed runs**: nothing is compared.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import pandas as pd
from scipy import stats

__all__ = ["Claim", "FailureRule", "failure_rule_for", "verdict_table", "verdict_markdown", "detectable_difference",
           "VERDICTS", "LEVEL"]

VERDICTS = ("holds", "does not hold", "within noise", "failed runs", "too few runs", "no runs")
LEVEL = 0.95   # coverage of the interval of a claimed difference


@dataclass(frozen=True)
class FailureRule:
    """When a run failed: its ``metric`` is non-finite, or within ``slack`` of ``chance``
    (the value a model that guesses gets), e.g. accuracy <= 0.12 on ten classes."""

    metric: str                    # the run's metric that decides, e.g. "accuracy"
    chance: float                  # its value for a guessing model (0.1 for ten classes)
    slack: float = 0.02            # "within two points of chance" (metric units)
    higher_is_better: bool = True  # False for error counts (chance: 9,000 errors of 10,000)
    prefixes: tuple[str, ...] = () # the settings it applies to (names starting so); empty: all

    def applies(self, setting: str) -> bool:
        return not self.prefixes or setting.startswith(self.prefixes)

    def __post_init__(self) -> None:
        if not (math.isfinite(self.chance) and math.isfinite(self.slack) and self.slack >= 0):
            raise ValueError(f"failure rule for {self.metric!r}: chance and slack must be finite, slack >= 0")

    def failed(self, metrics: dict) -> bool:
        """Whether a run with these metrics failed: its deciding metric is non-finite or near
        chance (a run without that metric, e.g. a regression run, did not fail by this rule;
        other metrics may be NaN by design, e.g. "epoch reaching 90 %" of a run that never did)."""
        if self.metric not in metrics:
            return False
        v = float(metrics[self.metric])
        if not math.isfinite(v):
            return True
        return v <= self.chance + self.slack if self.higher_is_better else v >= self.chance - self.slack


def failure_rule_for(rules: Sequence[FailureRule], setting: str) -> FailureRule | None:
    """The first of ``rules`` that applies to ``setting`` (None: no run of it can fail)."""
    return next((r for r in rules if r.applies(setting)), None)


@dataclass(frozen=True)
class Claim:
    """One claim of a paper, as a comparison that run records can decide."""

    text: str                       # the claim in words, e.g. "distillation lowers the student's errors"
    setting: str                    # the setting claimed better (a run-record setting name)
    metric: str                     # a metric name in the records
    baseline: str | None = None     # the setting it is compared with; None: compare with ``target``
    baseline_metric: str | None = None  # the baseline's metric, if not ``metric`` (two metrics of one run)
    target: float | None = None     # a fixed value to beat when there is no baseline
    higher_is_better: bool = True   # False for errors, losses, MSE
    paired: bool = True             # seeds pair (same split / teacher per seed) when both ran them
    margin: float = 0.0             # the least difference (metric units) that counts as holding
    failure: FailureRule | None = None  # drop failed runs (and say "failed runs" if most failed)

    def __post_init__(self) -> None:
        if (self.baseline is None) == (self.target is None):
            raise ValueError(f"claim {self.text!r}: give exactly one of 'baseline' and 'target'")
        if self.target is not None and not math.isfinite(self.target):
            raise ValueError(f"claim {self.text!r}: 'target' must be finite, got {self.target!r}")
        if not math.isfinite(self.margin) or self.margin < 0:
            raise ValueError(f"claim {self.text!r}: 'margin' must be finite and >= 0, got {self.margin!r}")


def _by_seed(records: Iterable[dict], setting: str, metric: str, profile: str,
             failure: FailureRule | None = None) -> tuple[dict[int, float], set[int]]:
    """``({seed: value}, failed seeds)`` of one setting (the newest record of each seed); with
    a ``failure`` rule the failed seeds are left out of the dict and returned apart."""
    out: dict[int, tuple[str, float, bool]] = {}
    for rec in records:
        if rec.get("setting") != setting or rec.get("profile") != profile or metric not in rec.get("metrics", {}):
            continue
        seed, created = rec["seed"], rec.get("created", "")
        if seed not in out or created > out[seed][0]:
            failed = failure is not None and failure.failed(rec["metrics"])
            out[seed] = (created, float(rec["metrics"][metric]), failed)
    return {s: v for s, (_, v, f) in out.items() if not f}, {s for s, (_, _, f) in out.items() if f}


def _quantile(df: float) -> float:
    return float(stats.norm.ppf(0.5 + LEVEL / 2) if math.isinf(df) else stats.t.ppf(0.5 + LEVEL / 2, df))


def _std(values: Sequence[float]) -> float:
    return float(pd.Series(values, dtype=float).std(ddof=1)) if len(values) > 1 else float("nan")


def _judge(diff: float, se: float, df: float, margin: float, enough: bool) -> str:
    if not enough:
        return "too few runs"
    half = _quantile(df) * se
    if diff - half > 0 and diff > margin:
        return "holds"
    if diff + half < 0:
        return "does not hold"
    return "within noise"


def evaluate(claim: Claim, records: Sequence[dict], profile: str) -> dict:
    """One row of :func:`verdict_table`."""
    sign = 1.0 if claim.higher_is_better else -1.0
    a, fa = _by_seed(records, claim.setting, claim.metric, profile, claim.failure)
    row = {"claim": claim.text, "setting": claim.setting, "metric": claim.metric,
           "baseline": (f"target {claim.target:g}" if claim.baseline is None else claim.baseline
                        if claim.baseline_metric is None else f"{claim.baseline} ({claim.baseline_metric})")}
    b, fb = ((_by_seed(records, claim.baseline, claim.baseline_metric or claim.metric, profile, claim.failure))
             if claim.baseline is not None else ({}, set()))
    na, nb = len(a) + len(fa), len(b) + len(fb)
    failed = f"{len(fa)} of {na}" + ("" if claim.baseline is None else f" vs {len(fb)} of {nb}")
    row["failed"] = failed if fa or fb else ""
    if claim.paired and claim.baseline is not None:
        # a seed that failed on either side leaves both, so the remaining seeds still pair
        a = {k: v for k, v in a.items() if k not in fb}
        b = {k: v for k, v in b.items() if k not in fa}
    if len(fa) > na / 2 or len(fb) > nb / 2:
        return {**row, "difference": math.nan, "std": math.nan, "se": math.nan, "n": "0",
                "paired": False, "verdict": "failed runs"}
    if not a or (claim.baseline is not None and not b):
        return {**row, "difference": math.nan, "std": math.nan, "se": math.nan, "n": "0",
                "paired": False, "verdict": "no runs"}
    if claim.baseline is None:                      # one sample against a fixed value
        vals = list(a.values())
        diff = sign * (sum(vals) / len(vals) - claim.target)
        std = _std(vals)
        se, df = std / math.sqrt(len(vals)), len(vals) - 1
        n, paired, enough = f"{len(vals)}", False, len(vals) > 1
    elif claim.paired and set(a) == set(b) and len(a) > 1:
        d = [sign * (a[s] - b[s]) for s in sorted(a)]
        diff, std = sum(d) / len(d), _std(d)
        se, df = std / math.sqrt(len(d)), len(d) - 1
        n, paired, enough = f"{len(d)} pairs", True, True
    else:
        va, vb = list(a.values()), list(b.values())
        diff = sign * (sum(va) / len(va) - sum(vb) / len(vb))
        sa, sb = _std(va), _std(vb)
        std = math.sqrt(sa ** 2 + sb ** 2)
        va_, vb_ = sa ** 2 / len(va), sb ** 2 / len(vb)
        se = math.sqrt(va_ + vb_)
        enough = len(va) > 1 and len(vb) > 1
        # Welch-Satterthwaite degrees of freedom (two equal-zero variances: nothing to divide)
        den = (va_ ** 2 / (len(va) - 1) + vb_ ** 2 / (len(vb) - 1)) if enough else 0.0
        df = (va_ + vb_) ** 2 / den if den > 0 else max(len(va) + len(vb) - 2, 1)
        n, paired = f"{len(va)} vs {len(vb)}", False
    return {**row, "difference": diff, "std": std, "se": se, "n": n, "paired": paired,
            "verdict": _judge(diff, se, df, claim.margin, enough)}


def detectable_difference(std: float, n: int, paired: bool = True, power: float = 0.8) -> float:
    """The smallest true difference that ``n`` seeds detect with probability ``power``.

    A verdict is "holds" when the 95 % t-interval of the difference excludes zero. With the
    per-seed differences' spread ``std`` (paired; for two independent groups of ``n`` runs
    each, ``std`` is one run's spread and the difference's is ``std * sqrt(2)``), that
    happens for a true difference ``δ`` with probability about ``power`` when

        δ = (t_{1 - α/2, df} + t_{power, df}) · se ,   se = std / sqrt(n)  (paired, df = n - 1)
                                                       se = std · sqrt(2 / n) (independent, df = 2n - 2),

    the usual normal-approximation formula with t quantiles (Cohen 1988, ch. 2). So a
    "within noise" verdict says "no difference larger than about this", not "no difference".
    """
    if n < 2 or not math.isfinite(std) or std < 0:
        return math.nan
    if not 0 < power < 1:
        raise ValueError(f"parameter 'power' = {power} is out of range: allowed (0, 1)")
    df = n - 1 if paired else 2 * n - 2
    se = std / math.sqrt(n) if paired else std * math.sqrt(2 / n)
    return float((stats.t.ppf(0.5 + LEVEL / 2, df) + stats.t.ppf(power, df)) * se)


def verdict_table(records: Sequence[dict], claims: Iterable[Claim], profile: str) -> pd.DataFrame:
    """One row per claim: ``claim, setting, metric, baseline, difference, std, se, n, paired,
    verdict`` (see the module docstring for the rule), from the records of ``profile``."""
    records = list(records)
    return pd.DataFrame([evaluate(c, records, profile) for c in claims],
                        columns=["claim", "setting", "metric", "baseline", "difference", "std", "se",
                                 "n", "paired", "failed", "verdict"])


def _num(x: float) -> str:
    if x != x:
        return "—"
    return f"{x:+.1f}" if abs(x) >= 10 else f"{x:+.4f}" if abs(x) < 1 else f"{x:+.2f}"


def direction_words(diff: float) -> str:
    """Words for a difference already oriented so that a positive one supports the claim."""
    if diff != diff:
        return ""
    return "in the claimed direction" if diff > 0 else "(against the claim)" if diff < 0 else "(no difference)"


def verdict_markdown(table: pd.DataFrame, profile: str) -> str:
    """The verdict table as a Markdown list, one line per claim, for the chapter's end."""
    lines = []
    for r in table.itertuples(index=False):
        how = "paired by seed" if r.paired else "independent runs"
        spread = "" if r.std != r.std else f", std {abs(r.std):.4g}, se {r.se:.4g}"
        spread += f"; failed runs left out: {r.failed}" if r.failed else ""
        lines.append(f"- **{r.verdict}**: {r.claim}. {r.setting} vs {r.baseline} on `{r.metric}`: "
                     f"difference {_num(r.difference)} {direction_words(r.difference)} (n = {r.n}, {how}{spread}; "
                     f"profile `{profile}`).")
    return "\n".join(lines)
