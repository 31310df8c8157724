"""The datasets of the 2022 paper's table, each as train / validation / test splits.

- ``synthetic``: the authors' two-feature XOR-like problem as their final experiment ran
  it (MetaOptDistillation, ``notebooks/synthetic_data_experiment.ipynb`` at commit f888a88,
  "Actual version of experiments", whose ``log/synthetic_exp8_*`` match the paper's column):
  ``x1, x2 ~ N(0, 1)``, ``y = [sign(x1 x2 + 0.5 e) > 0]``; 200 rows train the teacher, 15
  the student, 15 are a validation split and 200 test, drawn with NumPy seed 42. The
  teacher sees ``(x1, x2, [x1 > 0 and x2 > 0])``. The student's third feature depended on
  the row of their table (:func:`synthetic_feature`): ``sign(x1 x2)`` for no distillation
  and the tuned rows, the teacher's indicator for the naive and random rows; and the upper
  level and the hyperopt objective read the *test* rows (the paper: D_val = D_test).
- ``synthetic_corrected``: the same rows with one student feature set for every row,
  ``sign(x1 x2)``, and the upper level on the separate 15-row validation split.
- ``fashion_mnist``: Fashion-MNIST, padded to 32x32 so the CIFAR students apply; 9:1
  train / validation split of the first ``n_rows`` training images (seed 0).
- ``cifar10_reduced``: the first 12,800 CIFAR-10 training images, the last 10% as
  validation (11,520 / 1,280), as the authors' code.
- ``cifar10``: all 50,000, the last 5,000 as validation.

Test sets are the datasets' test splits (CIFAR-10: the offline mirror's, whose
description says which copy).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from ...data import Identity, Split, first_n, load_cifar10, load_fashion_mnist, random_split

__all__ = ["TableData", "load_table_data", "xor_synthetic", "synthetic_feature", "DATASETS", "LABELS", "Pad",
           "SYNTHETIC", "FEATURES"]

DATASETS = ("synthetic", "synthetic_corrected", "fashion_mnist", "cifar10_reduced", "cifar10")
SYNTHETIC = ("synthetic", "synthetic_corrected")
LABELS = {"synthetic": "synthetic", "synthetic_corrected": "synthetic (corrected)", "fashion_mnist": "Fashion-MNIST",
          "cifar10_reduced": "CIFAR-10 reduced", "cifar10": "CIFAR-10"}
# The student's third synthetic feature: x1*x2 (the notebook before f888a88), sign(x1*x2)
# (f888a88, the run behind the paper), or the teacher's indicator [x1 > 0 and x2 > 0].
FEATURES = ("product", "sign", "indicator")


def synthetic_feature(dataset: str, method: str) -> str:
    """The student's third feature for a row of the synthetic column: in the authors' run
    (``synthetic``) the naive and random rows got the teacher's indicator and the others
    ``sign(x1 x2)``; the corrected column gives every row ``sign(x1 x2)``."""
    if dataset == "synthetic" and method in ("naive", "random"):
        return "indicator"
    return "sign"


@dataclass(frozen=True)
class Pad:
    """Batch transform: another ``prepare``, then zero padding on every side (28 -> 32)."""

    inner: object
    pad: int = 2

    def __call__(self, x: Tensor) -> Tensor:
        return F.pad(self.inner(x), (self.pad,) * 4)


@dataclass
class TableData:
    train: Split           # the student's training rows
    val: Split             # rows for the upper level (and for Optuna's objective)
    test: Split            # reported accuracy
    teacher_train: Split   # what the teacher is trained on
    teacher_test: Split    # the test rows as the teacher sees them
    in_channels: int       # image channels (0: flat features)


def xor_synthetic(seed: int = 42, sizes: tuple[int, int, int, int] = (200, 15, 15, 200),
                  noise: float = 0.5, feature: str = "sign") -> dict[str, Split]:
    """The authors' synthetic data: ``{"teacher_train", "train", "val", "test"}``.

    Student splits hold the student's features; each carries the teacher's features as
    the extra ``"teacher_x"`` so the teacher's logits can be cached on them.
    """
    rng = np.random.RandomState(seed)
    n = sum(sizes)
    x = rng.randn(n, 2)
    y = (np.sign(x[:, 0] * x[:, 1] + rng.randn(n) * noise) + 1) // 2
    ind = ((np.sign(x[:, 0]) + np.sign(x[:, 1])) > 0.1).astype(np.float64)
    teacher_x = torch.tensor(np.stack([x[:, 0], x[:, 1], ind], 1), dtype=torch.float32)
    if feature not in FEATURES:
        raise ValueError(f"parameter 'feature' = {feature!r} is not allowed: choose one of {list(FEATURES)}")
    third = {"product": x[:, 0] * x[:, 1], "sign": np.sign(x[:, 0] * x[:, 1]), "indicator": ind}[feature]
    student_x = torch.tensor(np.stack([x[:, 0], x[:, 1], third], 1), dtype=torch.float32)
    y = torch.tensor(y, dtype=torch.long)
    out, start = {}, 0
    for name, size in zip(("teacher_train", "train", "val", "test"), sizes):
        idx = slice(start, start + size)
        start += size
        xs = teacher_x[idx] if name == "teacher_train" else student_x[idx]
        out[name] = Split(xs, y[idx], Identity(), {"teacher_x": teacher_x[idx]},
                          f"synthetic XOR ({name}, {size} rows, seed {seed})")
    return out


def _nine_to_one(split: Split, n_rows: int) -> tuple[Split, Split]:
    """First ``n_rows`` rows; the last 10% of them validate (as the authors' CIFAR code)."""
    part = first_n(split, n_rows) if n_rows < len(split) else split
    n_val = len(part) // 10
    idx = torch.arange(len(part))
    return (part.subset(idx[:-n_val], f"{part.description} [train {len(part) - n_val}]"),
            part.subset(idx[-n_val:], f"{part.description} [validation {n_val}]"))


def load_table_data(dataset: str, n_rows: int, test_rows: int | None = None, feature: str = "sign") -> TableData:
    """Splits of one column of the table. ``test_rows`` keeps that many test rows, drawn at
    random with seed 0 (smoke profile); ``feature`` is the synthetic student's third feature."""
    if dataset in SYNTHETIC:
        s = xor_synthetic(feature=feature)
        teacher_test = Split(s["test"].extras["teacher_x"], s["test"].y, Identity(), description="synthetic test, teacher features")
        val = s["test"] if dataset == "synthetic" else s["val"]    # the authors' upper level read the test rows
        return TableData(s["train"], val, s["test"], s["teacher_train"], teacher_test, 0)
    if dataset == "fashion_mnist":
        full, test = load_fashion_mnist(True), load_fashion_mnist(False)
        pad = Pad(full.prepare)
        full = Split(full.x, full.y, pad, description=full.description)
        test = Split(test.x, test.y, pad, description=test.description)
        if n_rows < len(full):
            full = random_split(full, [n_rows, len(full) - n_rows], seed=0)[0]
        n_val = len(full) // 10
        train, val = random_split(full, [len(full) - n_val, n_val], seed=0)
        channels = 1
    elif dataset in ("cifar10_reduced", "cifar10"):
        full, test = load_cifar10(True), load_cifar10(False)
        train, val = _nine_to_one(full, n_rows)
        channels = 3
    else:
        raise ValueError(f"parameter 'datasets' has {dataset!r}: choose from {list(DATASETS)}")
    if test_rows is not None and test_rows < len(test):
        # A random subset: the mirror's CIFAR-10 test set is ordered by class.
        test = random_split(test, [test_rows, len(test) - test_rows], seed=0)[0]
    return TableData(train, val, test, train, test, channels)
