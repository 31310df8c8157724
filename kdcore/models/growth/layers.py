"""Growth operators φ for single layers: a trained teacher layer into a larger student layer.

Petrushina, Bakhteev, Grabovoy & Strijov (2022), "Anti-Distillation: Knowledge Transfer
from a Simple Model to the Complex One" (MIPT; intsystems/2022-Project-97): the student is
initialised as ``u_1 = φ(w*)`` from the teacher's trained weights ``w*``.

Every operator is described by a :class:`UnitMap` per grown axis: student unit ``j``
copies teacher unit ``index[j]`` (or is *new* when ``index[j] == -1``), and a *fill*
for the entries that have no teacher value:

- zero pad:    pad map (``index = [0..n_t-1, -1, ...]``), fill ``"zero"``;
- uniform pad: pad map, fill ``"default"`` (the student's own initialisation, for
  ``nn.Linear`` ``U[-1/sqrt(fan_in), 1/sqrt(fan_in)]``);
- Net2Net (Chen, Goodfellow & Shlens, ICLR 2016, Net2WiderNet): replication map
  (``index[j] = j`` for ``j < n_t``, a random teacher unit otherwise); incoming weights
  of a replica are copied, outgoing weights are divided by the replication count
  ``c(g(j))``, so ``sum_j W'[:, j] h_{g(j)} / c(g(j)) = W h`` and the function is unchanged.

For a weight ``W_t`` of shape ``(O_t, I_t, *k)`` and student ``W_s`` ``(O_s, I_s, *k)``:

    W_s[j, i] = W_t[out.index[j], in.index[i]] / in.divisor[i]   if both indices >= 0
    W_s[j, i] = fill                                              otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

__all__ = ["UnitMap", "FILLS", "grow_weight", "grow_vector", "grow_linear", "grow_conv_bn",
           "grow_lstm", "identity_conv", "identity_linear"]

FILLS = ("zero", "default")


@dataclass(frozen=True)
class UnitMap:
    """Which teacher unit each student unit copies.

    ``index`` ``(n_student,)`` long: teacher unit of student unit ``j``, or ``-1`` (new unit).
    ``divisor`` ``(n_student,)`` float: the replication count of ``index[j]`` (1 for a new
    unit); dividing a unit's *outgoing* weights by it keeps the next layer's input sum.
    """

    index: Tensor
    n_teacher: int

    @property
    def n_student(self) -> int:
        return len(self.index)

    @property
    def divisor(self) -> Tensor:
        known = self.index >= 0
        counts = torch.bincount(self.index[known], minlength=self.n_teacher).float()
        out = torch.ones(self.n_student)
        out[known] = counts[self.index[known]]
        return out

    @classmethod
    def pad(cls, n_teacher: int, n_student: int) -> "UnitMap":
        """Teacher units first, then ``n_student - n_teacher`` new units (zero / uniform pad)."""
        if n_student < n_teacher:
            raise ValueError(f"student width {n_student} < teacher width {n_teacher}")
        idx = torch.full((n_student,), -1, dtype=torch.long)
        idx[:n_teacher] = torch.arange(n_teacher)
        return cls(idx, n_teacher)

    @classmethod
    def replicate(cls, n_teacher: int, n_student: int, generator: torch.Generator | None = None) -> "UnitMap":
        """Net2Net map: ``g(j) = j`` for ``j < n_t``, else uniform over teacher units."""
        if n_student < n_teacher:
            raise ValueError(f"student width {n_student} < teacher width {n_teacher}")
        extra = torch.randint(0, n_teacher, (n_student - n_teacher,), generator=generator)
        return cls(torch.cat([torch.arange(n_teacher), extra]), n_teacher)

    def tile(self, blocks: int) -> "UnitMap":
        """The same map repeated for ``blocks`` stacked blocks (LSTM gates i, f, g, o)."""
        parts = [torch.where(self.index >= 0, self.index + b * self.n_teacher, self.index)
                 for b in range(blocks)]
        return UnitMap(torch.cat(parts), self.n_teacher * blocks)

    def expand(self, inner: int) -> "UnitMap":
        """Map over a flattened ``(units, inner)`` axis (conv channels x spatial positions)."""
        pos = torch.arange(inner)
        idx = torch.where(self.index[:, None] >= 0, self.index[:, None] * inner + pos, -1)
        return _ExpandedMap(idx.reshape(-1), self.n_teacher * inner, self.divisor.repeat_interleave(inner))


@dataclass(frozen=True)
class _ExpandedMap(UnitMap):
    """A flattened map keeps the channel's replication count as divisor."""

    channel_divisor: Tensor = None  # type: ignore[assignment]

    @property
    def divisor(self) -> Tensor:
        return self.channel_divisor


