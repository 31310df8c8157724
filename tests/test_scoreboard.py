"""The scoreboard: the equivalence test, the power check, failed runs, one comparison per paper
number, explanations graded by evidence, and the chapters' data."""

import math
import re
from pathlib import Path

import pandas as pd
import pytest
from scipy import stats

from kdcore import chapters
from kdcore.results import PaperNumber, RunStore, comparison_table
from kdcore.results.agreement import (KINDS, Estimate, MetricKind, judge, rounding_se, seeds_to_decide, welch_df)
from kdcore.results.scoreboard import (GRADES, WHAT_DIFFERED, Explanation, chapter_summary, claim_effects, power, score, summary_lines)
from kdcore.results.verdicts import Claim, FailureRule, verdict_table

ROOT = Path(__file__).resolve().parent.parent


# -- the rule on constructed cases ----------------------------------------------------------
def test_interval_inside_outside_and_straddling_the_margin():
    paper = Estimate(0.80, 0.002, 9)                        # sd 0.0063 over 10 runs
    inside = judge(Estimate(0.803, 0.001, 4), paper, 0.01)
    assert inside.status == "agrees" and -0.01 <= inside.low and inside.high <= 0.01
    outside = judge(Estimate(0.75, 0.001, 4), paper, 0.01)
    assert outside.status == "differs" and outside.high < -0.01
    straddle = judge(Estimate(0.81, 0.004, 2), paper, 0.01)
    assert straddle.status == "inconclusive" and straddle.low < 0.01 < straddle.high
    # the half-width is a Student-t quantile at Welch's degrees of freedom
    df = welch_df(Estimate(0.81, 0.004, 2), paper)
    assert df == pytest.approx((0.004 ** 2 + 0.002 ** 2) ** 2 / (0.004 ** 4 / 2 + 0.002 ** 4 / 9))
    assert straddle.high - straddle.delta == pytest.approx(stats.t.ppf(0.975, df) * math.hypot(0.004, 0.002))


def test_a_paper_number_without_spread_gets_the_error_of_its_rounding():
    assert rounding_se(2) == pytest.approx(0.01 / math.sqrt(12))
    p = Estimate.printed(0.63, None, None, 2)
    assert p.se == pytest.approx(0.01 / math.sqrt(12)) and math.isinf(p.df)
    # one side known exactly: Welch's df are our n - 1
    assert welch_df(Estimate(0.6, 0.01, 4), p) == pytest.approx(4 * (1 + (p.se / 0.01) ** 2) ** 2)
    assert Estimate.printed(0.86, 0.02, 10, 2).se == pytest.approx(0.02 / math.sqrt(10))
    with pytest.raises(ValueError, match="run count"):
        Estimate.printed(0.86, 0.02, None, 2)
    # printed decimals are read off the value unless the paper's print is stated
    assert PaperNumber("c", "s", "m", 0.63, None, "x").printed_decimals == 2
    assert PaperNumber("c", "s", "m", 18694.9, 266.0, "x", n=5).printed_decimals == 1
    assert PaperNumber("c", "s", "m", 67, None, "x").printed_decimals == 0
    assert PaperNumber("c", "s", "m", 0.60, None, "x", decimals=2).printed_decimals == 2   # "0.60", not "0.6"


def test_one_run_is_inconclusive_and_more_seeds_decide_a_straddle():
    paper = Estimate.printed(0.63, None, None, 2)
    one = judge(Estimate.from_runs(0.75, None, 1), paper, 0.01)
    assert one.status == "inconclusive" and math.isinf(one.high)
    # 3 runs, gap 0.002, sd 0.01: inconclusive now; with enough runs the interval fits inside
    j = judge(Estimate.from_runs(0.632, 0.01, 3), paper, 0.01)
    m = seeds_to_decide(0.632, 0.01, 3, paper, 0.01)
    assert j.status == "inconclusive" and m is not None and m > 3
    assert judge(Estimate.from_runs(0.632, 0.01, m), paper, 0.01).status == "agrees"
    assert judge(Estimate.from_runs(0.632, 0.01, m - 1), paper, 0.01).status == "inconclusive"
    # the paper's own error wider than the margin: no number of our runs can make it agree
    wide = Estimate.printed(0.68, 0.08, 10, 2)                  # se 0.025
    assert seeds_to_decide(0.68, 0.01, 3, wide, 0.01) is None
    assert seeds_to_decide(0.68, float("nan"), 1, paper, 0.01) is None


