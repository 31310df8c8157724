"""Trained models kept outside git, keyed by their full config, resumable per epoch.

A teacher that several runs (or chapters) need is trained once. :class:`ModelStore` keeps
it under ``<results root>/.cache/models/`` (git-ignored), in a file named by a hash of its
*full* training config: architecture, data (dataset, subset, split), epochs, learning
rate, batch size, optimiser, seed, precision, ... Any caller asking for the same config
gets the same weights back and nothing is trained; a different value anywhere gives a
different file.

While a model trains, the state after every finished epoch (model, objective, optimiser,
scheduler, shuffling generator, History) is written atomically to ``<key>.partial.pt``;
an interrupted training restarts from the last finished epoch and, on the CPU, ends with
exactly the weights of an uninterrupted one (tested). The finished model replaces the
partial file.

Files are read with ``torch.load(weights_only=True)`` (no code is unpickled); a truncated
or otherwise unreadable file raises :class:`CheckpointError` naming its path.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .records import results_root
from ..training.loop import History

__all__ = ["ModelStore", "StoredModel", "CheckpointError", "model_key", "load_file"]

SCHEMA = 1

# fit_fn(model, resume_state_or_None, on_checkpoint) -> History
FitFn = Callable[[nn.Module, "dict | None", Callable[[dict], None]], History]


class CheckpointError(RuntimeError):
    """A stored model file cannot be read; the message names the file."""


def _canonical(config: dict) -> str:
    return json.dumps({"schema": SCHEMA, **config}, sort_keys=True, default=str)


def model_key(config: dict) -> str:
    """sha256 (16 hex) of the canonical JSON of the full config."""
    return hashlib.sha256(_canonical(config).encode()).hexdigest()[:16]


def load_file(path: Path) -> dict:
    """``torch.load(path, weights_only=True)``; any failure names ``path``."""
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # truncated zip, bad pickle, wrong format ...
        raise CheckpointError(f"cannot read stored model file {path} ({type(err).__name__}: {err}). "
                              f"Delete it to retrain.") from err


def _atomic_save(obj: Any, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        torch.save(obj, tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def _to_cpu(obj: Any) -> Any:
    if isinstance(obj, torch.Tensor):
        return obj.detach().cpu()
    if isinstance(obj, dict):
        return {k: _to_cpu(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_to_cpu(v) for v in obj)
    return obj


@dataclass
class StoredModel:
    """What :meth:`ModelStore.get` returns."""

    model: nn.Module          # the trained model (on the CPU, eval mode)
    history: History          # its training History
    key: str                  # hash of its config (file name)
    trained_epochs: int       # epochs trained by *this* call (0 when reused)
    path: Path                # the stored file


class ModelStore:
    """Trained models on disk under a key of their full config."""

    def __init__(self, root: Path | str | None = None) -> None:
        self.root = Path(root) if root is not None else results_root() / ".cache" / "models"

    def path(self, config: dict, name: str = "model") -> Path:
        return self.root / f"{name}-{model_key(config)}.pt"

    def partial_path(self, config: dict, name: str = "model") -> Path:
        return self.root / f"{name}-{model_key(config)}.partial.pt"

    def has(self, config: dict, name: str = "model") -> bool:
        return self.path(config, name).exists()

    def get(self, config: dict, build: Callable[[], nn.Module], fit_fn: FitFn, name: str = "model") -> StoredModel:
        """The model trained with ``config``: loaded if stored, else trained (resuming).

        Args:
            config: every setting that determines the trained weights (JSON-able).
            build: makes the untrained model (seeded inside, so it is reproducible).
            fit_fn: ``fit_fn(model, resume, on_checkpoint) -> History``; passes ``resume``
                and ``on_checkpoint`` on to :func:`kdcore.training.loop.fit`.
            name: readable prefix of the file name (e.g. ``"resnet18"``).
        """
        final, partial = self.path(config, name), self.partial_path(config, name)
        model = build()
        if final.exists():
            blob = load_file(final)
            model.load_state_dict(blob["model"])
            return StoredModel(model.cpu().eval(), History.from_dict(blob["history"]), model_key(config), 0, final)
        resume = load_file(partial) if partial.exists() else None
        if resume is not None and resume.get("config") != _canonical(config):
            raise CheckpointError(f"stored partial model {partial} was written for another config. Delete it.")
        done_before = int(resume["epoch"]) if resume is not None else 0

        def on_checkpoint(state: dict) -> None:
            _atomic_save({**_to_cpu(state), "config": _canonical(config)}, partial)

        hist = fit_fn(model, resume, on_checkpoint)
        model.cpu().eval()
        _atomic_save({"config": _canonical(config), "model": _to_cpu(model.state_dict()),
                      "history": hist.to_dict()}, final)
        if partial.exists():
            partial.unlink()
        return StoredModel(model, hist, model_key(config), len(hist.train_loss) - done_before, final)
