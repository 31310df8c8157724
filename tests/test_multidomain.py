"""Orlov & Grabovoy (2022) multi-domain distillation: losses, maps, VAE, criterion, config."""

import math

import pytest
import torch
import torch.nn.functional as F

from kdcore.chapters.multidomain import (REG_STUDENT_SIZES, REG_TEACHER_SIZES, STUDENT_SIZES,
                                         TEACHER_SIZES, MultidomainConfig)
from kdcore.integral import integral_criterion
from kdcore.losses.multidomain import MultiDomainKD, multidomain_ce, multidomain_mse
from kdcore.mappings import Composed, DilatedConv, GaussianNoise, IdentityMap, VAEMap
from kdcore.models import MLP, weight_count
from kdcore.train import TrainConfig, fit, seed_everything
from kdcore.data import Split, ImagePrep
from kdcore.vae import PairedELBO, PairedVAE, pair_by_label


def _logits(seed=0, b=4, c=3):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(b, c, generator=g), torch.randn(b, c, generator=g), torch.randint(0, c, (b,), generator=g)


# -- losses -----------------------------------------------------------------------------
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


# -- maps -------------------------------------------------------------------------------
def test_dilation_maps_784_to_576_with_the_fixed_kernel():
    x = torch.zeros(2, 1, 28, 28)
    x[0, 0, 14, 14] = 1.0
    out = DilatedConv()(x)
    assert out.shape == (2, 576)
    assert DilatedConv()(torch.rand(3, 784)).shape == (3, 576)
    img = out[0].view(24, 24)
    hits = {tuple(p) for p in img.nonzero().tolist()}
    assert hits == {(14, 14), (14, 10), (12, 12), (10, 14), (10, 10)}  # the 5 taps, 2 apart
    assert img.sum().item() == 5.0 and out[1].abs().sum().item() == 0.0


def test_teacher_on_dilated_inputs_has_576_inputs():
    comp = Composed(DilatedConv(), MLP([576] + TEACHER_SIZES[1:]))
    assert comp(torch.rand(2, 1, 28, 28)).shape == (2, 10)
    assert not comp.random


def test_noise_map_clips_and_is_random():
    torch.manual_seed(0)
    x = torch.full((64, 1, 28, 28), 0.5)
    phi = GaussianNoise(0.1)
    a, b = phi(x), phi(x)
    assert a.shape == x.shape and phi.random and not torch.equal(a, b)
    assert abs((a - 0.5).std().item() - 0.1) < 0.01
    edge = phi(torch.ones(16, 784))
    assert edge.max().item() <= 1.0 and edge.min().item() >= 0.0
    assert torch.equal(IdentityMap()(x), x)


# -- VAE --------------------------------------------------------------------------------
def _paired_toy(n=256, seed=0):
    g = torch.Generator().manual_seed(seed)
    protos_a = (torch.rand(10, 28, 28, generator=g) > 0.7).float()
    protos_b = (torch.rand(10, 28, 28, generator=g) > 0.7).float()
    y = torch.randint(0, 10, (n,), generator=g)
    noisy = lambda p: ((p[y] + 0.2 * torch.rand(n, 28, 28, generator=g)).clamp(0, 1) * 255).to(torch.uint8)
    return Split(noisy(protos_a), y, ImagePrep()).with_extra("paired", noisy(protos_b))


def test_vae_elbo_improves_during_training():
    seed_everything(0)
    vae = PairedVAE(("fmnist", "mnist"), hidden=64, latent=8)
    data = _paired_toy()
    hist = fit(vae, data, PairedELBO(), TrainConfig(epochs=4, batch_size=32, lr=3e-3, progress=False, device="cpu"))
    assert set(hist.train_parts) == {"nll_fmnist", "nll_mnist", "kl"}
    assert hist.train_loss[-1] < 0.8 * hist.train_loss[0]  # -ELBO (nats per pair) falls
    phi = VAEMap(vae, "mnist", sample=False)
    out = phi(data.inputs()[:5])
    assert out.shape == (5, 784) and out.min() >= 0.01 and out.max() <= 0.99
    assert not any(p.requires_grad for p in vae.parameters())


def test_pair_by_label_matches_labels():
    src = torch.tensor([0, 1, 2, 1, 0, 2, 2])
    tgt = torch.tensor([2, 2, 1, 0, 0, 1, 2, 0])
    idx = pair_by_label(src, tgt, seed=3)
    assert torch.equal(tgt[idx], src)
    assert torch.equal(idx, pair_by_label(src, tgt, seed=3))


# -- criterion, models, config ------------------------------------------------------------
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


def test_bike_splits_sizes_disjoint_and_15_features():
    from kdcore.multidomain_data import BIKE_READINGS, load_bike_splits

    for reading in BIKE_READINGS:
        big, small, test = load_bike_splits(reading)
        assert (len(big), len(small), len(test)) == (8700, 300, 1000)
        assert big.x.shape[1] == small.x.shape[1] == 15
    # column 0 is `instant` (unique per row) in both readings: the parts are disjoint
    ids = [set(s.x[:, 0].tolist()) for s in load_bike_splits("leak-free")]
    assert not (ids[0] & ids[1]) and not (ids[0] & ids[2]) and not (ids[1] & ids[2])
    assert "casual" not in BIKE_READINGS["leak-free"] and "casual" in BIKE_READINGS["leaky"]