def _base(student: Tensor, fill: str) -> Tensor:
    if fill not in FILLS:
        raise ValueError(f"parameter 'fill' = {fill!r} is not allowed: choose one of {list(FILLS)}")
    return torch.zeros_like(student) if fill == "zero" else student.detach().clone()


@torch.no_grad()
def grow_weight(teacher: Tensor, student: Tensor, out_map: UnitMap, in_map: UnitMap, fill: str) -> Tensor:
    """Grown weight ``(O_s, I_s, *k)`` from ``teacher`` ``(O_t, I_t, *k)`` (see module doc)."""
    new = _base(student, fill)
    rows = (out_map.index >= 0).nonzero().squeeze(1)
    cols = (in_map.index >= 0).nonzero().squeeze(1)
    block = teacher[out_map.index[rows]][:, in_map.index[cols]]
    div = in_map.divisor[cols].to(teacher.dtype).view(1, -1, *([1] * (teacher.dim() - 2)))
    new[rows[:, None], cols[None, :]] = block / div
    return new


@torch.no_grad()
def grow_vector(teacher: Tensor, student: Tensor, out_map: UnitMap, fill: str) -> Tensor:
    """Grown bias / per-unit vector ``(O_s,)`` from ``(O_t,)``."""
    new = _base(student, fill)
    rows = (out_map.index >= 0).nonzero().squeeze(1)
    new[rows] = teacher[out_map.index[rows]]
    return new


def _noise_new_units(weight: Tensor, out_map: UnitMap, noise: float, generator: torch.Generator | None) -> None:
    """Net2Net symmetry breaking: N(0, (noise * std W)^2) on the incoming weights of replicas
    (student units ``j >= n_teacher``). ``noise = 0`` (default) keeps the function exactly."""
    if noise <= 0:
        return
    reps = torch.arange(out_map.n_student) >= out_map.n_teacher
    eps = torch.randn(weight[reps].shape, generator=generator) * noise * weight.std()
    weight[reps] += eps.to(weight.dtype)


@torch.no_grad()
def grow_linear(teacher: nn.Linear, student: nn.Linear, out_map: UnitMap, in_map: UnitMap, fill: str,
                noise: float = 0.0, generator: torch.Generator | None = None) -> None:
    """φ for ``nn.Linear``: weight ``(O, I)`` and bias ``(O,)`` of ``student`` set in place."""
    w = grow_weight(teacher.weight, student.weight, out_map, in_map, fill)
    _noise_new_units(w, out_map, noise, generator)
    student.weight.copy_(w)
    if student.bias is not None:
        student.bias.copy_(grow_vector(teacher.bias, student.bias, out_map, fill))


