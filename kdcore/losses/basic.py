"""Plain supervised objectives: cross-entropy for classification, MSE for regression."""

from __future__ import annotations

from typing import Protocol

import torch.nn.functional as F
from torch import Tensor, nn


class Objective(Protocol):
    """``objective(model, batch) -> {name: scalar loss}``; the loop sums the values."""

    def __call__(self, model: nn.Module, batch: dict[str, Tensor]) -> dict[str, Tensor]: ...


class CrossEntropy:
    """Mean cross-entropy of ``model(x)`` ``(B, C)`` against labels ``y`` ``(B,)``."""

    def __call__(self, model: nn.Module, batch: dict[str, Tensor]) -> dict[str, Tensor]:
        return {"ce": F.cross_entropy(model(batch["x"]), batch["y"])}


class MSE:
    """Mean squared error of ``model(x)`` ``(B, 1)`` or ``(B,)`` against targets ``(B,)``."""

    def __call__(self, model: nn.Module, batch: dict[str, Tensor]) -> dict[str, Tensor]:
        return {"mse": F.mse_loss(model(batch["x"]).reshape(-1), batch["y"].float())}
