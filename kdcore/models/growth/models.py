"""Growth of whole models: a trained teacher into a wider student of the same family.

Petrushina et al. (2022), anti-distillation: ``u_1 = φ(w*)``. :func:`grow` builds one
unit map per hidden layer (pad maps for zero / uniform pad, random replication maps for
Net2Net) and applies the layer operators of :mod:`kdcore.models.growth.layers`; the class axis
of the output layer is always a pad map (new classes have no teacher unit: zeros for
zero pad, the student's default init otherwise). :func:`transfer` is the other baseline:
the teacher's body with a new head.

============  ===============  =======================================
method        hidden unit map  entries without a teacher value
============  ===============  =======================================
``zero``      pad              0
``uniform``   pad              the student's default initialisation
``net2net``   replicate        the student's default init (new classes)
============  ===============  =======================================
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from .layers import UnitMap, grow_conv_bn, grow_linear, grow_lstm
from .. import MLP, LSTMClassifier, _ConvSmall

__all__ = ["GrowthMethod", "GROWTH_METHODS", "grow", "transfer", "freeze_body"]


@dataclass(frozen=True)
class GrowthMethod:
    """How to grow: which unit map for hidden layers, which fill for the rest."""

    replicate: bool   # Net2Net replication map (else pad map)
    fill: str         # "zero" or "default"


GROWTH_METHODS: dict[str, GrowthMethod] = {
    "zero": GrowthMethod(replicate=False, fill="zero"),
    "uniform": GrowthMethod(replicate=False, fill="default"),
    "net2net": GrowthMethod(replicate=True, fill="default"),
}


def _hidden_map(method: GrowthMethod, n_t: int, n_s: int, gen: torch.Generator) -> UnitMap:
    return UnitMap.replicate(n_t, n_s, gen) if method.replicate else UnitMap.pad(n_t, n_s)


def _grow_mlp(t: MLP, s: MLP, m: GrowthMethod, gen: torch.Generator, noise: float) -> None:
    if len(t.layers) != len(s.layers) or t.sizes[0] != s.sizes[0]:
        raise ValueError(f"cannot grow MLP {t.sizes} into {s.sizes}: depth and input size must match")
    maps = [UnitMap.pad(t.sizes[0], s.sizes[0])]
    maps += [_hidden_map(m, a, b, gen) for a, b in zip(t.sizes[1:-1], s.sizes[1:-1])]
    maps += [UnitMap.pad(t.sizes[-1], s.sizes[-1])]
    for k, (lt, ls) in enumerate(zip(t.layers, s.layers)):
        grow_linear(lt, ls, maps[k + 1], maps[k], m.fill, noise if k + 1 < len(maps) - 1 else 0.0, gen)


def _grow_conv(t: _ConvSmall, s: _ConvSmall, m: GrowthMethod, gen: torch.Generator, noise: float) -> None:
    if len(t.blocks) != len(s.blocks):
        raise ValueError("teacher and student must have the same number of conv blocks")
    prev = UnitMap.pad(t.blocks[0][0].in_channels, s.blocks[0][0].in_channels)
    for bt, bs in zip(t.blocks, s.blocks):
        out = _hidden_map(m, bt[0].out_channels, bs[0].out_channels, gen)
        grow_conv_bn(bt[0], bs[0], out, prev, m.fill, bt[1], bs[1], noise, gen)
        prev = out
    spatial = t.fc1.in_features // t.blocks[-1][0].out_channels      # 2x2 positions for 32x32 inputs
    flat = prev.expand(spatial)
    hid = _hidden_map(m, t.fc1.out_features, s.fc1.out_features, gen)
    grow_linear(t.fc1, s.fc1, hid, flat, m.fill, noise, gen)
    grow_linear(t.fc2, s.fc2, UnitMap.pad(t.fc2.out_features, s.fc2.out_features), hid, m.fill)


def _grow_lstm(t: LSTMClassifier, s: LSTMClassifier, m: GrowthMethod, gen: torch.Generator, noise: float) -> None:
    hid = _hidden_map(m, t.lstm.hidden_size, s.lstm.hidden_size, gen)
    grow_lstm(t.lstm, s.lstm, hid, m.fill, noise, gen)
    grow_linear(t.head, s.head, UnitMap.pad(t.head.out_features, s.head.out_features), hid, m.fill)


_GROWERS: dict[type, Callable] = {MLP: _grow_mlp, _ConvSmall: _grow_conv, LSTMClassifier: _grow_lstm}


def grow(teacher: nn.Module, student: nn.Module, method: str, seed: int = 0, noise: float = 0.0) -> nn.Module:
    """Initialise ``student`` in place from ``teacher`` with φ = ``method`` and return it.

    Args:
        teacher: trained ``MLP`` / ``ConvTiny``-style / ``LSTMClassifier``.
        student: the same family, every hidden layer at least as wide; its current weights
            are the "default" fill (build it after ``seed_everything`` for reproducibility).
        method: ``"zero"``, ``"uniform"`` or ``"net2net"``.
        seed: seeds the Net2Net unit maps and noise.
        noise: Net2Net symmetry-breaking noise (relative std); ``0`` keeps the function.
            Net2Net only: a padded init with noise would no longer be that init.
    """
    if method not in GROWTH_METHODS:
        raise ValueError(f"parameter 'method' = {method!r} is not allowed: choose one of {list(GROWTH_METHODS)}")
    if noise != 0 and method != "net2net":
        raise ValueError(f"parameter 'noise' = {noise!r} is for Net2Net replicas only; method {method!r} takes noise=0")
    grower = next((g for cls, g in _GROWERS.items() if isinstance(teacher, cls) and isinstance(student, cls)), None)
    if grower is None:
        raise TypeError(f"no growth operator from {type(teacher).__name__} to {type(student).__name__}")
    grower(teacher, student, GROWTH_METHODS[method], torch.Generator().manual_seed(seed), noise)
    return student


def _last_linear_name(model: nn.Module) -> str:
    names = [n for n, mod in model.named_modules() if isinstance(mod, nn.Linear)]
    if not names:
        raise TypeError(f"{type(model).__name__} has no nn.Linear head")
    return names[-1]


def transfer(teacher: nn.Module, n_classes: int) -> nn.Module:
    """Transfer-learning baseline: a copy of ``teacher`` with a new (default-init) last
    ``nn.Linear`` for ``n_classes``. Seed the RNG before calling (the head is random)."""
    model = copy.deepcopy(teacher)
    name = _last_linear_name(model)
    parent_name, _, attr = name.rpartition(".")
    parent = model.get_submodule(parent_name) if parent_name else model
    old = getattr(parent, attr) if not attr.isdigit() else parent[int(attr)]
    new = nn.Linear(old.in_features, n_classes)
    if attr.isdigit():
        parent[int(attr)] = new
    else:
        setattr(parent, attr, new)
    return model


def freeze_body(model: nn.Module, frozen: bool) -> None:
    """(Un)freeze every parameter except the last ``nn.Linear`` (the transfer head)."""
    head = _last_linear_name(model)
    for name, p in model.named_parameters():
        p.requires_grad = not frozen or name.startswith(head + ".")
