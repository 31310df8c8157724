"""Orlov & Grabovoy (2022), "Model distillation on multi-domained datasets" (MIPT preprint),
section 2, "Formulation of the distillation problem for a multidomain sample dataset".

A teacher ``f`` is trained on a large source domain ``X_s``; a student ``g`` on a small
target domain ``X_t``; a fixed map ``phi: X_t -> X_s`` lets the teacher label target
objects. With ``lam`` the weight of the true labels:

- classification: ``L = lam * CE(y, g(x)) + (1 - lam) * softCE(f(phi(x)) / T, g(x) / T)``
  where ``softCE(v, z) = -sum_r softmax(v)_r log softmax(z)_r``;
- regression: ``L = lam * ||y - g(x)||^2 + (1 - lam) * ||g(x) - f(phi(x))||^2``.

Every term is a batch mean. ``scale`` multiplies both terms: the code of the thesis that
carries the experiments (kbayazitov/distillation, ``src/mylib/train.py``) minimised
``CE + softCE`` (and ``MSE(g, y) + MSE(g, f o phi)``), i.e. ``lam = 0.5`` with
``scale = 2``. The soft term uses temperature ``T`` on both sides and no ``T^2`` factor,
as in that code; ``t_squared=True`` multiplies it by ``T^2`` as Hinton et al. (2015)
advise, so that its gradient keeps its size as ``T`` grows (without it the soft term's
gradient shrinks like ``1/T^2`` and a large ``T`` approaches ``lam = 1``, the student alone).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..base.checks import check_choice, check_range
from .hinton import soft_cross_entropy

__all__ = ["multidomain_ce", "multidomain_mse", "MultiDomainKD"]


def multidomain_ce(student_logits: Tensor, labels: Tensor, teacher_logits: Tensor | None,
                   lam: float = 0.5, temperature: float = 1.0, scale: float = 1.0,
                   t_squared: bool = False) -> dict[str, Tensor]:
    """Classification loss of Orlov & Grabovoy, returned as its two named, weighted parts.

    Args:
        student_logits: ``z = g``'s logits, ``(B, R)``.
        labels: ``(B,)`` class indices.
        teacher_logits: ``v = f(phi(x))``'s logits, ``(B, R)``; ``None`` (or ``lam == 1``)
            gives plain cross-entropy.
        lam: weight of the true labels, in ``[0, 1]``.
        temperature: ``T > 0`` of the soft term (both softmaxes).
        scale: multiplies both terms (2 with ``lam = 0.5`` reproduces the thesis code).
        t_squared: multiply the soft term by ``T^2`` (not in the thesis code).

    Returns:
        ``{"hard": scale * lam * CE(y, softmax(z))}`` plus, when there is a teacher and
        ``lam < 1``, ``"soft": scale * (1 - lam) * [T^2] * softCE(softmax(v/T), softmax(z/T))``.
    """
    out = {"hard": scale * lam * F.cross_entropy(student_logits.float(), labels)}
    if teacher_logits is not None and lam < 1:
        q = torch.softmax(teacher_logits.float() / temperature, dim=-1)
        factor = temperature ** 2 if t_squared else 1.0
        out["soft"] = scale * (1 - lam) * factor * soft_cross_entropy(student_logits, q, temperature)
    return out


def multidomain_mse(student_out: Tensor, target: Tensor, teacher_out: Tensor | None,
                    lam: float = 0.5, scale: float = 1.0) -> dict[str, Tensor]:
    """Regression loss of Orlov & Grabovoy: ``lam * MSE(y, g) + (1 - lam) * MSE(g, f o phi)``.

    Args:
        student_out: ``g(x)``, ``(B,)`` or ``(B, 1)``.
        target: ``y``, ``(B,)``.
        teacher_out: ``f(phi(x))``, ``(B,)`` or ``(B, 1)``; ``None`` gives plain MSE.
        lam, scale: as in :func:`multidomain_ce`.

    Returns:
        ``{"hard": ..., "soft": ...}`` batch means (``"soft"`` only with a teacher and
        ``lam < 1``).
    """
    g = student_out.float().reshape(-1)
    out = {"hard": scale * lam * F.mse_loss(g, target.float().reshape(-1))}
    if teacher_out is not None and lam < 1:
        out["soft"] = scale * (1 - lam) * F.mse_loss(g, teacher_out.float().reshape(-1))
    return out


class MultiDomainKD:
    """Objective for :func:`kdcore.training.loop.fit`: the multi-domain loss of the student.

    The teacher's answer ``f(phi(x))`` is read from ``batch[key]`` when the split carries
    it (cached once with :func:`kdcore.training.loop.cache_outputs` for a deterministic ``phi``);
    otherwise ``teacher`` (a frozen module computing ``f o phi``, e.g. with a random
    ``phi``: noise, a VAE sample) is run on the batch without gradients.
    With neither, the objective is the plain supervised loss (``"hard"`` only).
    """

    def __init__(self, task: str = "classification", lam: float = 0.5, temperature: float = 1.0,
                 scale: float = 1.0, teacher: nn.Module | None = None, key: str = "teacher_logits",
                 t_squared: bool = False) -> None:
        check_choice("task", task, ("classification", "regression"))
        check_range("lam", lam, 0, 1)
        check_range("temperature", temperature, 0, None, low_open=True)
        check_range("scale", scale, 0, None, low_open=True)
        self.task, self.lam, self.temperature, self.scale = task, lam, temperature, scale
        self.teacher, self.key, self.t_squared = teacher, key, t_squared

    def teacher_output(self, batch: dict[str, Tensor]) -> Tensor | None:
        if self.key in batch:
            return batch[self.key]
        if self.teacher is None:
            return None
        was_training = self.teacher.training
        self.teacher.eval()
        with torch.no_grad():
            out = self.teacher(batch["x"])
        self.teacher.train(was_training)
        return out

    def __call__(self, model: nn.Module, batch: dict[str, Tensor]) -> dict[str, Tensor]:
        teacher = self.teacher_output(batch) if self.lam < 1 else None
        student = model(batch["x"])
        if self.task == "classification":
            return multidomain_ce(student, batch["y"], teacher, self.lam, self.temperature, self.scale,
                                  self.t_squared)
        return multidomain_mse(student, batch["y"], teacher, self.lam, self.scale)
