"""The scoreboard: every paper number judged against ours, and the counts per chapter.

:func:`score` takes the paper-vs-ours table (:func:`kdcore.results.comparison_table` with
``keep_values=True``) and judges each paper number that has runs of ours in the paper
profile by the equivalence test of :mod:`kdcore.results.agreement`:

- **failed runs are a result**: a run that the chapter's :class:`~kdcore.results.verdicts.FailureRule`
  calls failed (non-finite, or within two points of chance) is counted apart; the comparison
  uses the runs that trained, or all runs where the paper's own mean evidently includes
  failed ones (``PaperNumber.includes_failed``); a setting where more than half of our runs
  failed is **failed** and not compared;
- **a paper number that is one draw** of what each of our runs measures
  (``PaperNumber.one_chain``: e.g. the thesis' one chain of continued attempts, whose
  printed ± is the spread *within* that chain) is judged as one new run would be: its
  error is our run-to-run sd, so the interval is a prediction interval;
- **one paper number, one comparison**: only the faithful variant is counted; our other
  variants are judged and shown beside it (``counted`` is false);
- **explanations graded by evidence**: a miss (``differs``) carries the grade of the first
  covering :class:`Explanation`: *measured* (a record that changes only the named cause,
  linked), *setup unknown* (the paper omits what would decide it) or *hypothesis*; only
  *measured* counts as explained.

:func:`power` adds the power check: each of our numbers against the *other* rows of its
paper table. :func:`chapter_summary` counts per chapter. The core imports no chapter:
callers hand in the chapters' data (``python -m kdcore results --summary`` gathers it).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import pandas as pd

from .verdicts import VERDICTS, Claim, FailureRule, failure_rule_for
from .agreement import KINDS, Estimate, judge, seeds_to_decide
from .paper import PaperNumber
from .records import PAPER_PROFILE

__all__ = ["Explanation", "GRADES", "WHAT_DIFFERED", "PAPER_PROFILE", "STATUSES", "score", "power",
           "chapter_summary", "summary_lines", "verdict_counts", "claim_effects", "CANNOT_TELL"]

WHAT_DIFFERED = "what-differed-from-the-paper"   # anchor of the "## What differed from the paper" heading
STATUSES = ("agrees", "differs", "inconclusive", "failed", "not run")
GRADES = ("measured", "setup unknown", "hypothesis")
CANNOT_TELL = 0.5   # a table whose wrong pairings agree at >= half the rate of the right ones has no power

SCORE_COLUMNS = ["chapter", "setting", "metric", "kind", "table", "paper_row", "counted", "variant",
                 "paper", "paper_std", "paper_n", "decimals", "one_chain", "ours", "ours_std", "n_runs", "n_failed", "compared_on",
                 "profile", "delta", "low", "high", "margin", "status", "seeds_to_decide", "explained", "grade",
                 "evidence", "anchor", "source"]


@dataclass(frozen=True)
class Explanation:
    """Why some of a chapter's paper numbers are missed, graded by its evidence.

    ``grade`` is one of :data:`GRADES`. ``evidence`` is, for *measured*, the run record(s)
    that change only the named cause (paths under ``results/``, checked by a test); for
    *setup unknown*, the detail the paper omits; for a *hypothesis*, may be empty. Empty
    ``settings`` / ``metrics`` cover all."""

    why: str                          # one line, e.g. "our teacher has no input jitter"
    settings: tuple[str, ...] = ()    # run-record settings it covers (as in the chapter's NUMBERS)
    metrics: tuple[str, ...] = ()     # metric names it covers
    anchor: str = WHAT_DIFFERED       # heading anchor in the chapter's page
    grade: str = "hypothesis"
    evidence: str = ""

    def __post_init__(self) -> None:
        if self.grade not in GRADES:
            raise ValueError(f"explanation {self.why!r}: grade must be one of {GRADES}, got {self.grade!r}")
        if self.grade != "hypothesis" and not self.evidence:
            raise ValueError(f"explanation {self.why!r}: grade {self.grade!r} needs its evidence "
                             "(measured: the record that measures the cause; setup unknown: the missing detail)")

    def covers(self, setting: str, metric: str) -> bool:
        return (not self.settings or setting in self.settings) and (not self.metrics or metric in self.metrics)


def _paper_side(value: float, std: float | None, n: int | None, decimals: int, one_chain: bool,
                our_sd: float, our_n: int) -> Estimate:
    """The paper number as an estimate: its printed spread over its runs (or its rounding),
    or, for a one-chain number, one draw whose error is our run-to-run sd."""
    if one_chain:
        return Estimate(value, our_sd, our_n - 1) if our_n >= 2 and our_sd == our_sd else Estimate(
            value, math.nan, math.nan)
    return Estimate.printed(value, None if std is None or std != std else std, n, decimals)


def _our_sample(values: Sequence[float], failed: Sequence[bool], all_runs: bool) -> tuple[float, float, int]:
    vals = [v for v, f in zip(values, failed) if all_runs or not f]
    s = pd.Series(vals, dtype=float)
    return float(s.mean()), float(s.std(ddof=1)) if len(s) > 1 else math.nan, len(s)


def _failed_flags(values: Sequence[dict], rule: FailureRule | None) -> list[bool]:
    return [False if rule is None else rule.failed(m) for m in values]


def score(table: pd.DataFrame, numbers: Iterable[PaperNumber], kinds: Mapping[tuple[str, str], str],
          explanations: Mapping[str, Sequence[Explanation]] | None = None,
          failure: Mapping[str, Sequence[FailureRule]] | None = None,
          profile: str = PAPER_PROFILE) -> pd.DataFrame:
    """One row per paper number (in ``numbers`` order), judged as the module docstring says.

    ``table`` is :func:`~kdcore.results.comparison_table` output with ``keep_values=True``
    (rows of other profiles are ignored). ``kinds`` maps ``(chapter, metric)`` to a key of
    :data:`~kdcore.results.agreement.KINDS` (a metric with none raises ``ValueError`` naming
    it); ``failure`` maps a chapter to its failed-run rules (the first that applies to a
    setting decides; none: no run fails). ``status`` is one of :data:`STATUSES`; ``seeds_to_decide`` the runs of ours that
    would decide an inconclusive number (NaN: none would, or not inconclusive).
    """
    explanations, failure = explanations or {}, failure or {}
    if len(table) and "run_metrics" not in table.columns:
        raise ValueError("score needs the runs behind each row: call comparison_table(..., keep_values=True)")
    ours = {(r.chapter, r.setting, r.metric): r for r in table.itertuples(index=False) if r.profile == profile}
    rows = []
    for p in numbers:
        key = kinds.get((p.chapter, p.metric))
        if key not in KINDS:
            raise ValueError(f"{p.chapter}: metric {p.metric!r} has no kind (got {key!r}); name one of "
                             f"{sorted(KINDS)} in METRIC_KINDS of kdcore/chapters/{p.chapter}/paper.py")
        kind = KINDS[key]
        row = {"chapter": p.chapter, "setting": p.setting, "metric": p.metric, "kind": kind.label,
               "table": p.table_name, "paper_row": p.row, "counted": p.counted, "variant": p.variant,
               "paper": p.value, "paper_std": math.nan if p.std is None else p.std,
               "paper_n": p.n if p.n else 1, "decimals": p.printed_decimals, "one_chain": p.one_chain, "source": p.source, "ours": math.nan, "ours_std": math.nan,
               "n_runs": 0, "n_failed": 0, "compared_on": "", "profile": profile, "delta": math.nan, "low": math.nan,
               "high": math.nan, "margin": kind.margin(p.value), "status": "not run",
               "seeds_to_decide": math.nan, "explained": "", "grade": "", "evidence": "", "anchor": ""}
        r = ours.get((p.chapter, p.setting, p.metric))
        if r is not None and r.n_runs > 0:
            flags = _failed_flags(r.run_metrics, failure_rule_for(failure.get(p.chapter, ()), p.setting))
            n_failed = sum(flags)
            all_runs = p.includes_failed
            mean, sd, n = _our_sample(r.values, flags, all_runs)
            row.update(n_runs=int(r.n_runs), n_failed=n_failed,
                       compared_on="all runs" if all_runs else "trained runs")
            if n_failed > r.n_runs / 2:
                row.update(status="failed", ours=mean, ours_std=sd)
            else:
                paper = _paper_side(p.value, p.std, p.n, p.printed_decimals, p.one_chain, sd, n)
                j = judge(Estimate.from_runs(mean, sd, n), paper, row["margin"])
                row.update(ours=mean, ours_std=sd, delta=j.delta, low=j.low, high=j.high, status=j.status)
                if j.status == "inconclusive":
                    m = seeds_to_decide(mean, sd, n, paper, row["margin"])
                    row["seeds_to_decide"] = math.nan if m is None else m
            if row["status"] in ("differs", "inconclusive", "failed"):
                why = next((e for e in explanations.get(p.chapter, ()) if e.covers(p.setting, p.metric)), None)
                if why is not None:
                    row.update(explained=why.why, grade=why.grade, evidence=why.evidence, anchor=why.anchor)
        rows.append(row)
    return pd.DataFrame(rows, columns=SCORE_COLUMNS)


def _paper_of(r) -> Estimate:
    """The paper side of a scored row, as :func:`score` built it."""
    return _paper_side(r.paper, r.paper_std, int(r.paper_n), int(r.decimals), r.one_chain, r.ours_std, _n_compared(r))


def power(scored: pd.DataFrame) -> pd.DataFrame:
    """The power check, one row per (chapter, paper table): each of our counted numbers
    judged against the table's *other* rows of the same metric (the wrong pairings).

    Columns: ``right`` / ``right_agree`` (compared counted numbers, and how many agree),
    ``wrong`` / ``wrong_agree`` (wrong pairings, and how many would agree), their rates,
    ``paper_pairs`` / ``paper_pairs_differ`` (pairs of the paper's own rows, and how many
    differ from each other by the same test), and ``tells_apart``: false when wrong pairings
    agree at least :data:`CANNOT_TELL` times as often as the right ones, so the table's
    agreements confirm nothing.
    """
    counted = scored[scored.counted]
    out = []
    for (chapter, table), sub in counted.groupby(["chapter", "table"], sort=False):
        judged = sub[sub.status.isin(["agrees", "differs", "inconclusive"])]
        wrong = wrong_agree = 0
        for r in judged.itertuples(index=False):
            mean, sd, n = r.ours, r.ours_std, _n_compared(r)
            for o in sub[(sub.metric == r.metric) & (sub.paper_row != r.paper_row)].itertuples(index=False):
                j = judge(Estimate.from_runs(mean, sd, n), _paper_of(o), o.margin)
                wrong += 1
                wrong_agree += j.status == "agrees"
        pairs = differ = 0
        rows_ = list(sub.itertuples(index=False))
        for i, a in enumerate(rows_):
            for b in rows_[i + 1:]:
                if a.metric == b.metric and a.paper_row != b.paper_row:
                    pairs += 1
                    differ += judge(_paper_of(a), _paper_of(b), a.margin).status == "differs"
        right, right_agree = len(judged), int((judged.status == "agrees").sum())
        rate_r = right_agree / right if right else math.nan
        rate_w = wrong_agree / wrong if wrong else math.nan
        tells = not (right_agree and wrong and rate_w >= CANNOT_TELL * rate_r)
        out.append({"chapter": chapter, "table": table, "right": right, "right_agree": right_agree,
                    "right_rate": rate_r, "wrong": wrong, "wrong_agree": wrong_agree, "wrong_rate": rate_w,
                    "paper_pairs": pairs, "paper_pairs_differ": differ, "tells_apart": tells})
    return pd.DataFrame(out, columns=["chapter", "table", "right", "right_agree", "right_rate", "wrong",
                                      "wrong_agree", "wrong_rate", "paper_pairs", "paper_pairs_differ",
                                      "tells_apart"])


def _n_compared(r) -> int:
    return int(r.n_runs) if r.compared_on == "all runs" else int(r.n_runs - r.n_failed)


def chapter_summary(scored: pd.DataFrame, powered: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per chapter (first-seen order), counts of *distinct, counted* paper numbers:
    ``numbers``, ``agree`` (in tables that can tell their settings apart), ``agree_no_power``
    (in tables that cannot), ``differ``, ``inconclusive``, ``failed`` (settings), ``not_run``;
    the misses (``differ``) by grade: ``measured`` (the only explained ones), ``setup_unknown``,
    ``hypothesis``, ``unnamed``; and ``wrong_rate``, the chapter's wrong-pairing agreement
    rate (:func:`power`)."""
    powered = powered if powered is not None else pd.DataFrame(columns=["chapter", "table", "tells_apart",
                                                                        "wrong", "wrong_agree"])
    blind = {(r.chapter, r.table) for r in powered.itertuples(index=False) if not r.tells_apart}
    out = []
    for chapter, sub in scored[scored.counted].groupby("chapter", sort=False):
        agree = sub.status == "agrees"
        no_power = agree & sub.table.map(lambda t: (chapter, t) in blind).astype(bool)
        miss = sub[sub.status == "differs"]
        pw = powered[powered.chapter == chapter]
        wrong = int(pw.wrong.sum())
        out.append({"chapter": chapter, "numbers": len(sub), "agree": int((agree & ~no_power).sum()),
                    "agree_no_power": int(no_power.sum()), "differ": len(miss),
                    "inconclusive": int((sub.status == "inconclusive").sum()),
                    "failed": int((sub.status == "failed").sum()), "not_run": int((sub.status == "not run").sum()),
                    "measured": int((miss.grade == "measured").sum()),
                    "setup_unknown": int((miss.grade == "setup unknown").sum()),
                    "hypothesis": int((miss.grade == "hypothesis").sum()),
                    "unnamed": int((miss.grade == "").sum()),
                    "wrong_rate": int(pw.wrong_agree.sum()) / wrong if wrong else math.nan})
    return pd.DataFrame(out, columns=["chapter", "numbers", "agree", "agree_no_power", "differ", "inconclusive",
                                      "failed", "not_run", "measured", "setup_unknown", "hypothesis", "unnamed",
                                      "wrong_rate"])


