"""Reader of the offline CIFAR-10 mirror (layout of ``shared/data/cifar10``, see its README).

Two folders under ``<root>/cifar10``:

- ``convnetjs_png/``: 51 PNG sprites ``cifar10_batch_{b}.png``, each 1000 images of
  32x32x3 stacked as one ``(1000 * 32 * 32 / 32, 32 * 3)``-pixel picture (reshaped here
  to ``(1000, 32, 32, 3)``), and ``labels.txt`` with 51,000 labels. Sprites 0-49 are the
  exact training set in its original order; sprite 50 is the exact first 1000 test images.
- ``jpeg_q75/cifar10_test_jpeg_q75.tar.gz``: the full 10,000-image test set re-encoded as
  JPEG quality 75 (lossy), one file per image under ``<split>/<class name>/``.

Decoding 50,000 PNG images takes a while, so the arrays are cached beside the files as
``kdcore_mirror_<part>.pt`` (NHWC) (written atomically). Checksums and the user-facing
:class:`kdcore.data.DataError` are the job of :mod:`kdcore.data`; this module raises
:class:`MirrorError` naming the file that does not have the expected shape.
"""

from __future__ import annotations

import tarfile
from pathlib import Path

import numpy as np
import torch

from ..base.files import UnreadableFileError, atomic_write, load_torch

__all__ = ["read", "MirrorError", "CLASSES", "TEST_SETS"]

CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
TEST_SETS = ("jpeg_q75", "exact_1k")
TAR = "jpeg_q75/cifar10_test_jpeg_q75.tar.gz"
PER_SPRITE = 1000
AGAIN = "copy it again from shared/data/cifar10"


class MirrorError(ValueError):
    """A mirror file exists but does not hold what the layout promises."""


def _sprite(path: Path) -> np.ndarray:
    """One sprite as ``(1000, 32, 32, 3)`` uint8 (NHWC)."""
    from PIL import Image

    try:
        pixels = np.asarray(Image.open(path).convert("RGB"))
    except OSError as err:
        raise MirrorError(f"CIFAR-10 sprite {path} cannot be read ({err}); {AGAIN}") from err
    # The exact shape, not only the size: a 2000x512 picture has as many values as a
    # 1000x1024 one and would reshape silently into garbage images.
    if pixels.shape != (PER_SPRITE, 32 * 32, 3):
        raise MirrorError(f"CIFAR-10 sprite {path} has shape {pixels.shape}: expected "
                          f"{(PER_SPRITE, 32 * 32, 3)} (one 32x32x3 image per row); {AGAIN}")
    return pixels.reshape(PER_SPRITE, 32, 32, 3)


def _read_sprites(folder: Path, train: bool) -> tuple[np.ndarray, np.ndarray, str]:
    labels = np.loadtxt(folder / "labels.txt", dtype=np.int64)
    if labels.shape != (51 * PER_SPRITE,):
        raise MirrorError(f"{folder / 'labels.txt'} holds {labels.shape} labels: expected 51000; {AGAIN}")
    batches = range(50) if train else [50]
    x = np.concatenate([_sprite(folder / f"cifar10_batch_{b}.png") for b in batches])
    y = labels[:50 * PER_SPRITE] if train else labels[50 * PER_SPRITE:]
    desc = "CIFAR-10 train (exact)" if train else "CIFAR-10 test, first 1000 images (exact)"
    return x, y, desc


def _read_jpeg_test(tar_path: Path) -> tuple[np.ndarray, np.ndarray, str]:
    from PIL import Image

    xs, ys = [], []
    with tarfile.open(tar_path) as tf:
        for m in sorted(tf.getmembers(), key=lambda m: m.name):
            if m.name.endswith(".jpg"):
                xs.append(np.asarray(Image.open(tf.extractfile(m)).convert("RGB")))
                ys.append(CLASSES.index(m.name.split("/")[1]))
    if len(xs) != 10 * PER_SPRITE or any(x.shape != (32, 32, 3) for x in xs):
        raise MirrorError(f"{tar_path} holds {len(xs)} images (expected 10000 of 32x32x3); {AGAIN}")
    return np.stack(xs), np.asarray(ys), "CIFAR-10 test (JPEG q75)"


def read(root: Path, train: bool, test_set: str = "jpeg_q75") -> tuple[np.ndarray, np.ndarray, str]:
    """``(x (N, 32, 32, 3) uint8, y (N,) int64, description)`` of one part of the mirror."""
    base = root / "cifar10"
    cache = base / f"kdcore_mirror_{'train' if train else 'test_' + test_set}.pt"
    if cache.exists():
        try:
            blob = load_torch(cache)
            return blob["x"].numpy(), blob["y"].numpy(), blob["description"]
        except (UnreadableFileError, KeyError) as err:  # truncated or foreign file
            raise MirrorError(f"cache file {cache} cannot be read ({type(err).__name__}: {err}); "
                              f"delete it and it is rebuilt from the sprites") from err
    if train or test_set == "exact_1k":
        x, y, desc = _read_sprites(base / "convnetjs_png", train)
    else:
        x, y, desc = _read_jpeg_test(base / TAR)
    atomic_write(cache, lambda p: torch.save({"x": torch.from_numpy(x), "y": torch.from_numpy(y),
                                              "description": desc}, p))
    return x, y, desc
