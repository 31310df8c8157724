"""Gorpinich, Bakhteev & Strijov (2022), "Gradient methods for optimizing metaparameters
in the knowledge distillation problem", Automation and Remote Control 83(10).

The distillation loss with metaparameters ``lambda`` (weight of the hard labels) and ``T``:

    L_train(w; lambda, T) = lambda * CE(y, p(z, 1)) + (1 - lambda) * KL(p(v, T) || p(z, T)),

student logits ``z`` ``(B, C)``, teacher logits ``v`` ``(B, C)``. The paper writes the soft
term as a cross-entropy with the teacher's soft targets; KL differs from it by the
teacher's entropy, which does not depend on ``w``, so the gradient in ``w`` (and hence the
one-step hypergradient) is the same. As in the paper and the authors' code there is no
``T^2`` factor (``t_squared=True`` adds Hinton's).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..hyper.meta import HintonMeta


def meta_kd_loss(student_logits: Tensor, teacher_logits: Tensor, labels: Tensor, lam: Tensor,
                 temperature: Tensor, t_squared: bool = False) -> dict[str, Tensor]:
    """``{"hard": lam * CE, "soft": (1 - lam) * KL_T}``, batch means; ``lam`` and
    ``temperature`` are scalar tensors (differentiable) or floats."""
    # Half-precision logits (bf16 autocast) are upcast; float64 stays float64 (tests).
    z, v = (t.float() if t.dtype in (torch.float16, torch.bfloat16) else t for t in (student_logits, teacher_logits))
    log_q = F.log_softmax(v / temperature, dim=-1)
    log_p = F.log_softmax(z / temperature, dim=-1)
    kl = F.kl_div(log_p, log_q, reduction="batchmean", log_target=True)
    if t_squared:
        kl = kl * temperature ** 2
    return {"hard": lam * F.cross_entropy(z, labels), "soft": (1 - lam) * kl}


class MetaHintonKD:
    """Objective reading ``(lambda, T)`` from a :class:`kdcore.hyper.HintonMeta` at every call,
    so an upper-level step (or nothing, for fixed values) changes what the loop minimises.

    Teacher logits come from ``batch[key]`` (cached once with :func:`kdcore.training.loop.cache_outputs`).
    Not an ``nn.Module`` on purpose: ``fit`` must not optimise the metaparameters with the
    training loss.
    """

    def __init__(self, meta: HintonMeta, key: str = "teacher_logits", t_squared: bool = False) -> None:
        self.meta, self.key, self.t_squared = meta, key, t_squared

    def __call__(self, model: nn.Module, batch: dict[str, Tensor]) -> dict[str, Tensor]:
        v = self.meta.values()
        return meta_kd_loss(model(batch["x"]), batch[self.key], batch["y"], v["lambda"], v["temperature"],
                            self.t_squared)
