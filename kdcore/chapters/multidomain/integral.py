"""The integral quality criterion of a training run (Grabovoy & Strijov 2022, used by
Orlov & Grabovoy 2022, section 3.2): the area under the test-loss curve.

For test losses ``L_1, ..., L_E`` measured after epochs ``1..E`` the trapezoid rule with
unit spacing gives ``I = sum_{e=1}^{E-1} (L_e + L_{e+1}) / 2``. Lower is better: a model
that reaches a low loss sooner has a smaller area. The mean over seeds of ``I`` equals
the area under the seed-mean curve (the rule is linear).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["integral_criterion"]


def integral_criterion(test_loss: Sequence[float], epochs: Sequence[float] | None = None) -> float:
    """Trapezoid area under ``test_loss`` (one value per evaluated epoch).

    Args:
        test_loss: ``(E,)`` losses; at least two values.
        epochs: ``(E,)`` x positions (default ``1..E``).
    """
    y = np.asarray(test_loss, dtype=float)
    if y.ndim != 1 or len(y) < 2:
        raise ValueError(f"integral_criterion needs a curve of >= 2 losses, got shape {y.shape}")
    x = np.arange(1, len(y) + 1, dtype=float) if epochs is None else np.asarray(epochs, dtype=float)
    return float(np.sum((y[1:] + y[:-1]) / 2 * np.diff(x)))
