"""Verdicts from run records: the sign convention, paired vs independent spread, the t interval,
failed runs."""

import math

import numpy as np

import pytest

from scipy import stats

from kdcore.results.verdicts import Claim, FailureRule, failure_rule_for, verdict_markdown, verdict_table


def _recs(setting, values, metric="acc", profile="paper", seeds=None):
    seeds = range(len(values)) if seeds is None else seeds
    return [{"setting": setting, "profile": profile, "seed": s, "created": "2026-01-01T00:00:00",
             "metrics": {metric: v}} for s, v in zip(seeds, values)]


def test_paired_difference_and_spread_are_per_seed():
    recs = _recs("kd", [0.80, 0.82, 0.85]) + _recs("alone", [0.78, 0.79, 0.83])
    row = verdict_table(recs, [Claim("kd helps", "kd", "acc", baseline="alone")], "paper").iloc[0]
    d = [0.02, 0.03, 0.02]
    assert row.paired and row.n == "3 pairs"
    assert row.difference == pytest.approx(sum(d) / 3)
    sd = math.sqrt(sum((x - sum(d) / 3) ** 2 for x in d) / 2)
    assert row["std"] == pytest.approx(sd) and row.se == pytest.approx(sd / math.sqrt(3))
    assert row.verdict == "holds"


def test_lower_is_better_flips_the_sign_and_a_reversal_does_not_hold():
    recs = _recs("kd", [150.0, 152.0, 151.0], "errors") + _recs("alone", [140.0, 141.0, 139.0], "errors")
    row = verdict_table(recs, [Claim("kd lowers errors", "kd", "errors", baseline="alone",
                                     higher_is_better=False)], "paper").iloc[0]
    assert row.difference == pytest.approx(-11.0) and row.verdict == "does not hold"


def test_noise_larger_than_the_difference_is_within_noise():
    recs = _recs("kd", [0.80, 0.90, 0.70]) + _recs("alone", [0.79, 0.70, 0.90])
    assert verdict_table(recs, [Claim("c", "kd", "acc", baseline="alone")], "paper").verdict[0] == "within noise"


def test_unpaired_when_seeds_differ_uses_welch_se():
    recs = _recs("kd", [0.9, 0.92], seeds=[0, 1]) + _recs("alone", [0.8, 0.82, 0.84], seeds=[5, 6, 7])
    row = verdict_table(recs, [Claim("c", "kd", "acc", baseline="alone")], "paper").iloc[0]
    sa, sb = math.sqrt(0.0002), 0.02
    assert not row.paired and row.n == "2 vs 3"
    assert row.se == pytest.approx(math.sqrt(sa ** 2 / 2 + sb ** 2 / 3))
    assert row.difference == pytest.approx(0.91 - 0.82) and row.verdict == "holds"


def test_single_runs_and_missing_settings_give_no_verdict():
    recs = _recs("kd", [0.9]) + _recs("alone", [0.8])
    assert verdict_table(recs, [Claim("c", "kd", "acc", baseline="alone")], "paper").verdict[0] == "too few runs"
    assert verdict_table(recs, [Claim("c", "nope", "acc", baseline="alone")], "paper").verdict[0] == "no runs"
    # another profile's records never count
    assert verdict_table(recs, [Claim("c", "kd", "acc", baseline="alone")], "smoke").verdict[0] == "no runs"


def test_target_claim_and_newest_record_per_seed():
    recs = _recs("teacher", [99.0, 95.0, 94.0], "errors")
    recs.append({**recs[0], "created": "2027-01-01T00:00:00", "metrics": {"errors": 90.0}})
    row = verdict_table(recs, [Claim("teacher under 100 errors", "teacher", "errors", target=100,
                                     higher_is_better=False)], "paper").iloc[0]
    # 90, 95, 94: mean 93, sd 2.65, se 1.53; t(0.975, 2) = 4.30 gives a half-width of 6.6 < 7
    assert row.difference == pytest.approx(100 - 93) and row.verdict == "holds"


def test_the_interval_uses_student_t_not_two_standard_errors():
    # 3 pairs, differences 1, 2, 3: mean 2, se 0.577. Two se (1.15) would call it holding; the
    # 95 % t interval with 2 degrees of freedom (half-width 4.30 * 0.577 = 2.48) does not.
    recs = _recs("kd", [1.0, 2.0, 3.0]) + _recs("alone", [0.0, 0.0, 0.0])
    row = verdict_table(recs, [Claim("c", "kd", "acc", baseline="alone")], "paper").iloc[0]
    assert stats.t.ppf(0.975, 2) * row.se > row.difference > 2 * row.se
    assert row.verdict == "within noise"
    recs = _recs("kd", [1.0, 2.0, 3.0, 2.0, 2.0, 1.5, 2.5, 2.0]) + _recs("alone", [0.0] * 8)
    assert verdict_table(recs, [Claim("c", "kd", "acc", baseline="alone")], "paper").verdict[0] == "holds"


