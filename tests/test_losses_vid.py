"""VID negative log-likelihood: hand computation, faithful (σ² multiplied) variant,
finite differences, and the variance is trained."""

import math

import pytest
import torch

from kdcore.losses.vid import VIDTerm, inverse_softplus, vid_nll


def test_vid_nll_matches_hand_computation_scalar_and_channel():
    # B = 2 samples, C = 2 channels, 1x2 maps.
    mu = torch.tensor([[[[0.0, 1.0]], [[2.0, 0.0]]], [[[1.0, 1.0]], [[0.0, -1.0]]]])
    t = torch.tensor([[[[1.0, 1.0]], [[0.0, 0.0]]], [[[1.0, 3.0]], [[1.0, -1.0]]]])
    sq = [[1.0, 0.0, 4.0, 0.0], [0.0, 4.0, 1.0, 0.0]]          # (t - mu)^2 per sample, channel-major
    # scalar σ² = 2: per sample Σ_f [sq/(2·2) + ½ log 2], four elements
    want = sum(sum(v / 4 + 0.5 * math.log(2) for v in row) for row in sq) / 2
    assert vid_nll(mu, t, torch.tensor([2.0])).item() == pytest.approx(want, rel=1e-6)
    # per channel σ² = (1, 4)
    var = [1.0, 4.0]
    want_c = sum(sum(v / (2 * var[i // 2]) + 0.5 * math.log(var[i // 2]) for i, v in enumerate(row))
                 for row in sq) / 2
    assert vid_nll(mu, t, torch.tensor(var)).item() == pytest.approx(want_c, rel=1e-6)
    # "mean" reduction: divided by the 4 elements of a sample
    assert vid_nll(mu, t, torch.tensor(var), reduction="mean").item() == pytest.approx(want_c / 4, rel=1e-6)


def test_faithful_vid_multiplies_by_variance_and_counts_log_once():
    mu, t = torch.zeros(2, 3), torch.tensor([[1.0, 2.0, 0.0], [0.0, 0.0, 3.0]])
    s2 = 0.5
    want = (5.0 + 9.0) / 2 * s2 / 2 + 0.5 * math.log(s2)   # mean_b ‖t-μ‖² · σ²/2 + ½ log σ²
    assert vid_nll(mu, t, torch.tensor([s2]), faithful=True).item() == pytest.approx(want, rel=1e-6)
    assert vid_nll(mu, t, torch.tensor([s2])).item() != pytest.approx(want, rel=1e-3)
    with pytest.raises(ValueError, match="scalar"):
        vid_nll(mu, t, torch.ones(3), faithful=True)
    with pytest.raises(ValueError, match="shape"):
        vid_nll(mu, t[:, :2], torch.ones(1))


def test_vid_gradients_match_finite_differences():
    torch.manual_seed(0)
    mu = torch.randn(3, 2, 2, 2, dtype=torch.float64, requires_grad=True)
    t = torch.randn(3, 2, 2, 2, dtype=torch.float64)
    rho = torch.randn(2, dtype=torch.float64, requires_grad=True)

    def f(mu, rho):
        return vid_nll(mu, t, torch.nn.functional.softplus(rho)).double()
    # vid_nll computes in float32: compare autograd with central differences at float32 precision.
    assert torch.autograd.gradcheck(lambda m, r: vid_nll(m, t, torch.nn.functional.softplus(r)).double(),
                                    (mu.float().double().requires_grad_(), rho), eps=1e-3, atol=5e-3, rtol=5e-3)
    # closed form d/dμ = -(t - μ) / (σ² B), per channel
    s2 = torch.nn.functional.softplus(rho).detach()
    (g,) = torch.autograd.grad(f(mu, rho), mu)
    torch.testing.assert_close(g, (-(t - mu) / (s2.view(2, 1, 1) * 3)).detach(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("variance", ["scalar", "channel"])
@pytest.mark.parametrize("faithful", [False, True])
def test_variance_is_a_parameter_gets_gradients_and_changes_after_a_step(variance, faithful):
    if faithful and variance == "channel":
        pytest.skip("faithful mode is defined for the authors' scalar variance only")
    torch.manual_seed(0)
    term = VIDTerm((4, 6, 6), (8, 3, 3), variance=variance, faithful=faithful)
    assert any(p is term.rho for p in term.parameters())
    assert term.rho.shape == ((1,) if variance == "scalar" else (8,))
    torch.testing.assert_close(term.variance, torch.full_like(term.rho, math.log(2.0)), atol=1e-6, rtol=0)
    opt = torch.optim.Adam(term.parameters(), lr=1e-2)
    before = term.variance.detach().clone()
    loss = term(torch.randn(5, 4, 6, 6), torch.randn(5, 8, 3, 3))
    loss.backward()
    assert term.rho.grad is not None and torch.all(term.rho.grad != 0)
    opt.step()
    after = term.variance.detach()
    assert torch.all(after != before)
    if faithful:   # the authors' gradient in σ² is always positive: σ² shrinks
        assert torch.all(after < before)


def test_inverse_softplus():
    for y in (1e-3, math.log(2.0), 5.0):
        assert torch.nn.functional.softplus(torch.tensor(inverse_softplus(y), dtype=torch.float64)).item() == pytest.approx(y)
    assert inverse_softplus(math.log(2.0)) == pytest.approx(0.0, abs=1e-12)
