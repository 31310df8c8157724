"""Regressors μ map every (teacher layer, student layer) pair of the chapter's models to
the teacher's shape, and train (forward and backward)."""

import pytest
import torch

from kdcore.models import ConvTiny, ConvVeryTiny, resnet10, resnet18
from kdcore.models.regressors import (ConvRegressor, LinearRegressor, feature_shapes, make_regressor, spatial_layer)

PAIRS = [(resnet18, ConvTiny), (resnet18, ConvVeryTiny), (resnet10, ConvTiny), (ConvTiny, ConvVeryTiny),
         (resnet10, ConvVeryTiny)]


def _shapes(model_fn):
    m = model_fn().eval()
    with torch.no_grad():
        names = list(m.features(torch.zeros(2, 3, 32, 32)))
    return feature_shapes(m, names)


@pytest.mark.parametrize("teacher_fn,student_fn", PAIRS, ids=lambda f: getattr(f, "__name__", str(f)))
def test_mu_maps_every_student_layer_to_every_teacher_layer(teacher_fn, student_fn):
    t_shapes, s_shapes = _shapes(teacher_fn), _shapes(student_fn)
    for t_name, t_shape in t_shapes.items():
        for s_name, s_shape in s_shapes.items():
            mu = make_regressor(s_shape, t_shape)
            out = mu(torch.randn(2, *s_shape))
            assert tuple(out.shape) == (2, *t_shape), (t_name, s_name)
            kind = LinearRegressor if len(s_shape) == 1 or len(t_shape) == 1 else ConvRegressor
            assert isinstance(mu, kind)


@pytest.mark.parametrize("src,dst", [((15, 15), (32, 32)), ((2, 2), (32, 32)), ((32, 32), (2, 2)),
                                     ((6, 6), (6, 6)), ((13, 7), (4, 4)), ((3, 9), (6, 4)), ((1, 1), (4, 4))])
def test_spatial_layer_is_exact(src, dst):
    layer = spatial_layer(3, 5, src, dst)
    assert tuple(layer(torch.randn(2, 3, *src)).shape) == (2, 5, *dst)


def test_regressor_trains_and_rejects_bad_shapes():
    mu = make_regressor((8, 15, 15), (64, 32, 32))
    out = mu(torch.randn(4, 8, 15, 15))
    out.pow(2).mean().backward()
    assert all(p.grad is not None for p in mu.parameters())
    with pytest.raises(ValueError, match="student_shape"):
        make_regressor((8, 15), (4,))
    with pytest.raises(ValueError, match="not among"):
        feature_shapes(ConvTiny(), ["conv9"])
