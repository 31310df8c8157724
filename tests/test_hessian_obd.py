"""Hessian diagonal (exact vs torch.autograd.functional.hessian), Hutchinson, OBD pruning."""

import pytest
import torch

from kdcore.models import MLP
from kdcore.obd import hessian as H
from kdcore.obd import saliency as obd


@pytest.fixture
def tiny():
    torch.manual_seed(0)
    model = MLP([6, 5, 3])
    x, y = torch.randn(30, 6), torch.randint(0, 3, (30,))
    params = {k: v.detach() for k, v in model.named_parameters()}
    return model, H.loss_of_params(model, x, y), params


def _full_hessian(loss_fn, params):
    flat = H.flatten(params)
    return torch.autograd.functional.hessian(lambda v: loss_fn(H.unflatten_like(v, params)), flat)


def test_exact_diagonal_matches_autograd_hessian(tiny):
    _, f, params = tiny
    full = _full_hessian(f, params)
    diag = H.flatten(H.hessian_diagonal(f, params, chunk=7))  # chunk not dividing P on purpose
    torch.testing.assert_close(diag, full.diagonal(), atol=1e-6, rtol=1e-5)


def test_hvp_matches_hessian_times_vector(tiny):
    _, f, params = tiny
    full = _full_hessian(f, params)
    v = torch.randn(full.shape[0])
    got = H.flatten(H.hvp(f, params, H.unflatten_like(v, params)))
    torch.testing.assert_close(got, full @ v, atol=1e-5, rtol=1e-4)


def test_hutchinson_diagonal_and_trace_are_close_with_many_probes(tiny):
    model, f, params = tiny
    full = _full_hessian(f, params)
    est = H.flatten(H.hutchinson_diagonal(f, params, n_probes=3000, seed=1))
    assert (est - full.diagonal()).abs().max() < 0.1 * full.diagonal().abs().max() + 1e-3
    loss = f(dict(model.named_parameters()))
    tr = H.hutchinson_trace(loss, list(model.parameters()), n_probes=3000,
                            generator=torch.Generator().manual_seed(0))
    assert tr.item() == pytest.approx(full.trace().item(), rel=0.1)


def test_hutchinson_trace_is_differentiable(tiny):
    model, f, _ = tiny
    loss = f(dict(model.named_parameters()))
    tr = H.hutchinson_trace(loss, list(model.parameters()), create_graph=True,
                            generator=torch.Generator().manual_seed(0))
    (g,) = torch.autograd.grad(tr, [model.layers[0].weight])
    assert g.shape == model.layers[0].weight.shape and torch.isfinite(g).all()


def test_obd_saliency_formula_and_masks():
    params = {"w": torch.tensor([1.0, -2.0, 3.0, 0.5])}
    hdiag = {"w": torch.tensor([4.0, 1.0, 0.1, 10.0])}
    sal = obd.obd_saliency(params, hdiag)["w"]
    torch.testing.assert_close(sal, torch.tensor([2.0, 2.0, 0.45, 1.25]))
    keep = obd.prune_masks({"w": sal}, 0.5)["w"]
    assert keep.tolist() == [True, True, False, False]
    assert obd.prune_masks({"w": sal}, 0.0)["w"].all()
    with pytest.raises(ValueError, match="fraction"):
        obd.prune_masks({"w": sal}, 1.5)


def test_apply_masks_zeroes_only_masked_weights_and_copies():
    model = MLP([4, 3, 2])
    names = obd.weight_names(model)
    assert names == ["layers.0.weight", "layers.1.weight"]
    masks = obd.prune_masks(obd.magnitude_saliency({k: p for k, p in model.named_parameters() if k in names}),
                            0.5, names)
    pruned = obd.apply_masks(model, masks)
    n_zero = sum(int((dict(pruned.named_parameters())[k] == 0).sum()) for k in names)
    assert n_zero == round(0.5 * (12 + 6))
    assert all((p != 0).all() for k, p in model.named_parameters() if k in names)  # original untouched
