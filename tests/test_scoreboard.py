"""The scoreboard: the agreement rule, the per-chapter counts, and the chapters' data."""

import re
from pathlib import Path

import pandas as pd
import pytest

from kdcore import chapters
from kdcore.results import PaperNumber, RunStore, comparison_table
from kdcore.results.agreement import KINDS, MetricKind, agrees, tolerance
from kdcore.results.scoreboard import WHAT_DIFFERED, Explanation, chapter_summary, score, summary_lines

ROOT = Path(__file__).resolve().parent.parent


# -- the rule ---------------------------------------------------------------------------
def test_tolerance_is_two_of_the_larger_spread_when_the_paper_gives_one():
    acc = KINDS["accuracy"]
    assert tolerance(0.86, 0.02, 0.04, acc).allowed == pytest.approx(0.08)    # ours is larger
    assert tolerance(0.86, 0.05, 0.01, acc).allowed == pytest.approx(0.10)    # paper's is larger
    assert tolerance(0.86, 0.03, float("nan"), acc).allowed == pytest.approx(0.06)  # one run of ours
    # a paper spread, however small, is used as given: the stated tolerance is not a floor then
    t = tolerance(0.86, 0.001, None, acc)
    assert t.allowed == pytest.approx(0.002) and t.rule == "2 × spread"


def test_stated_tolerance_where_the_paper_gives_no_spread():
    errors = KINDS["errors"]
    assert tolerance(100, None, 3.0, errors).allowed == pytest.approx(20.0)     # 2 * sqrt(100)
    assert tolerance(16, None, 3.0, errors).allowed == pytest.approx(8.0)
    assert tolerance(67, None, 3.0, errors).rule == "stated tolerance"
    # our own spread still counts when it is the larger
    assert tolerance(100, None, 12.5, errors).allowed == pytest.approx(25.0)
    assert tolerance(100, None, 12.5, errors).rule == "2 × spread"
    assert MetricKind("x", 5.0, 0.0, False, "test").stated(-3.0) == 5.0
    rel = MetricKind("x", 0.0, 0.05, True, "test")
    assert tolerance(18000.0, None, None, rel).allowed == pytest.approx(900.0)
    assert tolerance(-200.0, None, None, rel).allowed == pytest.approx(10.0)      # |paper|


def test_agrees_at_the_boundary_and_misses_beyond_it():
    assert agrees(0.94, 0.86, 0.08) and agrees(0.78, 0.86, 0.08)      # exactly 2 spreads: agrees
    assert not agrees(0.9401, 0.86, 0.08) and not agrees(0.7799, 0.86, 0.08)
    with pytest.raises(ValueError, match="two numbers"):
        agrees(float("nan"), 0.86, 0.08)


def test_every_kind_states_a_reason_and_bad_tolerances_fail():
    assert all(k.reason and k.label for k in KINDS.values())
    with pytest.raises(ValueError, match="tolerances"):
        MetricKind("bad", -1.0, 0.0, False, "negative")
    with pytest.raises(ValueError, match="sqrt_tol"):
        MetricKind("bad", 0.0, 0.0, False, "not finite", sqrt_tol=float("inf"))


# -- scoring and counting -----------------------------------------------------------------
NUMBERS = [PaperNumber("ch", "a", "acc", 0.80, 0.01, "src"),
           PaperNumber("ch", "b", "acc", 0.80, 0.01, "src"),
           PaperNumber("ch", "c", "acc", 0.80, 0.01, "src"),
           PaperNumber("ch", "d", "errors", 100, None, "src"),
           PaperNumber("other", "e", "acc", 0.50, 0.02, "src")]
KIND_OF = {("ch", "acc"): "accuracy", ("ch", "errors"): "errors", ("other", "acc"): "accuracy"}


def _store(tmp_path):
    store = RunStore(tmp_path)
    for seed, (a, b, c) in enumerate([(0.80, 0.70, 0.60), (0.82, 0.72, 0.62)]):
        for setting, v in zip("abc", (a, b, c)):
            store.run("ch", setting, seed, {}, "paper", lambda v=v: {"metrics": {"acc": v}})
    store.run("ch", "d", 0, {}, "paper", lambda: {"metrics": {"errors": 115.0}})
    # a smoke run that would agree with "e": it must never be counted against the paper
    store.run("other", "e", 0, {}, "smoke", lambda: {"metrics": {"acc": 0.5}})
    return store


def test_score_judges_explains_and_ignores_other_profiles(tmp_path):
    table = comparison_table(None, _store(tmp_path).root, NUMBERS)
    why = {"ch": [Explanation("a named cause", settings=("b",))]}
    s = score(table, NUMBERS, KIND_OF, why).set_index("setting")
    assert s.loc["a", "status"] == "agrees" and s.loc["a", "rule"] == "2 × spread"
    assert s.loc["b", "status"] == "misses" and s.loc["b", "explained"] == "a named cause"
    assert s.loc["b", "anchor"] == WHAT_DIFFERED
    assert s.loc["c", "status"] == "misses" and s.loc["c", "explained"] == ""
    assert s.loc["d", "status"] == "agrees" and s.loc["d", "rule"] == "stated tolerance"   # 15 <= 2 sqrt(100)
    assert s.loc["e", "status"] == "not run" and s.loc["e", "ours"] != s.loc["e", "ours"]  # smoke ignored
    assert s.loc["b", "delta"] == pytest.approx(0.71 - 0.80)
    summary = chapter_summary(s.reset_index()).set_index("chapter")
    assert summary.loc["ch"].to_dict() == {"numbers": 4, "compared": 4, "agree": 2, "misses": 2,
                                           "explained": 1, "not_run": 0}
    assert summary.loc["other", "compared"] == 0 and summary.loc["other", "not_run"] == 1
    lines = summary_lines(summary.reset_index())
    assert len(lines) == 2 and re.search(r"^ch\s+compared\s+4\s+agree\s+2\s+misses\s+2 \(explained 1\)", lines[0])
    assert "not run 1" in lines[1]


def test_an_explanation_never_turns_an_agreement_into_anything_else(tmp_path):
    table = comparison_table(None, _store(tmp_path).root, NUMBERS)
    s = score(table, NUMBERS, KIND_OF, {"ch": [Explanation("everything")]}).set_index("setting")
    assert s.loc["a", "explained"] == "" and s.loc["b", "explained"] == "everything"


def test_a_metric_without_a_kind_is_named(tmp_path):
    table = comparison_table(None, _store(tmp_path).root, NUMBERS)
    with pytest.raises(ValueError, match=r"ch: metric 'errors' has no kind.*kdcore/chapters/ch/paper.py"):
        score(table, NUMBERS, {k: v for k, v in KIND_OF.items() if k[1] != "errors"})


# -- the chapters' data -------------------------------------------------------------------
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


def test_committed_scoreboard_counts_every_paper_number_once():
    numbers = chapters.paper_numbers()
    s = score(comparison_table(None, None, numbers), numbers, chapters.metric_kinds(), chapters.explanations())
    assert len(s) == len(numbers) and set(s.status) <= {"agrees", "misses", "not run"}
    summary = chapter_summary(s)
    assert (summary.agree + summary.misses == summary.compared).all()
    assert (summary.explained <= summary.misses).all() and set(summary.chapter) <= set(chapters.names())
    assert isinstance(summary, pd.DataFrame)
