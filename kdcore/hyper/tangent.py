"""The exact one-step hypergradient from a tangent-only pass over the training forward's activations.

For metaparameters that act on the model's outputs only (the 2022 paper's ``theta = (lambda,
T)``, Gorpinich, Bakhteev & Strijov, AiT 83(10): ``L_train(w, theta) = l(z(w), theta)``,
``z = f(x; w)`` ``(B, C)``), :mod:`kdcore.hyper.mixed` writes the hypergradient as
``h_k = <J^T M_k, v>`` with ``J = dz/dw`` and ``M_k = d^2 l / (dz dtheta_k)``. Moving ``J`` to
the other side of the inner product,

    h = d/dtheta < dl/dz (z, theta) , J v > ,         J v  (B, C),

needs the directional derivative ``J v`` of the network at the current weights, once for all
metaparameters, and then only a second derivative of the small head ``l``.

``J v`` is the tangent of ``z`` when the weights move along ``v`` and the input does not. Layer
by layer (``x``, ``y``: a layer's input and output in the training forward; dots: tangents):

- convolution / linear ``y = W * x + b``:  ``y' = W * x' + W' * x + b'`` (two products; in the
  first layer ``x' = 0``, so one);
- BatchNorm with batch statistics, ``x^ = (x - mu) / sigma``: ``x^' = (x' - mean x' - x^ mean(x' x^)) / sigma``,
  ``y' = gamma x^' + gamma' x^ + beta'`` (running statistics in eval mode: ``x^' = x' / sigma``);
- ReLU ``y' = x' [y > 0]`` (tanh, sigmoid: their derivatives from ``y``), max-pooling: ``x'`` at the argmax, reshapes, sums and means: the same op.

So the pass costs about one backward half (the same products, in the forward direction), and
it needs no primal recomputation: the training forward runs through a ``torch.fx`` interpreter
that keeps every node's value (the tensors autograd keeps anyway), and :func:`jvp_from` walks the
same graph with the tangents. Forward-mode AD (:mod:`kdcore.hyper.forward_mode`) recomputes the
primal beside the tangent, and the mixed-Jacobian step takes one backward half *per scalar*;
here the total is the plain step, the validation forward and backward at ``w'``, and one
tangent pass: about 2.7 plain steps of FLOPs for any number of output-side metaparameters.

``method="finite_difference"`` in :class:`TangentHyperStep` replaces the tangent pass by a
difference of the outputs, one-sided ``(z(w + eps v) - z(w)) / eps`` with the training
forward's ``z(w)`` (one plain forward, no graph) or central (two), ``eps = fd_scale / ||v||``
as in DARTS, with the same head derivative.

Same hypergradient as ``hypergradient(method="exact")`` (double backward; to rounding,
``tests/test_hyper_tangent.py``). ``make bench`` row (f).
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable, Mapping

import torch
import torch.nn.functional as F
from torch import Tensor, fx, nn
from torch.func import functional_call

from ..data import Split
from .callbacks import HyperConfig, HyperStep
from .meta import Metaparameters
from .mixed import meta_step, unrolled_direction
from .unrolled import Objective, _grads, inner_step

__all__ = ["RecordingForward", "jvp_from", "TangentHyperStep"]

_POOLS = {nn.MaxPool1d: F.max_pool1d, nn.MaxPool2d: F.max_pool2d, nn.MaxPool3d: F.max_pool3d}

Head = Callable[[Tensor, dict[str, Tensor], dict[str, Tensor]], dict[str, Tensor]]
Tangents = Mapping[int, Tensor]     # id(parameter) -> its tangent (same shape)


class RecordingForward(fx.Interpreter):
    """Runs ``model``'s ``torch.fx`` graph and keeps every node's value (``env``).

    The traced module shares the model's parameters and buffers (``fx.symbolic_trace`` keeps
    the submodules themselves), so the outputs are the model's, op for op. Max-pooling
    modules run with ``return_indices=True`` and their argmax is kept beside the output: in
    training ATen computes them anyway (``max_pool2d`` calls ``max_pool2d_with_indices``
    whenever its input requires grad), so the values and the backward are unchanged.
    """

    def __init__(self, model: nn.Module) -> None:
        gm = fx.symbolic_trace(model)
        super().__init__(gm, garbage_collect_values=False)
        self.model = model
        self._indices: dict[fx.Node, Tensor] = {}

    def run_node(self, n: fx.Node) -> object:
        if n.op == "call_module":
            m = self.module.get_submodule(n.target)
            if type(m) in _POOLS and not m.return_indices and not n.kwargs and len(n.args) == 1:
                x = self.env[n.args[0]]
                y, idx = _POOLS[type(m)](x, m.kernel_size, m.stride, m.padding, m.dilation, ceil_mode=m.ceil_mode,
                                         return_indices=True)
                self._indices[n] = idx
                return y
        return super().run_node(n)

    def forward(self, x: Tensor) -> tuple[Tensor, dict[fx.Node, object]]:
        """``(model(x), env)``; ``env`` maps each graph node to its value in this call (and
        ``("indices", node)`` to a max-pooling node's argmax)."""
        self._indices = {}
        out = self.run(x)
        env, self.env = self.env, {}
        env.update({("indices", k): v for k, v in self._indices.items()})
        return out, env


def _add(a: Tensor | None, b: Tensor | None) -> Tensor | None:
    return b if a is None else a if b is None else a + b


def _tangent_of(arg: object, tan: dict[fx.Node, object]) -> object:
    return tan.get(arg) if isinstance(arg, fx.Node) else None


def _conv_like(m: nn.Module, x: Tensor, y: Tensor, tx: Tensor | None, t: Tangents) -> Tensor | None:
    tw, tb = t.get(id(m.weight)), (t.get(id(m.bias)) if m.bias is not None else None)
    if isinstance(m, nn.Linear):
        op = F.linear
        shape = (-1,)
    else:
        if m.padding_mode != "zeros":
            raise NotImplementedError(f"jvp_from: {type(m).__name__} with padding_mode={m.padding_mode!r}")
        conv = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}[x.dim() - 2]
        op = functools.partial(_conv_args, conv, m)
        shape = (-1,) + (1,) * (x.dim() - 2)
    # Each product is a fresh tensor: the sums are taken in place (nothing else holds them).
    out = None
    if tx is not None:
        out = op(tx, m.weight)
    if tw is not None:
        term = op(x, tw.to(m.weight.dtype))
        out = term if out is None else out.add_(term)
    if tb is not None:
        b = tb.reshape(shape)
        out = b.to(y.dtype).expand_as(y).clone() if out is None else out.add_(b.to(out.dtype))
    return out


