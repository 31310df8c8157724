"""Robustness metrics and the anti-distillation objective (Petrushina et al. 2022)."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from kdcore.data import Split
from kdcore.losses.anti_distillation import AntiDistillation, MaskedCrossEntropy, block_distance, masked_logits
from kdcore.models import MLP
from kdcore.robustness import fgsm_accuracy, fgsm_perturb, param_noise_accuracy

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


def test_config_validation_names_the_parameter():
    from kdcore.chapters.anti_distillation import AntiDistillationConfig

    AntiDistillationConfig()                                   # the paper defaults are valid
    with pytest.raises(ValueError, match="student_hidden"):
        AntiDistillationConfig(student_hidden=[64, 128, 64])
    with pytest.raises(ValueError, match="fgsm_eps"):
        AntiDistillationConfig(fgsm_eps=[0.0, 0.01])           # the headline ε = 0.018 is missing
    with pytest.raises(ValueError, match="growth_inits"):
        AntiDistillationConfig(growth_inits=["xavier"])
    with pytest.raises(ValueError, match="profile"):
        AntiDistillationConfig(profile="full")


def test_lstm_classifier_reads_images_row_by_row():
    from kdcore.sequence_models import LSTMClassifier

    m = LSTMClassifier(28, 16, 10)
    x = torch.rand(3, 1, 28, 28)
    feats = m.features(x)
    assert list(feats) == ["hidden", "logits"] and feats["logits"].shape == (3, 10)
    torch.testing.assert_close(m(x), m(x.squeeze(1)))


def test_untouched_new_units_after_zero_pad_training_step():
    from kdcore.chapters.anti_distillation import untouched_new_units
    from kdcore.growth_models import grow

    torch.manual_seed(0)
    teacher, student = MLP([10, 4, 3]), MLP([10, 8, 3])
    grow(teacher, student, "zero")
    opt = torch.optim.SGD(student.parameters(), lr=0.5)
    for _ in range(3):
        opt.zero_grad()
        F.cross_entropy(student(torch.randn(32, 10)), torch.randint(0, 3, (32,))).backward()
        opt.step()
    assert untouched_new_units(student, [4]) == [1.0]          # ReLU'(0) = 0: no gradient ever
    assert untouched_new_units(grow(teacher, MLP([10, 8, 3]), "uniform"), [4]) == [0.0]


def test_epochs_to_reach():
    from kdcore.growth_experiments import epochs_to_reach

    recs = [{"setting": "t: default init", "seed": 0, "metrics": {"accuracy": 0.6},
             "history": {"test_accuracy_from_0": [0.1, 0.4, 0.6]}},
            {"setting": "t: Net2Net", "seed": 0, "metrics": {"accuracy": 0.7},
             "history": {"test_accuracy_from_0": [0.5, 0.65, 0.7]}},
            {"setting": "t: zero pad", "seed": 0, "metrics": {"accuracy": 0.5},
             "history": {"test_accuracy_from_0": [0.5, 0.5, 0.5]}}]
    df = epochs_to_reach(recs, "t: default init")
    assert df["epochs to target"].tolist()[:2] == [2, 1] and df["epochs to target"].isna().tolist()[2]
