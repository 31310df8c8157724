"""kdcore.hyper: functional optimiser steps, the one-step unrolled hypergradient (exact and
finite-difference) against central finite differences, constraints of the
parametrisations, and the upper-level callbacks inside ``fit``."""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from kdcore.data import Identity, Split
from kdcore.hyper import (ClampedScalar, HintonMeta, HyperConfig, HyperStep, Lower, SimplexWeights, TrajectoryExtrapolation, adam_step, fit_line, hypergradient, inner_step, sgd_step, unrolled_val_loss)
from kdcore.losses import CrossEntropy, MetaHintonKD
from kdcore.training.loop import TrainConfig, fit


class TinyNet(nn.Module):
    """Linear - BatchNorm - tanh - Linear: smooth, and has BN buffers to leave untouched."""

    def __init__(self, d: int = 5, h: int = 6, c: int = 3) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(d, h), nn.BatchNorm1d(h), nn.Tanh(), nn.Linear(h, c))

    def forward(self, x):
        return self.net(x)


def _batch(n: int, seed: int, teacher: bool = True) -> dict:
    g = torch.Generator().manual_seed(seed)
    b = {"x": torch.randn(n, 5, generator=g, dtype=torch.float64),
         "y": torch.randint(0, 3, (n,), generator=g)}
    if teacher:
        b["teacher_logits"] = 2 * torch.randn(n, 3, generator=g, dtype=torch.float64)
    return b


class WeightedPairs:
    """Toy cross-layer objective: sum_ij lambda_ij * CE(z / (i + 1), y_j) over a 2 x 3 grid."""

    def __init__(self, meta: SimplexWeights) -> None:
        self.meta = meta

    def __call__(self, model, batch):
        lam = self.meta.values()["lambda"]
        z = model(batch["x"])
        total = 0
        for i in range(2):
            for j in range(3):
                total = total + lam[i, j] * F.cross_entropy(z / (i + 1), (batch["y"] + j) % 3)
        return {"pairs": total}


def _setup(optimizer: str, meta_kind: str = "hinton"):
    torch.manual_seed(0)
    model = TinyNet().double()
    if meta_kind == "hinton":
        meta = HintonMeta(0.3, 2.0).double()
        objective = MetaHintonKD(meta)
    else:
        meta = SimplexWeights((2, 3), torch.rand(2, 3, generator=torch.Generator().manual_seed(1)) + 0.1).double()
        objective = WeightedPairs(meta)
    params = list(model.parameters())
    opt = (torch.optim.Adam(params, lr=0.05, weight_decay=1e-3) if optimizer == "adam"
           else torch.optim.SGD(params, lr=0.3, momentum=0.9, weight_decay=1e-3))
    for s in range(3):  # real steps first, so Adam's moments / SGD's momentum are non-trivial
        opt.zero_grad()
        sum(objective(model, _batch(16, 10 + s)).values()).backward()
        opt.step()
    return model, meta, objective, opt


def _central_difference(lower, objective, meta, step, tb, vb, h: float = 1e-6) -> list[torch.Tensor]:
    """d/d(raw theta) of the one-step-unrolled validation loss, by central differences."""
    out = []
    for p in meta.parameters():
        g = torch.zeros_like(p)
        for k in range(p.numel()):
            orig = p.data.view(-1)[k].item()
            vals = []
            for sign in (1, -1):
                p.data.view(-1)[k] = orig + sign * h
                vals.append(unrolled_val_loss(lower, objective, CrossEntropy(), step, tb, vb, create_graph=False).item())
            p.data.view(-1)[k] = orig
            g.view(-1)[k] = (vals[0] - vals[1]) / (2 * h)
        out.append(g)
    return out


def _rel(a: list[torch.Tensor], b: list[torch.Tensor]) -> float:
    a, b = torch.cat([x.reshape(-1) for x in a]), torch.cat([x.reshape(-1) for x in b])
    return float((a - b).norm() / b.norm())


