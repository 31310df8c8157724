"""The cross-layer objective with its weights read from metaparameters (Gorpinich, Bakhteev
& Strijov, "Knowledge distillation on heterogeneous models", draft; the book builds the
all-pairs version the draft left unfinished):

    L(w; lambda, beta) = (1 - beta) * CE(y, g(x)) + beta * sum_{i,j} lambda_ij * VID(t_i, s_j),

with ``lambda`` over all ``T x S`` (teacher layer, student layer) pairs on the simplex
(:class:`kdcore.hyper.SimplexWeights`) and/or ``beta`` a tuned scalar
(:class:`kdcore.hyper.ClampedScalar` named ``"beta"``: the draft's single-pair experiment,
``(1 - lambda) CE + lambda MI``). What a metaparameter module does not provide comes from
the wrapped :class:`kdcore.losses.CrossLayerVID` (its ``lam`` buffer, its ``beta``).

The wrapped objective is a submodule, so ``fit`` trains its regressors and variances and
:class:`kdcore.hyper.Lower` swaps them in the unrolled step; the metaparameters are held
outside the module tree, so ``fit`` never trains them with the training loss.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..hyper.meta import Metaparameters
from .cross_layer import CrossLayerVID


class MetaCrossLayer(nn.Module):
    """``{"ce": (1 - beta) CE, "vid": beta * sum_p lambda_p VID_p}`` with ``lambda``/``beta``
    from ``meta.values()`` when present (``lambda`` of any shape, flattened to the pairs'
    order of ``base.pairs``)."""

    def __init__(self, base: CrossLayerVID, meta: Metaparameters) -> None:
        super().__init__()
        if base.faithful:
            raise ValueError("MetaCrossLayer weighs every pair: use CrossLayerVID(faithful=False)")
        self.base = base
        self._meta = [meta]          # a list: not a submodule, so not trained by fit

    @property
    def meta(self) -> Metaparameters:
        return self._meta[0]

    def forward(self, model: nn.Module, batch: dict[str, Tensor]) -> dict[str, Tensor]:
        v = self.meta.values()
        device = self.base.lam.device   # fixed (untuned) metaparameters may still sit on the CPU
        lam = v["lambda"].reshape(-1).to(device) if "lambda" in v else self.base.lam
        beta = v["beta"].to(device) if "beta" in v else self.base.beta
        if lam.numel() != len(self.base.pairs):
            raise ValueError(f"{lam.numel()} weights for {len(self.base.pairs)} pairs")
        feats = model.features(batch["x"])
        t_feats = self.base.teacher_features(batch, self.base.teacher_layers)
        vid = sum(lam[p] * self.base.pair_loss(term, feats[s], t_feats[t])
                  for p, ((t, s), term) in enumerate(zip(self.base.pairs, self.base.terms)))
        z = feats["logits"]
        z = z.float() if z.dtype in (torch.float16, torch.bfloat16) else z
        return {"ce": (1 - beta) * F.cross_entropy(z, batch["y"]), "vid": beta * vid}
