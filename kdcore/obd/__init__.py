"""Optimal Brain Damage: the Hessian diagonal and the saliency it feeds, together.

- :mod:`.hessian`   Hessian-vector products, the exact and Hutchinson diagonals, the
  Hutchinson trace (torch.func);
- :mod:`.saliency`  OBD and magnitude saliency, global pruning masks (LeCun et al. 1990).
"""

from .hessian import hessian_diagonal, hutchinson_diagonal, hutchinson_trace, hvp, loss_of_params
from .saliency import apply_masks, magnitude_saliency, obd_saliency, prune_masks, weight_names

__all__ = ["hvp", "hessian_diagonal", "hutchinson_diagonal", "hutchinson_trace", "loss_of_params",
           "obd_saliency", "magnitude_saliency", "prune_masks", "apply_masks", "weight_names"]
