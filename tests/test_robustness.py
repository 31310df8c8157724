"""Robustness metrics: FGSM (Goodfellow et al. 2015) and parameter noise."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from kdcore.data import Split
from kdcore.models import MLP
from kdcore.training.robustness import fgsm_accuracy, fgsm_perturb, param_noise_accuracy

torch.set_num_threads(1)


def _linear(w, b):
    m = nn.Linear(w.shape[1], w.shape[0])
    with torch.no_grad():
        m.weight.copy_(w)
        m.bias.copy_(b)
    return m


def test_fgsm_matches_closed_form_gradient_of_linear_softmax():
    # logits z = W x + b; d CE / dx = W^T (softmax(z) - onehot(y)) / B, so the attack is its sign
    torch.manual_seed(0)
    w, b = torch.randn(3, 4), torch.randn(3)
    model = _linear(w, b)
    x, y = torch.randn(6, 4), torch.tensor([0, 1, 2, 0, 1, 2])
    p = torch.softmax(x @ w.T + b, 1)
    grad = (p - F.one_hot(y, 3).float()) @ w / len(y)
    torch.testing.assert_close(fgsm_perturb(model, x, y, 0.1), x + 0.1 * grad.sign())


def test_fgsm_accuracy_on_1d_threshold_model():
    # logit difference z1 - z0 = x: class 1 iff x > 0; FGSM moves every point eps towards 0.
    model = _linear(torch.tensor([[0.0], [1.0]]), torch.zeros(2))
    x = torch.tensor([[-0.3], [-0.1], [0.05], [0.2]])
    split = Split(x, torch.tensor([0, 0, 1, 1]))
    acc = fgsm_accuracy(model, split, [0.0, 0.08, 0.15, 0.5])
    assert acc == [1.0, 0.75, 0.5, 0.0]


def test_param_noise_zero_is_clean_accuracy_and_leaves_model_unchanged():
    torch.manual_seed(0)
    model = MLP([4, 8, 3])
    split = Split(torch.randn(50, 4), torch.randint(0, 3, (50,)))
    state = {k: v.clone() for k, v in model.state_dict().items()}
    clean = float((model(split.x).argmax(1) == split.y).float().mean())
    acc = param_noise_accuracy(model, split, [0.0, 10.0], batch_size=16)
    assert acc[0] == pytest.approx(clean)
    assert acc[1] < 0.7
    for k, v in model.state_dict().items():
        assert torch.equal(v, state[k])


def test_fgsm_report_kept_is_accuracy_among_clean_correct_inputs():
    from kdcore.training.robustness import fgsm_report

    # class 1 iff x > 0. Clean: x = 0.05 is wrong-labelled (y = 0), the other three are right.
    model = _linear(torch.tensor([[0.0], [1.0]]), torch.zeros(2))
    split = Split(torch.tensor([[-0.3], [-0.1], [0.05], [0.2]]), torch.tensor([0, 0, 0, 1]))
    rep = fgsm_report(model, split, [0.0, 0.15])
    # at 0.15 the attack moves every point against its label: -0.3 -> -0.15 (kept), -0.1 -> 0.05
    # (flipped), 0.2 -> 0.05 (kept), and the wrong 0.05 -> 0.2 (still wrong)
    assert rep["accuracy"] == [0.75, 0.5]
    assert rep["kept"] == pytest.approx([1.0, 2 / 3])


def test_never_predicted_and_weight_norm():
    from kdcore.training.robustness import never_predicted, weight_norm

    model = _linear(torch.tensor([[0.0], [1.0], [-5.0]]), torch.zeros(3))   # for x > 0 class 1 wins
    split = Split(torch.tensor([[0.5], [1.0], [2.0]]), torch.tensor([0, 1, 1]))
    assert never_predicted(model, split, 3) == 2                              # only class 1 is ever the argmax
    assert weight_norm(model) == pytest.approx(26 ** 0.5)