@pytest.mark.parametrize("meta_kind", ["hinton", "simplex"])
@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_exact_hypergradient_matches_central_differences(optimizer, meta_kind):
    model, meta, objective, opt = _setup(optimizer, meta_kind)
    lower = Lower(model, objective)
    state = copy.deepcopy(model.state_dict())
    step = inner_step(opt, list(lower.trainable().values()))
    tb, vb = _batch(16, 1), _batch(12, 2, teacher=False)
    exact, _ = hypergradient(lower, objective, CrossEntropy(), list(meta.parameters()), step, tb, vb, "exact")
    numeric = _central_difference(lower, objective, meta, step, tb, vb)
    assert _rel(exact, numeric) < 1e-3
    assert all(x.abs().sum() > 0 for x in exact)
    # Neither weights nor BatchNorm statistics were touched by the hypergradient.
    for k, v in model.state_dict().items():
        assert torch.equal(v, state[k]), k


@pytest.mark.parametrize("meta_kind", ["hinton", "simplex"])
@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_finite_difference_variant_agrees_with_exact(optimizer, meta_kind):
    model, meta, objective, opt = _setup(optimizer, meta_kind)
    lower = Lower(model, objective)
    step = inner_step(opt, list(lower.trainable().values()))
    tb, vb = _batch(16, 1), _batch(12, 2, teacher=False)
    args = (lower, objective, CrossEntropy(), list(meta.parameters()), step, tb, vb)
    exact, v1 = hypergradient(*args, method="exact")
    fd, v2 = hypergradient(*args, method="finite_difference")
    assert float(v1) == pytest.approx(float(v2), rel=1e-12)
    assert _rel(fd, exact) < 1e-3


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_functional_step_equals_the_torch_optimiser_step(optimizer):
    model, meta, objective, opt = _setup(optimizer)
    params = list(model.parameters())
    step = inner_step(opt, params)
    opt.zero_grad()
    sum(objective(model, _batch(16, 5)).values()).backward()
    predicted = step([p.detach() for p in params], [p.grad for p in params])
    opt.step()
    for p, q in zip(params, predicted):
        torch.testing.assert_close(p.detach(), q, rtol=1e-10, atol=1e-12)


def test_sgd_step_formula_and_first_adam_step_is_sign_like():
    w, g = [torch.tensor([1.0, -2.0])], [torch.tensor([0.5, 0.25])]
    torch.testing.assert_close(sgd_step(0.1)(w, g)[0], torch.tensor([0.95, -2.025]))
    torch.testing.assert_close(sgd_step(0.1, momentum=0.9, buffers=[torch.tensor([1.0, 0.0])])(w, g)[0],
                               torch.tensor([1 - 0.1 * 1.4, -2 - 0.1 * 0.25]))
    # First Adam step: m / sqrt(v) = sign(g) (up to eps).
    torch.testing.assert_close(adam_step(0.01)(w, g)[0], torch.tensor([0.99, -2.01]), rtol=0, atol=1e-6)
    # A weight that never had a gradient (v = 0) gets a zero, finite derivative.
    z = torch.zeros(2, requires_grad=True)
    out = adam_step(0.01)([torch.ones(2)], [z])[0].sum()
    (grad,) = torch.autograd.grad(out, z)
    assert torch.isfinite(grad).all()


def test_parametrisations_keep_their_constraints():
    meta = HintonMeta(0.5, 1.0)
    with torch.no_grad():
        meta.a.fill_(1e4)
        meta.b.fill_(-1e4)
    v = meta.values()
    assert 0 <= v["lambda"].item() <= 1 and v["temperature"].item() >= 0.1 > 0
    meta.set_raw_(torch.tensor([-50.0, 50.0]))
    assert meta.values()["temperature"].item() == pytest.approx(10.0)
    s = SimplexWeights((3, 4))
    with torch.no_grad():
        s.logits.normal_(0, 30)
    lam = s.values()["lambda"]
    assert lam.shape == (3, 4) and (lam >= 0).all() and lam.sum().item() == pytest.approx(1.0)
    c = ClampedScalar(1e-4)
    c.set_raw_(torch.tensor([3.0]))
    assert c.values()["lambda"].item() == 1.0
    assert HintonMeta(0.25, 3.0).snapshot() == pytest.approx({"lambda": 0.25, "temperature": 3.0})
    with pytest.raises(ValueError, match="'lam'"):
        HintonMeta(1.5, 1.0)
    with pytest.raises(ValueError, match="'temperature'"):
        HintonMeta(0.5, 20.0)


