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
- ``verdict``: **holds** if ``difference > 2 se`` (and beyond ``margin``), **does not hold**
  if ``difference < -2 se`` (the opposite is true here), else **within noise**. Fewer than
  two runs on a side give no spread, so the verdict is **too few runs**.

Two standard errors is a plain, stated rule, not a significance test with a p-value: it
says whether the seed-to-seed noise measured here could explain the difference.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import pandas as pd

__all__ = ["Claim", "verdict_table", "verdict_markdown", "VERDICTS"]

VERDICTS = ("holds", "does not hold", "within noise", "too few runs", "no runs")
SE_FACTOR = 2.0


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

    def __post_init__(self) -> None:
        if (self.baseline is None) == (self.target is None):
            raise ValueError(f"claim {self.text!r}: give exactly one of 'baseline' and 'target'")
        if self.target is not None and not math.isfinite(self.target):
            raise ValueError(f"claim {self.text!r}: 'target' must be finite, got {self.target!r}")
        if not math.isfinite(self.margin) or self.margin < 0:
            raise ValueError(f"claim {self.text!r}: 'margin' must be finite and >= 0, got {self.margin!r}")


def _by_seed(records: Iterable[dict], setting: str, metric: str, profile: str) -> dict[int, float]:
    """``{seed: value}`` of one setting (the newest record of each seed)."""
    out: dict[int, tuple[str, float]] = {}
    for rec in records:
        if rec.get("setting") != setting or rec.get("profile") != profile or metric not in rec.get("metrics", {}):
            continue
        seed, created = rec["seed"], rec.get("created", "")
        if seed not in out or created > out[seed][0]:
            out[seed] = (created, float(rec["metrics"][metric]))
    return {s: v for s, (_, v) in out.items()}


def _std(values: Sequence[float]) -> float:
    return float(pd.Series(values, dtype=float).std(ddof=1)) if len(values) > 1 else float("nan")


def _judge(diff: float, se: float, margin: float, enough: bool) -> str:
    if not enough:
        return "too few runs"
    if diff > SE_FACTOR * se and diff > margin:
        return "holds"
    if diff < -SE_FACTOR * se:
        return "does not hold"
    return "within noise"


def evaluate(claim: Claim, records: Sequence[dict], profile: str) -> dict:
    """One row of :func:`verdict_table`."""
    sign = 1.0 if claim.higher_is_better else -1.0
    a = _by_seed(records, claim.setting, claim.metric, profile)
    row = {"claim": claim.text, "setting": claim.setting, "metric": claim.metric,
           "baseline": (f"target {claim.target:g}" if claim.baseline is None else claim.baseline
                        if claim.baseline_metric is None else f"{claim.baseline} ({claim.baseline_metric})")}
    b = (_by_seed(records, claim.baseline, claim.baseline_metric or claim.metric, profile)
         if claim.baseline is not None else {})
    if not a or (claim.baseline is not None and not b):
        return {**row, "difference": math.nan, "std": math.nan, "se": math.nan, "n": "0",
                "paired": False, "verdict": "no runs"}
    if claim.baseline is None:                      # one sample against a fixed value
        vals = list(a.values())
        diff = sign * (sum(vals) / len(vals) - claim.target)
        std = _std(vals)
        se = std / math.sqrt(len(vals))
        n, paired, enough = f"{len(vals)}", False, len(vals) > 1
    elif claim.paired and set(a) == set(b) and len(a) > 1:
        d = [sign * (a[s] - b[s]) for s in sorted(a)]
        diff, std = sum(d) / len(d), _std(d)
        se = std / math.sqrt(len(d))
        n, paired, enough = f"{len(d)} pairs", True, True
    else:
        va, vb = list(a.values()), list(b.values())
        diff = sign * (sum(va) / len(va) - sum(vb) / len(vb))
        sa, sb = _std(va), _std(vb)
        std = math.sqrt(sa ** 2 + sb ** 2)
        se = math.sqrt(sa ** 2 / len(va) + sb ** 2 / len(vb))
        n, paired, enough = f"{len(va)} vs {len(vb)}", False, len(va) > 1 and len(vb) > 1
    return {**row, "difference": diff, "std": std, "se": se, "n": n, "paired": paired,
            "verdict": _judge(diff, se, claim.margin, enough)}


def verdict_table(records: Sequence[dict], claims: Iterable[Claim], profile: str) -> pd.DataFrame:
    """One row per claim: ``claim, setting, metric, baseline, difference, std, se, n, paired,
    verdict`` (see the module docstring for the rule), from the records of ``profile``."""
    records = list(records)
    return pd.DataFrame([evaluate(c, records, profile) for c in claims],
                        columns=["claim", "setting", "metric", "baseline", "difference", "std", "se",
                                 "n", "paired", "verdict"])


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
        lines.append(f"- **{r.verdict}**: {r.claim}. {r.setting} vs {r.baseline} on `{r.metric}`: "
                     f"difference {_num(r.difference)} {direction_words(r.difference)} (n = {r.n}, {how}{spread}; "
                     f"profile `{profile}`).")
    return "\n".join(lines)
