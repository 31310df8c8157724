"""Hinton KD loss: hand-computed values, finite differences, T^2 scaling, logit matching."""

import math

import pytest
import torch

from kdcore.chapters.kd_overview import gradient_scaling_table, soft_gradient
from kdcore.losses import HintonKD, kd_loss, soft_cross_entropy


def _softmax(xs, t):
    e = [math.exp(x / t) for x in xs]
    return [v / sum(e) for v in e]


def test_kd_loss_matches_hand_computation():
    z, v, y, t, alpha = [1.0, 2.0, 3.0], [3.0, 2.0, 1.0], 0, 2.0, 0.7
    p, q = _softmax(z, t), _softmax(v, t)
    kl = sum(qi * (math.log(qi) - math.log(pi)) for pi, qi in zip(p, q))
    ce = -math.log(_softmax(z, 1.0)[y])
    out = kd_loss(torch.tensor([z]), torch.tensor([v]), torch.tensor([y]), temperature=t, alpha=alpha)
    assert out["soft"].item() == pytest.approx(alpha * t * t * kl, rel=1e-6)
    assert out["hard"].item() == pytest.approx((1 - alpha) * ce, rel=1e-6)


def test_kl_argument_order_is_teacher_then_student():
    """A swapped KL (student as the target) gives a different value: guard the order."""
    z, v = torch.tensor([[0.0, 3.0, -1.0]]), torch.tensor([[2.0, 0.0, 0.0]])
    p, q = torch.softmax(z, -1), torch.softmax(v, -1)
    right = (q * (q.log() - p.log())).sum()
    wrong = (p * (p.log() - q.log())).sum()
    got = kd_loss(z, v, temperature=1.0, alpha=1.0)["soft"]
    assert got.item() == pytest.approx(right.item(), rel=1e-6)
    assert abs(got.item() - wrong.item()) > 1e-2


def test_soft_cross_entropy_differs_from_kl_by_teacher_entropy():
    torch.manual_seed(0)
    z, v = torch.randn(5, 4), torch.randn(5, 4)
    q = torch.softmax(v / 3, -1)
    entropy = -(q * q.log()).sum(-1).mean()
    kl = kd_loss(z, v, temperature=3.0, alpha=1.0)["soft"] / 9
    assert soft_cross_entropy(z, q, 3.0).item() == pytest.approx((kl + entropy).item(), rel=1e-5)


def test_kd_gradient_matches_finite_differences():
    torch.manual_seed(1)
    z = torch.randn(3, 5, dtype=torch.float64, requires_grad=True)
    v, y = torch.randn(3, 5, dtype=torch.float64), torch.tensor([0, 2, 4])
    # kd_loss casts to float32; check in float64 through the same formula pieces.
    f = lambda z_: sum(kd_loss(z_, v, y, temperature=2.5, alpha=0.6).values()).double()  # noqa: E731
    assert torch.autograd.gradcheck(f, (z,), eps=1e-3, atol=1e-3, rtol=1e-2)


def test_gradient_scales_as_one_over_t_squared_and_t2_factor_cancels_it():
    tab = gradient_scaling_table([50.0, 100.0, 200.0]).set_index("T")
    r = tab.grad_norm_without_T2[50.0] / tab.grad_norm_without_T2[100.0]
    assert r == pytest.approx(4.0, rel=0.02)
    assert tab.grad_norm_with_T2[50.0] == pytest.approx(tab.grad_norm_with_T2[200.0], rel=0.02)


def test_high_temperature_limit_is_logit_matching():
    torch.manual_seed(2)
    z, v = torch.randn(8, 10, dtype=torch.float64), torch.randn(8, 10, dtype=torch.float64)
    z, v = z - z.mean(1, keepdim=True), v - v.mean(1, keepdim=True)
    target = (z - v) / 10
    gaps = [float((soft_gradient(z, v, t, True) - target).norm() / target.norm()) for t in (10.0, 100.0, 1000.0)]
    assert gaps[0] > gaps[1] > gaps[2]
    assert gaps[2] < 2e-3


def test_ensemble_teacher_averages_softened_distributions():
    z = torch.randn(4, 3)
    members = torch.randn(4, 2, 3)
    got = kd_loss(z, members, temperature=2.0, alpha=1.0)["soft"]
    q = torch.softmax(members / 2, -1).mean(1)
    want = 4 * (q * (q.log() - torch.log_softmax(z / 2, -1))).sum(-1).mean()
    assert got.item() == pytest.approx(want.item(), rel=1e-5)


@pytest.mark.parametrize("kwargs,name", [({"temperature": -1.0}, "temperature"), ({"alpha": 1.5}, "alpha")])
def test_bad_parameters_are_named(kwargs, name):
    with pytest.raises(ValueError, match=name):
        HintonKD(**kwargs)
