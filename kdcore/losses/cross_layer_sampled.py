"""All-to-all cross-layer VID at a student-sized cost: pairs matched at the smaller resolution,
and k of the P pairs evaluated per step, drawn ∝ λ and reweighted so the sum is unbiased.

The corrected all-to-all objective of :mod:`kdcore.losses.cross_layer`,

    L = (1 - β) · CE(y, g(x)) + β · Σ_p λ_p · VID_p ,      p = (t_j, s_i), P = T · S pairs,

costs 100-500 student steps per step on a CPU (ResNet10 → ConvTiny: 36 regressors, the
widest at the teacher's 32 × 32 resolution). Two levers, each a labelled variant whose
effect on the result is measured before it is used (``make bench`` row e, and the
chapters' reduced comparison):

1. **The smaller resolution** (:class:`PooledRegressor`): each pair is compared at the
   smaller of its two spatial sizes, the larger map average-pooled to it (the field's
   practice: RepDistiller's ``VID.py`` pools the larger map with ``adaptive_avg_pool2d``),
   then a 1×1 stack ``C_s → 2C_s → 2C_t → C_t`` (the authors' channel stack). A flat side
   (``fc1``, logits) meets the other side's channel means (global average pooling) through
   one ``Linear``.
2. **Sampled pairs** (:class:`SampledCrossLayerVID`): each step draws ``k`` pair indices
   with replacement from ``q_p = λ_p / Σλ`` and uses

       V̂ = Σ_p (c_p / (k · q_p)) · λ_p · VID_p ,     c_p = how often p was drawn,

   an unbiased estimate of ``Σ_p λ_p VID_p`` (``E[c_p] = k q_p``); ``q`` is taken without
   gradient, so ``∂V̂/∂λ_p = c_p VID_p / (k q_p)`` is also unbiased for ``VID_p`` (the
   hypergradient's need). Only the drawn pairs run their regressor: a step costs about
   ``k / P`` of the full sum's feature work. ``k = None`` evaluates every pair (the
   pooled full sum).

The objective interface is :mod:`kdcore.losses`' (``objective(model, batch) -> dict``);
teacher features come from the batch (``batch["teacher/<name>"]``, cached once) or a frozen
teacher, as in :class:`~kdcore.losses.cross_layer.CrossLayerVID`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..base.checks import check_int, check_range
from .vid import inverse_softplus, vid_nll

__all__ = ["PooledRegressor", "pooled_shape", "SampledCrossLayerVID"]

Shape = Sequence[int]


def pooled_shape(student_shape: Shape, teacher_shape: Shape) -> tuple[int, ...]:
    """The target's shape once both sides are at the smaller resolution: ``(C_t, h, w)`` with
    ``h = min(H_s, H_t)``, ``w = min(W_s, W_t)``; ``(C_t,)`` if either side is flat (a flat
    teacher keeps its ``(D,)``)."""
    if len(teacher_shape) == 1:
        return (int(teacher_shape[0]),)
    if len(student_shape) == 1:
        return (int(teacher_shape[0]),)
    return (int(teacher_shape[0]), min(student_shape[1], teacher_shape[1]), min(student_shape[2], teacher_shape[2]))


def _pool_to(x: Tensor, shape: tuple[int, ...]) -> Tensor:
    """``x`` ``(B, C, H, W)`` average-pooled to ``shape`` (``(C, h, w)``, or ``(C,)``: global)."""
    if x.dim() == 2:
        return x
    if len(shape) == 1:
        return x.mean(dim=(2, 3))
    return x if tuple(x.shape[2:]) == tuple(shape[1:]) else F.adaptive_avg_pool2d(x, shape[1:])


class PooledRegressor(nn.Module):
    """μ at the smaller resolution: ``(B, *student_shape) → (B, *pooled_shape(...))``.

    Spatial both sides: the student map pooled to ``(h, w)`` if larger, then 1×1 convs
    ``C_s → 2C_s → 2C_t → C_t`` with BatchNorm + ReLU between (linear last). Otherwise the
    student's channel means (or its flat feature) through one ``Linear``.
    """

    def __init__(self, student_shape: Shape, teacher_shape: Shape, width: int = 2) -> None:
        super().__init__()
        self.student_shape, self.target_shape = tuple(student_shape), pooled_shape(student_shape, teacher_shape)
        if len(self.target_shape) == 3:
            cs, ct = int(student_shape[0]), int(self.target_shape[0])
            self.net = nn.Sequential(nn.Conv2d(cs, width * cs, 1), nn.BatchNorm2d(width * cs), nn.ReLU(),
                                     nn.Conv2d(width * cs, width * ct, 1), nn.BatchNorm2d(width * ct), nn.ReLU(),
                                     nn.Conv2d(width * ct, ct, 1))
        else:
            d_in = int(student_shape[0])     # channels of a spatial side, or the flat width
            self.net = nn.Linear(d_in, int(self.target_shape[0]))

    def forward(self, s: Tensor) -> Tensor:
        if len(self.target_shape) == 3:
            return self.net(_pool_to(s, self.target_shape))
        return self.net(s if s.dim() == 2 else s.mean(dim=(2, 3)))


class SampledCrossLayerVID(nn.Module):
    """``(1 - β) CE + β · V̂`` with pooled regressors and ``k`` sampled pairs (module doc).

    Args:
        pairs: ``[(teacher layer, student layer), ...]``.
        teacher_shapes / student_shapes: ``{name: shape without the batch axis}``.
        lam: ``(P,)`` non-negative weights λ_p (a buffer), at least one positive.
        beta: weight of the feature term, in [0, 1].
        k: pairs drawn per step (``None``: every pair, no sampling).
        seed: seed of the pair draws (reproducible runs).
        init_variance: σ² of every pair at the start (one learned scalar per pair).
        teacher: frozen teacher used when the batch holds no cached features.

    Returns (``forward``): ``{"ce": (1-β) CE, "vid": β V̂}``; ``last_draw`` holds the
    drawn pair counts ``(P,)`` of the last step.
    """

    def __init__(self, pairs: Sequence[tuple[str, str]], teacher_shapes: dict[str, Shape],
                 student_shapes: dict[str, Shape], lam: Sequence[float] | Tensor, beta: float,
                 k: int | None = None, seed: int = 0, init_variance: float = math.log(2.0),
                 teacher: nn.Module | None = None, prefix: str = "teacher/") -> None:
        super().__init__()
        if not pairs:
            raise ValueError("parameter 'pairs' must hold at least one (teacher, student) pair")
        check_range("beta", beta, 0, 1)
        if k is not None:
            check_int("k", k, 1)
        self.pairs = [(str(t), str(s)) for t, s in pairs]
        self.beta, self.k, self.prefix = float(beta), k, prefix
        self.regressors = nn.ModuleList(PooledRegressor(student_shapes[s], teacher_shapes[t]) for t, s in self.pairs)
        self.rho = nn.Parameter(torch.full((len(self.pairs),), inverse_softplus(init_variance - 1e-6)))
        self.register_buffer("lam", torch.zeros(len(self.pairs)))
        self.set_lambda(lam)
        self._teacher = [teacher] if teacher is not None else []
        self._gen = torch.Generator().manual_seed(seed)
        self.last_draw = torch.zeros(len(self.pairs))

    def set_lambda(self, lam: Sequence[float] | Tensor) -> None:
        """Replace λ in place (shape ``(P,)``, finite, non-negative, not all zero)."""
        lam = torch.as_tensor(lam, dtype=torch.float32).flatten()
        if lam.shape != self.lam.shape:
            raise ValueError(f"parameter 'lam' has {lam.numel()} weights for {len(self.pairs)} pairs")
        if (lam < 0).any() or not torch.isfinite(lam).all() or float(lam.sum()) <= 0:
            raise ValueError("parameter 'lam' must hold finite, non-negative weights, at least one positive")
        self.lam.copy_(lam.to(self.lam.device))

    def draw(self, lam: Tensor) -> Tensor:
        """Counts ``c_p`` ``(P,)`` of this step's draws (all ones when every pair is used)."""
        if self.k is None:
            return torch.ones(len(self.pairs), device=lam.device)
        q = (lam.detach() / lam.detach().sum()).float().cpu()
        idx = torch.multinomial(q, self.k, replacement=True, generator=self._gen)
        return torch.bincount(idx, minlength=len(self.pairs)).to(lam.device, torch.float32)

    def _teacher_feats(self, batch: dict[str, Tensor], names: Sequence[str]) -> dict[str, Tensor]:
        if all(self.prefix + n in batch for n in names):
            return {n: batch[self.prefix + n] for n in names}
        if not self._teacher:
            raise KeyError(f"batch has no cached teacher features {[self.prefix + n for n in names]} "
                           "and SampledCrossLayerVID was given no teacher")
        x = batch["x"]
        with torch.no_grad(), torch.autocast(x.device.type, dtype=torch.bfloat16):
            feats = self._teacher[0].features(x)
        return {n: feats[n] for n in names}

    def forward(self, model: nn.Module, batch: dict[str, Tensor]) -> dict[str, Tensor]:
        feats = model.features(batch["x"])
        ce = F.cross_entropy(feats["logits"].float(), batch["y"])
        lam = self.lam
        counts = self.draw(lam)
        self.last_draw = counts.detach().cpu()
        used = [p for p in range(len(self.pairs)) if counts[p] > 0]
        t_feats = self._teacher_feats(batch, list(dict.fromkeys(self.pairs[p][0] for p in used)))
        variance = F.softplus(self.rho) + 1e-6
        if self.k is None:
            scale = lam
        else:   # c_p λ_p / (k q_p), q without gradient: unbiased for Σ λ_p VID_p, and in λ
            q = lam.detach() / lam.detach().sum()
            scale = counts * lam / (self.k * q.clamp_min(1e-30))
        terms = []
        for p in used:
            t_name, s_name = self.pairs[p]
            reg = self.regressors[p]
            target = _pool_to(t_feats[t_name].float(), reg.target_shape)
            terms.append(scale[p] * vid_nll(reg(feats[s_name]), target, variance[p:p + 1]))
        vid = torch.stack(terms).sum()
        return {"ce": (1 - self.beta) * ce, "vid": self.beta * vid}
