"""Robustness metrics of the anti-distillation paper (Petrushina et al. 2022, section 4):
accuracy under an FGSM attack on the inputs and under Gaussian noise on the parameters.

FGSM (Goodfellow, Shlens & Szegedy, ICLR 2015): ``x_adv = x + eps * sign(grad_x L(f(x), y))``
with ``L`` the mean cross-entropy of the batch (the mean only rescales the gradient, so
the sign is per sample). As in the authors' code the inputs are not clipped to [0, 1].

Parameter noise: every parameter ``w`` is replaced by ``w + eps * N(0, I)``; as in the
authors' code a fresh draw is made for every test batch, and the model is left unchanged.

Robustness and clean accuracy are confounded: a model that is right on fewer inputs has
fewer inputs to lose. So besides the FGSM accuracy (over all inputs) :func:`fgsm_report`
gives the FGSM accuracy *among the inputs classified correctly without attack*, and
:func:`never_predicted` and :func:`weight_norm` give two reasons a run can look robust or
fragile without being so (a class the model never outputs; a weight scale that makes the
same absolute parameter noise relatively small).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.func import functional_call

from ..data import Split
from .loop import iterate_batches

__all__ = ["fgsm_perturb", "fgsm_accuracy", "fgsm_report", "param_noise_accuracy", "never_predicted",
           "weight_norm"]

Criterion = Callable[[Tensor, Tensor], Tensor]


def fgsm_perturb(model: nn.Module, x: Tensor, y: Tensor, eps: float | Sequence[float],
                 criterion: Criterion = F.cross_entropy) -> Tensor | list[Tensor]:
    """``x + eps * sign(d criterion(model(x), y) / dx)`` for one ``eps`` or a list of them.

    ``x`` ``(B, ...)`` model inputs, ``y`` ``(B,)``. The gradient is taken once.
    """
    x = x.detach().requires_grad_(True)
    (g,) = torch.autograd.grad(criterion(model(x), y), x)
    s = g.sign()
    if isinstance(eps, (int, float)):
        return (x + eps * s).detach()
    return [(x + e * s).detach() for e in eps]


def fgsm_accuracy(model: nn.Module, split: Split, eps: Sequence[float], batch_size: int = 256,
                  criterion: Criterion = F.cross_entropy) -> list[float]:
    """Accuracy on ``split`` under FGSM for every ``eps`` (``eps = 0`` is the clean accuracy)."""
    return fgsm_report(model, split, eps, batch_size, criterion)["accuracy"]


def fgsm_report(model: nn.Module, split: Split, eps: Sequence[float], batch_size: int = 256,
                criterion: Criterion = F.cross_entropy) -> dict[str, list[float]]:
    """FGSM accuracy per ``eps``, over all inputs and among the clean-correct ones.

    Returns ``{"accuracy": [a_k], "kept": [r_k]}`` with ``a_k`` the accuracy on ``split``
    at ``eps[k]`` and ``r_k = #{correct clean and at eps[k]} / #{correct clean}``, the share
    of correctly classified inputs that the attack does not flip (NaN if none is correct).
    """
    was = model.training
    model.eval()
    device = next(model.parameters()).device
    correct = torch.zeros(len(eps))
    kept = torch.zeros(len(eps))
    clean = 0
    for batch in iterate_batches(split.to(device), batch_size):
        advs = fgsm_perturb(model, batch["x"], batch["y"], list(eps), criterion)
        with torch.no_grad():
            ok = model(batch["x"]).argmax(1) == batch["y"]
            clean += int(ok.sum())
            for k, xa in enumerate(advs):
                hit = model(xa).argmax(1) == batch["y"]
                correct[k] += hit.sum().cpu()
                kept[k] += (hit & ok).sum().cpu()
    model.train(was)
    return {"accuracy": (correct / len(split)).tolist(),
            "kept": (kept / clean).tolist() if clean else [float("nan")] * len(eps)}


@torch.no_grad()
def never_predicted(model: nn.Module, split: Split, n_classes: int, batch_size: int = 2048) -> int:
    """How many of the ``n_classes`` classes ``model`` never predicts on ``split`` (argmax)."""
    was = model.training
    model.eval()
    device = next(model.parameters()).device
    seen = torch.zeros(n_classes, dtype=torch.bool)
    for batch in iterate_batches(split.to(device), batch_size):
        seen[model(batch["x"]).argmax(1).unique().cpu()] = True
    model.train(was)
    return int((~seen).sum())


@torch.no_grad()
def weight_norm(model: nn.Module) -> float:
    """``||θ||_2`` over all parameters concatenated (biases included)."""
    return float(torch.sqrt(sum((p.detach().float() ** 2).sum() for p in model.parameters())))


@torch.no_grad()
def param_noise_accuracy(model: nn.Module, split: Split, eps: Sequence[float], batch_size: int = 256,
                         seed: int = 0) -> list[float]:
    """Accuracy on ``split`` with ``w + eps * N(0, I)`` on every parameter, per ``eps``.

    A new noise draw per batch (seeded by ``seed``); the model's own weights are untouched.
    """
    was = model.training
    model.eval()
    device = next(model.parameters()).device
    params = dict(model.named_parameters())
    buffers = dict(model.named_buffers())
    gen = torch.Generator().manual_seed(seed)
    data = split.to(device)
    out = []
    for e in eps:
        correct = 0
        for batch in iterate_batches(data, batch_size):
            noisy = {k: p + e * torch.randn(p.shape, generator=gen).to(device, p.dtype) for k, p in params.items()}
            logits = functional_call(model, (noisy, buffers), (batch["x"],))
            correct += int((logits.argmax(1) == batch["y"]).sum())
        out.append(correct / len(split))
    model.train(was)
    return out
