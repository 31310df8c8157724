"""The tangent-only pass (kdcore.hyper.tangent): J v equals torch.func.jvp on the book's models,
and TangentHyperStep's hypergradient equals the double-backward one and drives fit as HyperStep."""

from __future__ import annotations

import copy

import pytest
import torch
import torch.autograd.forward_ad as fwAD
from torch import nn
from torch.func import functional_call

from kdcore.hyper import HintonMeta, HyperConfig, HyperStep, Lower, hypergradient, inner_step
from kdcore.hyper.tangent import RecordingForward, jvp_from
from kdcore.losses import CrossEntropy, MetaHintonKD
from kdcore.losses.meta_hinton_mixed import hinton_tangent_step
from kdcore.models import MLP, ConvVeryTiny, PreActResNet
from kdcore.training.loop import TrainConfig, fit

from test_hyper import TinyNet, _batch, _rel, _run, _setup, _toy_splits


def _reference_jvp(model: nn.Module, x: torch.Tensor, v: dict[str, torch.Tensor]) -> torch.Tensor:
    """``J v`` by forward-mode AD (dual numbers; primal recomputed, buffers cloned so
    BatchNorm's running statistics stay put)."""
    buffers = {n: b.clone() for n, b in model.named_buffers()}
    with fwAD.dual_level():
        dual = {n: fwAD.make_dual(p.detach(), v[n]) for n, p in model.named_parameters()}
        return fwAD.unpack_dual(functional_call(model, {**buffers, **dual}, (x,))).tangent


class _Odd(nn.Module):
    """Functional ops the tracer keeps as call_function / call_method nodes."""

    def __init__(self) -> None:
        super().__init__()
        self.a, self.b = nn.Linear(6, 5), nn.Linear(5, 4)

    def forward(self, x):
        h = torch.tanh(self.a(x.flatten(1)))
        h = torch.relu(h * 2.0 - torch.sigmoid(h)) + h.mean(1, keepdim=True)
        return self.b(h).reshape(-1, 2, 2).flatten(1)


@pytest.mark.parametrize("make, shape", [
    (lambda: ConvVeryTiny(), (6, 3, 32, 32)),
    (lambda: MLP([12, 7, 5, 3]), (5, 3, 2, 2)),
    (lambda: PreActResNet([1, 1], widths=(4, 8)), (4, 3, 8, 8)),
    (lambda: TinyNet(), (7, 5)),
    (lambda: _Odd(), (5, 2, 3)),
])
@pytest.mark.parametrize("training", [True, False])
def test_jvp_from_recorded_forward_equals_func_jvp(make, shape, training):
    torch.manual_seed(0)
    model = make().double().train(training)
    for b in model.modules():          # non-trivial running statistics for the eval-mode case
        if isinstance(b, nn.modules.batchnorm._BatchNorm):
            b.running_mean.uniform_(-0.5, 0.5)
            b.running_var.uniform_(0.5, 2.0)
    x = torch.randn(*shape, dtype=torch.float64)
    v = {n: torch.randn_like(p) for n, p in model.named_parameters()}
    ref = _reference_jvp(model, x, v)
    rec = RecordingForward(model)
    before = {n: b.clone() for n, b in model.named_buffers()}
    out, env = rec.forward(x)
    # The recorded forward is the model's forward, op for op.
    assert torch.equal(out, functional_call(model, {**before, **dict(model.named_parameters())}, (x,)))
    jv = jvp_from(rec, env, {id(p): v[n] for n, p in model.named_parameters()})
    assert jv.shape == out.shape
    assert float((jv - ref).norm() / ref.norm()) < 1e-10
    assert float(ref.norm()) > 0


def test_jvp_is_linear_and_zero_without_tangents():
    torch.manual_seed(1)
    model = ConvVeryTiny().double()
    rec = RecordingForward(model)
    out, env = rec.forward(torch.randn(4, 3, 32, 32, dtype=torch.float64))
    params = list(model.parameters())
    v1 = {id(p): torch.randn_like(p) for p in params}
    v2 = {id(p): torch.randn_like(p) for p in params}
    both = {k: 2 * v1[k] - 3 * v2[k] for k in v1}
    lhs = jvp_from(rec, env, both)
    rhs = 2 * jvp_from(rec, env, v1) - 3 * jvp_from(rec, env, v2)
    assert torch.allclose(lhs, rhs, rtol=1e-10, atol=1e-12)
    assert torch.count_nonzero(jvp_from(rec, env, {})) == 0


def test_jvp_refuses_layers_without_a_rule():
    model = nn.Sequential(nn.Linear(3, 4), nn.GELU(), nn.Linear(4, 2))
    rec = RecordingForward(model)
    _, env = rec.forward(torch.randn(2, 3))
    with pytest.raises(NotImplementedError, match="GELU.*forward_mode"):
        jvp_from(rec, env, {id(p): torch.ones_like(p) for p in model.parameters()})


def _tangent_on(model, objective, opt, tb, vb, method, central=False):
    val = _toy_splits()[1].to("cpu")
    step = hinton_tangent_step(objective, CrossEntropy(), val, HyperConfig(lr=0.0, method=method), central=central)
    step.on_fit_start(model, opt)
    step.val_batch = lambda: vb
    parts = step.objective(model, tb)
    opt.zero_grad(set_to_none=True)
    sum(parts.values()).backward()
    captured = {}
    step._meta_opt.step = lambda: captured.update({i: p.grad.clone() for i, p in enumerate(step.meta.parameters())})
    step.update(tb)
    return parts, [captured[i] for i in range(len(captured))]