def test_every_kind_states_a_reason_and_bad_margins_fail():
    assert all(k.reason and k.label and k.margin(0.5) > 0 for k in KINDS.values())
    assert KINDS["accuracy"].margin(0.9) == 0.01 and KINDS["mse"].margin(18000) == pytest.approx(900)
    with pytest.raises(ValueError, match="margin_abs"):
        MetricKind("bad", -1.0, 0.0, False, "negative")
    with pytest.raises(ValueError, match="zero margin"):
        MetricKind("bad", 0.0, 0.0, False, "never met")
    with pytest.raises(ValueError, match="finite"):
        judge(Estimate(float("nan"), 0.1, 3), Estimate(0.5, 0.1, 3), 0.01)


# -- scoring a table of records -----------------------------------------------------------------
NUMBERS = [PaperNumber("ch", "a", "acc", 0.80, 0.005, "src", n=10, table="T"),
           PaperNumber("ch", "b", "acc", 0.90, 0.005, "src", n=10, table="T"),
           PaperNumber("ch", "c", "acc", 0.70, 0.005, "src", n=10, table="T"),
           PaperNumber("ch", "a (ours, corrected)", "acc", 0.80, 0.005, "src", n=10, table="T",
                       variant="corrected", paper_row="a"),
           PaperNumber("ch", "dead", "acc", 0.85, None, "src", decimals=2, table="U"),
           PaperNumber("ch", "with failures", "acc", 0.60, None, "src", decimals=2, table="U", includes_failed=True),
           PaperNumber("other", "e", "acc", 0.50, 0.02, "src", n=5)]
KIND_OF = {("ch", "acc"): "accuracy", ("other", "acc"): "accuracy"}
FAIL = {"ch": [FailureRule("acc", 0.1)]}


def _store(tmp_path):
    store = RunStore(tmp_path)
    vals = {"a": [0.800, 0.801, 0.799, 0.800], "b": [0.70, 0.71, 0.70, 0.72], "c": [0.60, 0.80, 0.60, 0.79],
            "a (ours, corrected)": [0.85, 0.86, 0.85, 0.86], "dead": [0.10, 0.11, 0.10, 0.80],
            "with failures": [0.80, 0.80, 0.80, 0.10]}
    for setting, vs in vals.items():
        for seed, v in enumerate(vs):
            store.run("ch", setting, seed, {}, "paper", lambda v=v: {"metrics": {"acc": v}})
    # a smoke run that would agree with "e": it must never be counted against the paper
    store.run("other", "e", 0, {}, "smoke", lambda: {"metrics": {"acc": 0.5}})
    return store


@pytest.fixture()
def scored(tmp_path):
    table = comparison_table(None, _store(tmp_path).root, NUMBERS, keep_values=True)
    why = {"ch": [Explanation("a measured cause", settings=("b",), grade="measured",
                              evidence="results/ch/b_fixed/seed0.json"),
                  Explanation("a guess", settings=("c",))]}
    return score(table, NUMBERS, KIND_OF, why, FAIL).set_index("setting", drop=False)


def test_score_judges_counts_failures_and_ignores_other_profiles(scored):
    s = scored
    assert s.loc["a", "status"] == "agrees" and s.loc["a", "counted"]
    assert s.loc["b", "status"] == "differs" and s.loc["b", "grade"] == "measured"
    assert s.loc["c", "status"] == "inconclusive" and s.loc["c", "grade"] == "hypothesis"
    # our variant is judged and shown, never counted
    assert not s.loc["a (ours, corrected)", "counted"] and s.loc["a (ours, corrected)", "status"] == "differs"
    # 3 of 4 runs at chance: failed, not compared
    assert s.loc["dead", "status"] == "failed" and s.loc["dead", "n_failed"] == 3
    # the paper's mean includes failed runs: all our runs enter (0.625), not the trained ones (0.80)
    wf = s.loc["with failures"]
    assert wf.compared_on == "all runs" and wf.n_failed == 1 and wf.ours == pytest.approx(0.625)
    assert s.loc["e", "status"] == "not run" and s.loc["e", "ours"] != s.loc["e", "ours"]   # smoke ignored


