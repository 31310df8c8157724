"""Multi-domain distillation loss (Orlov & Grabovoy 2022): formula, thesis scaling, gradients."""

import math

import pytest
import torch
import torch.nn.functional as F

from kdcore.losses.multidomain import MultiDomainKD, multidomain_ce, multidomain_mse
from kdcore.models import MLP
from kdcore.training.loop import seed_everything


def _logits(seed=0, b=4, c=3):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(b, c, generator=g), torch.randn(b, c, generator=g), torch.randint(0, c, (b,), generator=g)


def test_lambda_one_is_plain_cross_entropy():
    z, v, y = _logits()
    out = multidomain_ce(z, y, v, lam=1.0, temperature=3.0, scale=1.0)
    assert set(out) == {"hard"}
    assert torch.allclose(out["hard"], F.cross_entropy(z, y))


def test_lambda_one_is_plain_mse():
    g, f, _ = _logits()
    y = torch.arange(4.0)
    out = multidomain_mse(g[:, 0], y, f[:, 0], lam=1.0)
    assert set(out) == {"hard"}
    assert torch.allclose(out["hard"], F.mse_loss(g[:, 0], y))


def test_soft_term_matches_hand_computed_value():
    # student logits (1, 0), teacher logits (0, 1), T = 2, lam = 0.25, scale = 1
    z, v = torch.tensor([[1.0, 0.0]]), torch.tensor([[0.0, 1.0]])
    q1 = math.exp(0.5) / (1 + math.exp(0.5))           # teacher softmax at T=2, class 1
    lp0 = 0.5 - math.log(math.exp(0.5) + 1)            # log softmax(z / 2), class 0
    lp1 = -math.log(math.exp(0.5) + 1)                 # class 1
    hand = -((1 - q1) * lp0 + q1 * lp1)
    out = multidomain_ce(z, torch.tensor([0]), v, lam=0.25, temperature=2.0, scale=1.0)
    assert out["soft"].item() == pytest.approx(0.75 * hand, rel=1e-6)
    assert out["hard"].item() == pytest.approx(0.25 * (math.log(1 + math.e) - 1), rel=1e-6)


def test_regression_soft_term_and_thesis_scaling():
    g, f, y = torch.tensor([1.0, 2.0]), torch.tensor([3.0, 2.0]), torch.tensor([1.0, 4.0])
    out = multidomain_mse(g, y, f, lam=0.25)
    assert out["soft"].item() == pytest.approx(0.75 * 2.0)   # ((1-3)^2 + 0) / 2
    assert out["hard"].item() == pytest.approx(0.25 * 2.0)   # (0 + (2-4)^2) / 2
    thesis = multidomain_mse(g, y, f, lam=0.5, scale=2.0)      # MSE(g, y) + MSE(g, f)
    assert sum(thesis.values()).item() == pytest.approx(4.0)


def test_loss_gradient_matches_finite_differences():
    z, v, y = _logits(1)
    z = z.double().requires_grad_()
    fn = lambda zz: sum(multidomain_ce(zz, y, v.double(), lam=0.3, temperature=1.7).values())
    # multidomain_ce computes in float32; compare autograd with central differences loosely
    (g,) = torch.autograd.grad(fn(z), z)
    eps, num = 1e-3, torch.zeros_like(z)
    for i in range(z.numel()):
        d = torch.zeros_like(z).view(-1); d[i] = eps; d = d.view_as(z)
        num.view(-1)[i] = (fn(z + d) - fn(z - d)) / (2 * eps)
    assert torch.allclose(g, num, atol=1e-3)


def test_objective_cached_and_live_teacher_agree():
    seed_everything(0)
    teacher, student = MLP([6, 5, 3]), MLP([6, 4, 3])
    x, y = torch.randn(8, 6), torch.randint(0, 3, (8,))
    live = MultiDomainKD(lam=0.4, temperature=2.0, teacher=teacher)(student, {"x": x, "y": y})
    cached = MultiDomainKD(lam=0.4, temperature=2.0)(student, {"x": x, "y": y, "teacher_logits": teacher(x).detach()})
    assert torch.allclose(live["soft"], cached["soft"]) and torch.allclose(live["hard"], cached["hard"])
    none = MultiDomainKD(lam=0.4)(student, {"x": x, "y": y})
    assert set(none) == {"hard"}


def test_t_squared_multiplies_only_the_soft_term_by_t2():
    z, v, y = _logits(2)
    plain = multidomain_ce(z, y, v, lam=0.5, temperature=4.0, scale=2.0)
    t2 = multidomain_ce(z, y, v, lam=0.5, temperature=4.0, scale=2.0, t_squared=True)
    assert torch.allclose(t2["soft"], 16.0 * plain["soft"]) and torch.allclose(t2["hard"], plain["hard"])


def test_without_t2_a_large_temperature_leaves_only_the_hard_gradient():
    # the soft term's gradient shrinks like 1/T^2: at large T the loss's gradient is the
    # gradient of lam * CE alone (the student alone, lam = 1 up to scale); with T^2 it is not
    z, v, y = _logits(3)
    z = z.requires_grad_()
    hard = torch.autograd.grad(sum(multidomain_ce(z, y, None, lam=0.5).values()), z)[0]
    plain = torch.autograd.grad(sum(multidomain_ce(z, y, v, lam=0.5, temperature=1000.0).values()), z)[0]
    t2 = torch.autograd.grad(sum(multidomain_ce(z, y, v, lam=0.5, temperature=1000.0, t_squared=True).values()), z)[0]
    assert torch.allclose(plain, hard, atol=1e-5)
    assert not torch.allclose(t2, hard, atol=1e-3)
