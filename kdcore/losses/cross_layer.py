"""Cross-layer variational distillation over a set of (teacher layer, student layer) pairs.

Oleinik, Gorpinich & Bakhteev (2023, "Distillation of knowledge in deep networks", in
Russian) link student layer ``s_i`` with teacher layer ``t_j`` through a VID term
(:mod:`kdcore.losses.vid`) and weigh the pairs with ``λ_ij``. As their code trains
(intsystems/2023-Project-115, ``test_distill.ipynb`` and ``resnet_test.ipynb``; their paper
writes β on the task term instead):

    L = (1 - β) · CE(y, g(x)) + β · Σ_p λ_p · VID_p,        p = (t_j, s_i) in the pair set.

*Pairwise* is the pair set ``{(t_i, s_i)}``; *all-to-all* is every ``(t_j, s_i)``. The
authors draw ``λ`` from ``-log u`` normalised (per student layer for all-to-all) and
weigh the all-to-all feature term by ``β / S`` (``S`` student layers); :func:`authors_lambda`
returns those weights already divided by ``S``, so the sum above is the whole objective.

Faithful mode (``faithful=True``, the authors' code, a bug labelled wherever it is used):
every VID term multiplies by σ² (see :func:`kdcore.losses.vid.vid_nll`), and the loop over
the pairs accumulates ``λ_p · VID_p`` into a sum that is never used: only the *last* pair's
unweighted VID enters the loss, ``(1 - β) CE + β · c · VID_last`` with ``c = 1/S`` for
all-to-all and 1 for pairwise. Only that pair is computed here: the other regressors got
no gradient in their code either, so the student trains identically.

``λ`` is a buffer of the objective (``objective.lam``, shape ``(n_pairs,)``): it can be set
from outside (:meth:`CrossLayerVID.set_lambda`) or swapped through
``torch.func.functional_call(objective, {..., "lam": lam}, (model, batch))``, which is how
a hypergradient with respect to λ is taken.

Teacher features come from the batch (``batch["teacher/<name>"]``, cached once per dataset
with :func:`kdcore.training.loop.cache_features`) or, if absent, from a frozen teacher run without
gradients under bf16 autocast on every batch.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..base.checks import check_choice, check_range
from .vid import VIDTerm

__all__ = ["CrossLayerVID", "pairwise_pairs", "all_to_all_pairs", "authors_lambda", "neg_log_weights", "DIRECTIONS"]

Pair = tuple[str, str]   # (teacher layer, student layer)
# Which side the regressor μ reads: VID (Ahn et al.) predicts the teacher's feature from the
# student's; the heterogeneous draft also ran the reverse, μ(teacher) predicting the student.
DIRECTIONS = ("student_to_teacher", "teacher_to_student")


def pairwise_pairs(teacher_layers: Sequence[str], student_layers: Sequence[str]) -> list[Pair]:
    """``[(t_1, s_1), ..., (t_n, s_n)]``: layer i of the teacher with layer i of the student."""
    if len(teacher_layers) != len(student_layers):
        raise ValueError(f"pairwise needs as many teacher layers ({len(teacher_layers)}) as student "
                         f"layers ({len(student_layers)})")
    return list(zip(teacher_layers, student_layers))


def all_to_all_pairs(teacher_layers: Sequence[str], student_layers: Sequence[str]) -> list[Pair]:
    """Every ``(t_j, s_i)``, teacher outer and student inner: the authors' loop order
    (``for j in range(T) for i in range(S)``), so the last pair is ``(t_T, s_S)``."""
    return [(t, s) for t in teacher_layers for s in student_layers]


def neg_log_weights(u: Tensor) -> Tensor:
    """``-log u`` normalised to sum to 1 over the last axis: a flat Dirichlet draw from
    uniforms ``u`` in (0, 1] (the authors' λ for pairwise distillation)."""
    x = -torch.log(u.double().clamp_min(1e-12))
    return (x / x.sum(-1, keepdim=True)).float()


def authors_lambda(u: Sequence[float] | Tensor, n_teacher: int, n_student: int, faithful: bool) -> Tensor:
    """All-to-all weights from ``S·T`` uniform draws, as the authors' ``resnet_test.ipynb``.

    ``x_k = -log u_k`` is normalised within consecutive groups of ``T`` (one group per
    student layer: ``Σ_j λ_ij = 1`` was meant). The pair (student i, teacher j) then reads
    ``coeffs[i*T + j]`` (corrected) or ``coeffs[i*S + j]`` (faithful: their code wrote
    ``i*4 + j`` with S = 4, T = 9, so pairs share and skip weights; harmless when S = T).

    Returns:
        ``(S, T)`` weights already divided by ``S`` (the ``β / 4`` of their loss), so that
        ``β · Σ_ij λ_ij VID_ij`` is their feature term.
    """
    u = torch.as_tensor(u, dtype=torch.float64).flatten()
    if u.numel() != n_teacher * n_student:
        raise ValueError(f"need {n_teacher * n_student} draws for {n_student} x {n_teacher} pairs, got {u.numel()}")
    if faithful and n_student > n_teacher:
        raise ValueError(f"the authors' index i*S + j runs past the {u.numel()} weights when S = {n_student} "
                         f"> T = {n_teacher} (their code would fail)")
    coeffs = neg_log_weights(u.view(n_student, n_teacher)).double().flatten()
    stride = n_student if faithful else n_teacher
    lam = torch.stack([torch.stack([coeffs[i * stride + j] for j in range(n_teacher)]) for i in range(n_student)])
    return (lam / n_student).float()


class CrossLayerVID(nn.Module):
    """Objective ``(1 - β) CE + β Σ_p λ_p VID_p`` over a set of layer pairs (see module doc).

    Args:
        pairs: ``[(teacher layer, student layer), ...]`` feature names.
        teacher_shapes / student_shapes: ``{name: shape without the batch axis}``.
        lam: ``(n_pairs,)`` weights λ_p (a buffer; ignored by the faithful loss).
        beta: weight of the feature term, in [0, 1].
        faithful: the authors' code: σ² multiplied, only the last pair counted, unweighted.
        last_pair_scale: ``c`` of the faithful loss (``1/S`` for all-to-all, 1 for pairwise).
        variance, reduction, init_variance: per-pair :class:`~kdcore.losses.vid.VIDTerm` options.
        teacher: frozen teacher used when the batch holds no cached features (run in its
            current mode: ``eval()`` for running BatchNorm statistics).
        prefix: batch key prefix of cached teacher features.
        teacher_bf16: run that teacher under bf16 autocast.
        direction: ``"student_to_teacher"`` (VID: ``-log q(t | μ(s))``) or
            ``"teacher_to_student"`` (``-log q(s | μ(t))``: the student's feature is the
            target and receives the gradient; Gorpinich et al.'s "μ teacher→student").

    Returns (``forward``): ``{"ce": (1-β) CE, "vid": β Σ λ VID}`` (scalars).
    """

    def __init__(self, pairs: Sequence[Pair], teacher_shapes: dict[str, Sequence[int]],
                 student_shapes: dict[str, Sequence[int]], lam: Sequence[float] | Tensor, beta: float,
                 faithful: bool = False, last_pair_scale: float = 1.0, variance: str = "scalar",
                 reduction: str = "sum", init_variance: float = math.log(2.0), teacher: nn.Module | None = None,
                 prefix: str = "teacher/", teacher_bf16: bool = True,
                 direction: str = "student_to_teacher") -> None:
        super().__init__()
        check_choice("direction", direction, DIRECTIONS)
        if not pairs:
            raise ValueError("parameter 'pairs' must hold at least one (teacher, student) pair")
        check_range("beta", beta, 0, 1)
        check_range("last_pair_scale", last_pair_scale, 0)
        self.pairs = [(str(t), str(s)) for t, s in pairs]
        self.beta, self.faithful, self.last_pair_scale = float(beta), faithful, float(last_pair_scale)
        self.reverse = direction == "teacher_to_student"
        self.terms = nn.ModuleList(
            VIDTerm(*((teacher_shapes[t], student_shapes[s]) if self.reverse else (student_shapes[s], teacher_shapes[t])),
                    variance, init_variance, faithful=faithful, reduction=reduction) for t, s in self.pairs)
        self.register_buffer("lam", torch.zeros(len(self.pairs)))
        self.set_lambda(lam)
        # Not a submodule: the teacher is frozen and its weights are not the objective's.
        self._teacher = [teacher] if teacher is not None else []
        self.prefix, self.teacher_bf16 = prefix, teacher_bf16
        self.teacher_layers = list(dict.fromkeys(t for t, _ in self.pairs))

    def set_lambda(self, lam: Sequence[float] | Tensor) -> None:
        """Replace λ in place (shape ``(n_pairs,)``, non-negative)."""
        lam = torch.as_tensor(lam, dtype=torch.float32).flatten()
        if lam.shape != self.lam.shape:
            raise ValueError(f"parameter 'lam' has {lam.numel()} weights for {len(self.pairs)} pairs")
        if (lam < 0).any() or not torch.isfinite(lam).all():
            raise ValueError("parameter 'lam' must hold finite, non-negative weights")
        self.lam.copy_(lam.to(self.lam.device))

    def teacher_features(self, batch: dict[str, Tensor], names: Sequence[str]) -> dict[str, Tensor]:
        """Cached features from the batch, else one no-grad teacher forward."""
        if all(self.prefix + n in batch for n in names):
            return {n: batch[self.prefix + n] for n in names}
        if not self._teacher:
            raise KeyError(f"batch has no cached teacher features {[self.prefix + n for n in names]} "
                           "and CrossLayerVID was given no teacher")
        teacher = self._teacher[0]   # run in the mode it is in (eval: running BN statistics)
        x = batch["x"]
        with torch.no_grad(), torch.autocast(x.device.type, dtype=torch.bfloat16, enabled=self.teacher_bf16):
            feats = teacher.features(x)
        return {n: feats[n] for n in names}

    def pair_loss(self, term: VIDTerm, s: Tensor, t: Tensor) -> Tensor:
        """One pair's VID term in this objective's direction (``s``, ``t``: student and teacher features)."""
        # Cached teacher features may be bf16; the regressor's weights are float32.
        return term(t.float(), s) if self.reverse else term(s, t)

    def forward(self, model: nn.Module, batch: dict[str, Tensor]) -> dict[str, Tensor]:
        feats = model.features(batch["x"])
        ce = F.cross_entropy(feats["logits"].float(), batch["y"])
        if self.faithful:
            # The authors' loop overwrote one variable per pair and used only the last one.
            t_name, s_name = self.pairs[-1]
            t = self.teacher_features(batch, [t_name])[t_name]
            vid = self.last_pair_scale * self.pair_loss(self.terms[-1], feats[s_name], t)
        else:
            t_feats = self.teacher_features(batch, self.teacher_layers)
            nll = torch.stack([self.pair_loss(term, feats[s], t_feats[t]) for (t, s), term in zip(self.pairs, self.terms)])
            vid = (self.lam * nll).sum()     # elementwise, not a matmul: autocast keeps it float32
        return {"ce": (1 - self.beta) * ce, "vid": self.beta * vid}
