"""The exact one-step hypergradient by forward-over-reverse differentiation.

With ``w' = U(w, g)``, ``g = ∇_w L_train(w, θ)`` and ``d = ∇ L_val(w')``, the hypergradient
of :mod:`kdcore.hyper.unrolled` is

    dL_val/dθ = (∂g/∂θ)^T v ,      v = (∂U/∂g)^T d ,

and ``(∂g/∂θ)^T v = ∂/∂θ ⟨∇_w L_train(w, θ), v⟩ = d/dε ∇_θ L_train(w + ε v, θ) |_{ε=0}``
(the mixed second derivative is symmetric). So it is one *directional* derivative: push
the tangent ``v`` forward through the training loss (``torch.autograd.forward_ad`` dual
numbers) and take ``∇_θ`` of it with reverse mode, which only has to cross the part of the
graph that θ reaches (the loss head: λ, T or the layer-pair weights). No Hessian and no
double backward through the network are formed, and the training gradient ``g`` is the one
the loop has just computed, so nothing is recomputed.

This is the same number as ``hypergradient(method="exact")`` (double backward through the
unrolled step; equal to rounding, ``tests/test_hyper_forward.py``) at a lower cost:

- exact, double backward: train forward + backward with a graph, validation forward +
  backward, a backward through the backward;
- exact, forward-over-reverse (here): validation forward + backward and one dual forward
  of the training loss (about three plain forwards) with a backward through the head;
- finite differences (DARTS): validation forward + backward and two plain forwards.

``make bench`` row (f) prints the three. The weights and BatchNorm statistics of the model
are never changed: the functional calls run on detached copies and cloned buffers.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.autograd.forward_ad as fwAD
from torch import Tensor

from .callbacks import HyperStep
from .mixed import meta_step, unrolled_direction
from .unrolled import Lower, Objective, Step, _grads, _loss_at, inner_step

__all__ = ["hypergradient_forward", "ForwardHyperStep"]


def hypergradient_forward(lower: Lower, train_fn: Objective, val_fn: Objective, meta: Sequence[Tensor], step: Step,
                          train_batch: dict[str, Tensor], val_batch: dict[str, Tensor],
                          train_grad: Sequence[Tensor | None] | None = None) -> tuple[list[Tensor], Tensor]:
    """The exact hypergradient ``(∂g/∂θ)^T (∂U/∂g)^T ∇L_val(U(w, g))`` w.r.t. ``meta``.

    Args:
        lower, train_fn, val_fn, meta, step: as :func:`kdcore.hyper.hypergradient`.
        train_grad: ``g = ∇_w L_train(w, θ)`` at the current weights (the loop's ``.grad``,
            one tensor or ``None`` per trainable weight of ``lower``); computed if ``None``.

    Returns:
        ``(gradients, val_loss)``: one tensor per entry of ``meta`` (same shape) and
        ``L_val(w')`` (0-d, detached).
    """
    named = lower.trainable()
    names = list(named)
    w = [p.detach() for p in named.values()]
    if train_grad is None:
        w_req = [x.clone().requires_grad_(True) for x in w]
        buffers = {k: b.clone() for k, b in lower.named_buffers()}
        train_grad = _grads(_loss_at(lower, train_fn, names, w_req, buffers, train_batch), w_req)
    v, val = unrolled_direction(lower, val_fn, step, [torch.zeros_like(x) if gi is None else gi
                                                      for x, gi in zip(w, train_grad)], val_batch)
    buffers = {k: b.clone() for k, b in lower.named_buffers()}
    with fwAD.dual_level():
        dual = [fwAD.make_dual(a, b.to(a.dtype)) for a, b in zip(w, v)]
        loss = _loss_at(lower, train_fn, names, dual, buffers, train_batch)
        grads = torch.autograd.grad(loss, list(meta), create_graph=True, allow_unused=True)
        out = []
        for m, gm in zip(meta, grads):
            tangent = None if gm is None else fwAD.unpack_dual(gm).tangent
            out.append(torch.zeros_like(m) if tangent is None else tangent.detach())
    return out, val


class ForwardHyperStep(HyperStep):
    """:class:`kdcore.hyper.HyperStep` whose hypergradient is :func:`hypergradient_forward`
    (exact, reusing the loop's training gradient); ``config.method`` is not read."""

    def update(self, batch: dict[str, Tensor]) -> Tensor:
        if self._lower is None or self._opt is None:
            raise RuntimeError("ForwardHyperStep.update before on_fit_start: pass it to fit(callbacks=[...])")
        meta = list(self.meta.parameters())
        grads, val = hypergradient_forward(self._lower, self.train_objective, self.val_objective, meta,
                                           inner_step(self._opt, self._params), batch, self.val_batch(),
                                           [p.grad for p in self._params])
        meta_step(self, grads)
        return val
