"""Metaparameters: the upper-level variables of a bi-level distillation problem.

A metaparameter module holds *raw*, unconstrained tensors (its ``nn.Parameter`` s, which
the upper-level optimiser updates) and maps them to the constrained values the training
loss uses (:meth:`Metaparameters.values`). Because every constraint is built into the map
(or restored by :meth:`Metaparameters.project_` after a step), a gradient step or a linear
extrapolation of the raw trajectory can never leave the allowed set.

- :class:`HintonMeta` (Gorpinich, Bakhteev & Strijov 2022): the weight ``lambda`` in [0, 1]
  of the hard-label term and the temperature ``T``;
  ``lambda = sigmoid(a)``, ``T = T_min + (T_max - T_min) * sigmoid(b)``, as in the authors'
  CIFAR code (``T`` in (0.1, 10), the range of their random search ``log10 T ~ U(-1, 1)``).
- :class:`SimplexWeights` (the heterogeneous-distillation paper): weights ``lambda_ij``
  of all (teacher layer i, student layer j) pairs with ``sum_ij lambda_ij = 1``,
  ``lambda = softmax(raw)`` over all ``T x S`` entries.
- :class:`ClampedScalar`: one weight kept in ``[low, high]`` by clamping after each step,
  as the authors' single-pair experiment did (``lambda`` clamped to [0, 1]).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from ..base.checks import check_range

__all__ = ["Metaparameters", "HintonMeta", "SimplexWeights", "ClampedScalar"]


def _logit(p: float) -> float:
    return math.log(p) - math.log1p(-p)


class Metaparameters(nn.Module):
    """Base class: raw parameters (``nn.Parameter``) and their constrained ``values()``."""

    def values(self) -> dict[str, Tensor]:  # pragma: no cover - abstract
        """Constrained values, differentiable w.r.t. the raw parameters."""
        raise NotImplementedError

    @torch.no_grad()
    def project_(self) -> None:
        """Restore the constraint in place after an upper-level step (default: nothing,
        the parametrisation already guarantees it)."""

    def raw(self) -> Tensor:
        """All raw parameters as one flat vector (for trajectories and extrapolation)."""
        return torch.cat([p.detach().reshape(-1) for p in self.parameters()])

    @torch.no_grad()
    def set_raw_(self, flat: Tensor) -> None:
        """Inverse of :meth:`raw`: write a flat vector back into the raw parameters."""
        i = 0
        for p in self.parameters():
            n = p.numel()
            p.copy_(flat[i:i + n].reshape(p.shape).to(p))
            i += n
        self.project_()

    @torch.no_grad()
    def snapshot(self) -> dict[str, float | list]:
        """The current constrained values as plain Python numbers (for run records)."""
        return {k: (v.item() if v.numel() == 1 else v.detach().cpu().tolist()) for k, v in self.values().items()}


class HintonMeta(Metaparameters):
    """``(lambda, T)`` of the 2022 paper's loss ``lambda * CE + (1 - lambda) * soft-CE(T)``.

    Args:
        lam: initial ``lambda`` in (0, 1).
        temperature: initial ``T`` in (t_min, t_max).
        t_min, t_max: the open interval of ``T`` (authors' code: 0.1 and 10).
    """

    def __init__(self, lam: float = 0.5, temperature: float = 1.0, t_min: float = 0.1, t_max: float = 10.0) -> None:
        super().__init__()
        check_range("t_min", t_min, 0, None, low_open=True)
        check_range("t_max", t_max, t_min, None, low_open=True)
        check_range("lam", lam, 0, 1, low_open=True, high_open=True)
        check_range("temperature", temperature, t_min, t_max, low_open=True, high_open=True)
        self.t_min, self.t_max = t_min, t_max
        self.a = nn.Parameter(torch.tensor(_logit(lam)))
        self.b = nn.Parameter(torch.tensor(_logit((temperature - t_min) / (t_max - t_min))))

    def values(self) -> dict[str, Tensor]:
        return {"lambda": torch.sigmoid(self.a),
                "temperature": self.t_min + (self.t_max - self.t_min) * torch.sigmoid(self.b)}


class SimplexWeights(Metaparameters):
    """Weights ``lambda`` of shape ``shape`` (e.g. ``(T, S)`` layer pairs) on the simplex.

    ``lambda = softmax(raw.flatten()).view(shape)``: every entry in (0, 1), all summing
    to 1, whatever the raw values. ``init`` (positive, any scale) sets the starting
    weights after normalisation; ``None`` means uniform.
    """

    def __init__(self, shape: tuple[int, ...], init: Tensor | None = None, name: str = "lambda") -> None:
        super().__init__()
        self.shape, self.name = tuple(shape), name
        if init is None:
            raw = torch.zeros(self.shape)
        else:
            init = torch.as_tensor(init, dtype=torch.float32)
            if init.shape != self.shape or not bool((init > 0).all()):
                raise ValueError(f"parameter 'init' must be positive with shape {self.shape}, got {tuple(init.shape)}")
            raw = init.log()
        self.logits = nn.Parameter(raw)

    def values(self) -> dict[str, Tensor]:
        return {self.name: torch.softmax(self.logits.reshape(-1), 0).view(self.shape)}


class ClampedScalar(Metaparameters):
    """One weight in ``[low, high]``, used as it is and clamped after every step."""

    def __init__(self, init: float, low: float = 0.0, high: float = 1.0, name: str = "lambda") -> None:
        super().__init__()
        check_range(name, init, low, high)
        self.low, self.high, self.name = low, high, name
        self.value = nn.Parameter(torch.tensor(float(init)))

    def values(self) -> dict[str, Tensor]:
        return {self.name: self.value}

    @torch.no_grad()
    def project_(self) -> None:
        self.value.clamp_(self.low, self.high)
