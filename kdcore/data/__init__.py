"""Datasets as tensors, deterministic splits, and one clear error for missing data.

Every dataset is held as a :class:`Split`: the raw inputs (``uint8`` images where
possible), the targets, optional per-sample extras (e.g. cached teacher logits) and a
vectorised ``prepare`` that turns a *batch* of raw inputs into model inputs on the
training device. There is no per-sample Python transform anywhere in the hot loop.

Where the files are looked for: ``$KDCORE_DATA`` if set, else ``~/.cache/kdcore``.
MNIST and Fashion-MNIST come through torchvision (downloaded where there is network,
otherwise read from ``<root>/MNIST/raw`` and ``<root>/FashionMNIST/raw``). CIFAR-10 comes
through torchvision when its original pickles are present or downloadable, else from the
offline mirror layout ``<root>/cifar10/convnetjs_png`` (exact train set, exact first
1000 test images) and ``<root>/cifar10/jpeg_q75`` (full test set, JPEG quality 75).
Bike Sharing is ``<root>/bike_sharing/hour.csv``.
"""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from . import cifar_mirror
from ..base.checks import check_choice
from .sources import HOW_TO_GET as _HOW_TO_GET
from .sources import SOURCES, DataError, ensure, verify_file
from .sources import may_download as _may_download

__all__ = [
    "DataError", "Split", "ImagePrep", "data_root", "load_dataset", "load_mnist",
    "load_fashion_mnist", "load_cifar10", "load_bike_sharing", "make_synthetic",
    "random_split", "first_n", "select_classes", "require", "verify_file", "DATASETS", "BIKE_LEAK_FREE_FEATURES",
    "BIKE_ALL_FEATURES",
]


# --------------------------------------------------------------------------------------
# The container
# --------------------------------------------------------------------------------------
class Identity:
    """``prepare`` for inputs that are already float features."""

    def __call__(self, x: Tensor) -> Tensor:
        return x.float()

    def __repr__(self) -> str:
        return "Identity()"


@dataclass(frozen=True)
class ImagePrep:
    """Batch transform for ``uint8`` images: scale to [0, 1], optionally standardise.

    ``(B, H, W)`` grey images get a channel axis, giving ``(B, 1, H, W)``; ``(B, C, H, W)``
    colour images keep theirs. ``mean``/``std`` are per channel (already on the 0-1 scale).
    """

    mean: tuple[float, ...] | None = None
    std: tuple[float, ...] | None = None

    def __call__(self, x: Tensor) -> Tensor:
        x = x.float().div_(255.0)
        if x.dim() == 3:
            x = x.unsqueeze(1)
        if self.mean is not None:
            mean = torch.tensor(self.mean, device=x.device).view(1, -1, 1, 1)
            std = torch.tensor(self.std, device=x.device).view(1, -1, 1, 1)
            x = (x - mean) / std
        return x


@dataclass
class Split:
    """One part of a dataset held as tensors.

    Attributes:
        x: raw inputs, ``(N, ...)``; ``uint8`` images or float features.
        y: targets, ``(N,)`` int64 class labels or float regression targets.
        prepare: vectorised transform from a batch of raw ``x`` to model inputs.
        extras: per-sample tensors aligned with ``x`` (first axis ``N``), e.g. cached
            teacher logits under ``"teacher_logits"``. They are indexed together with
            ``x``, so caching survives shuffling.
        description: what this split is, e.g. ``"CIFAR-10 test (JPEG q75)"``; it ends up in
            run records and tables.
    """

    x: Tensor
    y: Tensor
    prepare: Callable[[Tensor], Tensor] = field(default_factory=Identity)
    extras: dict[str, Tensor] = field(default_factory=dict)
    description: str = ""

    def __post_init__(self) -> None:
        if len(self.x) != len(self.y):
            raise ValueError(f"x has {len(self.x)} rows but y has {len(self.y)}")
        for k, v in self.extras.items():
            if len(v) != len(self.x):
                raise ValueError(f"extra {k!r} has {len(v)} rows, expected {len(self.x)}")

    def __len__(self) -> int:
        return len(self.y)

    def subset(self, index: Tensor | Sequence[int], description: str | None = None) -> "Split":
        """Rows ``index`` of every tensor (inputs, targets and extras)."""
        index = torch.as_tensor(index, dtype=torch.long)
        return Split(self.x[index], self.y[index], self.prepare,
                     {k: v[index] for k, v in self.extras.items()},
                     self.description if description is None else description)

    def with_extra(self, name: str, values: Tensor) -> "Split":
        """A copy with one more per-sample tensor (e.g. cached teacher outputs)."""
        return replace(self, extras={**self.extras, name: values})

    def inputs(self, device: torch.device | str = "cpu") -> Tensor:
        """All inputs prepared as the model sees them (use for small splits only)."""
        return self.prepare(self.x.to(device))

    def to(self, device: torch.device | str) -> "Split":
        """A copy whose tensors live on ``device`` (used once per ``fit``, not per batch)."""
        return Split(self.x.to(device), self.y.to(device), self.prepare,
                     {k: v.to(device) for k, v in self.extras.items()}, self.description)


