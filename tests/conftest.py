"""Shared test setup: one torch thread (CI machines have 2 cores), no downloads."""

import os

os.environ.setdefault("KDCORE_OFFLINE", "1")

import pytest  # noqa: E402
import torch  # noqa: E402

torch.set_num_threads(1)


def _have(rel: str) -> bool:
    from kdcore.data import data_root

    return (data_root() / rel).exists()


@pytest.fixture(scope="session")
def mnist_train():
    from kdcore.data import load_mnist

    if not _have("MNIST/raw"):
        pytest.skip("MNIST is not under KDCORE_DATA")  # CI copies shared/data there: never skipped in CI
    return load_mnist(True)
