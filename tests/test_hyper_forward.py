"""The forward-over-reverse hypergradient (kdcore.hyper.forward_mode) equals the
double-backward one, reuses the loop's gradient, leaves the model untouched, and drives
fit as HyperStep does."""

from __future__ import annotations

import copy

import pytest
import torch

from kdcore.hyper import HintonMeta, HyperConfig, HyperStep, Lower, hypergradient, inner_step, sgd_step
from kdcore.hyper.forward_mode import ForwardHyperStep, hypergradient_forward
from kdcore.losses import CrossEntropy

from test_hyper import _batch, _central_difference, _rel, _run, _setup, cross_layer_problem


@pytest.mark.parametrize("meta_kind", ["hinton", "simplex"])
@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_forward_mode_equals_double_backward(optimizer, meta_kind):
    model, meta, objective, opt = _setup(optimizer, meta_kind)
    lower = Lower(model, objective)
    state = copy.deepcopy(model.state_dict())
    step = inner_step(opt, list(lower.trainable().values()))
    tb, vb = _batch(16, 1), _batch(12, 2, teacher=False)
    args = (lower, objective, CrossEntropy(), list(meta.parameters()), step, tb, vb)
    exact, v1 = hypergradient(*args, method="exact")
    fwd, v2 = hypergradient_forward(*args)
    assert _rel(fwd, exact) < 1e-10 and float(v1) == pytest.approx(float(v2), rel=1e-12)
    assert all(x.abs().sum() > 0 for x in fwd) and all(not x.requires_grad for x in fwd)
    # The loop's gradient, passed in, gives the same number without recomputing it.
    w = list(lower.trainable().values())
    g = torch.autograd.grad(sum(objective(model, tb).values()), w)
    state_after_grad = copy.deepcopy(model.state_dict())   # that forward moved the BN statistics
    reused, _ = hypergradient_forward(*args, train_grad=g)
    assert _rel(reused, exact) < 1e-10
    for k, v in model.state_dict().items():                 # neither call changed weights or statistics
        assert torch.equal(v, state_after_grad[k]), k
    assert all(torch.equal(state[k], state_after_grad[k]) for k in state if "running" not in k and "batches" not in k)


@pytest.mark.parametrize("meta_kind", ["simplex", "beta"])
def test_forward_mode_on_the_cross_layer_objective(meta_kind):
    student, objective, meta, batch, vb = cross_layer_problem(meta_kind)
    lower = Lower(student, objective)
    step = sgd_step(0.05)
    fwd, _ = hypergradient_forward(lower, objective, CrossEntropy(), list(meta.parameters()), step, batch, vb)
    numeric = _central_difference(lower, objective, meta, step, batch, vb)
    assert _rel(fwd, numeric) < 1e-3


def test_forward_hyperstep_follows_hyperstep_exact():
    cfg = HyperConfig(lr=5.0, optimizer="sgd", record_every=1, val_batch_size=16, method="exact")
    _, hist_a, (a,) = _run(HintonMeta(0.5, 1.0), lambda m, o, v: [HyperStep(m, o, CrossEntropy(), v, cfg)])
    _, hist_b, (b,) = _run(HintonMeta(0.5, 1.0), lambda m, o, v: [ForwardHyperStep(m, o, CrossEntropy(), v, cfg)])
    assert b.hyper_steps == a.hyper_steps == 12
    for ra, rb in zip(a.trajectory, b.trajectory):
        assert rb["lambda"] == pytest.approx(ra["lambda"], rel=1e-4, abs=1e-6)
        assert rb["temperature"] == pytest.approx(ra["temperature"], rel=1e-4, abs=1e-6)
    assert a.trajectory[0]["lambda"] != a.trajectory[-1]["lambda"]
    assert hist_b.test_metric == pytest.approx(hist_a.test_metric, abs=0.05)
