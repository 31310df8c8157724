"""The one-step unrolled hypergradient (greedy bi-level optimisation).

Lower level: model weights ``w`` minimise ``L_train(w, theta)``; upper level:
metaparameters ``theta`` minimise ``L_val(w)``. One optimiser step
``w' = U(w, g)`` with ``g = grad_w L_train(w, theta)`` is unrolled and

    d L_val(w'(theta)) / d theta = (dg/dtheta)^T (dU/dg)^T d,      d = grad L_val(w')

(Luketina et al. 2016; Liu et al. 2019, DARTS; Gorpinich, Bakhteev & Strijov 2022,
AiT 83(10)). For plain SGD ``dU/dg = -eta I`` and the hypergradient is
``-eta * d^2 L_train / (d theta d w) . d``.

- :func:`hypergradient` ``method="exact"``: autograd through the functional step
  (``torch.func.functional_call``; second-order terms by double backward).
- ``method="finite_difference"``: the DARTS approximation the authors used: with
  ``v = (dU/dg)^T d`` (a cheap vector-Jacobian product of the elementwise step),
  ``d/dtheta <grad_w L_train, v> ~ [grad_theta L_train(w + eps v) - grad_theta L_train(w - eps v)] / (2 eps)``,
  ``eps = 0.01 / ||v||`` (for SGD this is the authors' ``eps = 0.01 / ||d||`` times ``-eta``).

The functional steps (:func:`sgd_step`, :func:`adam_step`) reproduce ``torch.optim.SGD``
and ``torch.optim.Adam`` (L2 weight decay, no AMSGrad, no Nesterov) from the live
optimiser's hyperparameters and state (:func:`inner_step`). Neither the model's
weights nor its BatchNorm statistics are changed by a hypergradient: the functional calls
run on detached copies and cloned buffers.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable, Mapping, Sequence

import torch
from torch import Tensor, nn
from torch.func import functional_call

__all__ = ["Lower", "sgd_step", "adam_step", "inner_step", "hypergradient", "unrolled_val_loss", "METHODS"]

METHODS = ("exact", "finite_difference")
Step = Callable[[Sequence[Tensor], Sequence[Tensor]], list[Tensor]]
Objective = Callable[[nn.Module, dict[str, Tensor]], dict[str, Tensor]]


class Lower(nn.Module):
    """The lower-level variables in one module: the model and, when the training objective
    is an ``nn.Module`` (e.g. VID regressors), the objective. ``forward(fn, batch)`` is
    ``sum(fn(model, batch).values())``; under ``functional_call`` every parameter of both
    is replaced, so any objective can be evaluated at other weights without copying it."""

    def __init__(self, model: nn.Module, objective: object = None) -> None:
        super().__init__()
        self.model = model
        self.objective = objective if isinstance(objective, nn.Module) else None

    def forward(self, fn: Objective, batch: dict[str, Tensor]) -> Tensor:
        return functools.reduce(operator.add, fn(self.model, batch).values())

    def trainable(self) -> dict[str, Tensor]:
        """Named trainable parameters (model first), the ``w`` of the lower level."""
        return {k: p for k, p in self.named_parameters() if p.requires_grad}


def sgd_step(lr: float, momentum: float = 0.0, weight_decay: float = 0.0,
             buffers: Sequence[Tensor | None] | None = None) -> Step:
    """``torch.optim.SGD``'s update as a pure function ``(w, g) -> w'`` (dampening 0).

    ``d = g + wd * w``; with momentum ``b = mu * b_prev + d`` (``b = d`` on the first
    step, ``b_prev`` from ``buffers``) and ``w' = w - lr * b``; without, ``w' = w - lr * d``.
    """

    def step(w: Sequence[Tensor], g: Sequence[Tensor]) -> list[Tensor]:
        out = []
        for i, (wi, gi) in enumerate(zip(w, g)):
            d = gi + weight_decay * wi if weight_decay else gi
            if momentum:
                prev = buffers[i] if buffers is not None else None
                d = d if prev is None else momentum * prev + d
            out.append(wi - lr * d)
        return out

    return step


def _safe_sqrt(x: Tensor) -> Tensor:
    """``sqrt(x)`` whose derivative is 0 (not NaN) where ``x == 0`` (a never-updated weight)."""
    pos = x > 0
    return torch.where(pos, torch.sqrt(torch.where(pos, x, torch.ones_like(x))), torch.zeros_like(x))


def adam_step(lr: float, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
              weight_decay: float = 0.0, step: int = 0,
              exp_avg: Sequence[Tensor] | None = None, exp_avg_sq: Sequence[Tensor] | None = None) -> Step:
    """``torch.optim.Adam``'s update as a pure function ``(w, g) -> w'``.

    With ``t = step + 1``: ``m = b1 m_prev + (1 - b1) g``, ``v = b2 v_prev + (1 - b2) g^2``,
    ``w' = w - lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)``; ``g`` includes
    ``wd * w``. ``exp_avg``/``exp_avg_sq`` are the optimiser's moments (zeros if ``None``).
    """
    b1, b2 = betas
    t = step + 1
    bc1, bc2 = 1 - b1 ** t, 1 - b2 ** t

    def fn(w: Sequence[Tensor], g: Sequence[Tensor]) -> list[Tensor]:
        out = []
        for i, (wi, gi) in enumerate(zip(w, g)):
            gi = gi + weight_decay * wi if weight_decay else gi
            m = (1 - b1) * gi if exp_avg is None else b1 * exp_avg[i] + (1 - b1) * gi
            v = (1 - b2) * gi * gi if exp_avg_sq is None else b2 * exp_avg_sq[i] + (1 - b2) * gi * gi
            out.append(wi - (lr / bc1) * m / (_safe_sqrt(v) / bc2 ** 0.5 + eps))
        return out

    return fn


def inner_step(optimizer: torch.optim.Optimizer, params: Sequence[Tensor]) -> Step:
    """The functional form of ``optimizer``'s *next* step for ``params`` (in that order),
    using its current learning rate and state. Supports SGD and Adam with one param group."""
    if len(optimizer.param_groups) != 1:
        raise ValueError("inner_step supports optimisers with one parameter group")
    group = optimizer.param_groups[0]
    lr = float(group["lr"])
    if isinstance(optimizer, torch.optim.SGD):
        if group.get("nesterov") or group.get("dampening", 0):
            raise ValueError("inner_step: SGD with Nesterov or dampening is not supported")
        bufs = [optimizer.state.get(p, {}).get("momentum_buffer") for p in params]
        return sgd_step(lr, group["momentum"], group["weight_decay"], bufs)
    if isinstance(optimizer, torch.optim.Adam):
        if group.get("amsgrad"):
            raise ValueError("inner_step: Adam with amsgrad is not supported")
        states = [optimizer.state.get(p, {}) for p in params]
        if not states or "step" not in states[0]:
            return adam_step(lr, group["betas"], group["eps"], group["weight_decay"], 0)
        return adam_step(lr, group["betas"], group["eps"], group["weight_decay"], int(states[0]["step"]),
                         [s["exp_avg"] for s in states], [s["exp_avg_sq"] for s in states])
    raise ValueError(f"inner_step: optimiser {type(optimizer).__name__} is not supported (SGD, Adam)")


def _loss_at(lower: Lower, fn: Objective, names: Sequence[str], w: Sequence[Tensor],
             buffers: Mapping[str, Tensor], batch: dict[str, Tensor]) -> Tensor:
    """``sum(fn(model, batch))`` at weights ``w``; ``buffers`` are scratch copies (BatchNorm
    updates its running statistics in place; in training mode they do not change outputs)."""
    out = functional_call(lower, ({**dict(zip(names, w)), **buffers},), (fn, batch), strict=False)
    return out.float() if out.dtype in (torch.float16, torch.bfloat16) else out


def _grads(out: Tensor | Sequence[Tensor], inputs: Sequence[Tensor], **kw) -> list[Tensor]:
    got = torch.autograd.grad(out, list(inputs), allow_unused=True, **kw)
    return [torch.zeros_like(x) if g is None else g for x, g in zip(inputs, got)]


def unrolled_val_loss(lower: Lower, train_fn: Objective, val_fn: Objective, step: Step,
                      train_batch: dict[str, Tensor], val_batch: dict[str, Tensor],
                      create_graph: bool = True) -> Tensor:
    """``L_val(U(w, grad_w L_train(w, theta)))`` as a function of the metaparameters that
    ``train_fn`` reads (differentiable w.r.t. them when ``create_graph``)."""
    named = lower.trainable()
    names = list(named)
    buffers = {k: b.clone() for k, b in lower.named_buffers()}   # the model's own stay untouched
    w = [p.detach().requires_grad_(True) for p in named.values()]
    g = _grads(_loss_at(lower, train_fn, names, w, buffers, train_batch), w, create_graph=create_graph)
    return _loss_at(lower, val_fn, names, step(w, g), buffers, val_batch)


def hypergradient(lower: Lower, train_fn: Objective, val_fn: Objective, meta: Sequence[Tensor], step: Step,
                  train_batch: dict[str, Tensor], val_batch: dict[str, Tensor],
                  method: str = "exact", fd_scale: float = 0.01,
                  train_grad: Sequence[Tensor] | None = None) -> tuple[list[Tensor], Tensor]:
    """Gradient of the one-step-unrolled validation loss w.r.t. the raw metaparameters.

    Args:
        lower: :class:`Lower` around the model (and a trainable objective).
        train_fn, val_fn: objectives ``(model, batch) -> {name: loss}``; ``train_fn``
            reads the metaparameters, ``val_fn`` must not (e.g. plain cross-entropy).
        meta: the raw metaparameter tensors (``requires_grad``).
        step: the functional lower-level step (:func:`inner_step`).
        method: ``"exact"`` (double backward) or ``"finite_difference"`` (DARTS).
        fd_scale: ``eps = fd_scale / ||v||`` of the finite difference.
        train_grad: ``grad_w L_train`` at the current weights if already computed (the
            training loop's ``.grad``), reused by the finite-difference method, which needs
            no graph through it; the exact method always recomputes it with a graph.

    Returns:
        ``(gradients, val_loss)``: one gradient per tensor of ``meta`` (same shapes) and
        ``L_val(w')`` as a 0-d tensor (not synchronised to the host).
    """
    if method not in METHODS:
        raise ValueError(f"parameter 'method' = {method!r} is not allowed: choose one of {list(METHODS)}")
    if method == "exact":
        val = unrolled_val_loss(lower, train_fn, val_fn, step, train_batch, val_batch, create_graph=True)
        return _grads(val, meta), val.detach()
    named = lower.trainable()
    names, buffers = list(named), {k: b.clone() for k, b in lower.named_buffers()}
    w = [p.detach() for p in named.values()]
    if train_grad is None:
        w_req = [x.clone().requires_grad_(True) for x in w]
        g = _grads(_loss_at(lower, train_fn, names, w_req, buffers, train_batch), w_req)
    else:
        g = [torch.zeros_like(x) if gi is None else gi.detach().to(x.dtype) for x, gi in zip(w, train_grad)]
    g = [x.detach().requires_grad_(True) for x in g]
    with torch.enable_grad():
        w_step = step(w, g)
    w_new = [x.detach().requires_grad_(True) for x in w_step]
    val = _loss_at(lower, val_fn, names, w_new, buffers, val_batch)
    d = _grads(val, w_new)
    v = _grads(w_step, g, grad_outputs=d)      # v = (dU/dg)^T d: elementwise, cheap
    # No host sync: a zero v gives eps = inf, caught below as a zero hypergradient.
    norm = torch.sqrt(sum((x.float() ** 2).sum() for x in v))
    eps = fd_scale / norm
    plus = _grads(_loss_at(lower, train_fn, names, [a + eps * b for a, b in zip(w, v)], buffers, train_batch), meta)
    minus = _grads(_loss_at(lower, train_fn, names, [a - eps * b for a, b in zip(w, v)], buffers, train_batch), meta)
    ok = torch.isfinite(eps)
    return [torch.where(ok, (p - m) / (2 * eps), torch.zeros_like(p)) for p, m in zip(plus, minus)], val.detach()