# --------------------------------------------------------------------------------------
# Where data lives, and checksums
# --------------------------------------------------------------------------------------
def data_root() -> Path:
    """``$KDCORE_DATA`` if set, else ``~/.cache/kdcore`` (created if missing)."""
    root = Path(os.environ.get("KDCORE_DATA", Path.home() / ".cache" / "kdcore")).expanduser()
    root.mkdir(parents=True, exist_ok=True)
    return root


def require(*names: str, root: Path | None = None) -> None:
    """Check (and, where downloads are allowed, fetch) the datasets ``names`` up front.

    Every file is verified by sha256, extracted files included, so a missing or corrupt
    file stops a chapter before its first run with one :class:`DataError` naming it.
    """
    for name in names:
        check_choice("dataset", name, SOURCES)
    ensure(root or data_root(), names)


# --------------------------------------------------------------------------------------
# MNIST / Fashion-MNIST
# --------------------------------------------------------------------------------------
def _load_torchvision_mnist(cls_name: str, folder: str, train: bool, root: Path) -> Split:
    import torchvision

    src = SOURCES["mnist" if folder == "MNIST" else "fashion_mnist"]
    for rel in src.files + src.extracted:     # the .gz and the idx files extracted from them
        verify_file(root, rel)
    # With the four verified .gz files present torchvision only extracts them (no network).
    have_gz = all((root / rel).exists() for rel in src.files)
    cls = getattr(torchvision.datasets, cls_name)
    try:
        # torchvision prints "Extracting ..." on first use; keep notebook outputs deterministic.
        with contextlib.redirect_stdout(io.StringIO()):
            ds = cls(str(root), train=train, download=have_gz or _may_download())
    except Exception as err:  # torchvision raises RuntimeError / URLError / OSError offline
        raise DataError(
            f"dataset {cls_name} not found: looked for {root / folder / 'raw'} "
            f"(the four *-ubyte.gz files) and could not download it ({type(err).__name__}: "
            f"{err}). {_HOW_TO_GET}") from err
    for rel in src.extracted:                 # extracted just now by torchvision
        verify_file(root, rel)
    part = "train" if train else "test"
    return Split(ds.data.clone(), ds.targets.clone().long(), ImagePrep(),
                 description=f"{cls_name} {part}")


def load_mnist(train: bool = True, root: Path | None = None) -> Split:
    """MNIST (LeCun et al. 1998): ``x`` is ``(N, 28, 28)`` uint8, ``y`` ``(N,)`` in 0..9."""
    return _load_torchvision_mnist("MNIST", "MNIST", train, root or data_root())


def load_fashion_mnist(train: bool = True, root: Path | None = None) -> Split:
    """Fashion-MNIST (Xiao et al. 2017): same layout as MNIST."""
    return _load_torchvision_mnist("FashionMNIST", "FashionMNIST", train, root or data_root())


# --------------------------------------------------------------------------------------
# CIFAR-10
# --------------------------------------------------------------------------------------
CIFAR10_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR10_STD = (0.2470, 0.2435, 0.2616)
CIFAR10_CLASSES = cifar_mirror.CLASSES
CIFAR_TEST_SETS = cifar_mirror.TEST_SETS