@torch.no_grad()
def grow_conv_bn(teacher: nn.Conv2d, student: nn.Conv2d, out_map: UnitMap, in_map: UnitMap, fill: str,
                 teacher_bn: nn.BatchNorm2d | None = None, student_bn: nn.BatchNorm2d | None = None,
                 noise: float = 0.0, generator: torch.Generator | None = None) -> None:
    """φ for ``nn.Conv2d`` ``(C_out, C_in, kh, kw)`` and the BatchNorm after it.

    Output channels follow ``out_map``, input channels ``in_map`` (the previous layer's
    output map, divided by its replication counts). BatchNorm: ``weight``, ``bias``,
    ``running_mean`` and ``running_var`` are copied for *every* student channel from its
    teacher channel (a known bug of public Net2Net ports copies statistics only for the
    last unit); new channels keep the student's defaults (1, 0, 0, 1), which map the zero
    output of a zero-padded channel to zero.
    """
    w = grow_weight(teacher.weight, student.weight, out_map, in_map, fill)
    _noise_new_units(w, out_map, noise, generator)
    student.weight.copy_(w)
    if student.bias is not None:
        student.bias.copy_(grow_vector(teacher.bias, student.bias, out_map, fill))
    if teacher_bn is not None and student_bn is not None:
        for name in ("weight", "bias", "running_mean", "running_var"):
            getattr(student_bn, name).copy_(grow_vector(getattr(teacher_bn, name), getattr(student_bn, name),
                                                        out_map, "default"))
        student_bn.num_batches_tracked.copy_(teacher_bn.num_batches_tracked)


@torch.no_grad()
def grow_lstm(teacher: nn.LSTM, student: nn.LSTM, hidden_map: UnitMap, fill: str,
              noise: float = 0.0, generator: torch.Generator | None = None) -> None:
    """φ for a one-layer ``nn.LSTM``: hidden size ``H_t -> H_s`` with one unit map.

    PyTorch stacks the gates as ``[i; f; g; o]``: ``weight_ih_l0`` ``(4H, I)``,
    ``weight_hh_l0`` ``(4H, H)``, biases ``(4H,)``. All four gate blocks use the same map
    (rows ``b*H + j`` copy ``b*H_t + g(j)``); ``weight_hh`` is grown on both sides, its
    columns divided by the replication counts. With Net2Net a replica then has the same
    gates, cell and hidden state as its source at every step, so the outputs are unchanged.
    With zero pad a new unit has gates 0.5, ``g = 0``, so ``c = h = 0`` at every step.
    """
    if teacher.num_layers != 1 or student.num_layers != 1 or teacher.bidirectional or student.bidirectional:
        raise ValueError("grow_lstm supports one-layer, unidirectional LSTMs")
    gates = hidden_map.tile(4)
    inputs = UnitMap.pad(teacher.input_size, student.input_size)
    w_ih = grow_weight(teacher.weight_ih_l0, student.weight_ih_l0, gates, inputs, fill)
    w_hh = grow_weight(teacher.weight_hh_l0, student.weight_hh_l0, gates, hidden_map, fill)
    if noise > 0:
        reps = torch.cat([torch.arange(hidden_map.n_student) >= hidden_map.n_teacher] * 4)
        for w in (w_ih, w_hh):
            w[reps] += torch.randn(w[reps].shape, generator=generator) * noise * w.std()
    student.weight_ih_l0.copy_(w_ih)
    student.weight_hh_l0.copy_(w_hh)
    for name in ("bias_ih_l0", "bias_hh_l0"):
        getattr(student, name).copy_(grow_vector(getattr(teacher, name), getattr(student, name), gates, fill))


def identity_conv(channels: int, kernel_size: int = 3) -> nn.Conv2d:
    """Net2DeeperNet: a conv layer computing the identity (1 at the kernel *centre*,
    ``padding = k // 2``; an off-centre 1 would shift the feature map). Odd ``k`` only."""
    if kernel_size % 2 != 1:
        raise ValueError(f"parameter 'kernel_size' = {kernel_size} must be odd")
    conv = nn.Conv2d(channels, channels, kernel_size, padding=kernel_size // 2)
    with torch.no_grad():
        conv.weight.zero_()
        conv.bias.zero_()
        c = kernel_size // 2
        conv.weight[torch.arange(channels), torch.arange(channels), c, c] = 1.0
    return conv


def identity_linear(units: int) -> nn.Linear:
    """Net2DeeperNet for a fully connected layer: ``W = I``, ``b = 0`` (identity after a
    ReLU, since ``relu(relu(z)) = relu(z)``)."""
    lin = nn.Linear(units, units)
    with torch.no_grad():
        lin.weight.copy_(torch.eye(units))
        lin.bias.zero_()
    return lin
