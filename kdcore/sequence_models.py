"""A one-layer LSTM classifier for images read row by row (anti-distillation chapter).

A ``(B, 1, 28, 28)`` image (or any ``(B, T, D)`` tensor) is read as a sequence of
``T = 28`` rows of ``D = 28`` pixels; the last hidden state goes to a linear head.
Features: ``"hidden"`` (``(B, H)``, last hidden state) and ``"logits"`` (``(B, C)``).
Used as teacher (small ``H``) and student (grown ``H``) in the LSTM growth experiment
of Petrushina et al. (2022), whose draft promised LSTM experiments it never published.
"""

from __future__ import annotations

from collections import OrderedDict

from torch import Tensor, nn

from .models import FeatureModel

__all__ = ["LSTMClassifier"]


class LSTMClassifier(FeatureModel):
    """``nn.LSTM(input_size, hidden_size)`` over rows, then ``nn.Linear(hidden_size, n_classes)``."""

    def __init__(self, input_size: int = 28, hidden_size: int = 32, n_classes: int = 10) -> None:
        super().__init__()
        self.lstm = nn.LSTM(input_size, hidden_size, batch_first=True)
        self.head = nn.Linear(hidden_size, n_classes)

    def features(self, x: Tensor) -> "OrderedDict[str, Tensor]":
        if x.dim() == 4:  # (B, 1, H, W) image -> (B, H, W) sequence of rows
            x = x.flatten(1, 2) if x.shape[1] != 1 else x.squeeze(1)
        _, (h, _) = self.lstm(x)
        out: OrderedDict[str, Tensor] = OrderedDict()
        out["hidden"] = h[-1]
        out["logits"] = self.head(h[-1])
        return out
