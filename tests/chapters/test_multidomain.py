"""Multi-domain chapter: integral criterion, parameter counts, config, Bike Sharing splits."""

import pytest
import torch

from kdcore.chapters.multidomain import (
    REG_STUDENT_SIZES,
    REG_TEACHER_SIZES,
    STUDENT_SIZES,
    TEACHER_SIZES,
    MultidomainConfig,
)
from kdcore.chapters.multidomain.integral import integral_criterion
from kdcore.mappings import Composed, DilatedConv
from kdcore.models import MLP, weight_count


def test_integral_criterion_is_the_trapezoid_area():
    assert integral_criterion([1.0, 2.0, 3.0]) == pytest.approx(4.0)
    assert integral_criterion([0.5] * 20) == pytest.approx(0.5 * 19)
    assert integral_criterion([1.0, 3.0], epochs=[2, 4]) == pytest.approx(4.0)
    with pytest.raises(ValueError):
        integral_criterion([1.0])


def test_parameter_counts_match_the_paper():
    counts = [weight_count(MLP(s)) for s in (TEACHER_SIZES, STUDENT_SIZES, REG_TEACHER_SIZES, REG_STUDENT_SIZES)]
    assert counts == [246400, 50816, 48960, 512]


@pytest.mark.parametrize("bad, name", [({"lam": 1.5}, "lam"), ({"seeds": []}, "seeds"),
                                       ({"temperature": 0.0}, "temperature"),
                                       ({"bike_sizes": [8700, 300, 999]}, "bike_sizes"),
                                       ({"profile": "fast"}, "profile"), ({"sweep_seeds": 5}, "sweep_seeds")])
def test_config_rejects_bad_parameters(bad, name):
    with pytest.raises(ValueError, match=name):
        MultidomainConfig(**bad)


def test_bike_splits_sizes_disjoint_and_feature_widths():
    from kdcore.chapters.multidomain.data import BIKE_READINGS, load_bike_splits

    widths = {"leak-free": 15, "leak-free, 13 raw": 13, "leaky": 15}
    for reading in BIKE_READINGS:
        big, small, test = load_bike_splits(reading)
        assert (len(big), len(small), len(test)) == (8700, 300, 1000)
        assert big.x.shape[1] == small.x.shape[1] == widths[reading]
    # column 0 is `instant` (unique per row) in both readings: the parts are disjoint
    ids = [set(s.x[:, 0].tolist()) for s in load_bike_splits("leak-free")]
    assert not (ids[0] & ids[1]) and not (ids[0] & ids[2]) and not (ids[1] & ids[2])
    assert "casual" not in BIKE_READINGS["leak-free"] and "casual" in BIKE_READINGS["leaky"]


def test_teacher_on_dilated_inputs_has_576_inputs():
    comp = Composed(DilatedConv(), MLP([576] + TEACHER_SIZES[1:]))
    assert comp(torch.rand(2, 1, 28, 28)).shape == (2, 10)
    assert not comp.random
