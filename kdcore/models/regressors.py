"""Regressors μ: from any student feature shape to any teacher feature shape.

Variational information distillation (Ahn et al. 2019, CVPR) models a teacher feature
``t`` given a student feature ``s`` as a Gaussian with mean ``μ(s)``; cross-layer
distillation (Oleinik, Gorpinich & Bakhteev 2023) pairs *every* student layer with
*every* teacher layer, so μ must map any shape to any other shape:

- both sides spatial ``(C_s, H_s, W_s) -> (C_t, H_t, W_t)``: three convolutions
  ``C_s -> 2 C_s -> 2 C_t -> C_t`` with BatchNorm + ReLU between them (the stack of the
  authors' ``Mutual_Info`` / ``Mu_Transform``, intsystems/2023-Project-115, ``mut_info.py``).
  The outer two are 1x1; the middle one changes the spatial size *exactly*:

  * same size: a 1x1 convolution;
  * shrinking ``H_s -> H_t``: a convolution with stride ``s = H_s // H_t`` and kernel
    ``k = H_s - s (H_t - 1)``, since ``(H_s - k) / s + 1 = H_t`` (and ``k >= s``);
  * growing ``H_s -> H_t``: a transposed convolution with stride ``s = H_t // H_s`` and
    kernel ``k = H_t - s (H_s - 1)``, since ``(H_s - 1) s + k = H_t``;
  * one axis shrinking and the other growing: adaptive average pooling to
    ``(min(H_s, H_t), min(W_s, W_t))`` first, then growing (never needed by the CIFAR
    models here, which are square).

  The authors spread the size change over all three convolutions (each with a stride of
  about the cube root of the ratio); one exact strided layer is simpler and gives the
  same output shape.
- either side flat ``(D,)``: one ``Linear(prod(student shape), prod(teacher shape))`` on the
  flattened student feature, reshaped to the teacher's shape (as the authors).

Shapes are given without the batch axis.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor, nn

__all__ = ["make_regressor", "LinearRegressor", "ConvRegressor", "spatial_layer", "feature_shapes"]

Shape = Sequence[int]


def _axis(src: int, dst: int) -> tuple[str, int, int]:
    """``(kind, kernel, stride)`` changing one spatial axis from ``src`` to ``dst``."""
    if src == dst:
        return "same", 1, 1
    if src > dst:
        s = src // dst
        return "down", src - s * (dst - 1), s
    s = dst // src
    return "up", dst - s * (src - 1), s


def spatial_layer(c_in: int, c_out: int, src_hw: Shape, dst_hw: Shape) -> nn.Module:
    """A layer mapping ``(B, c_in, *src_hw)`` to ``(B, c_out, *dst_hw)`` exactly (see module doc)."""
    (kh_kind, kh, sh), (kw_kind, kw, sw) = _axis(src_hw[0], dst_hw[0]), _axis(src_hw[1], dst_hw[1])
    kinds = {kh_kind, kw_kind} - {"same"}
    if not kinds:
        return nn.Conv2d(c_in, c_out, 1)
    if kinds == {"down"}:
        return nn.Conv2d(c_in, c_out, (kh, kw), (sh, sw))
    if kinds == {"up"}:
        return nn.ConvTranspose2d(c_in, c_out, (kh, kw), (sh, sw))
    # Mixed: shrink the shrinking axis by pooling, then grow the other one.
    mid = (min(src_hw[0], dst_hw[0]), min(src_hw[1], dst_hw[1]))
    return nn.Sequential(nn.AdaptiveAvgPool2d(mid), spatial_layer(c_in, c_out, mid, dst_hw))


class ConvRegressor(nn.Module):
    """μ for spatial → spatial features: 1x1 conv, size-changing conv, 1x1 conv.

    ``(B, C_s, H_s, W_s) -> (B, C_t, H_t, W_t)`` through widths ``2 C_s`` and ``2 C_t``
    with BatchNorm + ReLU after the first two layers; the last layer is linear, so μ
    can reach any real-valued target.
    """

    def __init__(self, student_shape: Shape, teacher_shape: Shape, width: int = 2) -> None:
        super().__init__()
        (cs, *hw_s), (ct, *hw_t) = student_shape, teacher_shape
        self.net = nn.Sequential(
            nn.Conv2d(cs, width * cs, 1), nn.BatchNorm2d(width * cs), nn.ReLU(),
            spatial_layer(width * cs, width * ct, hw_s, hw_t), nn.BatchNorm2d(width * ct), nn.ReLU(),
            nn.Conv2d(width * ct, ct, 1))

    def forward(self, s: Tensor) -> Tensor:
        return self.net(s)


class LinearRegressor(nn.Module):
    """μ where either side is flat: ``Linear`` on the flattened student feature.

    ``(B, *student_shape) -> (B, *teacher_shape)``.
    """

    def __init__(self, student_shape: Shape, teacher_shape: Shape) -> None:
        super().__init__()
        self.teacher_shape = tuple(int(d) for d in teacher_shape)
        self.linear = nn.Linear(math.prod(student_shape), math.prod(teacher_shape))

    def forward(self, s: Tensor) -> Tensor:
        return self.linear(s.flatten(1)).view(len(s), *self.teacher_shape)


def make_regressor(student_shape: Shape, teacher_shape: Shape, width: int = 2) -> nn.Module:
    """μ from a student feature of ``student_shape`` to a teacher feature of ``teacher_shape``.

    Args:
        student_shape: ``(C, H, W)`` or ``(D,)``, without the batch axis.
        teacher_shape: likewise.
        width: channel multiplier of the hidden convolutions (2, as the authors).

    Returns:
        A module mapping ``(B, *student_shape)`` to ``(B, *teacher_shape)``.
    """
    student_shape, teacher_shape = tuple(student_shape), tuple(teacher_shape)
    for name, shape in (("student_shape", student_shape), ("teacher_shape", teacher_shape)):
        if len(shape) not in (1, 3) or any(int(d) < 1 for d in shape):
            raise ValueError(f"parameter {name!r} = {shape} must be (C, H, W) or (D,) with positive sizes")
    if len(student_shape) == 1 or len(teacher_shape) == 1:
        return LinearRegressor(student_shape, teacher_shape)
    return ConvRegressor(student_shape, teacher_shape, width)


def feature_shapes(model: nn.Module, names: Sequence[str], input_shape: Shape = (3, 32, 32)) -> dict[str, tuple]:
    """Shapes (without the batch axis) of ``model.features`` for one dummy input.

    Runs in eval mode on two zero images (BatchNorm needs no statistics then).
    """
    was = model.training
    model.eval()
    device = next(model.parameters()).device
    with torch.no_grad():
        feats = model.features(torch.zeros(2, *input_shape, device=device))
    model.train(was)
    missing = [n for n in names if n not in feats]
    if missing:
        raise ValueError(f"features {missing} are not among the model's features {list(feats)}")
    return {n: tuple(feats[n].shape[1:]) for n in names}

