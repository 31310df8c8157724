"""File safety shared by the core: atomic writes whose errors name the path, weights-only
torch loads that name a truncated file, and a writability probe run before any work.

Every failure here is an ``OSError`` / ``ValueError`` whose message names the file or
folder, so a full disk, a read-only results folder or a truncated cache is reported as
such instead of as a raw zip or pickle error from deep inside a library.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["atomic_write", "load_torch", "ensure_writable", "UnreadableFileError"]


class UnreadableFileError(ValueError):
    """A file exists but cannot be read as what it should hold (truncated, foreign)."""


def atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    """``write(tmp)`` a temporary file beside ``path``, then rename it onto ``path``.

    An interrupted or failed write leaves ``path`` as it was (nothing half-written).
    An ``OSError`` (disk full, read-only folder) is re-raised naming ``path``.
    """
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write(tmp)
        os.replace(tmp, path)
    except OSError as err:
        why = "the disk is full" if err.errno == errno.ENOSPC else (err.strerror or str(err))
        raise OSError(err.errno, f"could not write {path}: {why} ({type(err).__name__}: {err}); "
                                 f"nothing was replaced", str(path)) from err
    finally:
        if tmp.exists():
            tmp.unlink()


def load_torch(path: Path, **kwargs: Any) -> Any:
    """``torch.load(path, weights_only=True)``: tensors and plain containers only, never
    arbitrary pickled code; a truncated or foreign file raises :class:`UnreadableFileError`
    naming ``path`` (torch itself names none)."""
    import torch

    try:
        return torch.load(path, weights_only=True, **kwargs)
    except FileNotFoundError:
        raise
    except Exception as err:  # zip / unpickling errors of a truncated or foreign file
        raise UnreadableFileError(f"{path} cannot be read ({type(err).__name__}: {err}): it is "
                                  f"truncated or not a tensor file. Delete it to rebuild it.") from err


def ensure_writable(folder: Path, what: str = "folder") -> None:
    """Create ``folder`` if needed and write, then delete, a probe file in it.

    Raises ``PermissionError``/``OSError`` naming ``folder`` (run before any work, so a
    read-only or missing location is found before a model is trained, not after).
    """
    probe = folder / f".kdcore-write-probe.{os.getpid()}"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe.write_bytes(b"ok")
        probe.unlink()
    except OSError as err:
        raise type(err)(err.errno, f"the {what} {folder} is not writable ({err.strerror or err}): "
                                   f"set KDCORE_RESULTS to a writable folder or fix its permissions",
                        str(folder)) from err