def _toy_splits(n: int = 96, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 5, generator=g)
    y = (x[:, 0] > 0).long() + (x[:, 1] > 0).long()
    logits = torch.randn(n, 3, generator=g) * 3
    train = Split(x[:64], y[:64], Identity(), {"teacher_logits": logits[:64]})
    val = Split(x[64:], y[64:], Identity())
    return train, val


def _run(meta, callbacks_for, epochs: int = 3):
    torch.manual_seed(0)
    train, val = _toy_splits()
    model = TinyNet()
    objective = MetaHintonKD(meta) if isinstance(meta, HintonMeta) else WeightedPairs(meta)
    cbs = callbacks_for(meta, objective, val)
    hist = fit(model, train, objective, TrainConfig(epochs=epochs, batch_size=16, lr=0.5, optimizer="sgd",
                                                    device="cpu", progress=False, seed=3), val, callbacks=cbs)
    return model, hist, cbs


@pytest.mark.parametrize("method", ["exact", "finite_difference"])
def test_upper_lr_zero_equals_fixed_metaparameters(method):
    fixed_model, fixed_hist, _ = _run(HintonMeta(0.3, 2.0), lambda m, o, v: [])
    cfg = HyperConfig(lr=0.0, method=method, val_batch_size=16)
    model, hist, (cb,) = _run(HintonMeta(0.3, 2.0), lambda m, o, v: [HyperStep(m, o, CrossEntropy(), v, cfg)])
    assert cb.hyper_steps == 12
    assert hist.train_loss == fixed_hist.train_loss and hist.test_metric == fixed_hist.test_metric
    for (k, a), b in zip(model.state_dict().items(), fixed_model.state_dict().values()):
        assert torch.equal(a, b), k


def test_hyperstep_moves_metaparameters_and_keeps_constraints():
    cfg = HyperConfig(lr=5.0, optimizer="sgd", record_every=1, val_batch_size=16)
    _, _, (cb,) = _run(HintonMeta(0.5, 1.0), lambda m, o, v: [HyperStep(m, o, CrossEntropy(), v, cfg)])
    lams = [r["lambda"] for r in cb.trajectory]
    temps = [r["temperature"] for r in cb.trajectory]
    assert len(cb.trajectory) == 13 and len(set(lams)) > 1 and len(set(temps)) > 1
    assert all(0 <= x <= 1 for x in lams) and all(t > 0 for t in temps)
    _, _, (cb,) = _run(SimplexWeights((2, 3)), lambda m, o, v: [HyperStep(m, o, CrossEntropy(), v, cfg)])
    for rec in cb.trajectory:
        lam = torch.tensor(rec["lambda"])
        assert (lam >= 0).all() and lam.sum().item() == pytest.approx(1.0, abs=1e-6)
    assert cb.trajectory[0]["lambda"] != cb.trajectory[-1]["lambda"]


def test_fit_line_recovers_a_line():
    t = torch.arange(5, 15, dtype=torch.float64)
    vals = torch.stack([2 + 0.5 * t, -1 - 0.25 * t], 1)
    b0, b1 = fit_line(t, vals)
    torch.testing.assert_close(b0, torch.tensor([2.0, -1.0], dtype=torch.float64))
    torch.testing.assert_close(b1, torch.tensor([0.5, -0.25], dtype=torch.float64))