def _cifar_split(x_nhwc: np.ndarray, y: np.ndarray, description: str) -> Split:
    x = torch.from_numpy(np.ascontiguousarray(x_nhwc.transpose(0, 3, 1, 2)))  # (N, 3, 32, 32)
    return Split(x, torch.from_numpy(y.astype(np.int64)), ImagePrep(CIFAR10_MEAN, CIFAR10_STD),
                 description=description)


def _load_cifar_mirror(root: Path, train: bool, test_set: str) -> Split:
    """The offline mirror (see :mod:`kdcore.data.cifar_mirror`), checksummed, as a Split."""
    if train or test_set == "exact_1k":
        for rel in SOURCES["cifar10"].files:   # labels and every sprite (a replaced one is named)
            if "convnetjs_png" in rel:
                verify_file(root, rel)
    else:
        rel = "cifar10/jpeg_q75/cifar10_test_jpeg_q75.tar.gz"
        if not (root / rel).exists():
            raise DataError(f"dataset CIFAR-10 test (JPEG q75) not found: looked for {root / rel}. "
                            f"{_HOW_TO_GET}")
        verify_file(root, rel)
    try:
        x, y, desc = cifar_mirror.read(root, train, test_set)
    except cifar_mirror.MirrorError as err:
        raise DataError(f"{err}.") from err
    return _cifar_split(x, y, desc)


def load_cifar10(train: bool = True, root: Path | None = None, test_set: str = "jpeg_q75") -> Split:
    """CIFAR-10 (Krizhevsky 2009): ``x`` is ``(N, 3, 32, 32)`` uint8, standardised per channel.

    Sources, in order: torchvision's original pickles under ``<root>/cifar-10-batches-py``;
    the offline mirror under ``<root>/cifar10`` (train set exact; test set is either the full
    10,000 images re-encoded as JPEG q75 (``test_set="jpeg_q75"``) or the exact first 1000
    (``"exact_1k"``), and the split's ``description`` says which); a torchvision download.
    """
    check_choice("test_set", test_set, CIFAR_TEST_SETS)
    root = root or data_root()
    import torchvision

    part = "train" if train else "test"
    if (root / "cifar-10-batches-py").exists():
        ds = torchvision.datasets.CIFAR10(str(root), train=train, download=False)
        return _cifar_split(ds.data, np.asarray(ds.targets), f"CIFAR-10 {part} (original)")
    if (root / "cifar10" / "convnetjs_png" / "labels.txt").exists():
        return _load_cifar_mirror(root, train, test_set)
    try:
        if not _may_download():
            raise RuntimeError("downloads are off (KDCORE_OFFLINE=1)")
        ds = torchvision.datasets.CIFAR10(str(root), train=train, download=True)
    except Exception as err:
        raise DataError(
            f"dataset CIFAR-10 not found: looked for {root / 'cifar-10-batches-py'} and the "
            f"offline mirror {root / 'cifar10' / 'convnetjs_png'}, and could not download it "
            f"({type(err).__name__}: {err}). {_HOW_TO_GET}") from err
    return _cifar_split(ds.data, np.asarray(ds.targets), f"CIFAR-10 {part} (original)")


# --------------------------------------------------------------------------------------
# Bike Sharing (Fanaee-T & Gama 2013)
# --------------------------------------------------------------------------------------
BIKE_ALL_FEATURES = ("instant", "season", "yr", "mnth", "hr", "holiday", "weekday", "workingday",
                     "weathersit", "temp", "atemp", "hum", "windspeed", "casual", "registered")
"""The 15 columns of hour.csv other than ``dteday`` and the target ``cnt``. It contains
``casual`` and ``registered``, whose sum *is* ``cnt``: a target leak."""

BIKE_LEAK_FREE_FEATURES = tuple(f for f in BIKE_ALL_FEATURES if f not in ("casual", "registered"))


