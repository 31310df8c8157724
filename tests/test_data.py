"""Data: split sizes and disjointness, torch-compatible random_split, errors that name things."""

import shutil

import pytest
import torch

from kdcore import data as D


def _rows(split):
    return set(map(int, split.extras["row"]))


def _with_rows(split):
    return split.with_extra("row", torch.arange(len(split)))


def test_random_split_equals_torch_random_split_and_is_disjoint(mnist_train):
    big, small = D.random_split(_with_rows(mnist_train), [59000, 1000], seed=1234)
    assert (len(big), len(small)) == (59000, 1000)
    assert not _rows(big) & _rows(small) and len(_rows(big) | _rows(small)) == 60000
    ref = torch.utils.data.random_split(range(60000), [59000, 1000], generator=torch.Generator().manual_seed(1234))
    assert sorted(_rows(small)) == sorted(ref[1].indices)
    again = D.random_split(_with_rows(mnist_train), [59000, 1000], seed=1234)[1]
    assert torch.equal(again.y, small.y)
    assert not torch.equal(D.random_split(_with_rows(mnist_train), [59000, 1000], seed=1)[1].y, small.y)


def test_three_way_split_sizes_and_disjointness():
    s = _with_rows(D.make_synthetic(10000, seed=3))
    parts = D.random_split(s, [8700, 300, 1000], seed=0)
    assert [len(p) for p in parts] == [8700, 300, 1000]
    rows = [_rows(p) for p in parts]
    assert not (rows[0] & rows[1] or rows[0] & rows[2] or rows[1] & rows[2])
    with pytest.raises(ValueError, match="sum to"):
        D.random_split(s, [10, 10], seed=0)


def test_first_n_and_select_classes(mnist_train):
    first = D.first_n(_with_rows(mnist_train), 10112)
    assert len(first) == 10112 and sorted(_rows(first)) == list(range(10112))
    five = D.select_classes(mnist_train, range(5))
    assert set(five.y.tolist()) == {0, 1, 2, 3, 4}
    assert len(five) == int((mnist_train.y < 5).sum())
    with pytest.raises(ValueError, match="'n'"):
        D.first_n(mnist_train, 0)


def test_mnist_layout_and_prepare(mnist_train):
    assert mnist_train.x.shape == (60000, 28, 28) and mnist_train.x.dtype == torch.uint8
    assert mnist_train.y[:5].tolist() == [5, 0, 4, 1, 9]
    batch = mnist_train.prepare(mnist_train.x[:8])
    assert batch.shape == (8, 1, 28, 28) and 0.0 <= batch.min() and batch.max() <= 1.0


def test_unknown_dataset_names_the_parameter():
    with pytest.raises(ValueError, match="dataset"):
        D.load_dataset("imagenet")


def test_missing_dataset_names_it_and_the_path(tmp_path):
    with pytest.raises(D.DataError, match="MNIST") as err:
        D.load_mnist(True, root=tmp_path)
    assert str(tmp_path) in str(err.value)
    with pytest.raises(D.DataError, match="Bike Sharing"):
        D.load_bike_sharing(root=tmp_path)
    with pytest.raises(D.DataError, match="CIFAR-10"):
        D.load_cifar10(True, root=tmp_path)


def test_corrupt_file_is_reported(tmp_path):
    src = D.data_root() / "bike_sharing" / "hour.csv"
    (tmp_path / "bike_sharing").mkdir()
    dst = tmp_path / "bike_sharing" / "hour.csv"
    shutil.copy(src, dst)
    assert len(D.load_bike_sharing(root=tmp_path)) == 17379
    with open(dst, "r+b") as f:
        f.seek(100)
        f.write(b"9")
    with pytest.raises(D.DataError, match="corrupt"):
        D.load_bike_sharing(root=tmp_path)


def test_bike_sharing_features():
    s = D.load_bike_sharing(D.BIKE_ALL_FEATURES)
    assert s.x.shape == (17379, 15) and len(D.BIKE_ALL_FEATURES) == 15
    assert "casual" not in D.BIKE_LEAK_FREE_FEATURES and "registered" not in D.BIKE_LEAK_FREE_FEATURES
    with pytest.raises(ValueError, match="features"):
        D.load_bike_sharing(["no_such_column"])


def test_cifar10_mirror_or_original():
    root = D.data_root()
    test1k = D.load_cifar10(False, test_set="exact_1k")
    assert len(test1k) in (1000, 10000) and test1k.x.shape[1:] == (3, 32, 32)
    assert "CIFAR-10 test" in test1k.description
    with pytest.raises(ValueError, match="test_set"):
        D.load_cifar10(False, test_set="png")