def _conv_args(conv, m: nn.Module, x: Tensor, w: Tensor) -> Tensor:
    return conv(x, w, None, m.stride, m.padding, m.dilation, m.groups)


def _batch_norm(m: nn.modules.batchnorm._BatchNorm, x: Tensor, tx: Tensor | None, t: Tangents) -> Tensor | None:
    shape = (1, -1) + (1,) * (x.dim() - 2)
    batch_stats = m.training or m.running_mean is None
    if x.dtype in (torch.float16, torch.bfloat16):   # ATen's mixed-dtype kernels want float stats
        x, tx = x.float(), None if tx is None else tx.float()
    if batch_stats:
        # x^, the batch mean and 1/sigma from ATen's own kernel (no affine, no running update).
        xhat, mean, invstd = torch.ops.aten.native_batch_norm(x, None, None, None, None, True, 0.0, m.eps)
    else:
        invstd = torch.rsqrt(m.running_var + m.eps)
        xhat = (x - m.running_mean.reshape(shape)) * invstd.reshape(shape)
    out = None
    if tx is not None:
        if batch_stats:
            # The normalisation's Jacobian is symmetric, (delta_ij - 1/N - x^_i x^_j / N) / sigma,
            # so its JVP is BatchNorm's own backward applied to the tangent (gamma included).
            out = torch.ops.aten.native_batch_norm_backward(tx, x, m.weight, None, None, mean, invstd, True, m.eps,
                                                            [True, False, False])[0]
        else:
            scale = invstd if m.weight is None else invstd * m.weight
            out = tx * scale.reshape(shape)
    if m.weight is not None:
        tg, tb = t.get(id(m.weight)), t.get(id(m.bias))
        if tg is not None:      # out is fresh (a kernel's output): add in place
            term = tg.reshape(shape).to(xhat.dtype)
            out = xhat * term if out is None else out.addcmul_(xhat, term)
        if tb is not None:
            term = tb.reshape(shape).to(xhat.dtype)
            out = term.expand_as(xhat).clone() if out is None else out.add_(term)
    return out


