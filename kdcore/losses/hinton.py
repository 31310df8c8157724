"""Hinton, Vinyals & Dean (2015), "Distilling the knowledge in a neural network",
NIPS Deep Learning Workshop, arXiv:1503.02531.

Soft targets at temperature ``T``: ``p_i(T) = exp(z_i / T) / sum_j exp(z_j / T)``.
The distillation loss for student logits ``z`` and teacher logits ``v`` is

    L = alpha * T^2 * KL(p(v, T) || p(z, T)) + (1 - alpha) * CE(y, p(z, 1)).

The ``T^2`` factor keeps the soft term's gradient on the same scale for every ``T``:
``d KL / d z_i = (p_i(z, T) - p_i(v, T)) / T`` and, for large ``T`` with zero-mean logits,
``p_i(z, T) - p_i(v, T) ~ (z_i - v_i) / (N T)``, so without the factor the gradient shrinks
as ``1/T^2``; with it, it tends to ``(z_i - v_i) / N``: logit matching (Bucilua et al. 2006).
KL differs from the soft cross-entropy by the teacher's entropy, a constant in ``z``, so
their gradients are identical; KL is reported because it is zero when the student matches.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..base.checks import check_choice, check_range


def ensemble_log_probs(teacher_logits: Tensor, temperature: float) -> Tensor:
    """Log soft targets of a teacher or an ensemble of teachers.

    Args:
        teacher_logits: ``(B, C)`` for one teacher or ``(B, M, C)`` for ``M`` members.
        temperature: ``T > 0``.

    Returns:
        ``(B, C)`` log-probabilities; for an ensemble, the log of the average of the
        members' softened distributions (Hinton et al. 2015, section 1: "the arithmetic
        mean"), computed as a logsumexp so it stays finite when a member saturates.
    """
    log_q = F.log_softmax(teacher_logits.float() / temperature, dim=-1)
    if log_q.dim() == 3:
        log_q = torch.logsumexp(log_q, dim=1) - math.log(log_q.shape[1])
    return log_q


def ensemble_probs(teacher_logits: Tensor, temperature: float) -> Tensor:
    """Soft targets ``(B, C)``: ``exp`` of :func:`ensemble_log_probs`."""
    return ensemble_log_probs(teacher_logits, temperature).exp()


def soft_cross_entropy(student_logits: Tensor, teacher_probs: Tensor, temperature: float = 1.0) -> Tensor:
    """``-(1/B) sum_b sum_i q_bi log p_bi(z, T)``, with targets ``q`` ``(B, C)`` and logits ``(B, C)``."""
    log_p = F.log_softmax(student_logits.float() / temperature, dim=-1)
    return -(teacher_probs * log_p).sum(-1).mean()


def kd_loss(student_logits: Tensor, teacher_logits: Tensor, labels: Tensor | None = None,
            temperature: float = 4.0, alpha: float = 0.9) -> dict[str, Tensor]:
    """Hinton KD loss, returned as its two named, weighted parts.

    Args:
        student_logits: ``(B, C)``.
        teacher_logits: ``(B, C)``, or ``(B, M, C)`` for an ensemble of ``M`` teachers.
        labels: ``(B,)`` hard labels; needed when ``alpha < 1``.
        temperature: ``T > 0``.
        alpha: weight of the soft term in ``[0, 1]``; ``1 - alpha`` weights the hard CE.

    Returns:
        ``{"soft": alpha * T^2 * KL(p(v,T) || p(z,T)), "hard": (1-alpha) * CE(y, p(z,1))}``,
        each a batch mean; ``"hard"`` is omitted when ``alpha == 1``.
    """
    log_q = ensemble_log_probs(teacher_logits, temperature)
    log_p = F.log_softmax(student_logits.float() / temperature, dim=-1)
    # KL(q || p) = sum q (log q - log p), one fused op (arguments: student, then teacher).
    kl = F.kl_div(log_p, log_q, reduction="batchmean", log_target=True)
    out = {"soft": alpha * temperature ** 2 * kl}
    if alpha < 1:
        if labels is None:
            raise ValueError("kd_loss needs labels when alpha < 1")
        out["hard"] = (1 - alpha) * F.cross_entropy(student_logits.float(), labels)
    return out


def kd_loss_oleinik2023(student_logits: Tensor, teacher_logits: Tensor, labels: Tensor,
                        temperature: float, beta: float) -> dict[str, Tensor]:
    """Hinton KD *as coded* by Oleinik, Gorpinich & Bakhteev (2023), a labelled variant.

    Their ``distill`` (intsystems/2023-Project-115, ``basic_experiment.ipynb``) calls
    ``nn.KLDivLoss(reduction="batchmean")(log_softmax(v / T), softmax(z / T))``: the
    *teacher* is the log-input and the *student* the target, so the loss is
    ``KL(p(z,T) || p(v,T))`` (arguments swapped), and there is no ``T^2`` factor:

        {"soft": beta * KL(p(z,T) || p(v,T)), "hard": (1 - beta) * CE(y, p(z,1))}.

    At small ``T`` the student's softened probabilities underflow to exact zeros, whose
    gradient through the KL target is not finite: those runs diverge to NaN weights (the
    authors' accuracy 0.10 runs). Computed in float32, as their code was.
    """
    log_q = F.log_softmax(teacher_logits.float() / temperature, dim=-1)
    p = F.softmax(student_logits.float() / temperature, dim=-1)
    out = {"soft": beta * F.kl_div(log_q, p, reduction="batchmean")}
    if beta < 1:
        out["hard"] = (1 - beta) * F.cross_entropy(student_logits.float(), labels)
    return out


KD_VARIANTS = ("hinton", "oleinik2023")


class HintonKD:
    """Objective: Hinton KD against cached teacher logits, or a frozen teacher.

    The teacher's outputs are read from ``batch[key]`` (cached once per dataset with
    :func:`kdcore.training.loop.cache_outputs`); only if they are absent is ``teacher`` run.
    ``variant="oleinik2023"`` is the swapped-KL, no-``T^2`` loss of
    :func:`kd_loss_oleinik2023` (``alpha`` is then their β).
    """

    def __init__(self, temperature: float = 4.0, alpha: float = 0.9,
                 teacher: nn.Module | None = None, key: str = "teacher_logits", variant: str = "hinton") -> None:
        check_range("temperature", temperature, 0, None, low_open=True)
        check_range("alpha", alpha, 0, 1)
        check_choice("variant", variant, KD_VARIANTS)
        self.temperature, self.alpha, self.teacher, self.key = temperature, alpha, teacher, key
        self.variant = variant

    def __call__(self, model: nn.Module, batch: dict[str, Tensor]) -> dict[str, Tensor]:
        if self.key in batch:
            teacher_logits = batch[self.key]
        elif self.teacher is not None:
            with torch.no_grad():
                teacher_logits = self.teacher(batch["x"])
        else:
            raise KeyError(f"batch has no {self.key!r} and HintonKD was given no teacher")
        if self.variant == "oleinik2023":
            return kd_loss_oleinik2023(model(batch["x"]), teacher_logits, batch["y"], self.temperature, self.alpha)
        return kd_loss(model(batch["x"]), teacher_logits, batch["y"], self.temperature, self.alpha)
