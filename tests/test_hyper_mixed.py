"""The mixed-Jacobian hypergradient (kdcore.hyper.mixed) equals the double-backward one,
its objective gives the loop the plain losses and gradient, and it drives fit as HyperStep."""

from __future__ import annotations

import copy

import pytest
import torch

from kdcore.hyper import HintonMeta, HyperConfig, HyperStep, Lower, SimplexWeights, hypergradient, inner_step
from kdcore.hyper.mixed import MixedHyperStep
from kdcore.losses import CrossEntropy, MetaHintonKD
from kdcore.losses.meta_hinton_mixed import hinton_hyper_step

from kdcore.training.loop import TrainConfig, fit

from test_hyper import TinyNet, _batch, _rel, _run, _setup, _toy_splits


def _mixed_on(model, objective, opt, tb, vb):
    """Run one training step's products and the upper step's hypergradient (no meta step)."""
    val = _toy_splits()[1].to("cpu")
    step = hinton_hyper_step(objective, CrossEntropy(), val, HyperConfig(lr=0.0))
    step.on_fit_start(model, opt)
    step.val_batch = lambda: vb                        # the very validation batch of the reference
    parts = step.objective(model, tb)
    opt.zero_grad(set_to_none=True)
    sum(parts.values()).backward()
    grads = [p.grad.clone() for p in step._params]
    captured = {}
    step._meta_opt.step = lambda: captured.update({i: p.grad.clone() for i, p in enumerate(step.meta.parameters())})
    step.update(tb)
    return parts, grads, [captured[i] for i in range(len(captured))]


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_mixed_equals_double_backward(optimizer):
    model, meta, objective, opt = _setup(optimizer, "hinton")
    tb, vb = _batch(16, 1), _batch(12, 2, teacher=False)
    ref_model = copy.deepcopy(model)
    lower = Lower(ref_model, objective)
    ref_opt = copy.deepcopy(opt)                          # same state (momentum / moments)
    ref_opt.param_groups[0]["params"] = list(ref_model.parameters())
    ref_opt.state = {q: opt.state[p] for p, q in zip(model.parameters(), ref_model.parameters())}
    step = inner_step(ref_opt, list(lower.trainable().values()))
    # The reference reads the BatchNorm statistics the training forward leaves behind.
    plain = objective(ref_model, tb)
    g = torch.autograd.grad(sum(plain.values()), list(ref_model.parameters()))
    exact, _ = hypergradient(lower, objective, CrossEntropy(), list(meta.parameters()), step, tb, vb, "exact")
    parts, grads, mixed = _mixed_on(model, objective, opt, tb, vb)
    assert _rel(mixed, exact) < 1e-10
    assert all(x.abs().sum() > 0 for x in mixed)
    # The loop sees the plain losses and steps with the plain gradient.
    assert {k: float(v.detach()) for k, v in parts.items()} == pytest.approx({k: float(v.detach()) for k, v in plain.items()},
                                                                        rel=1e-12)
    assert _rel(grads, list(g)) < 1e-12


def test_mixed_hyperstep_follows_hyperstep_exact():
    cfg = HyperConfig(lr=5.0, optimizer="sgd", record_every=1, val_batch_size=16, method="exact")
    _, hist_a, (a,) = _run(HintonMeta(0.5, 1.0), lambda m, o, v: [HyperStep(m, o, CrossEntropy(), v, cfg)])

    torch.manual_seed(0)                                  # as _run: same model, data and seed
    train, val = _toy_splits()
    meta = HintonMeta(0.5, 1.0)
    b = hinton_hyper_step(MetaHintonKD(meta), CrossEntropy(), val, cfg)
    hist_b = fit(TinyNet(), train, b.objective, TrainConfig(epochs=3, batch_size=16, lr=0.5, optimizer="sgd",
                                                            device="cpu", progress=False, seed=3), val, callbacks=[b])
    assert b.hyper_steps == a.hyper_steps == 12
    for ra, rb in zip(a.trajectory, b.trajectory):
        assert rb["lambda"] == pytest.approx(ra["lambda"], rel=1e-4, abs=1e-6)
        assert rb["temperature"] == pytest.approx(ra["temperature"], rel=1e-4, abs=1e-6)
    assert a.trajectory[0]["lambda"] != a.trajectory[-1]["lambda"]
    assert hist_b.train_loss == pytest.approx(hist_a.train_loss, rel=1e-4)


def test_mixed_refuses_what_it_cannot_do():
    val = _toy_splits()[1]
    with pytest.raises(ValueError, match="hyper_every"):
        hinton_hyper_step(MetaHintonKD(HintonMeta()), CrossEntropy(), val, HyperConfig(every=2))
    with pytest.raises(ValueError, match="forward_mode"):
        MixedHyperStep(SimplexWeights((2, 3)), lambda m, b: m(b["x"]), lambda z, b, v: {}, CrossEntropy(), val)
    step = hinton_hyper_step(MetaHintonKD(HintonMeta()), CrossEntropy(), val)
    with pytest.raises(RuntimeError, match="step.objective"):
        step.update({})
