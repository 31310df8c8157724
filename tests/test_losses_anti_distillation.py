"""The anti-distillation objective (Petrushina et al. 2022): class mask, block distance, AD terms."""

import pytest
import torch
import torch.nn.functional as F

from kdcore.losses.anti_distillation import (AntiDistillation, MaskedCrossEntropy, block_distance, detached_uniform_probe_term, masked_logits)
from kdcore.models import MLP

torch.set_num_threads(1)


def test_masked_logits_multiplies_and_drops_rows():
    z = torch.tensor([[1.0, 2, 3, 4], [5, 6, 7, 8]])
    out, y, rows = masked_logits(z, torch.tensor([1, 3]), [0, 1])
    assert out.tolist() == [[1.0, 2, 0, 0]] and y.tolist() == [1] and rows.tolist() == [True, False]


def test_block_distance_per_tensor_is_sum_of_unsquared_norms_of_top_left_blocks():
    t, s = MLP([3, 2, 2]), MLP([3, 4, 2])
    with torch.no_grad():
        for p in s.parameters():
            p.zero_()
    expect = sum(float(p.detach().norm()) for p in t.parameters())
    assert float(block_distance(s, t, "per_tensor").detach()) == pytest.approx(expect, rel=1e-6)
    with torch.no_grad():
        s.layers[0].weight[:2].copy_(t.layers[0].weight)
        s.layers[0].weight[2:].fill_(5.0)      # outside the block: not counted
    expect -= float(t.layers[0].weight.detach().norm())
    assert float(block_distance(s, t, "per_tensor").detach()) == pytest.approx(expect, rel=1e-6)


def test_block_distance_concatenated_is_one_norm_over_all_blocks():
    torch.manual_seed(0)
    t, s = MLP([3, 2, 2]), MLP([3, 4, 2])
    d = torch.cat([(ps[tuple(slice(0, n) for n in pt.shape)] - pt).detach().reshape(-1)
                   for pt, ps in zip(t.parameters(), s.parameters())])
    got = float(block_distance(s, t, "concatenated").detach())
    assert got == pytest.approx(float(d.norm()), rel=1e-6)
    assert got < float(block_distance(s, t, "per_tensor").detach())   # triangle inequality, strict here
    with pytest.raises(ValueError, match="norm"):
        block_distance(s, t, "squared")


def test_detached_uniform_probe_term_is_vHv_and_passes_no_gradient():
    torch.manual_seed(0)
    model = MLP([3, 4, 2])
    x, y = torch.randn(5, 3), torch.tensor([0, 1, 1, 0, 1])
    params = list(model.parameters())
    flat = torch.cat([p.detach().reshape(-1) for p in params])

    def loss_of(vec):
        out, i = {}, 0
        for (name, p) in model.named_parameters():
            out[name] = vec[i:i + p.numel()].view_as(p)
            i += p.numel()
        return F.cross_entropy(torch.func.functional_call(model, out, (x,)), y)

    H = torch.autograd.functional.hessian(loss_of, flat)
    gen_state = torch.get_rng_state()
    value = detached_uniform_probe_term(F.cross_entropy(model(x), y), params)
    torch.set_rng_state(gen_state)                     # the same probe, drawn the same way
    v = torch.cat([torch.rand(p.shape).reshape(-1) for p in params])
    assert float(value) == pytest.approx(float(v @ H @ v), rel=1e-4)
    assert (v >= 0).all() and not value.requires_grad   # uniform [0, 1) probe; a constant for the optimiser


def test_anti_distillation_terms_and_gradient():
    torch.manual_seed(0)
    teacher, student = MLP([6, 4, 10]), MLP([6, 8, 10])
    batch = {"x": torch.randn(16, 6), "y": torch.arange(16) % 10}
    parts = AntiDistillation(teacher, (0.5, 0.2, 0.3, 0.1), classes=range(5))(student, batch)
    assert set(parts) == {"ce", "block", "noisy_ce", "hessian"}
    rows = batch["y"] < 5
    ref = MaskedCrossEntropy(range(5))(student, batch)["ce"]
    torch.testing.assert_close(parts["ce"], 0.5 * ref)
    z = student(batch["x"][rows]) * (torch.arange(10) < 5).float()
    torch.testing.assert_close(ref, F.cross_entropy(z, batch["y"][rows]))
    torch.testing.assert_close(parts["block"], 0.2 * block_distance(student, teacher))
    sum(parts.values()).backward()
    assert all(p.grad is not None for p in student.parameters())
    assert set(AntiDistillation(teacher, (1, 0, 1, 0))(student, batch)) == {"ce", "noisy_ce"}
    with pytest.raises(ValueError, match="lambdas"):
        AntiDistillation(teacher, (1, -1, 0, 0))
    with pytest.raises(ValueError, match="hessian"):
        AntiDistillation(teacher, (1, 0, 0, 1), hessian="gaussian")


def test_faithful_hessian_term_changes_the_loss_not_the_gradient():
    """The authors' λ4 term is logged but moves nothing; the Rademacher term does move the weights."""
    torch.manual_seed(0)
    teacher, student = MLP([6, 4, 10]), MLP([6, 8, 10])
    batch = {"x": torch.randn(16, 6), "y": torch.arange(16) % 10}

    def grads(lambdas, hessian):
        student.zero_grad()
        parts = AntiDistillation(teacher, lambdas, classes=range(5), hessian=hessian)(student, batch)
        sum(parts.values()).backward()
        return parts, torch.cat([p.grad.reshape(-1) for p in student.parameters()])

    _, g0 = grads((1.0, 0.0, 0.0, 0.0), "uniform_detached")
    parts, g1 = grads((1.0, 0.0, 0.0, 100.0), "uniform_detached")
    assert float(parts["hessian"]) > 0
    torch.testing.assert_close(g1, g0)
    _, g2 = grads((1.0, 0.0, 0.0, 100.0), "rademacher")
    assert (g2 - g0).abs().max() > 1e-6
