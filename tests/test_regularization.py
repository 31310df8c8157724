"""Hinton-regime regularisers: per-image random shifts and the max-norm constraint."""

import torch
from torch import nn

from kdcore.training.regularization import Jittered, MaxNorm, RandomShift


def _shifted(img: torch.Tensor, dy: int, dx: int) -> torch.Tensor:
    out = torch.zeros_like(img)
    h, w = img.shape[-2:]
    out[..., max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)] = \
        img[..., max(-dy, 0):h + min(-dy, 0), max(-dx, 0):w + min(-dx, 0)]
    return out


def test_each_image_is_an_integer_shift_within_range_with_zero_fill():
    torch.manual_seed(0)
    x = torch.zeros(64, 1, 12, 12)
    x[:, :, 3:9, 3:9] = torch.rand(64, 1, 6, 6) + 0.1    # content away from the border
    out = RandomShift(2, (12, 12))(x)
    seen = set()
    for i in range(len(x)):
        match = [(dy, dx) for dy in range(-2, 3) for dx in range(-2, 3) if torch.equal(out[i], _shifted(x[i], dy, dx))]
        assert len(match) == 1, "every output is exactly one shift of its input"
        seen.add(match[0])
    assert len(seen) > 10                                # offsets differ between images
    torch.testing.assert_close(out.sum(), x.sum())       # nothing falls off: mass preserved


def test_flat_inputs_and_determinism_given_the_seed():
    x = torch.rand(8, 28 * 28)
    torch.manual_seed(3)
    a = RandomShift(2)(x)
    torch.manual_seed(3)
    b = RandomShift(2)(x)
    assert a.shape == x.shape and torch.equal(a, b)
    assert torch.equal(RandomShift(0)(x), x)


def test_jittered_objective_sees_shifted_inputs_only():
    seen = {}

    def objective(model, batch):
        seen["x"] = batch["x"]
        return {"loss": batch["x"].sum()}

    batch = {"x": torch.ones(4, 1, 28, 28), "y": torch.zeros(4, dtype=torch.long)}
    torch.manual_seed(0)
    Jittered(objective, RandomShift(2))(None, batch)
    assert torch.equal(batch["x"], torch.ones(4, 1, 28, 28))     # the caller's batch is untouched
    assert (seen["x"] == 0).any()                                # the border was shifted in


def test_max_norm_caps_rows_of_hidden_layers_and_leaves_small_rows():
    model = nn.Sequential(nn.Linear(5, 4), nn.ReLU(), nn.Linear(4, 3))
    with torch.no_grad():
        model[0].weight.copy_(torch.tensor([[3.0, 4, 0, 0, 0], [0.1, 0, 0, 0, 0], [0, 0, 6, 8, 0], [1, 1, 1, 1, 1]]))
        model[2].weight.fill_(10.0)
    before_last = model[2].weight.clone()
    MaxNorm(2.0).on_batch_end(model, {}, 1)
    norms = model[0].weight.norm(dim=1)
    torch.testing.assert_close(norms, torch.tensor([2.0, 0.1, 2.0, 2.0]), atol=1e-5, rtol=0)
    torch.testing.assert_close(model[0].weight[1], torch.tensor([0.1, 0, 0, 0, 0]))
    assert torch.equal(model[2].weight, before_last)            # the output layer is not constrained