def _twin(model, opt):
    """A copy of the model and of its optimiser, in the same state (momentum / moments)."""
    twin = copy.deepcopy(model)
    twin_opt = copy.deepcopy(opt)
    twin_opt.param_groups[0]["params"] = list(twin.parameters())
    twin_opt.state = {q: opt.state[p] for p, q in zip(model.parameters(), twin.parameters())}
    return twin, twin_opt


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_tangent_hypergradient_equals_double_backward(optimizer):
    model, meta, objective, opt = _setup(optimizer, "hinton")
    tb, vb = _batch(16, 1), _batch(12, 2, teacher=False)
    (ref_model, ref_opt), *copies = [_twin(model, opt) for _ in range(3)]
    lower = Lower(ref_model, objective)
    step = inner_step(ref_opt, list(lower.trainable().values()))
    plain = objective(ref_model, tb)          # the BatchNorm statistics the training forward leaves
    exact, _ = hypergradient(lower, objective, CrossEntropy(), list(meta.parameters()), step, tb, vb, "exact")
    parts, tangent = _tangent_on(model, objective, opt, tb, vb, "exact")
    assert _rel(tangent, exact) < 1e-10
    assert all(x.abs().sum() > 0 for x in tangent)
    assert {k: float(v.detach()) for k, v in parts.items()} == pytest.approx(
        {k: float(v.detach()) for k, v in plain.items()}, rel=1e-12)
    # Differences of the outputs on a smooth (tanh) net: central is second order in eps, one-sided first.
    _, central = _tangent_on(copies[0][0], objective, copies[0][1], tb, vb, "finite_difference", central=True)
    _, one_sided = _tangent_on(copies[1][0], objective, copies[1][1], tb, vb, "finite_difference")
    assert 0 < _rel(central, exact) < 1e-4 < _rel(one_sided, exact) < 1e-2


@pytest.mark.parametrize("method", ["exact", "finite_difference"])
def test_tangent_hyperstep_follows_hyperstep_exact(method):
    cfg = HyperConfig(lr=5.0, optimizer="sgd", record_every=1, val_batch_size=16, method="exact")
    _, hist_a, (a,) = _run(HintonMeta(0.5, 1.0), lambda m, o, v: [HyperStep(m, o, CrossEntropy(), v, cfg)])

    torch.manual_seed(0)                                  # as _run: same model, data and seed
    train, val = _toy_splits()
    meta = HintonMeta(0.5, 1.0)
    b = hinton_tangent_step(MetaHintonKD(meta), CrossEntropy(), val,
                            HyperConfig(lr=5.0, optimizer="sgd", record_every=1, val_batch_size=16, method=method))
    hist_b = fit(TinyNet(), train, b.objective, TrainConfig(epochs=3, batch_size=16, lr=0.5, optimizer="sgd",
                                                            device="cpu", progress=False, seed=3), val, callbacks=[b])
    assert b.hyper_steps == a.hyper_steps == 12
    tol = 1e-4 if method == "exact" else 1e-2
    for ra, rb in zip(a.trajectory, b.trajectory):
        assert rb["lambda"] == pytest.approx(ra["lambda"], rel=tol, abs=1e-6)
        assert rb["temperature"] == pytest.approx(ra["temperature"], rel=tol, abs=1e-6)
    assert a.trajectory[0]["lambda"] != a.trajectory[-1]["lambda"]
    assert hist_b.train_loss == pytest.approx(hist_a.train_loss, rel=tol)


def test_tangent_step_with_bf16_fit_runs_and_moves_the_metaparameters():
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(0)
    from kdcore.data import Split
    train = Split(torch.randn(64, 3, 32, 32, generator=g), torch.randint(0, 10, (64,), generator=g),
                  extras={"teacher_logits": torch.randn(64, 10, generator=g)})
    val = Split(torch.randn(32, 3, 32, 32, generator=g), torch.randint(0, 10, (32,), generator=g))
    step = hinton_tangent_step(MetaHintonKD(HintonMeta(0.5, 1.0)), CrossEntropy(), val,
                               HyperConfig(lr=0.05, val_batch_size=32, record_every=1))
    fit(ConvVeryTiny(), train, step.objective, TrainConfig(epochs=1, batch_size=32, lr=0.1, optimizer="sgd",
                                                            bf16=True, progress=False), callbacks=[step])
    assert step.hyper_steps == 2
    assert step.trajectory[-1]["lambda"] != step.trajectory[0]["lambda"]


def test_tangent_step_refuses_misuse():
    val = _toy_splits()[1]
    step = hinton_tangent_step(MetaHintonKD(HintonMeta()), CrossEntropy(), val)
    with pytest.raises(RuntimeError, match="step.objective"):
        step.update({})


def test_jvp_with_tangents_on_some_parameters_only():
    """Biases only, or one layer's weight only: the other terms are absent, not zero tensors."""
    torch.manual_seed(2)
    model = ConvVeryTiny().double()
    x = torch.randn(3, 3, 32, 32, dtype=torch.float64)
    rec = RecordingForward(model)
    _, env = rec.forward(x)
    for pick in (lambda n: n.endswith("bias"), lambda n: n == "blocks.1.0.weight", lambda n: n.startswith("fc2")):
        v = {n: torch.randn_like(p) if pick(n) else torch.zeros_like(p) for n, p in model.named_parameters()}
        ref = _reference_jvp(model, x, v)
        jv = jvp_from(rec, env, {id(p): v[n] for n, p in model.named_parameters() if pick(n)})
        assert float((jv - ref).norm() / ref.norm()) < 1e-10
