"""What one ``fit`` leaves behind: the per-epoch :class:`History`, and the stop on a
non-finite training loss (:class:`NonFiniteLossError`), so no run record stores a NaN."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING

import torch
from torch import Tensor

if TYPE_CHECKING:
    from .loop import TrainConfig

__all__ = ["History", "NonFiniteLossError", "check_finite"]


@dataclass
class History:
    """Per-epoch record of one ``fit``.

    ``train_parts[name]`` is the epoch mean of each named loss (``train_loss`` is their
    sum); ``test_loss``/``test_metric`` are measured after each evaluated epoch
    (``test_epochs``). ``best`` is the best test metric over epochs: a *peak*, reported
    beside ``last`` as some papers did, never used to pick a model.
    """

    metric: str
    train_loss: list[float] = field(default_factory=list)
    train_parts: dict[str, list[float]] = field(default_factory=dict)
    test_epochs: list[int] = field(default_factory=list)
    test_loss: list[float] = field(default_factory=list)
    test_metric: list[float] = field(default_factory=list)
    epoch_seconds: list[float] = field(default_factory=list)

    @property
    def last(self) -> float:
        return self.test_metric[-1]

    @property
    def best(self) -> float:
        return (max if self.metric == "accuracy" else min)(self.test_metric)

    @property
    def best_epoch(self) -> int:
        """1-based epoch of :attr:`best`."""
        return self.test_epochs[self.test_metric.index(self.best)]

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "History":
        return cls(**d)


class NonFiniteLossError(FloatingPointError):
    """A training loss became ``inf`` or ``nan``: the run stops, so no record stores it."""


def check_finite(logged: list[Tensor], names: list[str], epoch: int, first_step: int, desc: str,
                  config: "TrainConfig") -> None:
    """Raise :class:`NonFiniteLossError` naming the first step whose loss is not finite.

    ``logged`` holds one row of detached loss parts per step of the epoch; the check runs
    once per epoch on values the loop synchronises anyway, so it costs no device sync.
    """
    bad = ~torch.isfinite(torch.stack(logged)).all(1)
    if bool(bad.any()):
        i = int(bad.nonzero()[0, 0])
        parts = ", ".join(f"{k}={float(v):g}" for k, v in zip(names, logged[i]))
        raise NonFiniteLossError(
            f"{desc}: the training loss is not finite at epoch {epoch}, step {first_step + i} "
            f"(batch {i + 1} of the epoch; {parts}) with lr={config.lr:g}. The run was stopped "
            f"before any record was written: lower the learning rate or check the inputs.")