def _max_pool(x: Tensor, tx: Tensor, kernel, stride, padding, dilation, ceil_mode: bool) -> Tensor:
    pool = {3: F.max_pool1d, 4: F.max_pool2d, 5: F.max_pool3d}[x.dim()]
    y, idx = pool(x, kernel, stride, padding, dilation, ceil_mode=ceil_mode, return_indices=True)
    return tx.flatten(2).gather(2, idx.flatten(2)).view_as(y)


_LINEAR_FUNCTIONS = {torch.flatten, torch.reshape, F.adaptive_avg_pool2d, F.avg_pool2d, torch.mean,
                     F.dropout}   # F.dropout: only where inactive (checked below)
_LINEAR_METHODS = {"flatten", "view", "reshape", "contiguous", "mean", "permute", "transpose", "squeeze",
                   "unsqueeze", "to"}


def _relu(tx: Tensor, y: Tensor) -> Tensor:
    """``tx [y > 0]``: the one kernel ReLU's backward uses."""
    return torch.ops.aten.threshold_backward(tx, y, 0)


def _module_tangent(m: nn.Module, x: Tensor, y: Tensor, tx: Tensor | None, t: Tangents,
                    idx: Tensor | None = None) -> Tensor | None:
    if isinstance(m, (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.Linear)):
        return _conv_like(m, x, y, tx, t)
    if isinstance(m, nn.modules.batchnorm._BatchNorm):
        return _batch_norm(m, x, tx, t)
    if tx is None:
        return None
    if isinstance(m, nn.ReLU):
        return _relu(tx, y)
    if isinstance(m, nn.Tanh):
        return tx * (1 - y * y)
    if isinstance(m, nn.Sigmoid):
        return tx * (y * (1 - y))
    if isinstance(m, (nn.MaxPool1d, nn.MaxPool2d, nn.MaxPool3d)):
        if idx is not None:
            return tx.flatten(2).gather(2, idx.flatten(2)).view_as(y)
        return _max_pool(x, tx, m.kernel_size, m.stride, m.padding, m.dilation, m.ceil_mode)
    if isinstance(m, nn.Flatten):
        return tx.flatten(m.start_dim, m.end_dim)
    if isinstance(m, (nn.AdaptiveAvgPool2d, nn.AvgPool2d, nn.Identity)) or (isinstance(m, nn.Dropout) and not m.training):
        return m(tx)
    raise NotImplementedError(f"jvp_from: no tangent rule for module {type(m).__name__}; "
                              "use kdcore.hyper.forward_mode.ForwardHyperStep for this model")


@torch.no_grad()
def jvp_from(rec: RecordingForward, env: Mapping[fx.Node, object], tangents: Tangents) -> Tensor:
    """``J v``: the tangent of the recorded forward's output when each parameter ``p`` moves
    along ``tangents[id(p)]`` (parameters without an entry, and the inputs, stay fixed).

    Args:
        rec: the :class:`RecordingForward` that produced ``env``.
        env: node values of one recorded forward (the training step's); read only.
        tangents: ``id(parameter) -> tangent`` (same shape as the parameter).

    Returns:
        The output's tangent, same shape as the output (zeros if nothing reaches it).
    """
    tan: dict[fx.Node, object] = {}
    gm = rec.module
    for node in gm.graph.nodes:
        args = node.args
        tin = [_tangent_of(a, tan) for a in args]
        if node.op == "placeholder":
            tan[node] = None
        elif node.op == "get_attr":
            obj = rec.fetch_attr(node.target)
            tan[node] = tangents.get(id(obj)) if isinstance(obj, Tensor) else None
        elif node.op == "call_module":
            m = gm.get_submodule(node.target)
            tan[node] = _module_tangent(m, env[args[0]], env[node], tin[0], tangents, env.get(("indices", node)))
        elif node.op == "call_function":
            tan[node] = _function_tangent(node, env, tin)
        elif node.op == "call_method":
            if all(x is None for x in tin):
                tan[node] = None
            elif node.target in _LINEAR_METHODS and tin[0] is not None and all(x is None for x in tin[1:]):
                tan[node] = getattr(tin[0], node.target)(*[env[a] if isinstance(a, fx.Node) else a for a in args[1:]],
                                                         **node.kwargs)
            elif node.target == "relu":
                tan[node] = _relu(tin[0], env[node])
            else:
                raise NotImplementedError(f"jvp_from: no tangent rule for method .{node.target}()")
        elif node.op == "output":
            out = tin[0]
            return torch.zeros_like(env[args[0]]) if out is None else out
    raise RuntimeError("jvp_from: the graph has no output node")