def test_trajectory_extrapolation_follows_the_fitted_line():
    class Drift(TrajectoryExtrapolation):
        def update(self, batch):  # a stand-in upper step: raw values drift linearly
            self.meta.set_raw_(self.meta.raw() + torch.tensor([0.01, -0.02]))
            self.hyper_steps += 1
            return torch.tensor(0.0)

    meta = HintonMeta(0.5, 1.0)
    raw0 = meta.raw().clone()
    cb = Drift(meta, MetaHintonKD(meta), CrossEntropy(), _toy_splits()[1], HyperConfig(record_every=1),
               mini_epoch=2, fit_mini_epochs=2, extrapolate_mini_epochs=3)
    drift, prev = torch.tensor([0.01, -0.02]), raw0
    for step in range(1, 21):  # a cycle is 2 * (2 + 3) = 10 steps: 4 fitted, 6 extrapolated
        cb.on_before_step(None, {}, step)
        now = meta.raw()
        if cb.phase(step) == "fit" or cb.phase(step - 1) == "extrapolate":
            torch.testing.assert_close(now - prev, drift, rtol=0, atol=1e-5)   # one drift per step
        else:  # first extrapolated step: the line at step + 1, two drifts past the last fitted value
            torch.testing.assert_close(now - prev, 2 * drift, rtol=0, atol=1e-5)
        prev = now
    assert cb.hyper_steps == 8  # 4 fit steps in each of two cycles
    assert [cb.phase(s) for s in (1, 4, 5, 10, 11)] == ["fit", "fit", "extrapolate", "extrapolate", "fit"]


def test_hyper_config_rejects_bad_values():
    with pytest.raises(ValueError, match="hyper_method"):
        HyperConfig(method="magic")
    with pytest.raises(ValueError, match="hyper_lr"):
        HyperConfig(lr=-1)


def _cross_layer(meta, seed: int = 0):
    from kdcore.losses import CrossLayerVID, MetaCrossLayer
    from kdcore.models import ConvTiny, ConvVeryTiny
    from kdcore.models.regressors import feature_shapes

    torch.manual_seed(seed)
    teacher, student = ConvTiny().eval(), ConvVeryTiny()
    t_layers, s_layers = ["conv2", "fc1"], ["conv3", "fc1"]
    pairs = [(t, s) for t in t_layers for s in s_layers]
    base = CrossLayerVID(pairs, feature_shapes(teacher, t_layers), feature_shapes(student, s_layers),
                         [0.25] * 4, beta=0.5, teacher=teacher, teacher_bf16=False).double()
    return student.double(), MetaCrossLayer(base, meta), teacher


def cross_layer_problem(meta_kind: str):
    """``(student, objective, meta, train batch, validation batch)``: the toy cross-layer
    problem (2 x 2 pairs, ConvTiny features cached in the batch) in float64."""
    meta = (SimplexWeights((2, 2), torch.tensor([[1.0, 2.0], [3.0, 4.0]])) if meta_kind == "simplex"
            else ClampedScalar(0.3, name="beta")).double()
    student, objective, teacher = _cross_layer(meta)
    g = torch.Generator().manual_seed(4)
    x = torch.randn(24, 3, 32, 32, generator=g)
    with torch.no_grad():
        feats = teacher.features(x)
    batch = {"x": x[:12].double(), "y": torch.randint(0, 10, (12,), generator=g)}
    for name in ("conv2", "fc1"):
        batch["teacher/" + name] = feats[name][:12].double()
    vb = {"x": x[12:].double(), "y": torch.randint(0, 10, (12,), generator=g)}
    return student, objective, meta, batch, vb


@pytest.mark.parametrize("meta_kind", ["simplex", "beta"])
def test_cross_layer_hypergradient_matches_central_differences(meta_kind):
    student, objective, meta, batch, vb = cross_layer_problem(meta_kind)
    lower = Lower(student, objective)
    assert any(k.startswith("objective.") for k in lower.trainable())   # regressors are lower-level weights
    params = list(lower.trainable().values())
    step = sgd_step(0.05)
    exact, _ = hypergradient(lower, objective, CrossEntropy(), list(meta.parameters()), step, batch, vb, "exact")
    numeric = _central_difference(lower, objective, meta, step, batch, vb)
    assert _rel(exact, numeric) < 1e-3
    # The DARTS difference steps eps = 0.01 / ||v|| across ReLU / max-pool kinks of a real
    # CNN: on this objective it is only roughly right at the authors' eps, closer at smaller eps.
    rel = {s: _rel(hypergradient(lower, objective, CrossEntropy(), list(meta.parameters()), step, batch, vb,
                                 "finite_difference", fd_scale=s)[0], exact) for s in (1e-2, 1e-4)}
    assert rel[1e-2] < 0.25 and rel[1e-4] < 0.05 and rel[1e-4] < rel[1e-2]
    assert len(params) > len(list(student.parameters()))
