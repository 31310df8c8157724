"""Trained models kept with their run records, as safetensors files checked by hash.

A model that later runs need (a teacher, a VAE, a network to prune) is saved when it is
trained, beside the records of its chapter:

    results/<chapter>/models/<setting>/seed<seed>-<key>.safetensors

and its run record gains a ``weights`` entry: the file (relative to the results folder), its
sha256, the storage dtype and size. Loading checks the hash and refuses a mismatch, naming
the file and the record, so a teacher that is not the one the records used can never slip
in. safetensors holds tensors only (no pickle, nothing executes on load).

Floating tensors can be stored as bfloat16 (``dtype="bfloat16"``) to halve large models;
the caller then checks that the reloaded model scores what the full-precision one did
(:func:`kdcore.results.records.RunStore.trained_model` takes that check). Integer buffers
(e.g. BatchNorm's ``num_batches_tracked``) keep their type.

Weights that older code left in the git-ignored ``results/.cache`` are moved into this
layout by ``python -m kdcore.results.adopt`` (:mod:`.adopt`).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from ..base.files import atomic_write

__all__ = ["WeightsMismatch", "weights_file", "save_weights", "load_weights", "attach", "sha256_of",
           "adopt_cache", "DTYPES"]

DTYPES = ("float32", "bfloat16", "float16")


class WeightsMismatch(ValueError):
    """Weights on disk that are not the ones a record names (hash or file differs)."""


def _slug(text: str) -> str:
    """A file-name-safe form of ``text`` (the records' folders and files are named with it)."""
    return re.sub(r"[^A-Za-z0-9._=-]+", "_", text).strip("_")[:80] or "run"


def weights_file(root: Path, chapter: str, setting: str, seed: int, key: str) -> Path:
    """Where the weights of the run ``key`` live under the results folder ``root``."""
    return Path(root) / _slug(chapter) / "models" / _slug(setting) / f"seed{seed}-{key}.safetensors"


def sha256_of(path: Path) -> str:
    """The file's sha256 (hex), read in blocks (the data files' checker's)."""
    from ..data.sources import _sha256

    return _sha256(Path(path))


def _state(model_or_state: Any, dtype: str) -> dict:
    import torch

    if dtype not in DTYPES:
        raise ValueError(f"weights dtype must be one of {DTYPES}, got {dtype!r}")
    state = model_or_state.state_dict() if hasattr(model_or_state, "state_dict") else model_or_state
    target = getattr(torch, dtype)
    # a CPU, contiguous, unshared copy (safetensors refuses shared storage); floats cast
    return {k: (v.detach().to("cpu", target if v.is_floating_point() else v.dtype)).contiguous().clone()
            for k, v in state.items()}


def save_weights(model_or_state: Any, path: Path, root: Path, dtype: str = "float32") -> dict:
    """Write the weights atomically; return the record's ``weights`` entry."""
    from safetensors.torch import save_file

    state = _state(model_or_state, dtype)
    path = Path(path)
    atomic_write(path, lambda p: save_file(state, str(p), metadata={"dtype": dtype}))
    return {"file": path.relative_to(root).as_posix(), "sha256": sha256_of(path), "dtype": dtype,
            "bytes": path.stat().st_size}


def load_weights(root: Path, entry: dict, record_name: str = "") -> dict:
    """The state dict a record's ``weights`` entry names, after checking its hash.

    A missing file or a hash that differs raises :class:`WeightsMismatch` naming both."""
    from safetensors.torch import load_file

    path = Path(root) / entry["file"]
    what = f" (named by the record {record_name})" if record_name else ""
    if not path.exists():
        raise WeightsMismatch(f"weights {path}{what} are missing: the record says they were committed; "
                              "restore them from git (git checkout -- results) rather than retraining")
    got = sha256_of(path)
    if got != entry["sha256"]:
        raise WeightsMismatch(f"weights {path}{what} have sha256 {got[:16]}…, the record says "
                              f"{entry['sha256'][:16]}…: not the model the records used; refusing to load")
    return load_file(str(path))


def attach(record_path: Path, entry: dict) -> dict:
    """Add the ``weights`` entry to the record at ``record_path`` (rewritten atomically)."""
    record = json.loads(Path(record_path).read_text())
    record["weights"] = entry
    atomic_write(Path(record_path), lambda p: p.write_text(json.dumps(record, indent=1, sort_keys=True)))
    return record