def _function_tangent(node: fx.Node, env: Mapping[fx.Node, object], tin: list) -> object:
    fn, args = node.target, node.args
    if all(x is None for x in tin):
        return None
    if fn in (operator.add, torch.add):
        return functools.reduce(_add, tin)
    if fn is operator.sub:
        return _add(tin[0], None if tin[1] is None else -tin[1])
    if fn in (operator.mul, torch.mul):         # product rule; constants have no tangent
        a, b = (env[x] if isinstance(x, fx.Node) else x for x in args[:2])
        return _add(None if tin[0] is None else tin[0] * b, None if tin[1] is None else a * tin[1])
    if fn is operator.getitem:
        return tin[0][args[1]] if isinstance(tin[0], (tuple, list)) else (
            None if tin[0] is None else tin[0][args[1]])
    if fn in (torch.relu, F.relu):
        return _relu(tin[0], env[node])
    if fn is torch.tanh:
        return tin[0] * (1 - env[node] ** 2)
    if fn is torch.sigmoid:
        return tin[0] * (env[node] * (1 - env[node]))
    if fn is F.max_pool2d:
        kw = {**dict(zip(("kernel_size", "stride", "padding", "dilation", "ceil_mode"), args[1:])), **node.kwargs}
        k = kw["kernel_size"]
        return _max_pool(env[args[0]], tin[0], k, kw.get("stride") or k, kw.get("padding", 0), kw.get("dilation", 1),
                         kw.get("ceil_mode", False))
    if fn in _LINEAR_FUNCTIONS and tin[0] is not None and all(x is None for x in tin[1:]):
        if fn is F.dropout and (node.kwargs.get("training", args[2] if len(args) > 2 else True)):
            raise NotImplementedError("jvp_from: active dropout in the model")
        return fn(tin[0], *args[1:], **node.kwargs)
    raise NotImplementedError(f"jvp_from: no tangent rule for function {getattr(fn, '__name__', fn)}")


