"""The sampled, pooled all-to-all VID: shapes at the smaller resolution, the unbiased estimate
of the full sum (in value and in λ), and bad input named."""

import math

import pytest
import torch

from kdcore.losses.cross_layer_sampled import PooledRegressor, SampledCrossLayerVID, pooled_shape
from kdcore.losses.vid import vid_nll
from kdcore.models import ConvTiny

T_SHAPES = {"a": (8, 16, 16), "b": (12, 4, 4), "z": (5,)}


class Teacherish(torch.nn.Module):
    """Fixed random features of a batch, as a cached teacher would give."""

    def features(self, x):
        g = torch.Generator().manual_seed(int(x.abs().sum() * 1000) % 2**31)
        return {n: torch.randn(len(x), *s, generator=g) for n, s in T_SHAPES.items()}


def _objective(k=None, lam=None, seed=0):
    s_shapes = {"conv1": (16, 15, 15), "conv2": (32, 6, 6), "fc1": (128,)}
    pairs = [(t, s) for t in T_SHAPES for s in s_shapes]
    lam = torch.linspace(0.1, 1.0, len(pairs)) if lam is None else lam
    return SampledCrossLayerVID(pairs, T_SHAPES, s_shapes, lam, beta=0.5, k=k, seed=seed, teacher=Teacherish())


def test_pooled_shapes_meet_at_the_smaller_resolution():
    assert pooled_shape((16, 15, 15), (64, 32, 32)) == (64, 15, 15)
    assert pooled_shape((64, 32, 32), (16, 15, 15)) == (16, 15, 15)
    assert pooled_shape((128,), (64, 32, 32)) == (64,) and pooled_shape((16, 15, 15), (10,)) == (10,)
    reg = PooledRegressor((16, 15, 15), (64, 32, 32))
    assert reg(torch.randn(2, 16, 15, 15)).shape == (2, 64, 15, 15)
    assert PooledRegressor((64, 32, 32), (16, 15, 15))(torch.randn(2, 64, 32, 32)).shape == (2, 16, 15, 15)
    assert PooledRegressor((128,), (64, 32, 32))(torch.randn(2, 128)).shape == (2, 64)
    assert PooledRegressor((16, 15, 15), (10,))(torch.randn(2, 16, 15, 15)).shape == (2, 10)


def test_every_pair_gives_the_plain_weighted_sum():
    torch.manual_seed(0)
    obj, model = _objective(k=None), ConvTiny()
    batch = {"x": torch.randn(4, 3, 32, 32), "y": torch.tensor([0, 1, 2, 3])}
    out = obj(model, batch)
    feats, t = model.features(batch["x"]), Teacherish().features(batch["x"])
    var = torch.nn.functional.softplus(obj.rho) + 1e-6
    from kdcore.losses.cross_layer_sampled import _pool_to
    manual = sum(obj.lam[p] * vid_nll(r(feats[s]), _pool_to(t[tn], r.target_shape), var[p:p + 1])
                 for p, ((tn, s), r) in enumerate(zip(obj.pairs, obj.regressors)))
    assert float(out["vid"].detach()) == pytest.approx(0.5 * float(manual.detach()), rel=1e-5)


def test_sampled_estimate_is_unbiased_in_value_and_in_lambda():
    torch.manual_seed(0)
    model = ConvTiny().eval()
    batch = {"x": torch.randn(3, 3, 32, 32), "y": torch.tensor([0, 1, 2])}
    full = _objective(k=None)
    full.eval()
    lam = full.lam.clone().requires_grad_(True)
    full_v = torch.func.functional_call(full, {**dict(full.named_parameters()), "lam": lam}, (model, batch))["vid"]
    (g_full,) = torch.autograd.grad(full_v, lam)
    est, grads = [], []
    sampled = _objective(k=3)
    sampled.load_state_dict(full.state_dict())
    sampled.eval()
    for _ in range(3000):
        lam_s = sampled.lam.clone().requires_grad_(True)
        v = torch.func.functional_call(sampled, {**dict(sampled.named_parameters()), "lam": lam_s}, (model, batch))["vid"]
        est.append(float(v))
        grads.append(torch.autograd.grad(v, lam_s)[0])
    mean, sd = sum(est) / len(est), torch.tensor(est).std().item()
    assert abs(mean - float(full_v)) < 4 * sd / math.sqrt(len(est))       # unbiased (4 standard errors)
    g = torch.stack(grads)
    z = (g.mean(0) - g_full) / (g.std(0) / math.sqrt(len(g)) + 1e-12)
    assert z.abs().max() < 4.5                                            # ∂V̂/∂λ_p unbiased for every pair
    assert sd > 0                                                         # it is an estimate, not the sum


def test_draws_follow_lambda_and_are_reproducible():
    lam = torch.zeros(9)
    lam[2] = 1.0
    obj = _objective(k=4, lam=lam)
    assert obj.draw(obj.lam).tolist() == [0, 0, 4, 0, 0, 0, 0, 0, 0]       # all mass on pair 2
    a, b = _objective(k=5, seed=7), _objective(k=5, seed=7)
    assert [a.draw(a.lam).tolist() for _ in range(3)] == [b.draw(b.lam).tolist() for _ in range(3)]


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="lam"):
        _objective(lam=torch.zeros(9))
    with pytest.raises(ValueError, match="'k'"):
        _objective(k=0)
    with pytest.raises(ValueError, match="pairs"):
        SampledCrossLayerVID([], T_SHAPES, {}, [], 0.5)
