"""One generic training loop, ``fit``, and ``evaluate``.

Methods never appear in here: a method is an *objective* (see :mod:`kdcore.losses`)
returning named losses, optionally with *callbacks* for work between steps (e.g. an
upper-level hypergradient step). The loop:

- moves the whole training split to the device once, then batches by indexing
  (``uint8`` images are turned into floats per batch by the split's ``prepare``);
- shuffles with its own seeded generator, so the same seed gives the same History on CPU;
- indexes every per-sample extra (cached teacher outputs) with the same permutation;
- logs the mean of every named loss per epoch and the test metric after every epoch.
"""

from __future__ import annotations

import functools
import operator
import random
import time
from collections.abc import Callable, Iterator, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn
from tqdm import tqdm

from ..base.checks import check_choice, check_int, check_range, config_dataclass
from ..data import Split
from .history import History, NonFiniteLossError, check_finite

__all__ = ["TrainConfig", "History", "NonFiniteLossError", "fit", "evaluate", "predict", "cache_outputs", "cache_features",
           "seed_everything", "resolve_device", "iterate_batches"]

METRICS = ("accuracy", "mse")


@config_dataclass
class TrainConfig:
    """Settings of one ``fit`` call. Validated on construction (strict types, finite numbers)."""

    epochs: int = 10                 # passes over the training split
    batch_size: int = 128            # rows per optimiser step (last batch may be smaller)
    lr: float = 1e-3                 # initial learning rate
    optimizer: str = "adam"          # "adam" or "sgd"
    momentum: float = 0.0            # SGD momentum (ignored by Adam)
    weight_decay: float = 0.0        # L2 penalty handed to the optimiser
    schedule: str = "none"           # "none", "step" (x gamma every step_size epochs), "once" (x gamma
                                     # once, after step_size epochs: MultiStepLR([step_size])), "exponential"
    step_size: int = 10              # epochs between decays for "step", before the one decay of "once"
    gamma: float = 0.1               # decay factor for "step" / "exponential"
    seed: int = 0                    # seeds torch and the shuffling generator
    shuffle: bool = True             # reshuffle every epoch (some papers' code did not)
    metric: str = "accuracy"         # test metric: "accuracy" (classification) or "mse"
    device: str = "auto"             # "auto" = cuda if available, else cpu
    bf16: bool = False               # bfloat16 autocast for forward/backward (fast on AVX-512 and GPUs)
    channels_last: bool = False      # NHWC memory format for conv nets
    progress: bool = True            # a tqdm bar over epochs
    eval_every: int = 1              # evaluate on the test split every k epochs (and the last)

    def __post_init__(self) -> None:
        check_int("epochs", self.epochs, 1)
        check_int("batch_size", self.batch_size, 1)
        check_range("lr", self.lr, 0, 10, low_open=True)          # lr > 10 is a typo, not a setting
        check_choice("optimizer", self.optimizer, ("adam", "sgd"))
        check_range("momentum", self.momentum, 0, 1, high_open=True)
        check_range("weight_decay", self.weight_decay, 0, 10)
        check_choice("schedule", self.schedule, ("none", "step", "once", "exponential"))
        check_int("step_size", self.step_size, 1)
        check_range("gamma", self.gamma, 0, 1, low_open=True)
        check_int("seed", self.seed, 0)
        check_choice("metric", self.metric, METRICS)
        check_choice("device", self.device.split(":")[0], ("auto", "cpu", "cuda", "mps"))
        check_int("eval_every", self.eval_every, 1)


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (model initialisation happens outside ``fit``)."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def resolve_device(device: str = "auto") -> torch.device:
    """``"auto"`` means CUDA when present, else CPU."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def _to_input(split: Split, x: Tensor, channels_last: bool) -> Tensor:
    x = split.prepare(x)
    if channels_last and x.dim() == 4:
        x = x.contiguous(memory_format=torch.channels_last)
    return x


def iterate_batches(split: Split, batch_size: int, order: Tensor | None = None,
                    channels_last: bool = False) -> Iterator[dict[str, Tensor]]:
    """Batches of a split already on its device: ``{"x", "y", "index", **extras}``.

    ``order`` is a permutation of row numbers (``None``: the stored order).
    """
    n = len(split)
    order = torch.arange(n, device=split.y.device) if order is None else order
    for start in range(0, n, batch_size):
        idx = order[start:start + batch_size]
        # index_select is several times faster than x[idx] for row gathers on CPU.
        batch = {"x": _to_input(split, split.x.index_select(0, idx), channels_last),
                 "y": split.y.index_select(0, idx), "index": idx}
        for k, v in split.extras.items():
            batch[k] = v.index_select(0, idx)
        yield batch


MATERIALIZE_BYTES = 1 << 30


def _materialize(split: Split) -> Split:
    """Prepare all inputs once when they fit in ``MATERIALIZE_BYTES`` as float32.

    The split's ``prepare`` is deterministic (no augmentation), so converting every row
    once per ``fit`` instead of every batch removes per-step work; larger datasets stay
    ``uint8`` and are converted per batch.
    """
    if split.x.dtype == torch.float32 or split.x.numel() * 4 > MATERIALIZE_BYTES:
        return split
    from ..data import Identity

    return Split(split.prepare(split.x), split.y, Identity(), split.extras, split.description)


def _trainable(model: nn.Module, objective: object) -> list[nn.Parameter]:
    params = [p for p in model.parameters() if p.requires_grad]
    if isinstance(objective, nn.Module):  # e.g. VID regressors live in the objective
        seen = {id(p) for p in params}
        params += [p for p in objective.parameters() if p.requires_grad and id(p) not in seen]
    return params


def _optimizer(params: list[nn.Parameter], cfg: TrainConfig) -> torch.optim.Optimizer:
    if cfg.optimizer == "adam":
        # The fused kernel is several times faster than the per-tensor loop on CPU and GPU.
        return torch.optim.Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay, fused=True)
    return torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)


def _scheduler(opt: torch.optim.Optimizer, cfg: TrainConfig):
    if cfg.schedule == "step":
        return torch.optim.lr_scheduler.StepLR(opt, cfg.step_size, cfg.gamma)
    if cfg.schedule == "once":
        return torch.optim.lr_scheduler.MultiStepLR(opt, [cfg.step_size], cfg.gamma)
    if cfg.schedule == "exponential":
        return torch.optim.lr_scheduler.ExponentialLR(opt, cfg.gamma)
    return None


def fit(model: nn.Module, train: Split, objective: Callable[[nn.Module, dict[str, Tensor]], dict[str, Tensor]],
        config: TrainConfig, test: Split | None = None, callbacks: Sequence[object] = (),
        desc: str = "fit", resume: dict | None = None,
        on_checkpoint: Callable[[dict], None] | None = None) -> History:
    """Train ``model`` in place on ``train`` with ``objective``; return its :class:`History`.

    Args:
        model: any ``nn.Module``; it is moved to the configured device.
        train: the training split (its extras, e.g. cached teacher logits, ride along).
        objective: ``objective(model, batch) -> {name: loss}``; the loop minimises the sum.
            If it is an ``nn.Module`` its own trainable parameters are optimised too.
        config: a :class:`TrainConfig`.
        test: split evaluated after every ``eval_every`` epochs with ``config.metric``.
        callbacks: objects with optional ``on_fit_start(model, optimizer)``,
            ``on_before_step(model, batch, step)``, ``on_batch_end(model, batch, step)`` and
            ``on_epoch_end(epoch, model, history)`` methods (``epoch`` and ``step`` are 1-based).
            ``on_fit_start`` sees the optimiser once; ``on_before_step`` runs between
            ``backward`` and ``optimizer.step()``, when every ``.grad`` holds this batch's
            gradient (an upper-level step through the coming step, :mod:`kdcore.hyper`).
        desc: label of the progress bar (and of errors).
        resume: a state previously handed to ``on_checkpoint``: training continues after
            its epoch with its model, objective, optimiser, scheduler, shuffling generator
            and History, so an interrupted ``fit`` ends with the same weights as an
            uninterrupted one (on CPU; see :mod:`kdcore.results.model_store`).
        on_checkpoint: called after every epoch with that state (tensors on the device).

    Raises:
        NonFiniteLossError: a loss part was ``inf``/``nan`` during an epoch (checked at the
            epoch's end, naming the first such step), before anything is returned.
    """
    device = resolve_device(config.device)
    torch.manual_seed(config.seed)
    gen = torch.Generator().manual_seed(config.seed)
    model.to(device)
    if isinstance(objective, nn.Module):
        objective.to(device)
    if config.channels_last:
        model.to(memory_format=torch.channels_last)
    data = _materialize(train.to(device))
    test_dev = test.to(device) if test is not None else None
    opt = _optimizer(_trainable(model, objective), config)
    sched = _scheduler(opt, config)
    hist = History(metric=config.metric)
    for cb in callbacks:
        if hasattr(cb, "on_fit_start"):
            cb.on_fit_start(model, opt)
    before_step = [cb.on_before_step for cb in callbacks if hasattr(cb, "on_before_step")]
    on_batch = [cb.on_batch_end for cb in callbacks if hasattr(cb, "on_batch_end")]
    on_epoch = [cb.on_epoch_end for cb in callbacks if hasattr(cb, "on_epoch_end")]
    n, step, start = len(data), 0, 1
    if resume is not None:
        start = _restore(resume, model, objective, opt, sched, gen, hist) + 1
        step = (start - 1) * -(-n // config.batch_size)
    bar = tqdm(range(start, config.epochs + 1), desc=desc, disable=not config.progress, leave=False)
    for epoch in bar:
        t0 = time.perf_counter()
        model.train()
        if isinstance(objective, nn.Module):
            objective.train()
        order = torch.randperm(n, generator=gen) if config.shuffle else torch.arange(n)
        logged: list[Tensor] = []          # per step: the detached parts, stacked (one op per step)
        rows: list[int] = []
        names: list[str] = []
        for batch in iterate_batches(data, config.batch_size, order.to(device), config.channels_last):
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=config.bf16):
                parts = objective(model, batch)
            values = list(parts.values())
            loss = functools.reduce(operator.add, values)  # no "0 + ..." op, unlike sum()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            for cb in before_step:
                cb(model, batch, step + 1)
            opt.step()
            step += 1
            names = list(parts)
            logged.append(torch.stack([v.detach().float() for v in values]))
            rows.append(len(batch["y"]))
            for cb in on_batch:
                cb(model, batch, step)
        check_finite(logged, names, epoch, step - len(logged) + 1, desc, config)
        # Row-weighted epoch means of every named loss: one device sync per epoch.
        totals = (torch.tensor(rows, dtype=torch.float32, device=device) @ torch.stack(logged)).tolist()
        means = {k: v / n for k, v in zip(names, totals)}
        if sched is not None:
            sched.step()
        for k, v in means.items():
            hist.train_parts.setdefault(k, []).append(v)
        hist.train_loss.append(sum(means.values()))
        hist.epoch_seconds.append(time.perf_counter() - t0)
        if test_dev is not None and (epoch % config.eval_every == 0 or epoch == config.epochs):
            ev = evaluate(model, test_dev, config.metric, bf16=config.bf16,
                          channels_last=config.channels_last)
            hist.test_epochs.append(epoch)
            hist.test_loss.append(ev["loss"])
            hist.test_metric.append(ev[config.metric])
            bar.set_postfix(loss=f"{hist.train_loss[-1]:.4f}", **{config.metric: f"{ev[config.metric]:.4f}"})
        for cb in on_epoch:
            cb(epoch, model, hist)
        if on_checkpoint is not None:
            on_checkpoint(_state(epoch, model, objective, opt, sched, gen, hist))
    return hist


def _state(epoch: int, model: nn.Module, objective: object, opt: torch.optim.Optimizer, sched, gen: torch.Generator,
           hist: History) -> dict:
    """Everything ``fit`` needs to continue after ``epoch`` (plain tensors and numbers only,
    so ``torch.load(weights_only=True)`` can read it back)."""
    return {"epoch": epoch, "model": model.state_dict(),
            "objective": objective.state_dict() if isinstance(objective, nn.Module) else None,
            "optimizer": opt.state_dict(), "scheduler": sched.state_dict() if sched is not None else None,
            "generator": gen.get_state(), "torch_rng": torch.get_rng_state(), "history": hist.to_dict()}


def _restore(state: dict, model: nn.Module, objective: object, opt: torch.optim.Optimizer, sched,
             gen: torch.Generator, hist: History) -> int:
    """Load a :func:`_state` into the live objects; returns the epoch it was taken after."""
    model.load_state_dict(state["model"])
    if isinstance(objective, nn.Module) and state.get("objective") is not None:
        objective.load_state_dict(state["objective"])
    opt.load_state_dict(state["optimizer"])
    if sched is not None and state.get("scheduler") is not None:
        sched.load_state_dict(state["scheduler"])
    gen.set_state(state["generator"])
    torch.set_rng_state(state["torch_rng"])
    for k, v in History.from_dict(state["history"]).to_dict().items():
        setattr(hist, k, v)
    return int(state["epoch"])


@torch.no_grad()
def predict(model: nn.Module, split: Split, batch_size: int = 2048, bf16: bool = False,
            channels_last: bool = False, feature_names: Sequence[str] | None = None,
            dtype: torch.dtype = torch.float32, on_device: bool = False) -> Tensor | dict[str, Tensor]:
    """Outputs of ``model`` on every row of ``split``, in order (on the CPU as float32 by default).

    With ``feature_names``, returns ``{name: (N, ...)}`` from ``model.features`` instead of
    the logits ``(N, C)``. ``dtype`` / ``on_device`` choose how they are kept (e.g.
    bfloat16 on the GPU for large cached feature maps, which then never cross to the host).
    """
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    data = split.to(device)
    outs: list = []
    out_device = device if on_device else torch.device("cpu")
    for batch in iterate_batches(data, batch_size, channels_last=channels_last):
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
            if feature_names is None:
                outs.append(model(batch["x"]).to(out_device, dtype))
            else:
                feats = model.features(batch["x"])
                # contiguous: a channels_last map is stored (and indexed later) as plain NCHW rows.
                outs.append({k: feats[k].to(out_device, dtype).contiguous() for k in feature_names})
    model.train(was_training)
    if feature_names is None:
        return torch.cat(outs)
    return {k: torch.cat([o[k] for o in outs]) for k in feature_names}


def evaluate(model: nn.Module, split: Split, metric: str = "accuracy", batch_size: int = 2048,
             bf16: bool = False, channels_last: bool = False) -> dict[str, float]:
    """Mean loss and the metric of ``model`` on ``split``.

    ``"accuracy"``: ``{"loss": mean CE, "accuracy": fraction correct}``;
    ``"mse"``: ``{"loss": mean squared error, "mse": the same}``.
    """
    check_choice("metric", metric, METRICS)
    out = predict(model, split, batch_size, bf16, channels_last)
    y = split.y.cpu()
    if metric == "accuracy":
        return {"loss": float(F.cross_entropy(out, y)), "accuracy": float((out.argmax(1) == y).float().mean())}
    mse = float(F.mse_loss(out.reshape(-1), y.float()))
    return {"loss": mse, "mse": mse}


def cache_outputs(teachers: nn.Module | Sequence[nn.Module], split: Split, key: str = "teacher_logits",
                  **predict_kwargs) -> Split:
    """Run frozen teacher(s) once over ``split`` and store the logits as an extra.

    One teacher gives ``(N, C)``; a list gives ``(N, M, C)`` (an ensemble, averaged in
    the loss at its temperature). Only valid for non-augmented inputs: the cached value
    of row ``i`` is reused every epoch.
    """
    if isinstance(teachers, nn.Module):
        return split.with_extra(key, predict(teachers, split, **predict_kwargs))
    return split.with_extra(key, torch.stack([predict(t, split, **predict_kwargs) for t in teachers], dim=1))


def cache_features(teacher: nn.Module, split: Split, names: Sequence[str], prefix: str = "teacher/",
                   **predict_kwargs) -> Split:
    """Store named intermediate features of a frozen teacher as extras ``prefix + name``.

    For cross-layer distillation on non-augmented inputs: each ``(N, ...)`` feature map is
    computed once; mind the memory (a 64x32x32 float map is 256 KiB per image; pass
    ``dtype=torch.bfloat16, on_device=True`` to halve it and keep it on the GPU).
    """
    feats = predict(teacher, split, feature_names=names, **predict_kwargs)
    for name, values in feats.items():
        split = split.with_extra(prefix + name, values)
    return split
