"""Second-order quantities of a loss: Hessian-vector products, the Hessian diagonal
(exact or Hutchinson), and the Hutchinson trace.

For a loss ``L(theta)`` with ``P`` parameters:

- ``hvp(v) = H v`` via forward-over-reverse (``torch.func.jvp`` of ``torch.func.grad``);
- exact diagonal: ``h_ii = e_i^T H e_i`` for every basis vector ``e_i``, vectorised with
  ``torch.func.vmap`` in chunks: ``P`` HVPs, so only for small models;
- Hutchinson (1989) / Bekas et al. (2007) diagonal: ``diag(H) ~ mean_k v_k * (H v_k)``
  with Rademacher ``v_k`` (unbiased; variance falls as ``1/K``);
- Hutchinson trace: ``tr(H) ~ mean_k v_k^T H v_k``, optionally differentiable (used as a
  flatness penalty in the anti-distillation objective).

The loss is written as ``loss_fn(params: dict[str, Tensor]) -> scalar`` over a
``dict`` of named parameters (``dict(model.named_parameters())``), so it can be called
with ``torch.func.functional_call``.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import torch
from torch import Tensor, nn
from torch.func import functional_call, grad, jvp, vmap

# torch.func's forward-mode AD imports a torch.jit helper that warns on import; not ours to fix.
warnings.filterwarnings("ignore", message=".*torch.jit.script.*is deprecated", category=FutureWarning)

__all__ = ["loss_of_params", "hvp", "hessian_diagonal", "hutchinson_diagonal", "hutchinson_trace",
           "flatten", "unflatten_like"]

Params = dict[str, Tensor]


def flatten(tensors: Params) -> Tensor:
    """Concatenate a dict of tensors into one ``(P,)`` vector (dict order)."""
    return torch.cat([t.reshape(-1) for t in tensors.values()])


def unflatten_like(vec: Tensor, like: Params) -> Params:
    """Inverse of :func:`flatten` for tensors shaped like ``like``."""
    out, i = {}, 0
    for k, t in like.items():
        out[k] = vec[i:i + t.numel()].view_as(t)
        i += t.numel()
    return out


def loss_of_params(model: nn.Module, x: Tensor, y: Tensor,
                   criterion: Callable[[Tensor, Tensor], Tensor] = nn.functional.cross_entropy
                   ) -> Callable[[Params], Tensor]:
    """``params -> criterion(model_params(x), y)``: the data loss as a function of weights.

    ``x`` ``(B, ...)`` and ``y`` ``(B,)`` are fixed (e.g. a batch, or a whole small split).
    Buffers (BatchNorm statistics) are taken from the model as they are.
    """
    buffers = dict(model.named_buffers())

    def f(params: Params) -> Tensor:
        return criterion(functional_call(model, (params, buffers), (x,)), y)

    return f


def hvp(loss_fn: Callable[[Params], Tensor], params: Params, v: Params) -> Params:
    """Hessian-vector product ``H v`` at ``params`` (forward-over-reverse)."""
    return jvp(grad(loss_fn), (params,), (v,))[1]


def hessian_diagonal(loss_fn: Callable[[Params], Tensor], params: Params, chunk: int = 256) -> Params:
    """Exact ``diag(H)`` by ``P`` Hessian-vector products with basis vectors.

    Cost: ``P / chunk`` vmapped HVP batches; memory grows with ``chunk``. Returns a dict
    shaped like ``params``.
    """
    params = {k: v.detach() for k, v in params.items()}
    flat = flatten(params)
    n = flat.numel()

    def diag_entries(idx: Tensor) -> Tensor:
        basis = torch.zeros(len(idx), n, dtype=flat.dtype, device=flat.device)
        basis[torch.arange(len(idx)), idx] = 1.0

        def one(e: Tensor) -> Tensor:
            return flatten(hvp(loss_fn, params, unflatten_like(e, params)))

        hv = vmap(one)(basis)                       # (chunk, P)
        return hv[torch.arange(len(idx)), idx]      # (chunk,)

    out = torch.cat([diag_entries(torch.arange(s, min(s + chunk, n), device=flat.device))
                     for s in range(0, n, chunk)])
    return unflatten_like(out, params)


def _rademacher(like: Params, generator: torch.Generator) -> Params:
    return {k: (torch.randint(0, 2, t.shape, generator=generator, device="cpu").to(t.device, t.dtype) * 2 - 1)
            for k, t in like.items()}


def hutchinson_diagonal(loss_fn: Callable[[Params], Tensor], params: Params, n_probes: int = 100,
                        seed: int = 0) -> Params:
    """Unbiased estimate ``diag(H) ~ (1/K) sum_k v_k * (H v_k)``, ``v_k`` Rademacher.

    ``K = n_probes`` HVPs whatever the model size: the estimator for larger models.
    """
    params = {k: v.detach() for k, v in params.items()}
    g = torch.Generator().manual_seed(seed)
    acc = {k: torch.zeros_like(t) for k, t in params.items()}
    for _ in range(n_probes):
        v = _rademacher(params, g)
        hv = hvp(loss_fn, params, v)
        for k in acc:
            acc[k] += v[k] * hv[k]
    return {k: a / n_probes for k, a in acc.items()}


def hutchinson_trace(loss: Tensor, params: list[Tensor], n_probes: int = 1, create_graph: bool = False,
                     generator: torch.Generator | None = None) -> Tensor:
    """``tr(H) ~ (1/K) sum_k v_k^T H v_k`` for a scalar ``loss`` of ``params``.

    Uses double backward on the autograd graph of ``loss`` (which must have been built
    with gradients on). With ``create_graph=True`` the estimate is itself differentiable,
    so it can be added to a training objective (third-order terms flow through).
    """
    grads = torch.autograd.grad(loss, params, create_graph=True)
    est = loss.new_zeros(())
    for _ in range(n_probes):
        vs = [torch.randint(0, 2, p.shape, generator=generator).to(p.device, p.dtype) * 2 - 1 for p in params]
        hv = torch.autograd.grad(grads, params, grad_outputs=vs, create_graph=create_graph, retain_graph=True)
        est = est + sum((v * h).sum() for v, h in zip(vs, hv))
    return est / n_probes
