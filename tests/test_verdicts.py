"""Verdicts from run records: the sign convention, paired vs independent spread, the 2-se rule."""

import math

import pytest

from kdcore.verdicts import Claim, verdict_markdown, verdict_table


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
    recs = _recs("teacher", [99.0, 95.0], "errors")
    recs.append({**recs[0], "created": "2027-01-01T00:00:00", "metrics": {"errors": 90.0}})
    row = verdict_table(recs, [Claim("teacher under 100 errors", "teacher", "errors", target=100,
                                     higher_is_better=False)], "paper").iloc[0]
    assert row.difference == pytest.approx(100 - 92.5) and row.verdict == "holds"


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
    from kdcore.verdicts import direction_words
    assert direction_words(0.1) == "in the claimed direction"
    assert direction_words(-0.1) == "(against the claim)"
    assert direction_words(0.0) == "(no difference)"
