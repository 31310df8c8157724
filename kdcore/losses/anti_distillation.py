"""Anti-distillation objectives: Petrushina, Bakhteev, Grabovoy & Strijov (2022),
"Anti-Distillation: Knowledge Transfer from a Simple Model to the Complex One", MIPT
(final paper: intsystems/2022-Project-97, ``paper/Petrushina2022AntiDistillation.tex``).

Before training on the harder task D2, the student is optimised on the teacher's task D1
(its class mask) for

    L_AD = λ1 CE(f_s(x), y) + λ2 ||u[:teacher block] - w*|| + λ3 CE(f_s(x + ξ), y)
           + λ4 |v^T H v| / 10^4,        ξ ~ U[-ε/2, ε/2]^d, ε = 0.1,

with ``H`` the Hessian of the clean CE w.r.t. all student parameters and the class mask
applied, as in the authors' code, by *multiplying* the logits by ``m ∈ {0,1}^C`` (masked
logits are 0, not -inf) and dropping rows whose label is masked.

Two readings of the λ2 and λ4 terms (the authors' final code, ``src/fminst/antidistil.py``
of intsystems/2022-Project-97, is the faithful one):

- block distance: ``"concatenated"`` = one unsquared norm of all blocks' differences
  concatenated (their ``L2`` since commit 22511eb), ``"per_tensor"`` = the sum of one
  unsquared Frobenius norm per weight and bias;
- Hessian term: ``"uniform_detached"`` = their ``L4``: probe ``v ~ U[0, 1)^P`` and a
  Hessian-vector product without ``create_graph``, so the term is a *constant* for the
  optimiser (its value is logged, no gradient flows); ``"rademacher"`` = the Hutchinson
  trace estimate with a Rademacher probe, differentiable (third-order terms flow).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..base.checks import check_choice, check_each, check_range
from ..obd.hessian import hutchinson_trace

__all__ = ["masked_logits", "block_distance", "detached_uniform_probe_term", "MaskedCrossEntropy",
           "AntiDistillation", "BLOCK_NORMS", "HESSIAN_PROBES"]


def masked_logits(logits: Tensor, y: Tensor, classes: Sequence[int] | None) -> tuple[Tensor, Tensor, Tensor]:
    """Rows of ``logits`` ``(B, C)`` whose label is in ``classes``, times the class mask.

    Returns ``(masked logits (B', C), labels (B',), row mask (B,))``; ``classes=None``
    keeps everything.
    """
    if classes is None:
        return logits, y, torch.ones_like(y, dtype=torch.bool)
    mask = torch.zeros(logits.shape[1], device=logits.device, dtype=logits.dtype)
    mask[list(classes)] = 1
    rows = mask[y].bool()
    return (logits * mask)[rows], y[rows], rows


BLOCK_NORMS = ("concatenated", "per_tensor")
HESSIAN_PROBES = ("uniform_detached", "rademacher")


def block_distance(student: nn.Module, teacher: nn.Module, norm: str = "concatenated") -> Tensor:
    """Distance of the student's teacher-shaped blocks from the teacher's parameters.

    Each student parameter ``s_p`` is sliced to the top-left block of the teacher's shape
    (the zero / uniform pad layout; the teacher ``t_p`` is a constant), ``d_p = s_p[block] - t_p``.
    ``norm="concatenated"``: ``||concat_p d_p||_2`` (one norm); ``"per_tensor"``:
    ``Σ_p ||d_p||_F``. Scalar tensor.
    """
    check_choice("norm", norm, BLOCK_NORMS)
    tp = dict(teacher.named_parameters())
    diffs = [(s[tuple(slice(0, n) for n in tp[name].shape)] - tp[name].detach()).reshape(-1)
             for name, s in student.named_parameters() if name in tp]
    if not diffs:
        raise ValueError("student and teacher share no parameter names")
    if norm == "concatenated":
        return torch.linalg.vector_norm(torch.cat(diffs))
    return torch.stack([torch.linalg.vector_norm(d) for d in diffs]).sum()


def detached_uniform_probe_term(loss: Tensor, params: list[Tensor]) -> Tensor:
    """The authors' ``L4`` value: ``v^T H v`` with one probe ``v ~ U[0, 1)^P``, detached.

    ``H`` is the Hessian of ``loss`` w.r.t. ``params``. Their Hessian-vector product is
    taken without ``create_graph``, so the value carries no gradient: adding ``λ4 |value|``
    to the loss changes what is logged, not the update. A uniform probe has mean 1/2, so
    the value estimates ``tr(H)/3 + 1^T H 1 / 4``, not the trace.
    """
    grads = torch.autograd.grad(loss, params, create_graph=True)
    vs = [torch.rand(p.shape, device=p.device, dtype=p.dtype) for p in params]
    hv = torch.autograd.grad(grads, params, grad_outputs=vs, retain_graph=True)
    return sum((v * h).sum() for v, h in zip(vs, hv)).detach()


class MaskedCrossEntropy:
    """CE on the rows of classes ``classes`` with the multiplicative logit mask (the
    authors' way of training the teacher on D1 out of a 10-output network)."""

    def __init__(self, classes: Sequence[int] | None = None) -> None:
        self.classes = None if classes is None else list(classes)

    def __call__(self, model: nn.Module, batch: dict[str, Tensor]) -> dict[str, Tensor]:
        x, y = batch["x"], batch["y"]
        if self.classes is not None:   # the model is row-wise: drop masked rows before the forward
            rows = torch.isin(y, torch.as_tensor(self.classes, device=y.device))
            x, y = x[rows], y[rows]
        logits, y, _ = masked_logits(model(x), y, self.classes)
        return {"ce": F.cross_entropy(logits, y)}


class AntiDistillation:
    """The AD pre-training objective ``L_AD`` (module doc); returns the four weighted terms.

    Args:
        teacher: the trained teacher (constant).
        lambdas: ``(λ1, λ2, λ3, λ4)``, each >= 0; terms with λ = 0 are not computed.
        classes: the D1 classes (the mask); ``None`` for all.
        noise_eps: width ``ε`` of the uniform input noise (the authors: 0.1, i.e. ±0.05).
        hessian_scale: divisor of ``|tr H|`` (the authors: 10^4).
        n_probes: Hutchinson probes of the ``"rademacher"`` term (the authors: 1).
        block_norm: ``"concatenated"`` (the authors' final code) or ``"per_tensor"``.
        hessian: ``"uniform_detached"`` (the authors' code: no gradient) or ``"rademacher"``
            (differentiable Hutchinson trace).
    """

    def __init__(self, teacher: nn.Module, lambdas: Sequence[float], classes: Sequence[int] | None = None,
                 noise_eps: float = 0.1, hessian_scale: float = 1e4, n_probes: int = 1,
                 block_norm: str = "concatenated", hessian: str = "rademacher") -> None:
        check_choice("block_norm", block_norm, BLOCK_NORMS)
        check_choice("hessian", hessian, HESSIAN_PROBES)
        self.block_norm, self.hessian = block_norm, hessian
        check_each("lambdas", list(lambdas), check_range, 0)
        if len(lambdas) != 4:
            raise ValueError(f"parameter 'lambdas' must have 4 entries, got {list(lambdas)}")
        check_range("noise_eps", noise_eps, 0)
        check_range("hessian_scale", hessian_scale, 0, None, low_open=True)
        self.teacher, self.lambdas = teacher, [float(v) for v in lambdas]
        self.classes = None if classes is None else list(classes)
        self.noise_eps, self.hessian_scale, self.n_probes = noise_eps, hessian_scale, n_probes

    def __call__(self, model: nn.Module, batch: dict[str, Tensor]) -> dict[str, Tensor]:
        l1, l2, l3, l4 = self.lambdas
        x, y = batch["x"], batch["y"]
        if self.classes is not None:   # row-wise model: select D1 rows first (same loss, half the work)
            rows = torch.isin(y, torch.as_tensor(self.classes, device=y.device))
            x, y = x[rows], y[rows]
        out: dict[str, Tensor] = {}
        logits, yy, _ = masked_logits(model(x), y, self.classes)
        ce = F.cross_entropy(logits, yy)
        out["ce"] = l1 * ce
        if l2 > 0:
            out["block"] = l2 * block_distance(model, self.teacher, self.block_norm)
        if l3 > 0:
            xi = (torch.rand(x.shape, device=x.device) - 0.5) * self.noise_eps
            noisy, yn, _ = masked_logits(model(x + xi), y, self.classes)
            out["noisy_ce"] = l3 * F.cross_entropy(noisy, yn)
        if l4 > 0:
            params = [p for p in model.parameters() if p.requires_grad]
            if self.hessian == "uniform_detached":
                tr = detached_uniform_probe_term(ce, params)
            else:
                tr = hutchinson_trace(ce, params, self.n_probes, create_graph=True)
            out["hessian"] = l4 * tr.abs() / self.hessian_scale
        return out
