"""Growth operators φ (anti-distillation chapter): shapes, function preservation, pitfalls."""

import pytest
import torch
from torch import nn

from kdcore.models.growth.layers import UnitMap, grow_conv_bn, grow_linear, identity_conv, identity_linear
from kdcore.models.growth.models import freeze_body, grow, transfer
from kdcore.models import MLP, LSTMClassifier, _ConvSmall

torch.set_num_threads(1)


def _trained_like(model: nn.Module, seed: int = 0) -> nn.Module:
    """Random non-trivial weights and BN statistics (a stand-in for a trained teacher)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.3)
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.copy_(torch.randn(m.num_features, generator=g))
                m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
    return model.eval()


def _pair(kind: str):
    torch.manual_seed(1)
    if kind == "mlp":
        return _trained_like(MLP([12, 8, 6, 4, 10])), MLP([12, 16, 11, 9, 10]), torch.randn(5, 12)
    if kind == "conv":
        return (_trained_like(_ConvSmall((4, 5, 6), 7, 5)), _ConvSmall((8, 9, 12), 13, 10),
                torch.randn(5, 3, 32, 32))
    return _trained_like(LSTMClassifier(6, 5, 5)), LSTMClassifier(6, 11, 10), torch.randn(5, 7, 6)


@pytest.mark.parametrize("kind", ["mlp", "conv", "lstm"])
def test_net2net_noise_off_preserves_function(kind):
    teacher, student, x = _pair(kind)
    grow(teacher, student, "net2net", seed=3)
    student.eval()
    c = teacher(x).shape[1]
    torch.testing.assert_close(student(x)[:, :c], teacher(x), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("kind", ["mlp", "conv", "lstm"])
def test_zero_pad_preserves_function_on_teacher_classes(kind):
    teacher, student, x = _pair(kind)
    grow(teacher, student, "zero")
    student.eval()
    c = teacher(x).shape[1]
    torch.testing.assert_close(student(x)[:, :c], teacher(x), atol=1e-5, rtol=1e-5)
    if c < student(x).shape[1]:                       # new classes start at logit 0
        assert torch.all(student(x)[:, c:] == 0)


def test_uniform_pad_changes_function_but_keeps_teacher_block():
    teacher, student, x = _pair("mlp")
    before = student.layers[1].weight.detach().clone()
    grow(teacher, student, "uniform")
    w = student.layers[1].weight
    torch.testing.assert_close(w[:6, :8], teacher.layers[1].weight)
    torch.testing.assert_close(w[6:, 8:], before[6:, 8:])          # default init outside the block
    assert not torch.allclose(student(x), teacher(x), atol=1e-3)


def test_grown_shapes_and_zero_fill():
    teacher, student, _ = _pair("mlp")
    shapes = [p.shape for p in student.parameters()]
    grow(teacher, student, "zero")
    assert [p.shape for p in student.parameters()] == shapes
    assert torch.all(student.layers[0].weight[8:] == 0) and torch.all(student.layers[1].weight[:, 8:] == 0)
    t, s, _ = _pair("lstm")
    grow(t, s, "zero")
    assert s.lstm.weight_hh_l0.shape == (44, 11) and s.head.weight.shape == (10, 11)


def test_net2net_noise_is_off_by_default_and_breaks_symmetry_when_on():
    teacher, student, x = _pair("mlp")
    s2 = MLP(student.sizes)
    s2.load_state_dict(student.state_dict())
    grow(teacher, student, "net2net", seed=0)
    grow(teacher, s2, "net2net", seed=0, noise=0.1)
    assert not torch.allclose(s2(x), teacher(x), atol=1e-4)
    torch.testing.assert_close(student(x), teacher(x), atol=1e-5, rtol=1e-5)


def test_net2net_copies_bn_statistics_for_every_replica():
    torch.manual_seed(0)
    t_conv, s_conv = nn.Conv2d(2, 3, 3), nn.Conv2d(2, 6, 3)
    t_bn, s_bn = nn.BatchNorm2d(3), nn.BatchNorm2d(6)
    t_bn.running_mean.copy_(torch.tensor([1.0, 2.0, 3.0]))
    t_bn.running_var.copy_(torch.tensor([4.0, 5.0, 6.0]))
    m = UnitMap(torch.tensor([0, 1, 2, 2, 0, 1]), 3)
    grow_conv_bn(t_conv, s_conv, m, UnitMap.pad(2, 2), "default", t_bn, s_bn)
    torch.testing.assert_close(s_bn.running_mean, torch.tensor([1.0, 2, 3, 3, 1, 2]))
    torch.testing.assert_close(s_bn.running_var, torch.tensor([4.0, 5, 6, 6, 4, 5]))


def test_unit_map_divisor_counts_replicas():
    m = UnitMap(torch.tensor([0, 1, 2, 2, 0, 2, -1]), 3)
    torch.testing.assert_close(m.divisor, torch.tensor([2.0, 1, 3, 3, 2, 3, 1]))
    e = UnitMap(torch.tensor([0, 1, 1]), 2).expand(4)
    assert e.index.tolist()[:8] == list(range(8)) and e.index.tolist()[8:] == [4, 5, 6, 7]
    torch.testing.assert_close(e.divisor, torch.tensor([1.0] * 4 + [2.0] * 8))


def test_identity_kernels_are_centred():
    x = torch.randn(2, 3, 9, 9)
    torch.testing.assert_close(identity_conv(3, 3)(x), x)
    torch.testing.assert_close(identity_conv(3, 5)(x), x)
    h = torch.relu(torch.randn(4, 6))
    torch.testing.assert_close(torch.relu(identity_linear(6)(h)), h)
    with pytest.raises(ValueError, match="kernel_size"):
        identity_conv(3, 4)


def test_grow_linear_net2net_matches_manual_formula():
    t, s = nn.Linear(3, 2), nn.Linear(5, 4)
    out_m = UnitMap(torch.tensor([0, 1, 1, 0]), 2)
    in_m = UnitMap(torch.tensor([0, 1, 2, 2, 2]), 3)
    grow_linear(t, s, out_m, in_m, "default")
    expect = t.weight[[0, 1, 1, 0]][:, [0, 1, 2, 2, 2]] / torch.tensor([1.0, 1, 3, 3, 3])
    torch.testing.assert_close(s.weight, expect)
    torch.testing.assert_close(s.bias, t.bias[[0, 1, 1, 0]])


def test_transfer_keeps_body_and_replaces_head():
    teacher = _trained_like(MLP([12, 8, 6, 10]))
    torch.manual_seed(0)
    model = transfer(teacher, 10)
    torch.testing.assert_close(model.layers[0].weight, teacher.layers[0].weight)
    assert not torch.allclose(model.layers[-1].weight, teacher.layers[-1].weight)
    freeze_body(model, True)
    assert [p.requires_grad for p in model.parameters()] == [False] * 4 + [True] * 2
    freeze_body(model, False)
    assert all(p.requires_grad for p in model.parameters())


def test_bad_method_names_parameter():
    teacher, student, _ = _pair("mlp")
    with pytest.raises(ValueError, match="method"):
        grow(teacher, student, "xavier")


def _replica_pairs(teacher: MLP, student: MLP) -> tuple[list[tuple[int, int]], nn.Linear]:
    """(replica, source) unit pairs of the first hidden layer, found from the weights."""
    w = torch.cat([student.layers[0].weight, student.layers[0].bias[:, None]], 1).detach()
    n_t = teacher.sizes[1]
    return [(j, next(i for i in range(n_t) if torch.equal(w[j], w[i]))) for j in range(n_t, len(w))], w


@pytest.mark.parametrize("noise", [0.0, 0.1])
def test_net2net_replicas_stay_identical_under_training_unless_noised(noise):
    """Without noise a replica and its source unit have the same activation and equal
    outgoing weights, so they receive the same gradient and the same Adam update at every
    step: the grown net keeps computing as the teacher-sized one. Noise separates them."""
    torch.manual_seed(0)
    teacher = _trained_like(MLP([6, 4, 3]))
    student = grow(teacher, MLP([6, 9, 3]), "net2net", seed=1, noise=noise)
    pairs = None if noise else _replica_pairs(teacher, student)[0]
    opt = torch.optim.Adam(student.parameters(), lr=1e-2)
    for _ in range(50):
        x, y = torch.randn(32, 6), torch.randint(0, 3, (32,))
        opt.zero_grad()
        nn.functional.cross_entropy(student(x), y).backward()
        opt.step()
    w = torch.cat([student.layers[0].weight, student.layers[0].bias[:, None]], 1).detach()
    out = student.layers[1].weight.detach()
    if noise == 0:
        assert len(pairs) == 5
        for j, i in pairs:
            torch.testing.assert_close(w[j], w[i], rtol=0, atol=1e-6)        # incoming weights and bias
            torch.testing.assert_close(out[:, j], out[:, i], rtol=0, atol=1e-6)   # outgoing weights
    else:
        dist = torch.cdist(w, w) + torch.eye(len(w)) * 1e9
        assert dist.min() > 1e-3                                          # no two units coincide


@pytest.mark.parametrize("method", ["zero", "uniform"])
def test_padded_inits_refuse_noise(method):
    """Noise is Net2Net's symmetry breaking; a noisy zero pad would not be a zero pad."""
    teacher, student, _ = _pair("mlp")
    with pytest.raises(ValueError, match="noise"):
        grow(teacher, student, method, noise=0.1)
