"""The anti-distillation objective (Petrushina et al. 2022): class mask, block distance, AD terms."""

import pytest
import torch
import torch.nn.functional as F

from kdcore.losses.anti_distillation import (
    AntiDistillation,
    MaskedCrossEntropy,
    block_distance,
    masked_logits,
)
from kdcore.models import MLP

torch.set_num_threads(1)


def test_masked_logits_multiplies_and_drops_rows():
    z = torch.tensor([[1.0, 2, 3, 4], [5, 6, 7, 8]])
    out, y, rows = masked_logits(z, torch.tensor([1, 3]), [0, 1])
    assert out.tolist() == [[1.0, 2, 0, 0]] and y.tolist() == [1] and rows.tolist() == [True, False]


def test_block_distance_is_sum_of_unsquared_norms_of_top_left_blocks():
    t, s = MLP([3, 2, 2]), MLP([3, 4, 2])
    with torch.no_grad():
        for p in s.parameters():
            p.zero_()
    expect = sum(float(p.detach().norm()) for p in t.parameters())
    assert float(block_distance(s, t).detach()) == pytest.approx(expect, rel=1e-6)
    with torch.no_grad():
        s.layers[0].weight[:2].copy_(t.layers[0].weight)
        s.layers[0].weight[2:].fill_(5.0)      # outside the block: not counted
    expect -= float(t.layers[0].weight.detach().norm())
    assert float(block_distance(s, t).detach()) == pytest.approx(expect, rel=1e-6)


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
