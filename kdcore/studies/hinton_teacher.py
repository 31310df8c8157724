"""How far does Hinton's dropout-net regime take the MNIST teacher of chapter 1? A long, resumable run.

Hinton, Vinyals & Dean (2015, section 3) report 67 test errors for a 784-1200-1200-10 net
"strongly regularised using dropout and weight-constraints", its inputs jittered by up to two
pixels, and cite Hinton et al. (2012, arXiv:1207.0580) for the regime. That paper trains its
MNIST dropout nets with plain stochastic gradient descent for thousands of epochs, with a
momentum that rises during training and a max-norm bound on each hidden unit's incoming
weights. Its update (as we read it; the offline copy of its appendix could not be checked) is,
per epoch ``t`` and parameter ``w``::

    v_t = p_t v_{t-1} - (1 - p_t) eps_t grad,   w_t = w_{t-1} + v_t
    p_t = p_0 + (p_1 - p_0) min(1, t / ramp)    (0.5 -> 0.99 over 500 epochs)
    eps_t = eps_0 f^t                            (eps_0 = 10, f = 0.998)

and ``||w_j|| <= c`` (c = 15) after every step for each hidden unit ``j``. The ``(1 - p_t)``
factor keeps the step size constant as the momentum grows. Chapter 1 trains its teacher with
Adam for 60 epochs (96 errors); this study measures the errors against epochs under the 2012
regime on a validation split (the last 10,000 training images; the net trains on the first
50,000), so that every choice is made without the test set. Test errors are computed only at
the milestone records, for the report, never for a choice.

Runs for days on a 2-core CPU (1200-1200 at ~10-15 s an epoch), so it is resumable: every
``checkpoint_every`` epochs it writes the weights, the momentum buffers, the random-number
states and the curve under ``results/hinton_teacher/checkpoint/<config key>/`` (one safetensors file, the curve in its metadata, written atomically),
and a new process continues from there bit for bit. At each milestone epoch it writes a run
record (``setting = "teacher"``, parameters include the epoch) with the validation and test
errors and the curve so far.

``python -m kdcore.studies.hinton_teacher [--profile smoke|paper] [--until EPOCH] [--pilot EPS0 ...]``

The paper run: ``--profile paper --pilot 3 1 0.3 --until 3000`` (a pilot chooses the initial
learning rate on the validation split, then the chosen configuration continues).
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import torch
from torch import nn

from ..data import Split, load_mnist
from ..base.files import atomic_write
from ..models import MLP
from ..training.regularization import RandomShift
from ..results import RunStore, results_root
from ..training.loop import seed_everything

__all__ = ["StudyConfig", "momentum_at", "lr_at", "sgd_step", "run"]

STUDY = "hinton_teacher"
CHECKPOINT = "state.safetensors"


@dataclass(frozen=True)
class StudyConfig:
    """The 2012 regime; sizes shrink for the smoke profile."""

    profile: str = "smoke"
    hidden: tuple = (1200, 1200)
    n_train: int = 1000               # first rows of MNIST train used for training (paper: 50,000)
    n_val: int = 500                  # the last rows of MNIST train (paper: 10,000)
    epochs: int = 4                   # planned length (paper: 3000)
    batch_size: int = 100
    dropout: float = 0.5
    input_dropout: float = 0.2
    jitter: int = 2
    max_norm: float = 15.0
    eps0: float = 10.0
    eps_decay: float = 0.998
    p0: float = 0.5
    p1: float = 0.99
    ramp: int = 500
    seed: int = 0
    checkpoint_every: int = 2
    milestones: tuple = field(default=(2, 4))

    @classmethod
    def paper(cls) -> "StudyConfig":
        return cls(profile="paper", n_train=50000, n_val=10000, epochs=3000, checkpoint_every=10,
                   milestones=(10, 50, 100, 200, 300, 500, 750, 1000, 1500, 2000, 2500, 3000))


def momentum_at(cfg: StudyConfig, epoch: int) -> float:
    """``p_t``: linear from ``p0`` to ``p1`` over ``ramp`` epochs, then constant (epoch 0-based)."""
    return cfg.p0 + (cfg.p1 - cfg.p0) * min(1.0, epoch / cfg.ramp)


def lr_at(cfg: StudyConfig, epoch: int) -> float:
    """``eps_t = eps0 * eps_decay ** t``."""
    return cfg.eps0 * cfg.eps_decay ** epoch


@torch.no_grad()
def sgd_step(params: list[torch.Tensor], velocity: list[torch.Tensor], p: float, eps: float) -> None:
    """``v <- p v - (1 - p) eps grad``; ``w <- w + v`` for every parameter (in place)."""
    grads = [w.grad for w in params]
    torch._foreach_mul_(velocity, p)
    torch._foreach_add_(velocity, grads, alpha=-(1 - p) * eps)
    torch._foreach_add_(params, velocity)


@torch.no_grad()
def _max_norm(model: MLP, c: float) -> None:
    for layer in model.layers[:-1]:                      # hidden units only, as in the 2012 paper
        layer.weight.copy_(torch.renorm(layer.weight, p=2, dim=0, maxnorm=c))


@torch.no_grad()
def _errors(model: nn.Module, split: Split) -> int:
    model.eval()
    wrong = sum(int((model(x).argmax(1) != y).sum()) for x, y in zip(split.x.split(2000), split.y.split(2000)))
    model.train()
    return wrong


def _folder(root: Path, cfg: StudyConfig) -> Path:
    """One checkpoint per configuration (a pilot of another learning rate keeps its own)."""
    from ..results.model_store import model_key

    return root / STUDY / "checkpoint" / model_key(asdict(cfg))


def _save(folder: Path, cfg: StudyConfig, model: MLP, velocity: list[torch.Tensor], state: dict) -> None:
    """One file, written atomically: the tensors, and the state (epoch, curve) in its metadata."""
    from safetensors.torch import save

    tensors = {f"w.{k}": v.contiguous() for k, v in model.state_dict().items()}
    tensors.update({f"v.{i}": v.contiguous() for i, v in enumerate(velocity)})
    tensors["rng"] = torch.get_rng_state()
    blob = save(tensors, metadata={"state": json.dumps({"config": asdict(cfg), **state})})
    atomic_write(folder / CHECKPOINT, lambda tmp: tmp.write_bytes(blob))


def _load(folder: Path, cfg: StudyConfig, model: MLP, velocity: list[torch.Tensor]) -> dict | None:
    from safetensors import safe_open
    from safetensors.torch import load

    path = folder / CHECKPOINT
    if not path.exists():
        return None
    try:
        with safe_open(path, "pt") as f:
            state = json.loads(f.metadata()["state"])
        tensors = load(path.read_bytes())
    except Exception as err:   # a truncated or foreign file: say which, lose nothing
        raise ValueError(f"unreadable checkpoint {path}: {err}; move it away to start over") from err
    if state.pop("config") != json.loads(json.dumps(asdict(cfg))):
        raise ValueError(f"{path} was written by another configuration; move it away to start over")
    model.load_state_dict({k[2:]: v for k, v in tensors.items() if k.startswith("w.")})
    for i, v in enumerate(velocity):
        v.copy_(tensors[f"v.{i}"])
    torch.set_rng_state(tensors["rng"])
    return state


def run(cfg: StudyConfig, until: int | None = None, log=print) -> dict:
    """Train (or continue) up to ``until`` epochs (default ``cfg.epochs``); returns the state."""
    torch.set_num_threads(torch.get_num_threads())
    full = load_mnist(train=True)
    if cfg.n_train + cfg.n_val > len(full.y):
        raise ValueError(f"n_train + n_val = {cfg.n_train + cfg.n_val} exceeds MNIST's {len(full.y)} training rows")
    x = full.inputs()                                    # (60000, 1, 28, 28) floats, as the chapter feeds them
    train = Split(x[:cfg.n_train], full.y[:cfg.n_train])
    val = Split(x[-cfg.n_val:], full.y[-cfg.n_val:])
    test_raw = load_mnist(train=False)
    test = Split(test_raw.inputs(), test_raw.y)
    seed_everything(cfg.seed)
    model = MLP([784, *cfg.hidden, 10], dropout=cfg.dropout, input_dropout=cfg.input_dropout)
    params = list(model.parameters())
    velocity = [torch.zeros_like(w) for w in params]
    store = RunStore(profile=cfg.profile)
    folder = _folder(store.root, cfg)
    state = _load(folder, cfg, model, velocity) or {"epoch": 0, "curve": [], "seconds": 0.0}
    shift, loss_fn = RandomShift(cfg.jitter), nn.CrossEntropyLoss()
    end = min(until or cfg.epochs, cfg.epochs)
    if state["epoch"]:
        log(f"resuming at epoch {state['epoch']} (validation errors {state['curve'][-1]['val_errors']})")
    while state["epoch"] < end:
        t0, epoch = time.perf_counter(), state["epoch"]
        p, eps = momentum_at(cfg, epoch), lr_at(cfg, epoch)
        order = torch.randperm(len(train.y))
        total = 0.0
        for idx in order.split(cfg.batch_size):
            x = shift(train.x[idx]) if cfg.jitter else train.x[idx]
            loss = loss_fn(model(x), train.y[idx])
            model.zero_grad(set_to_none=False)
            loss.backward()
            sgd_step(params, velocity, p, eps)
            _max_norm(model, cfg.max_norm)
            total += float(loss.detach()) * len(idx)
        state["epoch"] = epoch + 1
        state["seconds"] += time.perf_counter() - t0
        state["curve"].append({"epoch": epoch + 1, "train_loss": total / len(train.y), "val_errors": _errors(model, val),
                               "momentum": p, "lr": eps})
        if state["epoch"] % cfg.checkpoint_every == 0 or state["epoch"] == end:
            _save(folder, cfg, model, velocity, state)
        if state["epoch"] in cfg.milestones:
            _milestone(store, cfg, model, state, test)
        if state["epoch"] % 10 == 0 or state["epoch"] == end:
            log(f"epoch {state['epoch']}: validation errors {state['curve'][-1]['val_errors']} "
                f"({state['seconds'] / state['epoch']:.1f} s/epoch)")
    return state


def _milestone(store: RunStore, cfg: StudyConfig, model: MLP, state: dict, test: Split) -> dict:
    """A run record at this epoch: validation errors (for choices) and test errors (for the report)."""
    params = {**asdict(cfg), "at_epoch": state["epoch"]}
    params.pop("milestones"), params.pop("checkpoint_every")

    def compute() -> dict:
        curve = state["curve"]
        return {"metrics": {"val_errors": curve[-1]["val_errors"], "best_val_errors": min(c["val_errors"] for c in curve),
                            "test_errors": _errors(model, test), "epochs": state["epoch"],
                            "seconds_per_epoch": state["seconds"] / state["epoch"]},
                "history": {k: [c[k] for c in curve] for k in curve[0]}}

    return store.run(STUDY, "teacher", cfg.seed, params, cfg.profile, compute)


def pilot(cfg: StudyConfig, eps0s: list[float], epochs: int, log=print) -> StudyConfig:
    """Train one configuration per initial learning rate for ``epochs`` epochs and keep the one
    with the fewest validation errors (the 2012 value, 10, diverges with ReLU units here)."""
    best = None
    for eps0 in eps0s:
        trial = replace(cfg, eps0=eps0)
        state = run(trial, epochs, log=log)
        errors = state["curve"][epochs - 1]["val_errors"]
        log(f"pilot eps0 = {eps0}: {errors} validation errors after {epochs} epochs")
        if best is None or errors < best[0]:
            best = (errors, trial)
    return best[1]


def _overrides(cfg: StudyConfig, pairs: list[str]) -> dict:
    """``["eps0=1", "epochs=20"]`` -> typed values; an unknown field or a bad value is refused by name."""
    out = {}
    for pair in pairs:
        name, _, text = pair.partition("=")
        if name not in cfg.__dataclass_fields__ or isinstance(getattr(cfg, name), tuple):
            raise SystemExit(f"--set {pair}: {name!r} is not a scalar field of StudyConfig")
        kind = type(getattr(cfg, name))
        try:
            out[name] = kind(text)
        except ValueError:
            raise SystemExit(f"--set {pair}: {text!r} is not a {kind.__name__}") from None
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profile", choices=("smoke", "paper"), default="smoke")
    ap.add_argument("--until", type=int, default=None, help="stop after this many epochs in all (resumable)")
    ap.add_argument("--pilot", nargs="*", type=float, default=[], metavar="EPS0",
                    help="first train each of these initial learning rates for --pilot-epochs, keep the best")
    ap.add_argument("--pilot-epochs", type=int, default=10)
    ap.add_argument("--set", nargs="*", default=[], metavar="FIELD=VALUE",
                    help="override config fields (a pilot of another learning rate: --set eps0=1)")
    args = ap.parse_args(argv)
    cfg = StudyConfig.paper() if args.profile == "paper" else StudyConfig()
    cfg = replace(cfg, **_overrides(cfg, args.set))
    if args.pilot:
        cfg = pilot(cfg, args.pilot, args.pilot_epochs)
        print(f"chosen on the validation split: eps0 = {cfg.eps0}")
    state = run(cfg, args.until)
    print(f"epoch {state['epoch']}: best validation errors {min(c['val_errors'] for c in state['curve'])}")


if __name__ == "__main__":
    main()