def claim_effects(claims: Sequence[Claim], verdicts: pd.DataFrame, numbers: Iterable[PaperNumber]) -> pd.DataFrame:
    """Each claim's effect here beside the paper's, where the paper gives both numbers:
    ``paper_effect`` (signed so that positive is the claimed direction, as ``ours``) and
    ``same_sign``; NaN / None where the paper lacks one of the two numbers."""
    values = {(p.setting, p.metric): p.value for p in numbers}
    rows = []
    for c, v in zip(claims, verdicts.itertuples(index=False)):
        sign = 1.0 if c.higher_is_better else -1.0
        a = values.get((c.setting, c.metric))
        b = values.get((c.baseline, c.baseline_metric or c.metric)) if c.baseline is not None else c.target
        eff = sign * (a - b) if a is not None and b is not None else math.nan
        same = None if eff != eff or v.difference != v.difference else bool(eff * v.difference > 0)
        rows.append({"claim": c.text, "verdict": v.verdict, "ours": v.difference, "paper_effect": eff,
                     "same_sign": same})
    return pd.DataFrame(rows, columns=["claim", "verdict", "ours", "paper_effect", "same_sign"])


def _rate(x: float) -> str:
    return "—" if x != x else f"{100 * x:.0f} %"


def summary_lines(summary: pd.DataFrame, profile: str = PAPER_PROFILE) -> list[str]:
    """One line per chapter: distinct paper numbers, agrees / differs / inconclusive,
    failed settings, the wrong-pairing agreement rate, misses by grade."""
    width = max([len(c) for c in summary.chapter] + [1])
    lines = []
    for r in summary.itertuples(index=False):
        agree = f"{r.agree}" + (f" (+{r.agree_no_power} unconfirmed)" if r.agree_no_power else "")
        line = (f"{r.chapter:<{width}}  numbers {r.numbers:>3}  agree {agree}  differ {r.differ}  "
                f"inconclusive {r.inconclusive}  failed {r.failed}  wrong-pairing agree {_rate(r.wrong_rate)}  "
                f"misses: measured {r.measured}, setup unknown {r.setup_unknown}, hypothesis {r.hypothesis}, "
                f"no cause {r.unnamed}")
        if r.not_run:
            line += f"  not run {r.not_run}"
        lines.append(line + f"  [{profile} profile]")
    return lines


def verdict_counts(verdicts: pd.DataFrame, sep: str = " · ") -> str:
    """``"3 holds · 1 does not hold"``: a chapter's claims per verdict
    (:func:`kdcore.results.verdicts.verdict_table` output), in :data:`kdcore.results.verdicts.VERDICTS` order."""
    counts = verdicts.verdict.value_counts()
    return sep.join(f"{counts[v]} {v}" for v in VERDICTS if v in counts) or "—"
