"""Datasets of the multi-domain distillation chapter (Orlov & Grabovoy 2022, section 3).

- Fashion-MNIST and MNIST: the 60,000 training images are split by
  :func:`kdcore.data.random_split` with seed 1234 into "Big" (59,000, the teacher's) and
  "Small" (1,000, the student's), the split of the thesis code; the 10,000 test images
  are the test part.
- "GeneratedMNIST": MNIST-like images made by the VAE's MNIST decoder from every
  Fashion-MNIST-Small image, ``per_object`` samples each, with the Fashion-MNIST label.
- Bike Sharing (``hour.csv``): a deterministic random subset of 10,000 rows split
  8,700 / 300 / 1,000 (Big / Small / test); target ``cnt`` in counts. The paper does not
  say which 15 features it used: :data:`BIKE_READINGS` names our three readings. A
  validation part for choosing the students' training length is drawn from the 7,379
  rows *outside* those 10,000 (:func:`load_bike_validation`), so the paper's split is kept.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from ...data import (BIKE_ALL_FEATURES, BIKE_LEAK_FREE_FEATURES, ImagePrep, Split, first_n, load_bike_sharing, load_fashion_mnist, load_mnist, random_split)

__all__ = ["ImageDomains", "load_image_domains", "generated_mnist", "bike_features",
           "load_bike_splits", "load_bike_validation", "BIKE_READINGS", "BIKE_MAIN_FEATURES",
           "BIKE_SUFFIX"]

BIKE_MAIN_FEATURES = BIKE_LEAK_FREE_FEATURES + ("hr_sin", "hr_cos")
"""Leak-free reading (15 inputs): the 13 columns of hour.csv other than ``dteday``, the
target ``cnt`` and its two parts ``casual`` / ``registered``, plus the hour of day on
the circle, ``sin(2 pi hr / 24)`` and ``cos(2 pi hr / 24)`` (hour 23 is next to hour 0;
the paper's input width of 15 is kept, so its architectures are used unchanged)."""

BIKE_READINGS = {
    "leak-free": BIKE_MAIN_FEATURES,
    "leak-free, 13 raw": BIKE_LEAK_FREE_FEATURES,  # the 13 columns as they are (no sin/cos)
    "leaky": BIKE_ALL_FEATURES,  # 15 columns incl. casual + registered (= cnt): a target leak
}

BIKE_SUFFIX = {"leak-free": "", "leak-free, 13 raw": " (13 raw columns)",
               "leaky": " (leaky: casual+registered)"}
"""Setting-name suffix of each reading (the main reading has none)."""


@dataclass
class ImageDomains:
    """The image splits of the chapter (``uint8`` images, labels 0..9)."""

    fmnist_train: Split   # the whole 60k Fashion-MNIST training set ("full" settings)
    fmnist_big: Split     # 59,000
    fmnist_small: Split   # 1,000
    fmnist_test: Split    # 10,000
    mnist_big: Split      # 59,000
    mnist_test: Split     # 10,000
    mnist_train: Split    # 60,000 (the VAE's pairing pool)


def load_image_domains(n_small: int = 1000, split_seed: int = 1234, test_rows: int = 0) -> ImageDomains:
    """Fashion-MNIST and MNIST with the Big/Small split of the thesis (``test_rows`` > 0
    keeps only the first rows of each test set, for the smoke profile)."""
    f_train, m_train = load_fashion_mnist(True), load_mnist(True)
    f_test, m_test = load_fashion_mnist(False), load_mnist(False)
    if test_rows:
        f_test, m_test = first_n(f_test, test_rows), first_n(m_test, test_rows)
    f_big, f_small = random_split(f_train, [len(f_train) - n_small, n_small], split_seed)
    m_big, _ = random_split(m_train, [len(m_train) - n_small, n_small], split_seed)
    return ImageDomains(f_train, f_big, f_small, f_test, m_big, m_test, m_train)


@torch.no_grad()
def generated_mnist(vae, small: Split, per_object: int = 70, seed: int = 0, holdout: float = 1 / 7
                    ) -> tuple[Split, Split]:
    """"GeneratedMNIST": ``per_object`` VAE translations (FMNIST -> MNIST decoder, a fresh
    ``z ~ q(z|x)`` each) of every image of ``small``, labelled with its Fashion-MNIST label,
    quantised to ``uint8``; split at random (seed 42, as the thesis' 60,000 / 10,000 of
    70,000) into the teacher's training part and a held-out part.
    """
    torch.manual_seed(seed)
    x = small.inputs().flatten(1).repeat_interleave(per_object, dim=0)   # (N * k, 784)
    y = small.y.repeat_interleave(per_object)
    vae.eval()
    imgs = torch.cat([vae.translate(x[i:i + 4096], "mnist") for i in range(0, len(x), 4096)])
    u8 = (imgs * 255).round().to(torch.uint8).view(-1, 28, 28)
    gen = Split(u8, y.clone(), ImagePrep(), description=f"GeneratedMNIST ({per_object} per FMNIST-Small image)")
    n_hold = int(round(len(gen) * holdout))
    train, held = random_split(gen, [len(gen) - n_hold, n_hold], 42)
    return train, held


def bike_features(reading: str = "leak-free") -> Split:
    """All 17,379 rows of hour.csv with the reading's features (15, or 13 for
    ``"leak-free, 13 raw"``), each standardised over all rows (a label-free transform),
    target ``cnt`` in counts."""
    if reading not in BIKE_READINGS:
        raise ValueError(f"parameter 'reading' = {reading!r} is not allowed: choose one of {list(BIKE_READINGS)}")
    if reading != "leak-free":
        return load_bike_sharing(BIKE_READINGS[reading], standardize=True)
    raw = load_bike_sharing(BIKE_LEAK_FREE_FEATURES, standardize=False)
    hr = raw.x[:, list(BIKE_LEAK_FREE_FEATURES).index("hr")]
    angle = 2 * math.pi * hr / 24
    x = torch.cat([raw.x, torch.sin(angle)[:, None], torch.cos(angle)[:, None]], dim=1)
    x = (x - x.mean(0)) / x.std(0).clamp_min(1e-8)
    return Split(x, raw.y, raw.prepare, description=f"Bike Sharing hour.csv ({reading}, 15 features)")


def load_bike_splits(reading: str = "leak-free", rows: int = 10000, sizes=(8700, 300, 1000),
                     seed: int = 1234) -> tuple[Split, Split, Split]:
    """(Big, Small, test): ``rows`` random rows (seed ``seed``) split ``sizes`` (same seed).
    The row selection does not depend on the reading, so both readings use the same rows."""
    full = bike_features(reading)
    if sum(sizes) != rows:
        raise ValueError(f"parameter 'bike_sizes' = {list(sizes)} must sum to bike_rows = {rows}")
    subset, _ = random_split(full, [rows, len(full) - rows], seed)
    big, small, test = random_split(subset, list(sizes), seed)
    return big, small, test


def load_bike_validation(reading: str = "leak-free", rows: int = 10000, val_rows: int = 1000,
                         seed: int = 1234) -> Split:
    """``val_rows`` rows of hour.csv outside the ``rows`` of :func:`load_bike_splits`
    (the first of the remaining rows in that call's random order): a validation part that
    shares no row with Big, Small or test, used only to choose a training length."""
    full = bike_features(reading)
    if not 0 < val_rows <= len(full) - rows:
        raise ValueError(f"parameter 'bike_val_rows' = {val_rows} is out of range: allowed "
                         f"[1, {len(full) - rows}] (the rows of hour.csv outside bike_rows = {rows})")
    _, rest = random_split(full, [rows, len(full) - rows], seed)
    return first_n(rest, val_rows)


def label_histogram(split: Split) -> np.ndarray:
    """Counts per class (a deterministic fact printed in the chapter)."""
    return np.bincount(split.y.numpy(), minlength=10)
