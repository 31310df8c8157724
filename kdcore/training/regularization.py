"""Regularisers of Hinton's MNIST teacher: input jitter and max-norm weight constraints.

Hinton, Vinyals & Dean (2015, section 3) trained their 1200-1200 MNIST teacher "strongly
regularised using dropout and weight-constraints as described in [Hinton et al. 2012]"
on inputs "jittered by up to two pixels in any direction"; that regime reached 67 test
errors. Dropout lives in :class:`kdcore.models.MLP`; the other two are here:

- :class:`RandomShift`: every image of a batch translated by its own integer offset
  ``(dy, dx)``, each uniform in ``[-s, s]``, the uncovered border filled with zeros. It runs
  on the batch's device with torch's global generator (seeded by ``fit``), so it is
  deterministic given the seed on the CPU and adds no per-sample Python.
- :class:`Jittered`: wraps any objective so that it sees jittered inputs (training only;
  cached teacher outputs must not be used with it, they belong to unshifted inputs).
- :class:`MaxNorm`: after every optimiser step, each hidden unit's incoming weight vector
  is rescaled to norm at most ``c`` (Srivastava et al. 2014, section 5.1), as a ``fit``
  callback.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn

from ..base.checks import check_int, check_range

__all__ = ["RandomShift", "Jittered", "MaxNorm"]


class RandomShift:
    """``x (B, ..., H, W) -> (B, ..., H, W)``: each sample shifted by up to ``max_shift`` pixels.

    ``(B, H*W)`` inputs are accepted too when ``image_shape`` gives ``(H, W)``.
    """

    def __init__(self, max_shift: int = 2, image_shape: tuple[int, int] = (28, 28)) -> None:
        check_int("max_shift", max_shift, 0, 8)
        self.max_shift = max_shift
        self.image_shape = image_shape

    def __call__(self, x: Tensor) -> Tensor:
        s = self.max_shift
        if s == 0:
            return x
        flat = x.dim() == 2
        img = x.view(x.shape[0], *self.image_shape) if flat else x
        b, (h, w) = img.shape[0], img.shape[-2:]
        lead = img.shape[1:-2]
        padded = nn.functional.pad(img.reshape(b, -1, h, w), (s, s, s, s))        # (B, C, H+2s, W+2s)
        dy = torch.randint(0, 2 * s + 1, (b,), device=x.device)
        dx = torch.randint(0, 2 * s + 1, (b,), device=x.device)
        rows = (dy[:, None] + torch.arange(h, device=x.device))[:, None, :, None]   # (B, 1, H, 1)
        cols = (dx[:, None] + torch.arange(w, device=x.device))[:, None, None, :]   # (B, 1, 1, W)
        batch = torch.arange(b, device=x.device)[:, None, None, None]
        chan = torch.arange(padded.shape[1], device=x.device)[None, :, None, None]
        out = padded[batch, chan, rows, cols].reshape(b, *lead, h, w)
        return out.reshape(x.shape) if flat else out

    def __repr__(self) -> str:
        return f"RandomShift({self.max_shift})"


class Jittered:
    """``objective(model, batch)`` evaluated on ``shift(batch["x"])`` (training only)."""

    def __init__(self, objective: Callable[[nn.Module, dict[str, Tensor]], dict[str, Tensor]],
                 shift: RandomShift) -> None:
        self.objective = objective
        self.shift = shift

    def __call__(self, model: nn.Module, batch: dict[str, Tensor]) -> dict[str, Tensor]:
        return self.objective(model, {**batch, "x": self.shift(batch["x"])})


class MaxNorm:
    """``fit`` callback: after each step, ``w_j <- w_j * min(1, c / ||w_j||)`` for every row
    ``w_j`` (a unit's incoming weights) of the chosen Linear layers (default: all but the last)."""

    def __init__(self, max_norm: float, include_last: bool = False) -> None:
        check_range("max_norm", max_norm, 0, 100, low_open=True)
        self.max_norm = max_norm
        self.include_last = include_last

    @torch.no_grad()
    def on_batch_end(self, model: nn.Module, batch: dict[str, Tensor], step: int) -> None:
        layers = [m for m in model.modules() if isinstance(m, nn.Linear)]
        for layer in layers if self.include_last else layers[:-1]:
            layer.weight.copy_(torch.renorm(layer.weight, p=2, dim=0, maxnorm=self.max_norm))