class TangentHyperStep(HyperStep):
    """:class:`kdcore.hyper.HyperStep` with ``h = d/dtheta <dl/dz, J v>``, ``J v`` from one tangent
    pass over the training forward (exact) or a difference of the outputs (one-sided or central).

    Pass :meth:`objective` to ``fit`` as its objective (it is the training loss, computed through
    a recording forward) and the step as a callback. Any number of metaparameters, as long as
    they enter the loss through ``head`` only.

    Args:
        meta: the metaparameters the head reads.
        head: ``head(z, batch, values) -> {name: loss}``, ``z = model(batch[key])``, ``values =
            meta.values()``; it must not read the model.
        val_objective, val: as :class:`HyperStep`.
        config: as :class:`HyperStep`; ``method`` ``"exact"`` (tangent pass) or
            ``"finite_difference"``.
        key: the batch entry the model reads.
        central: with ``"finite_difference"``, the central difference (two forwards) instead of
            the one-sided ``(z(w + eps v) - z(w)) / eps`` (one forward; ``z(w)`` is the
            training forward's). On ReLU / max-pool networks the kinks dominate both errors.
    """

    def __init__(self, meta: Metaparameters, head: Head, val_objective: Objective, val: Split,
                 config: HyperConfig | None = None, key: str = "x", central: bool = False) -> None:
        super().__init__(meta, self.objective, val_objective, val, config)
        self.head, self.key, self.central = head, key, central
        self._rec: RecordingForward | None = None
        self._saved: tuple | None = None     # (env, z, batch) of the last training forward

    def on_fit_start(self, model: nn.Module, optimizer: torch.optim.Optimizer) -> None:
        super().on_fit_start(model, optimizer)
        self._rec = RecordingForward(model)
        own = {id(p) for p in model.parameters()}
        stray = [n for n, p in zip(self._names, self._params) if id(p) not in own]
        if stray:
            raise ValueError(f"TangentHyperStep: trainable parameters outside the model: {stray[:3]}")

    def objective(self, model: nn.Module, batch: dict[str, Tensor]) -> dict[str, Tensor]:
        """The head's loss at ``model(batch[key])``; in training the forward's outputs are kept
        for the upper step, and for the exact method every activation (a recorded forward)."""
        values = {k: v.detach() for k, v in self.meta.values().items()}
        if not (torch.is_grad_enabled() and self._rec is not None and self._rec.model is model and model.training):
            return self.head(model(batch[self.key]), batch, values)
        if self.config.method == "exact":
            z, env = self._rec.forward(batch[self.key])
        else:                 # a difference of the outputs needs z(w) only, not the activations
            z, env = model(batch[self.key]), None
        self._saved = (env, z.detach(), batch)
        return self.head(z, batch, values)

    def output_tangent(self, v: list[Tensor], eps_scale: float) -> Tensor:
        """``J v`` at the training forward: tangent pass (exact) or a one-sided / central difference."""
        env, z, batch = self._saved
        if self.config.method == "exact":
            # A bf16 training forward (fit's autocast) keeps bf16 activations: the same autocast here.
            with torch.autocast(z.device.type, dtype=torch.bfloat16, enabled=z.dtype == torch.bfloat16):
                return jvp_from(self._rec, env, {id(p): vi for p, vi in zip(self._params, v)})
        model = self._rec.model
        norm = torch.sqrt(sum((x.float() ** 2).sum() for x in v))
        eps = eps_scale / norm
        names = [n.removeprefix("model.") for n in self._names]
        outs = []
        for sign in (1.0, -1.0) if self.central else (1.0,):
            state = {**{k: b.clone() for k, b in model.named_buffers()},
                     **{n: p.detach() + sign * eps * vi for n, p, vi in zip(names, self._params, v)}}
            with torch.no_grad(), torch.autocast(z.device.type, dtype=torch.bfloat16, enabled=z.dtype == torch.bfloat16):
                outs.append(functional_call(model, state, (batch[self.key],)).float())
        # one-sided: the training forward's own outputs are z(w) (same batch, same BatchNorm mode)
        diff = (outs[0] - outs[1]) / (2 * eps) if self.central else (outs[0] - z.float()) / eps
        return torch.where(torch.isfinite(eps), diff, torch.zeros_like(diff))

    def update(self, batch: dict[str, Tensor]) -> Tensor:
        if self._lower is None or self._opt is None or self._saved is None or self._saved[2] is not batch:
            raise RuntimeError("TangentHyperStep.update before a training step of its own objective: "
                               "pass step.objective to fit and the step in callbacks=[...]")
        v, val = unrolled_direction(self._lower, self.val_objective, inner_step(self._opt, self._params),
                                    [p.grad if p.grad is not None else torch.zeros_like(p) for p in self._params],
                                    self.val_batch())
        jv = self.output_tangent(v, self.config.fd_scale).detach()
        z = self._saved[1]
        z = (z.float() if z.dtype in (torch.float16, torch.bfloat16) else z).requires_grad_(True)
        raw = list(self.meta.parameters())
        with torch.enable_grad():
            parts = self.head(z, batch, self.meta.values())
            gz, = torch.autograd.grad(functools.reduce(operator.add, parts.values()), z, create_graph=True)
            grads = _grads((gz * jv.to(gz.dtype)).sum(), raw)
        self._saved = None
        meta_step(self, grads)
        return val
