"""Optimal Brain Damage (LeCun, Denker & Solla, 1990, NIPS 2) and magnitude pruning.

Around a trained optimum ``theta*`` (gradient ~ 0) a second-order Taylor expansion with
the off-diagonal Hessian terms dropped gives the loss increase from deleting parameter
``i`` (setting it to zero) as its *saliency*

    s_i = 1/2 * h_ii * theta_i^2,        h_ii = d^2 L / d theta_i^2 .

OBD deletes the parameters of lowest saliency; magnitude pruning uses ``theta_i^2`` alone
(equivalently ``h_ii = const``). ``h_ii`` comes from :mod:`kdcore.obd.hessian` (exact for
small models, Hutchinson for larger ones). Pruning here is one-shot and global over the
chosen tensors (no retraining between steps, unlike the original OBD procedure).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

import torch
from torch import Tensor, nn

__all__ = ["obd_saliency", "magnitude_saliency", "prune_masks", "apply_masks", "weight_names"]


def weight_names(model: nn.Module) -> list[str]:
    """Names of the Linear / Conv weight tensors (the ones pruned; biases are kept)."""
    return [f"{m_name}.weight" if m_name else "weight" for m_name, m in model.named_modules()
            if isinstance(m, (nn.Linear, nn.Conv1d, nn.Conv2d))]


def obd_saliency(params: dict[str, Tensor], hess_diag: dict[str, Tensor]) -> dict[str, Tensor]:
    """``s = 1/2 * h_ii * theta^2`` per parameter, shaped like ``params``.

    Negative ``h_ii`` (possible away from an exact optimum, or from a noisy estimate) give
    negative saliencies; they are kept as they are, so such weights are pruned first.
    """
    return {k: 0.5 * hess_diag[k] * params[k].detach() ** 2 for k in hess_diag}


def magnitude_saliency(params: dict[str, Tensor]) -> dict[str, Tensor]:
    """``theta^2``: magnitude pruning as a saliency."""
    return {k: v.detach() ** 2 for k, v in params.items()}


def prune_masks(saliency: dict[str, Tensor], fraction: float, names: Sequence[str] | None = None
                ) -> dict[str, Tensor]:
    """Boolean keep-masks that delete the ``fraction`` of entries with the lowest saliency.

    The threshold is global over the tensors in ``names`` (default: all of ``saliency``);
    exactly ``round(fraction * total)`` entries are removed (ties broken by position).
    """
    if not 0.0 <= fraction <= 1.0:
        raise ValueError(f"parameter 'fraction' = {fraction} is out of range: allowed [0, 1]")
    names = list(saliency) if names is None else list(names)
    flat = torch.cat([saliency[k].reshape(-1) for k in names])
    n_remove = int(round(fraction * flat.numel()))
    keep = torch.ones_like(flat, dtype=torch.bool)
    if n_remove:
        keep[torch.argsort(flat, stable=True)[:n_remove]] = False
    masks, i = {}, 0
    for k in names:
        n = saliency[k].numel()
        masks[k] = keep[i:i + n].view_as(saliency[k])
        i += n
    return masks


@torch.no_grad()
def apply_masks(model: nn.Module, masks: dict[str, Tensor]) -> nn.Module:
    """A deep copy of ``model`` with the masked-out parameters set to zero."""
    pruned = copy.deepcopy(model)
    params = dict(pruned.named_parameters())
    for k, m in masks.items():
        params[k].mul_(m.to(params[k].dtype))
    return pruned