def test_failed_runs_are_left_out_and_counted_and_most_failed_is_a_verdict():
    rule = FailureRule("acc", 0.1)
    recs = _recs("kd", [0.85, 0.86, 0.11, 0.87]) + _recs("alone", [0.80, 0.81, 0.80, 0.82])
    row = verdict_table(recs, [Claim("c", "kd", "acc", baseline="alone", failure=rule)], "paper").iloc[0]
    # seed 2 failed on one side: it leaves both, so the other three still pair
    assert row.failed == "1 of 4 vs 0 of 4" and row.n == "3 pairs" and row.paired
    assert row.difference == pytest.approx(0.86 - (0.80 + 0.81 + 0.82) / 3) and row.verdict == "holds"
    # without the rule the dead run drags the mean and the spread
    plain = verdict_table(recs, [Claim("c", "kd", "acc", baseline="alone")], "paper").iloc[0]
    assert plain.verdict == "within noise" and plain.failed == ""
    dead = _recs("kd", [0.10, 0.12, float("nan"), 0.86]) + _recs("alone", [0.8] * 4)
    assert verdict_table(dead, [Claim("c", "kd", "acc", baseline="alone", failure=rule)],
                         "paper").verdict[0] == "failed runs"
    assert "failed runs left out: 1 of 4" in verdict_markdown(
        verdict_table(recs, [Claim("c", "kd", "acc", baseline="alone", failure=rule)], "paper"), "paper")


def test_failure_rule_units_and_which_settings_it_covers():
    errors = FailureRule("test_errors", 9000.0, 200.0, higher_is_better=False)
    assert errors.failed({"test_errors": 8850.0}) and not errors.failed({"test_errors": 96.0})
    assert FailureRule("acc", 0.1).failed({"acc": 0.12}) and not FailureRule("acc", 0.1).failed({"acc": 0.1201})
    assert not FailureRule("acc", 0.1).failed({"mse": 3.0, "reach epoch": float("nan")})   # no accuracy, no verdict
    rules = [FailureRule("acc", 0.5, prefixes=("synthetic",)), FailureRule("acc", 0.1)]
    assert failure_rule_for(rules, "synthetic (corrected): none").chance == 0.5
    assert failure_rule_for(rules, "CIFAR-10: none").chance == 0.1
    with pytest.raises(ValueError, match="slack"):
        FailureRule("acc", 0.1, slack=-1.0)


def test_claim_validation_and_markdown():
    with pytest.raises(ValueError, match="baseline"):
        Claim("c", "a", "acc")
    with pytest.raises(ValueError, match="margin"):
        Claim("c", "a", "acc", baseline="b", margin=float("nan"))
    recs = _recs("kd", [0.80, 0.82, 0.85]) + _recs("alone", [0.78, 0.79, 0.83])
    text = verdict_markdown(verdict_table(recs, [Claim("kd helps", "kd", "acc", baseline="alone")], "paper"), "paper")
    assert text.startswith("- **holds**: kd helps.") and "3 pairs" in text and "`paper`" in text


def test_two_metrics_of_the_same_runs_pair_by_seed():
    recs = [{"setting": "s", "profile": "paper", "seed": k, "created": "x",
             "metrics": {"errors": 200.0 + k, "errors shifted": 110.0 + 2 * k}} for k in range(3)]
    claim = Claim("shift helps", "s", "errors shifted", baseline="s", baseline_metric="errors", higher_is_better=False)
    row = verdict_table(recs, [claim], "paper").iloc[0]
    assert row.paired and row.difference == pytest.approx(90.0 - 1.0) and row.verdict == "holds"
    assert row.baseline == "s (errors)"


def test_markdown_says_when_a_difference_goes_against_the_claim():
    from kdcore.results.verdicts import direction_words
    assert direction_words(0.1) == "in the claimed direction"
    assert direction_words(-0.1) == "(against the claim)"
    assert direction_words(0.0) == "(no difference)"


def test_detectable_difference_formula_and_its_meaning():
    from scipy import stats

    from kdcore.results.verdicts import detectable_difference

    # Formula: (t_.975 + t_.8) * sd / sqrt(n), df = n - 1 (paired).
    assert detectable_difference(0.01, 5) == pytest.approx((stats.t.ppf(0.975, 4) + stats.t.ppf(0.8, 4)) * 0.01 / 5 ** 0.5)
    # More seeds or less spread detect smaller differences; independent groups need more.
    assert detectable_difference(0.01, 10) < detectable_difference(0.01, 5) < detectable_difference(0.02, 5)
    assert detectable_difference(0.01, 5, paired=False) > detectable_difference(0.01, 5)
    assert math.isnan(detectable_difference(0.01, 1))
    # Meaning: with a true paired difference of that size, the t-interval excludes zero ~80 % of the time.
    n, sd = 5, 0.01
    delta = detectable_difference(sd, n)
    rng = np.random.default_rng(0)
    d = rng.normal(delta, sd, size=(20000, n))
    lower = d.mean(1) - stats.t.ppf(0.975, n - 1) * d.std(1, ddof=1) / np.sqrt(n)
    assert (lower > 0).mean() == pytest.approx(0.8, abs=0.04)
