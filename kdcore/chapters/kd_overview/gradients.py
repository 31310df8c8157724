"""Numerical checks of Hinton et al.'s two formulas: the 1/T^2 gradient scale and the
high-temperature limit where distillation becomes logit matching (Buciluă et al. 2006)."""

from __future__ import annotations

import pandas as pd
import torch

from ...losses import kd_loss

__all__ = ["soft_gradient", "gradient_scaling_table"]


def soft_gradient(z: torch.Tensor, v: torch.Tensor, temperature: float, t2: bool) -> torch.Tensor:
    """``d/dz`` of the soft KD term for student logits ``z`` ``(B, C)``, teacher ``v``.

    With ``t2`` the term is weighted by ``T^2`` as in Hinton et al.; computed by autograd
    through :func:`kdcore.losses.kd_loss` (alpha = 1), summed over the batch.
    """
    z = z.detach().clone().requires_grad_(True)
    loss = kd_loss(z, v, temperature=temperature, alpha=1.0)["soft"] * len(z)
    if not t2:
        loss = loss / temperature ** 2
    (g,) = torch.autograd.grad(loss, z)
    return g


def gradient_scaling_table(temperatures: list[float], n_classes: int = 10, seed: int = 0) -> pd.DataFrame:
    """Gradient norms with and without ``T^2`` and the gap to logit matching, per ``T``.

    Zero-mean random logits ``z`` (student) and ``v`` (teacher). ``logit_match`` is
    ``(z - v) / N``, the gradient of ``(1/2N)||z - v||^2``; ``rel_gap`` is
    ``||T^2 dKL/dz - (z - v)/N|| / ||(z - v)/N||``, which should fall like ``1/T``.
    """
    g = torch.Generator().manual_seed(seed)
    z = torch.randn(64, n_classes, generator=g, dtype=torch.float64)
    v = torch.randn(64, n_classes, generator=g, dtype=torch.float64) * 2
    z, v = z - z.mean(1, keepdim=True), v - v.mean(1, keepdim=True)
    match = (z - v) / n_classes
    rows = []
    for t in temperatures:
        with_t2, without = soft_gradient(z, v, t, True), soft_gradient(z, v, t, False)
        rows.append({"T": t, "grad_norm_without_T2": float(without.norm()), "grad_norm_with_T2": float(with_t2.norm()),
                     "rel_gap_to_logit_matching": float((with_t2 - match).norm() / match.norm())})
    return pd.DataFrame(rows)
