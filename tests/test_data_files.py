"""Fetching and checking the datasets: the UCI fetch through torchvision's downloader (an
HTTP server on localhost stands in for the archive), every file verified, extracted ones
included, and one message for everything missing."""

import functools
import http.server
import shutil
import threading
import zipfile

import pytest

from kdcore import data as D
from kdcore.data import sources as F
from kdcore.data.__main__ import main

BIKE = ("hour.csv", "day.csv", "Readme.txt")


@pytest.fixture
def served(tmp_path):
    """``served(name) -> URL`` of ``tmp_path/served/name`` on a local HTTP server."""
    folder = tmp_path / "served"
    folder.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    handler.log_message = lambda *a: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield lambda name: f"http://127.0.0.1:{server.server_port}/{name}"
    server.shutdown()
    server.server_close()


def _bike_zip(tmp_path, served, folder="", corrupt=False):
    """The UCI archive's layout, built from the verified local copies; returns its URL."""
    path = tmp_path / "served" / "Bike-Sharing-Dataset.zip"
    with zipfile.ZipFile(path, "w") as z:
        for name in BIKE:
            data = (D.data_root() / "bike_sharing" / name).read_bytes()
            if corrupt and name == "hour.csv":
                data = data.replace(b"2011-01-01", b"2011-01-02", 1)
            z.writestr(folder + name, data)
    return served(path.name)


@pytest.mark.parametrize("folder", ["", "Bike-Sharing-Dataset/"])
def test_bike_sharing_is_fetched_from_the_archive_and_verified(tmp_path, monkeypatch, capsys, served, folder):
    url = _bike_zip(tmp_path, served, folder)
    root = tmp_path / "data"
    monkeypatch.setenv("KDCORE_OFFLINE", "0")
    # the first address is unreachable: the fetch falls through to the second, as with mirrors
    monkeypatch.setattr(F, "BIKE_URLS", (served("nowhere.zip"), url))
    assert main(["fetch", "bike_sharing", "--root", str(root)]) == 0
    assert sorted(p.name for p in (root / "bike_sharing").iterdir() if p.is_file()) == sorted(BIKE)
    assert not (root / "bike_sharing" / F.BIKE_ARCHIVE).exists()
    assert len(D.load_bike_sharing(root=root)) == 17379
    assert "every file verified" in capsys.readouterr().out


def test_a_fetched_file_that_differs_is_reported(tmp_path, monkeypatch, capsys, served):
    monkeypatch.setenv("KDCORE_OFFLINE", "0")
    monkeypatch.setattr(F, "BIKE_URLS", (_bike_zip(tmp_path, served, corrupt=True),))
    assert main(["fetch", "bike_sharing", "--root", str(tmp_path / "data")]) == 1
    err = capsys.readouterr().err
    assert "Bike Sharing" in err and f"corrupt {tmp_path / 'data' / 'bike_sharing' / 'hour.csv'}" in err


def test_no_data_and_no_network_gives_one_message_naming_every_dataset(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("KDCORE_OFFLINE", "1")
    assert main(["fetch", "--root", str(tmp_path)]) == 1
    assert main(["check", "--root", str(tmp_path)]) == 1
    fetch_err, check_err = capsys.readouterr().err.split("Run `python -m kdcore.data fetch`", 1)
    for title in ("MNIST", "Fashion-MNIST", "CIFAR-10", "Bike Sharing"):
        assert f"  {title}: missing" in fetch_err
    assert "downloads are off" in fetch_err and "KDCORE_DATA" in check_err


def test_check_passes_on_the_verified_data(capsys):
    assert main(["check"]) == 0
    assert "every file verified" in capsys.readouterr().out


def _mnist_copy(tmp_path, corrupt: str | None = None):
    """A data root whose MNIST files link to the verified ones, one file copied to corrupt it."""
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for rel in F.SOURCES["mnist"].files + F.SOURCES["mnist"].extracted:
        (tmp_path / rel).symlink_to(D.data_root() / rel)
    if corrupt:
        target = tmp_path / corrupt
        target.unlink()
        data = bytearray((D.data_root() / corrupt).read_bytes())
        data[-1] ^= 0xFF                      # one label changed in place, same size
        target.write_bytes(bytes(data))
    return tmp_path


def test_an_extracted_idx_file_corrupted_in_place_is_detected(tmp_path, capsys):
    rel = "MNIST/raw/t10k-labels-idx1-ubyte"
    root = _mnist_copy(tmp_path, corrupt=rel)
    with pytest.raises(D.DataError, match="corrupt file") as err:
        D.load_mnist(False, root=root)
    assert str(root / rel) in str(err.value)
    assert main(["check", "mnist", "--root", str(root)]) == 1
    assert f"corrupt {root / rel}" in capsys.readouterr().err


def test_require_checks_every_cifar_sprite_up_front(tmp_path, monkeypatch):
    """A replaced sprite is named by the chapter's preflight, before any run."""
    import hashlib

    from PIL import Image

    for rel in F.SOURCES["cifar10"].files:    # stand-ins whose checksums are registered
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(rel)
        monkeypatch.setitem(F.SHA256, rel, hashlib.sha256(rel.encode()).hexdigest())
    assert D.require("cifar10", root=tmp_path) is None
    bad = tmp_path / "cifar10" / "convnetjs_png" / "cifar10_batch_7.png"
    Image.new("RGB", (512, 2000)).save(bad)    # as many values as a sprite, the wrong shape
    with pytest.raises(D.DataError, match="CIFAR-10: corrupt") as err:
        D.require("cifar10", root=tmp_path)
    assert str(bad) in str(err.value)
    # the reader itself refuses the shape too (same number of values, so no reshape error)
    from kdcore.data import cifar_mirror

    with pytest.raises(cifar_mirror.MirrorError, match=r"has shape \(2000, 512, 3\)") as err:
        cifar_mirror._sprite(bad)
    assert str(bad) in str(err.value)
    shutil.rmtree(tmp_path / "cifar10" / "jpeg_q75")
    with pytest.raises(D.DataError, match="cifar10_test_jpeg_q75.tar.gz"):
        D.require("cifar10", root=tmp_path)
