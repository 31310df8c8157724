"""Variational information distillation (VID): Ahn, Hu, Damianou, Lawrence & Dai (2019),
"Variational information distillation for knowledge transfer", CVPR.

VID maximises a variational lower bound on the mutual information ``I(t; s)`` between a
teacher feature ``t`` and a student feature ``s`` (Barber & Agakov 2004): with a Gaussian
``q(t | s) = N(t; μ(s), diag σ²)``, maximising ``E[log q(t | s)]`` means minimising the
negative log-likelihood (Ahn et al., eq. 4-5, the constant ``½ log 2π`` dropped)

    NLL = (1/B) Σ_b Σ_f [ (t_bf - μ_bf)² / (2 σ²_f) + ½ log σ²_f ],

summed over the feature elements ``f`` of one sample (channels x height x width) and
averaged over the batch. ``σ²`` is learned with the regressor μ:

- ``variance="channel"``: one ``σ²_c = softplus(ρ_c) + ε`` per teacher channel, shared
  over the spatial positions, as in Ahn et al. (one per unit for a flat feature);
- ``variance="scalar"``: one ``σ² = softplus(ρ) + ε`` for the whole feature, as in the
  code of Oleinik, Gorpinich & Bakhteev (intsystems/2023-Project-115, ``test_distill.ipynb``,
  ``resnet_test.ipynb``).

``faithful=True`` reproduces that code's expression exactly (a bug, labelled wherever it
is used): ``‖t - μ‖² · σ² / 2 + ½ log σ²`` per sample, i.e. the squared error is
*multiplied* by σ² instead of divided, and the log term is counted once, not once per
element. Its gradient in σ² is ``‖t - μ‖²/2 + 1/(2σ²) > 0``, so the optimiser shrinks σ²
throughout training and the feature term fades instead of being normalised.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..base.checks import check_choice, check_range
from ..models.regressors import make_regressor

__all__ = ["vid_nll", "VIDTerm", "inverse_softplus", "VARIANCES", "REDUCTIONS"]

VARIANCES = ("scalar", "channel")
REDUCTIONS = ("sum", "mean")


def inverse_softplus(y: float) -> float:
    """``ρ`` with ``softplus(ρ) = y`` (``y > 0``); ``inverse_softplus(log 2) = 0``."""
    check_range("y", y, 0, None, low_open=True)
    return y + math.log(-math.expm1(-y))


def vid_nll(mu: Tensor, target: Tensor, variance: Tensor, *, faithful: bool = False,
            reduction: str = "sum") -> Tensor:
    """Gaussian negative log-likelihood of ``target`` under ``N(mu, variance)``.

    Args:
        mu: ``(B, C, H, W)`` or ``(B, D)``, the regressor's output μ(s).
        target: same shape, the teacher feature t (no gradient is needed through it).
        variance: ``σ² > 0``, shape ``(1,)`` (one scalar) or ``(C,)`` (per channel / unit).
        faithful: the authors' expression ``‖t - μ‖² σ² / 2 + ½ log σ²`` (scalar σ² only).
        reduction: ``"sum"`` sums over the feature elements and averages over the batch
            (Ahn et al. eq. 5; the authors' code); ``"mean"`` averages over all elements
            (``sum / (C H W)``; the scale of common public VID implementations).

    Returns:
        A scalar (computed in float32 under autocast).
    """
    check_choice("reduction", reduction, REDUCTIONS)
    if mu.shape != target.shape:
        raise ValueError(f"mu has shape {tuple(mu.shape)} but the teacher feature has {tuple(target.shape)}")
    if faithful and (variance.numel() != 1 or reduction != "sum"):
        raise ValueError("faithful=True reproduces the authors' single scalar variance and their reduction: "
                         "use variance='scalar' and reduction='sum'")
    # Half precision (autocast) is upcast; float64 stays float64 (hypergradient tests).
    mu, target, variance = (x.float() if x.dtype in (torch.float16, torch.bfloat16) else x
                            for x in (mu, target, variance))
    b, d = mu.shape[0], mu[0].numel()
    # Sums of squares first, then the variance: a few large-tensor ops per pair instead of
    # one per term of the equation (an all-to-all step has dozens of pairs).
    if variance.numel() == 1:
        s2 = variance.reshape(())
        sse = F.mse_loss(mu, target, reduction="sum") / b          # (1/B) Σ_b ‖t_b - μ_b‖²
        if faithful:
            return sse * s2 / 2 + 0.5 * torch.log(s2)
        nll = sse / (2 * s2) + 0.5 * d * torch.log(s2)
    else:
        if variance.numel() != mu.shape[1]:
            raise ValueError(f"{variance.numel()} variances for {mu.shape[1]} channels")
        per_channel = (target - mu).pow(2).sum(dim=[0, *range(2, mu.dim())]) / b   # (C,)
        positions = d // mu.shape[1]                                              # H·W (1 when flat)
        nll = (per_channel / (2 * variance)).sum() + 0.5 * positions * torch.log(variance).sum()
    return nll / d if reduction == "mean" else nll


class VIDTerm(nn.Module):
    """One VID pair: a regressor μ (student shape → teacher shape) and a learned variance.

    ``forward(s, t)`` returns :func:`vid_nll` of ``t`` given ``μ(s)``. The variance
    parameter ``rho`` is an ``nn.Parameter``, so any optimiser given this module's
    parameters trains it (a bug seen in public VID code is to forget it).

    Args:
        student_shape / teacher_shape: feature shapes without the batch axis.
        variance: ``"scalar"`` (one σ², the authors) or ``"channel"`` (Ahn et al.).
        init_variance: σ² at initialisation (``log 2``: ρ = 0, the authors' zeros init).
        eps: floor added to the softplus (0 in faithful mode, as the authors had none).
        faithful: the authors' σ²-multiplied expression (see :func:`vid_nll`).
        reduction: ``"sum"`` or ``"mean"`` (see :func:`vid_nll`).
    """

    def __init__(self, student_shape: Sequence[int], teacher_shape: Sequence[int], variance: str = "scalar",
                 init_variance: float = math.log(2.0), eps: float = 1e-6, faithful: bool = False,
                 reduction: str = "sum") -> None:
        super().__init__()
        check_choice("variance", variance, VARIANCES)
        check_choice("reduction", reduction, REDUCTIONS)
        check_range("eps", eps, 0)
        self.faithful, self.reduction = faithful, reduction
        self.eps = 0.0 if faithful else float(eps)
        check_range("init_variance", init_variance, self.eps, None, low_open=True)
        self.mu = make_regressor(student_shape, teacher_shape)
        n = 1 if variance == "scalar" else int(teacher_shape[0])
        self.rho = nn.Parameter(torch.full((n,), inverse_softplus(init_variance - self.eps)))

    @property
    def variance(self) -> Tensor:
        """``σ² = softplus(ρ) + ε``, shape ``(1,)`` or ``(C,)``."""
        return F.softplus(self.rho) + self.eps

    def forward(self, s: Tensor, t: Tensor) -> Tensor:
        return vid_nll(self.mu(s), t, self.variance, faithful=self.faithful, reduction=self.reduction)