def load_bike_sharing(features: Sequence[str] = BIKE_LEAK_FREE_FEATURES, target: str = "cnt",
                      root: Path | None = None, standardize: bool = True) -> Split:
    """UCI Bike Sharing ``hour.csv``: 17,379 hourly rows, float features, float target.

    With ``standardize`` every feature column is shifted and scaled to zero mean and unit
    variance over all rows (a fixed, label-free transform); the target is left in counts.
    """
    import pandas as pd

    root = root or data_root()
    rel = "bike_sharing/hour.csv"
    if not (root / rel).exists():
        raise DataError(f"dataset Bike Sharing not found: looked for {root / rel}. {_HOW_TO_GET}")
    verify_file(root, rel)
    frame = pd.read_csv(root / rel)
    unknown = [f for f in features if f not in frame.columns]
    if unknown:
        raise ValueError(f"parameter 'features' has unknown columns {unknown}; "
                         f"hour.csv has {list(frame.columns)}")
    x = torch.tensor(frame[list(features)].to_numpy(np.float32))
    if standardize:
        x = (x - x.mean(0)) / x.std(0).clamp_min(1e-8)
    y = torch.tensor(frame[target].to_numpy(np.float32))
    return Split(x, y, Identity(), description=f"Bike Sharing hour.csv ({len(features)} features)")


# --------------------------------------------------------------------------------------
# Synthetic data
# --------------------------------------------------------------------------------------
def make_synthetic(n: int, dim: int = 20, n_classes: int = 10, seed: int = 0,
                   noise: float = 0.5) -> Split:
    """Gaussian-cluster classification: ``n_classes`` random centres of norm 2 in
    ``R^dim``, each point ``centre[y] + noise * N(0, I)``; ``x`` ``(n, dim)`` float, ``y`` ``(n,)``.

    Deterministic in ``seed``; the centres are drawn first, so they depend on ``seed`` only.
    """
    g = torch.Generator().manual_seed(seed)
    centres = torch.randn(n_classes, dim, generator=g)
    centres = centres / centres.norm(dim=1, keepdim=True) * 2.0
    y = torch.randint(0, n_classes, (n,), generator=g)
    x = centres[y] + noise * torch.randn(n, dim, generator=g)
    return Split(x, y, Identity(), description=f"synthetic {n_classes}-class, dim {dim}, seed {seed}")


# --------------------------------------------------------------------------------------
# Registry and splits
# --------------------------------------------------------------------------------------
DATASETS: dict[str, Callable[..., Split]] = {
    "mnist": load_mnist,
    "fashion_mnist": load_fashion_mnist,
    "cifar10": load_cifar10,
}


def load_dataset(name: str, train: bool = True, **kwargs) -> Split:
    """Load an image dataset by name (``mnist``, ``fashion_mnist``, ``cifar10``).

    An unknown name raises ``ValueError`` naming the parameter ``dataset``.
    """
    check_choice("dataset", name, DATASETS)
    return DATASETS[name](train=train, **kwargs)


def random_split(split: Split, sizes: Sequence[int], seed: int) -> list[Split]:
    """Disjoint random parts of the given sizes, a deterministic function of ``seed``.

    The indices equal ``torch.utils.data.random_split(range(N), sizes,
    generator=torch.Generator().manual_seed(seed))``, the call the papers' code used
    (e.g. the 59000/1000 split with seed 1234), so the same rows are selected.
    """
    if sum(sizes) != len(split) or any(s < 0 for s in sizes):
        raise ValueError(f"split sizes {list(sizes)} must be non-negative and sum to {len(split)}")
    perm = torch.randperm(len(split), generator=torch.Generator().manual_seed(seed))
    parts, start = [], 0
    for s in sizes:
        parts.append(split.subset(perm[start:start + s], f"{split.description} [{s} rows, seed {seed}]"))
        start += s
    return parts


def first_n(split: Split, n: int) -> Split:
    """The first ``n`` rows in the original order (e.g. the first 10,112 CIFAR-10 images)."""
    if not 0 < n <= len(split):
        raise ValueError(f"parameter 'n' = {n} is out of range: allowed [1, {len(split)}]")
    return split.subset(torch.arange(n), f"{split.description} [first {n}]")


def select_classes(split: Split, classes: Sequence[int]) -> Split:
    """Rows whose label is in ``classes`` (labels kept as they are, e.g. 0-4 of 10)."""
    mask = torch.isin(split.y, torch.as_tensor(list(classes)))
    return split.subset(mask.nonzero().squeeze(1), f"{split.description} [classes {list(classes)}]")
