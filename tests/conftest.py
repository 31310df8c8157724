"""Shared test setup: one torch thread (CI machines have 2 cores), no downloads, and a
data gate: without the datasets the session stops at once with one message (what is
missing, how to get it) instead of a mix of skipped and failed tests."""

import os

os.environ.setdefault("KDCORE_OFFLINE", "1")

import pytest  # noqa: E402
import torch  # noqa: E402

torch.set_num_threads(1)


def pytest_sessionstart(session):
    from kdcore.data import data_root
    from kdcore.data.sources import HOW_TO_GET, problems

    # Presence only (cheap); `make test` verified every checksum before (kdcore.data fetch)
    # and every loader verifies the files it reads.
    found = problems(data_root(), checksums=False)
    if found:
        lines = [f"the tests need the datasets; under {data_root()}:"]
        lines += [f"  {title}: " + "; ".join(items) for title, items in found.items()]
        pytest.exit("\n".join(lines + [HOW_TO_GET]), returncode=4)


@pytest.fixture(scope="session")
def mnist_train():
    from kdcore.data import load_mnist

    return load_mnist(True)