def test_summary_counts_distinct_numbers_and_only_measured_causes_explain(scored):
    summary = chapter_summary(scored.reset_index(drop=True), power(scored.reset_index(drop=True)))
    ch = summary.set_index("chapter").loc["ch"]
    assert ch.numbers == 5                                     # the corrected variant is not a number
    assert (ch.agree + ch.agree_no_power, ch.differ, ch.inconclusive, ch.failed) == (1, 1, 2, 1)   # c, with failures
    assert (ch.measured, ch.hypothesis, ch.unnamed) == (1, 0, 0)     # the guess covers an inconclusive one
    lines = summary_lines(summary)
    assert re.search(r"^ch\s+numbers\s+5\s+agree 1\s+differ 1\s+inconclusive 2\s+failed 1", lines[0])
    assert "misses: measured 1, setup unknown 0, hypothesis 0, no cause 0" in lines[0]


def test_explanations_need_a_grade_and_evidence():
    assert GRADES == ("measured", "setup unknown", "hypothesis")
    with pytest.raises(ValueError, match="grade must be"):
        Explanation("x", grade="explained")
    with pytest.raises(ValueError, match="needs its evidence"):
        Explanation("x", grade="measured")
    assert Explanation("x").grade == "hypothesis"


def test_power_check_flags_a_table_whose_rows_are_identical(tmp_path):
    same = [PaperNumber("ch", s, "acc", 0.80, 0.004, "src", n=10, table="same") for s in "xyz"]
    store = RunStore(tmp_path)
    for s in "xyz":
        for seed in range(4):
            store.run("ch", s, seed, {}, "paper", lambda: {"metrics": {"acc": 0.8 + 0.0005 * seed}})
    sc = score(comparison_table("ch", tmp_path, same, keep_values=True), same, KIND_OF)
    pw = power(sc).iloc[0]
    assert pw.right_agree == 3 and pw.wrong == 6 and pw.wrong_agree == 6 and pw.wrong_rate == 1.0
    assert not pw.tells_apart and pw.paper_pairs == 3 and pw.paper_pairs_differ == 0
    summary = chapter_summary(sc, power(sc)).iloc[0]
    assert summary.agree == 0 and summary.agree_no_power == 3       # agreements that confirm nothing


def test_power_check_on_a_table_that_tells_its_rows_apart(scored):
    pw = power(scored.reset_index(drop=True)).set_index("table").loc["T"]
    # a, b, c judged; each against the two other rows: 6 wrong pairings, none agrees
    assert (pw.right, pw.right_agree, pw.wrong, pw.wrong_agree) == (3, 1, 6, 0) and pw.tells_apart
    assert pw.paper_pairs == 3 and pw.paper_pairs_differ == 3


def test_a_metric_without_a_kind_is_named_and_values_are_required(tmp_path):
    table = comparison_table(None, _store(tmp_path).root, NUMBERS, keep_values=True)
    with pytest.raises(ValueError, match=r"ch: metric 'acc' has no kind.*kdcore/chapters/ch/paper.py"):
        score(table, NUMBERS, {("other", "acc"): "accuracy"})
    with pytest.raises(ValueError, match="keep_values"):
        score(comparison_table(None, tmp_path, NUMBERS), NUMBERS, KIND_OF)


def test_claim_effects_sit_beside_the_papers():
    recs = [{"setting": s, "profile": "paper", "seed": k, "created": "x", "metrics": {"acc": v + 0.01 * k}}
            for s, v in (("a", 0.8), ("c", 0.7)) for k in range(3)]
    claims = [Claim("a beats c", "a", "acc", baseline="c"), Claim("c beats a", "c", "acc", baseline="a"),
              Claim("a beats z", "a", "acc", baseline="z")]
    e = claim_effects(claims, verdict_table(recs, claims, "paper"), NUMBERS)
    assert list(e.paper_effect[:2]) == pytest.approx([0.10, -0.10]) and e.paper_effect[2] != e.paper_effect[2]
    assert list(e.same_sign[:2]) == [True, True] and e.same_sign[2] is None


# -- the chapters' data ---------------------------------------------------------------------------
def _anchors(notebook: Path) -> set[str]:
    """Heading anchors as MyST makes them (lower case, punctuation dropped, spaces to -)."""
    heads = re.findall(r"^# #+ (.+)$", notebook.read_text(), flags=re.M)
    return {re.sub(r"\s+", "-", re.sub(r"[^\w\s-]", "", h.strip().lower())) for h in heads}


