"""Upper-level steps as ``fit`` callbacks: the loop knows nothing of bi-level optimisation.

- :class:`HyperStep`: every ``every`` lower-level steps, one hypergradient of the
  validation loss on a validation batch (:func:`kdcore.hyper.hypergradient`), clipped, and
  one step of the upper-level optimiser on the raw metaparameters, then the projection.
  It runs in ``on_before_step``, as in the authors' code: on the current training batch,
  through the very step the optimiser is about to take (same weights, same state; the
  finite-difference method reuses the loop's gradient, which is why it is cheaper).
- :class:`TrajectoryExtrapolation`: the 2022 paper's cheaper variant. Training time is
  cut into mini-epochs of ``mini_epoch`` steps; for ``fit_mini_epochs`` mini-epochs the
  metaparameters follow :class:`HyperStep`, their raw trajectory is recorded, a straight
  line is fitted to it (least squares per raw coordinate), and for the next
  ``extrapolate_mini_epochs`` mini-epochs they are set from the line with no
  hypergradient at all; then the cycle repeats (authors: 10 and 10).

Both keep a trajectory of the constrained values (``trajectory``: list of
``{"step", **values}``) every ``record_every`` steps, for the run record.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from ..base.checks import check_choice, check_int, check_range
from ..data import Split
from .meta import Metaparameters
from .unrolled import METHODS, Lower, Objective, hypergradient, inner_step

__all__ = ["HyperConfig", "HyperStep", "TrajectoryExtrapolation"]


@dataclass
class HyperConfig:
    """Settings of the upper level. Validated on construction."""

    lr: float = 1e-3                 # upper-level learning rate (0: metaparameters stay fixed)
    optimizer: str = "adam"          # "adam" or "sgd" on the raw metaparameters
    every: int = 1                   # one upper-level step per this many lower-level steps
    clip: float = 0.0                # clip each hypergradient entry to [-clip, clip] (0: no clipping)
    method: str = "exact"            # "exact" (autograd) or "finite_difference" (DARTS)
    fd_scale: float = 0.01           # eps = fd_scale / ||v|| of the finite difference
    val_batch_size: int = 128        # rows of the validation batch per upper-level step
    record_every: int = 10           # keep the metaparameters every this many steps
    seed: int = 0                    # seeds the validation-batch sampler (not the global RNG)

    def __post_init__(self) -> None:
        check_range("hyper_lr", self.lr, 0)
        check_choice("hyper_optimizer", self.optimizer, ("adam", "sgd"))
        check_int("hyper_every", self.every, 1)
        check_range("hyper_clip", self.clip, 0)
        check_choice("hyper_method", self.method, METHODS)
        check_range("fd_scale", self.fd_scale, 0, None, low_open=True)
        check_int("val_batch_size", self.val_batch_size, 1)
        check_int("record_every", self.record_every, 1)
        check_int("seed", self.seed, 0)


class HyperStep:
    """One upper-level step on a validation batch every ``config.every`` lower-level steps.

    Args:
        meta: the metaparameters that ``train_objective`` reads.
        train_objective: the lower-level objective (the same object ``fit`` minimises).
        val_objective: ``L_val``, e.g. :class:`kdcore.losses.CrossEntropy`.
        val: the validation split (rows never used by the lower level).
        config: :class:`HyperConfig`.
    """

    def __init__(self, meta: Metaparameters, train_objective: Objective, val_objective: Objective,
                 val: Split, config: HyperConfig | None = None) -> None:
        self.meta, self.train_objective, self.val_objective = meta, train_objective, val_objective
        self.config = config or HyperConfig()
        self.val = val
        self.trajectory: list[dict] = []
        self.hyper_steps = 0
        self._gen = torch.Generator().manual_seed(self.config.seed)
        self._opt: torch.optim.Optimizer | None = None
        self._lower: Lower | None = None
        self._params: list[Tensor] = []
        self._meta_opt = self._make_meta_opt()

    def _make_meta_opt(self) -> torch.optim.Optimizer:
        params = list(self.meta.parameters())
        if self.config.optimizer == "adam":
            return torch.optim.Adam(params, lr=self.config.lr)
        return torch.optim.SGD(params, lr=self.config.lr)

    # -- fit hooks --------------------------------------------------------------------
    def on_fit_start(self, model: nn.Module, optimizer: torch.optim.Optimizer) -> None:
        device = next(model.parameters()).device
        self.meta.to(device)
        self._meta_opt = self._make_meta_opt()  # parameters may have moved with .to()
        self.val = self.val.to(device)
        self._lower = Lower(model, self.train_objective)
        self._opt = optimizer
        self._names = list(self._lower.trainable())
        self._params = list(self._lower.trainable().values())
        self.record(0)

    def on_before_step(self, model: nn.Module, batch: dict[str, Tensor], step: int) -> None:
        if step % self.config.every == 0:
            self.update(batch)

    def on_batch_end(self, model: nn.Module, batch: dict[str, Tensor], step: int) -> None:
        if step % self.config.record_every == 0:
            self.record(step)

    # -- the upper-level step ------------------------------------------------------------
    def val_batch(self) -> dict[str, Tensor]:
        """A random validation batch (own generator: the global RNG is never touched)."""
        n = len(self.val)
        idx = torch.randperm(n, generator=self._gen)[:min(self.config.val_batch_size, n)].to(self.val.y.device,
                                                                                           non_blocking=True)
        batch = {"x": self.val.prepare(self.val.x.index_select(0, idx)), "y": self.val.y.index_select(0, idx),
                 "index": idx}
        for k, v in self.val.extras.items():
            batch[k] = v.index_select(0, idx)
        return batch

    def update(self, batch: dict[str, Tensor]) -> Tensor:
        """Hypergradient on ``batch`` (training) and a validation batch; one meta step.
        Returns the unrolled validation loss (a 0-d tensor)."""
        if self._lower is None or self._opt is None:
            raise RuntimeError("HyperStep.update before on_fit_start: pass it to fit(callbacks=[...])")
        meta = list(self.meta.parameters())
        step = inner_step(self._opt, self._params)
        loop_grad = [p.grad for p in self._params] if self.config.method == "finite_difference" else None
        grads, val = hypergradient(self._lower, self.train_objective, self.val_objective, meta, step,
                                   batch, self.val_batch(), self.config.method, self.config.fd_scale, loop_grad)
        for p, g in zip(meta, grads):
            g = torch.nan_to_num(g, nan=0.0, posinf=0.0, neginf=0.0)  # as the authors: a NaN step is skipped
            p.grad = g.clamp(-self.config.clip, self.config.clip) if self.config.clip > 0 else g
        self._meta_opt.step()
        self._meta_opt.zero_grad(set_to_none=True)
        self.meta.project_()
        self.hyper_steps += 1
        return val

    def record(self, step: int) -> None:
        self.trajectory.append({"step": step, **self.meta.snapshot()})


class TrajectoryExtrapolation(HyperStep):
    """:class:`HyperStep` in fit phases, a fitted straight line in extrapolation phases.

    Args (beyond :class:`HyperStep`):
        mini_epoch: lower-level steps per mini-epoch.
        fit_mini_epochs: mini-epochs of hypergradient steps whose trajectory is fitted.
        extrapolate_mini_epochs: mini-epochs that follow the fitted line.
    """

    def __init__(self, meta: Metaparameters, train_objective: Objective, val_objective: Objective, val: Split,
                 config: HyperConfig | None = None, mini_epoch: int = 10, fit_mini_epochs: int = 10,
                 extrapolate_mini_epochs: int = 10) -> None:
        super().__init__(meta, train_objective, val_objective, val, config)
        check_int("mini_epoch", mini_epoch, 1)
        check_int("fit_mini_epochs", fit_mini_epochs, 1)
        check_int("extrapolate_mini_epochs", extrapolate_mini_epochs, 1)
        self.mini_epoch, self.n_fit, self.n_ext = mini_epoch, fit_mini_epochs, extrapolate_mini_epochs
        self._steps: list[int] = []
        self._raws: list[Tensor] = []
        self._line: tuple[Tensor, Tensor] | None = None

    def phase(self, step: int) -> str:
        """``"fit"`` or ``"extrapolate"`` for the 1-based lower-level ``step``."""
        mini = (step - 1) // self.mini_epoch
        return "fit" if mini % (self.n_fit + self.n_ext) < self.n_fit else "extrapolate"

    def on_before_step(self, model: nn.Module, batch: dict[str, Tensor], step: int) -> None:
        cycle = self.mini_epoch * (self.n_fit + self.n_ext)
        if (step - 1) % cycle == 0:  # a new fit phase starts: forget the old line
            self._steps, self._raws, self._line = [], [], None
        if self.phase(step) == "fit":
            if step % self.config.every == 0:
                self.update(batch)
            self._steps.append(step)
            self._raws.append(self.meta.raw())
            if step % cycle == self.mini_epoch * self.n_fit:  # last step of the fit phase
                self._line = fit_line(torch.tensor(self._steps, dtype=torch.float64), torch.stack(self._raws))
        elif self._line is not None:
            # Values for the *next* step's loss (this step's loss is already computed).
            intercept, slope = self._line
            self.meta.set_raw_((intercept + slope * (step + 1)).float())


def fit_line(t: Tensor, values: Tensor) -> tuple[Tensor, Tensor]:
    """Least-squares line per column: ``values[:, k] ~ intercept[k] + slope[k] * t``.

    Args: ``t`` ``(n,)`` steps, ``values`` ``(n, K)``. Returns ``(intercept, slope)``,
    each ``(K,)`` float64 on the CPU; one point gives a constant.
    """
    v = values.detach().double().cpu()
    if len(t) < 2:
        return v[0], torch.zeros_like(v[0])
    tc = t - t.mean()
    slope = (tc[:, None] * (v - v.mean(0))).sum(0) / (tc ** 2).sum()
    return v.mean(0) - slope * t.mean(), slope
