"""The exact one-step hypergradient through the mixed Jacobian, for metaparameters that act
on the model's outputs only.

The 2022 paper's metaparameters ``theta = (lambda, T)`` (Gorpinich, Bakhteev & Strijov,
AiT 83(10), eq. for ``L_train``) enter the training loss only through a *head* on the
student's logits: ``L_train(w, theta) = l(z(w), theta)`` with ``z = f(x; w)`` ``(B, C)`` and
``f`` not reading ``theta``. With ``J = dz/dw``:

    g = grad_w L_train = J^T dl/dz ,        dg/dtheta_k = J^T M_k ,   M_k = d^2 l / (dz dtheta_k)  (B, C),

so the hypergradient ``(dg/dtheta)^T v`` of :mod:`kdcore.hyper.unrolled`
(``v = (dU/dg)^T grad L_val(w')``) is, per scalar metaparameter,

    h_k = < J^T M_k , v > .

``J^T M_k`` is one vector-Jacobian product through the network from the training forward
the loop runs anyway. :mod:`kdcore.hyper.forward_mode` instead pushes ``v`` forward
(one dual forward: the primal again plus the tangents), which costs about 1.2-1.5 training
steps on the 2022 paper's ConvVeryTiny, where its max-pooling makes the forward the larger
half of a step; ``K`` backward products cost ``K`` backward halves. So for a few scalars
(``K = 2`` here) this is the cheaper exact method, and for many (the ``T x S`` layer-pair
weights of the heterogeneous chapter) the forward mode is (:data:`MAX_SCALARS`).

``kdcore.training.loop.fit`` frees its graph in ``loss.backward()``, and ``on_before_step``
runs after it. So the objective of this step (:meth:`MixedHyperStep.objective`, the one
passed to ``fit``) takes the products itself, from that one graph: the gradient ``g`` first,
then the ``J^T M_k``, and returns the loss parts with a zero-valued surrogate whose backward
is ``g``: the logged losses and the gradient the loop steps with are the plain ones (the
same product, ``tests/test_hyper_mixed.py``). The head's derivatives ``dl/dz`` and ``M_k``
come from ``torch.func`` (``grad`` inside ``jacfwd``) on the ``(B, C)`` outputs only.

Same number as ``hypergradient(method="exact")`` (to rounding). ``make bench`` row (f).
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable

import torch
from torch import Tensor, nn

from ..base.checks import check_int
from ..data import Split
from .callbacks import HyperConfig, HyperStep
from .meta import Metaparameters
from .unrolled import Objective, _grads, _loss_at, inner_step

__all__ = ["MAX_SCALARS", "MixedHyperStep", "meta_step", "unrolled_direction"]

MAX_SCALARS = 4   # more scalar metaparameters: use kdcore.hyper.forward_mode (one dual forward)

Outputs = Callable[[nn.Module, dict[str, Tensor]], Tensor]
Head = Callable[[Tensor, dict[str, Tensor], dict[str, Tensor]], dict[str, Tensor]]


def unrolled_direction(lower, val_fn: Objective, step, train_grad: list[Tensor],
                       val_batch: dict[str, Tensor]) -> tuple[list[Tensor], Tensor]:
    """``(v, L_val(w'))`` with ``w' = U(w, g)`` and ``v = (dU/dg)^T grad L_val(w')``.

    ``train_grad`` is ``g`` (one tensor per trainable weight of ``lower``); the step ``U``
    is elementwise in ``g``, so ``v`` is a cheap vector-Jacobian product of it. The model's
    weights and BatchNorm statistics are not changed (functional call on cloned buffers).
    """
    named = lower.trainable()
    names = list(named)
    w = [p.detach() for p in named.values()]
    g = [gi.detach().to(x.dtype).requires_grad_(True) for x, gi in zip(w, train_grad)]
    with torch.enable_grad():
        w_step = step(w, g)
    w_new = [x.detach().requires_grad_(True) for x in w_step]
    buffers = {k: b.clone() for k, b in lower.named_buffers()}
    val = _loss_at(lower, val_fn, names, w_new, buffers, val_batch)
    return _grads(w_step, g, grad_outputs=_grads(val, w_new)), val.detach()


def _total(parts: dict[str, Tensor]) -> Tensor:
    return functools.reduce(operator.add, parts.values())


class MixedHyperStep(HyperStep):
    """:class:`kdcore.hyper.HyperStep` with the exact hypergradient ``h_k = <J^T M_k, v>``.

    For the 2022 paper's loss, :func:`kdcore.losses.meta_hinton_mixed.hinton_hyper_step`
    builds it from a :class:`~kdcore.losses.MetaHintonKD`. Pass :attr:`objective` to ``fit`` as its objective (it *is* the training loss, with the
    products this step needs taken from its graph) and the step as a callback.

    Args:
        meta: the metaparameters the head reads (at most :data:`MAX_SCALARS` scalars).
        outputs: ``outputs(model, batch) -> z`` ``(B, C)``, not reading ``meta``.
        head: ``head(z, batch, values) -> {name: loss}`` with ``values = meta.values()``.
        val_objective, val, config: as :class:`HyperStep` (``config.method`` is not read;
            ``config.every`` must be 1: the products are taken at every training step).
    """

    def __init__(self, meta: Metaparameters, outputs: Outputs, head: Head, val_objective: Objective,
                 val: Split, config: HyperConfig | None = None) -> None:
        super().__init__(meta, self.objective, val_objective, val, config)
        check_int("hyper_every", self.config.every, 1, 1)
        n = sum(p.numel() for p in meta.parameters())
        if n > MAX_SCALARS:
            raise ValueError(f"MixedHyperStep: {n} scalar metaparameters (> {MAX_SCALARS}) would cost one "
                             "backward each; use kdcore.hyper.forward_mode.ForwardHyperStep")
        self.outputs, self.head = outputs, head
        self._mixed: dict[str, list[Tensor]] | None = None   # value name -> J^T M (one per weight)

    # -- the training objective -------------------------------------------------------------
    def objective(self, model: nn.Module, batch: dict[str, Tensor]) -> dict[str, Tensor]:
        """The head's loss parts at ``model``'s outputs; in training (grad enabled, after
        ``on_fit_start``) also the gradient and the mixed products from the same graph."""
        z = self.outputs(model, batch)
        values = {k: v.detach() for k, v in self.meta.values().items()}
        if not (torch.is_grad_enabled() and z.requires_grad and self._params):
            return self.head(z, batch, values)
        zd = z.detach()
        zd = zd.float() if zd.dtype in (torch.float16, torch.bfloat16) else zd

        def dl_dz(vals: dict[str, Tensor], zz: Tensor) -> Tensor:
            return torch.func.grad(lambda q: _total(self.head(q, batch, vals)))(zz)

        with torch.no_grad():
            parts = self.head(zd, batch, values)
        gz = dl_dz(values, zd)
        mixed = torch.func.jacfwd(dl_dz)(values, zd)          # name -> (B, C, *value shape)
        grads = _grads(z, self._params, grad_outputs=gz.to(z.dtype), retain_graph=True)
        cots = [(k, i, m.reshape(*zd.shape, -1)[..., i]) for k, m in mixed.items()
                for i in range(values[k].numel())]
        self._mixed = {}
        for n, (k, i, m) in enumerate(cots):
            prod = _grads(z, self._params, grad_outputs=m.to(z.dtype), retain_graph=n < len(cots) - 1)
            self._mixed.setdefault(k, []).append(prod)
        # A zero-valued surrogate whose gradient is g: the loop's backward then sets .grad = g.
        s = functools.reduce(operator.add, ((p * gp).sum() for p, gp in zip(self._params, grads)))
        first = next(iter(parts))
        return {**parts, first: parts[first] + (s - s.detach())}

    # -- the upper-level step ---------------------------------------------------------------
    def update(self, batch: dict[str, Tensor]) -> Tensor:
        if self._lower is None or self._opt is None or self._mixed is None:
            raise RuntimeError("MixedHyperStep.update before a training step of its own objective: "
                               "pass step.objective to fit and the step in callbacks=[...]")
        v, val = unrolled_direction(self._lower, self.val_objective, inner_step(self._opt, self._params),
                                    [p.grad if p.grad is not None else torch.zeros_like(p) for p in self._params],
                                    self.val_batch())
        # h for each constrained value (its shape), then through values() to the raw parameters.
        values = self.meta.values()
        h = {k: torch.stack([functools.reduce(operator.add, ((a * b).sum() for a, b in zip(prod, v)))
                             for prod in self._mixed[k]]).reshape(values[k].shape) for k in self._mixed}
        self._mixed = None
        raw = list(self.meta.parameters())
        keys = [k for k in values if k in h]
        meta_step(self, _grads([values[k] for k in keys], raw, grad_outputs=[h[k].to(values[k].dtype) for k in keys]))
        return val


def meta_step(step: HyperStep, grads: list[Tensor]) -> None:
    """One upper-level step of ``step`` from the hypergradients of its raw metaparameters, as
    :meth:`HyperStep.update` takes it: a non-finite entry is zeroed (the step is skipped there,
    as the authors did), entries clipped to ``config.clip``, then the projection."""
    clip = step.config.clip
    for p, g in zip(step.meta.parameters(), grads):
        g = torch.nan_to_num(g, nan=0.0, posinf=0.0, neginf=0.0)
        p.grad = g.clamp(-clip, clip) if clip > 0 else g
    step._meta_opt.step()
    step._meta_opt.zero_grad(set_to_none=True)
    step.meta.project_()
    step.hyper_steps += 1