def test_every_paper_number_has_a_kind_and_every_explanation_names_real_numbers():
    numbers, kinds = chapters.paper_numbers(), chapters.metric_kinds()
    assert all(kind in KINDS for kind in kinds.values())
    missing = {(p.chapter, p.metric) for p in numbers} - set(kinds)
    assert not missing, f"metrics without a kind in METRIC_KINDS: {sorted(missing)}"
    for chapter, explained in chapters.explanations().items():
        settings = {p.setting for p in numbers if p.chapter == chapter}
        metrics = {p.metric for p in numbers if p.chapter == chapter}
        anchors = _anchors(ROOT / "notebooks" / f"{chapter}.py")
        for e in explained:
            assert e.why and set(e.settings) <= settings, f"{chapter}: {e.why!r} names unknown settings"
            assert set(e.metrics) <= metrics, f"{chapter}: {e.why!r} names unknown metrics"
            assert e.anchor in anchors, f"{chapter}: no heading with anchor {e.anchor!r} in its notebook"


def test_a_measured_explanation_links_committed_records():
    for chapter, explained in chapters.explanations().items():
        for e in explained:
            if e.grade == "measured":
                paths = [ROOT / p.strip() for p in e.evidence.split(";")]
                assert all(p.exists() and p.is_relative_to(ROOT / "results") for p in paths), \
                    f"{chapter}: {e.why!r} is graded measured but {e.evidence!r} is not a committed record"


def test_each_paper_number_is_counted_exactly_once():
    counted: dict[tuple, int] = {}
    for p in chapters.paper_numbers():
        counted.setdefault((p.chapter, p.metric, p.table_name, p.row), 0)
        counted[(p.chapter, p.metric, p.table_name, p.row)] += p.counted
    twice = [k for k, n in counted.items() if n != 1]
    assert not twice, f"paper numbers counted other than once: {twice}"


def test_committed_scoreboard_is_well_formed():
    numbers = chapters.paper_numbers()
    table = comparison_table(None, None, numbers, keep_values=True)
    s = score(table, numbers, chapters.metric_kinds(), chapters.explanations(), chapters.failure_rules())
    assert len(s) == len(numbers) and set(s.status) <= {"agrees", "differs", "inconclusive", "failed", "not run"}
    summary = chapter_summary(s, power(s))
    parts = summary.agree + summary.agree_no_power + summary.differ + summary.inconclusive + summary.failed
    assert (parts + summary.not_run == summary.numbers).all()
    assert (summary.measured + summary.setup_unknown + summary.hypothesis + summary.unnamed == summary.differ).all()
    assert set(summary.chapter) <= set(chapters.names()) and isinstance(summary, pd.DataFrame)
    # where the paper's mean evidently includes a dead run, all of ours are compared
    fm = s[(s.chapter == "heterogeneous") & (s.setting == "Fashion-MNIST: random")].iloc[0]
    assert fm.compared_on == "all runs"
    assert WHAT_DIFFERED == "what-differed-from-the-paper"


def test_a_one_chain_paper_number_is_judged_as_one_more_of_our_runs(tmp_path):
    # the thesis' number is ONE chain of attempts; ours are 5 chains with a between-chain sd:
    # its error is that sd (a prediction interval), not its own within-chain ± (0.001 here)
    chain = PaperNumber("ch", "chain", "acc", 0.80, 0.001, "src", n=5, one_chain=True)
    assert Estimate.printed(0.80, 0.001, 5, 2).se < 0.001       # what the printed ± alone would claim
    store = RunStore(tmp_path)
    for seed, v in enumerate([0.79, 0.81, 0.80, 0.82, 0.78]):
        store.run("ch", "chain", seed, {}, "paper", lambda v=v: {"metrics": {"acc": v}})
    s = score(comparison_table("ch", tmp_path, [chain], keep_values=True), [chain], KIND_OF).iloc[0]
    sd = pd.Series([0.79, 0.81, 0.80, 0.82, 0.78]).std()
    half = s.high - s.delta
    assert half == pytest.approx(stats.t.ppf(0.975, welch_df(Estimate(0.8, sd / math.sqrt(5), 4),
                                                             Estimate(0.8, sd, 4))) * sd * math.sqrt(1 + 1 / 5))
    assert s.status == "inconclusive"                            # chains this spread cannot pin 0.80 to a point
