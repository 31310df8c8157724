"""The files of every dataset: where they come from, their sha256, fetching and checking.

A dataset is a :class:`Source`: the files it is read from (relative to the data root,
see :func:`kdcore.data.data_root`), each with its sha256, and the files derived from
them on first use (torchvision gunzips the MNIST ``*.gz`` next to themselves; those
extracted idx files are checked too, so one corrupted in place is never read).
Fetching is torchvision's (``download_url`` / ``download_and_extract_archive``, with
progress bars); whatever was fetched is then verified here by sha256.

Sources: MNIST (LeCun et al. 1998) and Fashion-MNIST (Xiao et al. 2017) from
torchvision's mirrors; CIFAR-10 (Krizhevsky 2009) from torchvision (original pickles,
md5-checked by torchvision) or the offline mirror of ``shared/data/cifar10``; Bike
Sharing (Fanaee-T & Gama 2013) from the UCI archive (dataset 275), whose zip has no
published checksum: its three extracted files are verified instead. The checksums are
those of ``shared/data/SHA256SUMS`` and of the extracted files computed from it.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

__all__ = ["DataError", "Source", "SOURCES", "SHA256", "verify_file", "may_download", "problems",
           "fetch", "ensure", "HOW_TO_GET", "BIKE_URLS"]


class DataError(RuntimeError):
    """A dataset is missing or corrupt. The message names it, the path searched and a fix."""


_SPRITES = (  # cifar10/convnetjs_png/cifar10_batch_{i}.png, i = 0..50
    "0614720d69293a033786d5fe2924c4e9a9b48874f19ca4627c4662a864ee9f2d",  # 0
    "2927e26ea68602e34a7424826b76b7336ce36b8f6bcc2e9fce0c05568ff6b4c1",  # 1
    "0b2759e307bb405bb1a6531f8a0f557eaec46d7546050612fdb836f0fa60eae0",  # 2
    "a4530ff15c83886058a97c352f53f38be07d191de8f410e998e91786b5900a26",  # 3
    "6368e6cf9ded682f69919f391510b73ac16058592013789501caea14cd6f15e2",  # 4
    "b8d480bb9e1fceddf958efbe7fa0613e42b36d77f2dd839040b6bb5c3fb4fd1c",  # 5
    "fcc06b274a20361573764fa885fa6e40cd50b2e6eb95656690d4f5125f295e14",  # 6
    "e7b8d6e916b2d5c9e6b9a3b6fc3161ccecb5142ce1d3d5a05e465f090daeb417",  # 7
    "4c582a8c638f2333a544526d3f24d0d85d108b3587d4b44cabc0cbc66dd269ac",  # 8
    "218b20c7526f88c0d79b485167147ebc3ace9ef3d3b8561358bd9f667164a0a8",  # 9
    "2b31fb8431f2b9a7870e5ff41cee102fdba5ccced08e651f7f6b456770014476",  # 10
    "140e4b9b97ecf75761490f3ee32d75bfc5e8bd9253afd4cbd5e4f60bbe9ff34e",  # 11
    "1a3e5536a73667845110320ba8ec58c566a0fe99953aa38e16dabb14f9af4e22",  # 12
    "29b3899e14ce5951fbb919261e6db35eaafbc583cff76ba6860fa8abd996f8bd",  # 13
    "55588e636c37daa059a0b578460f8cbdbd8c68155f998612f2fff9dd243c85f2",  # 14
    "6ba30e658a5b844d90831c9dd815fe3edee95ae0e819f7927cd8fe893e82c2b1",  # 15
    "0f7933aa56882614d7b43655b8cd44e521fd654edf3a0b50ac96b18b1a780bd9",  # 16
    "00cf8579a5cd7e100e1a864819bc89a8d9b6753e4c32f9b42a348a6b102bdde2",  # 17
    "601a291981f71e5107168ea50b5a7f236d299355c8adfb31bcd56b13632390bc",  # 18
    "4a6a93b0917bacee8b8b365cc3a0f1c39e21d7384a9419d5d1bedf2713863806",  # 19
    "92bc52eb05655923e8fb8129080d5e03df7a46d7da6204b50c9816e259a0676a",  # 20
    "a730969e1f84933e229f425188a0bfb5b3de18797a957796d3984557f9309d4f",  # 21
    "15ed3eda1cee18c1af480be95d689b51e3432618df778d090a3dff7d3e8d779a",  # 22
    "3ba69f0d363769250ef72c47cafa54f58e065278177357f901899c2fba1042af",  # 23
    "7bce4e5642aeafcef3081d7131bd75a7cd6472e9caec165aac08439395132560",  # 24
    "44fa9d4c84b3b7ead48fa92f3532eb6d498359d50cd000fc587d2e2592da83c1",  # 25
    "ef7ad1e7611a6d39a5acc84ae3b54bcb1f7f65ee832bb801b35bdf5b26cd9e42",  # 26
    "46bd31e937571fb914c005718d0ff3341fb68fd3972ac3416028d7e9c320a985",  # 27
    "6648cfec1dc6d779ed9ac63be4edc9fd4fb112a8d89ae68bcead8a610335a5b1",  # 28
    "e7c12162c9838553386d793c1cf586d28fa3401b6587e449396a1b37d9d9642f",  # 29
    "5c45e810054f8144c6e3ebe6411961f8fd29b43c63d8e562f2bd12a80a3c0795",  # 30
    "06b3b2a58823353396829cdb0b440531ad3cc471d60ba9a2462d558e0b3cb0ad",  # 31
    "c3a0fc60d267ada752d5662a3445704e73b28de23803e5f0e609bc19de9e05b8",  # 32
    "388087fc603a85244fbab20de596fcbf9d21fcbc76de8eac9b58bdfcb5848b98",  # 33
    "ef2f6a3992af2aa9640d168c740d6dd55eb7b00aabd5aa8362ebece726b77c8a",  # 34
    "030f3ff9b55a4036e00db83fb902cca4efb0047391c9edbbad0a1e611bbe6c6b",  # 35
    "efb2d7a90d2c69b5ac4f3ad570fc55bea1539125c664193b5ee2ea75f2bf0839",  # 36
    "d5dbb81db1ddd126b1181097a2836070db90555996978d8112f462f60ddbc86f",  # 37
    "1bdba9a63cff4f0bdd67e3baa6ffbf258c73162aafa2029b0105a68fe8d90723",  # 38
    "5c3f58e2e7069d5ec7594fd6daab326526c0721a5fe46fd758336d9eec93d57e",  # 39
    "2d8938dbe5bbfe219e36b9a9771faf67a439b277f612747c5d86e8e6c280d7b8",  # 40
    "fc5e0d70d3406436149c67fb65678da9ec51c44b6e01f44542b5307fd44f4ad2",  # 41
    "31bd0ad52693e936875038435aa98b39fc98631b0da32f8139970babdf1a6b7b",  # 42
    "8a31bce1aed0fbac719f82a7489671abce6625b5b78c24511aa8ed5a94ca4124",  # 43
    "70b6aece6cbe4c7d93f9b74ff5c1cdf4d56bd21ac579623481fa3f215b6775d0",  # 44
    "dee0cecbb1722ade96827dafa27c068ee14387ff5954707445b12d34acfd1207",  # 45
    "319e939ee664287c9e1a29261c182721ac302fe6c61743f9886cae58baccebe6",  # 46
    "eb05822e3f5332bafbf08604f28a36b32a59405a3117b1d0120c7a764d0b761d",  # 47
    "e03204977cbf03a94a618c4e4d4e820f207d2055d968d3a05f7abe550976c4b9",  # 48
    "b90a69f7b97caf83e62a50e4ac1329598e6bb0aae8c9d7df65a5fe540ddd11eb",  # 49
    "5cea9e8fb7933540a2236a4bb25c1ed3a8447f345c55ae659143a95a5d8dac5e",  # 50
)

# sha256 of the original files (identical to the ones torchvision's md5s name) ...
SHA256: dict[str, str] = {
    "MNIST/raw/train-images-idx3-ubyte.gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
    "MNIST/raw/train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
    "MNIST/raw/t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
    "MNIST/raw/t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
    "FashionMNIST/raw/train-images-idx3-ubyte.gz": "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
    "FashionMNIST/raw/train-labels-idx1-ubyte.gz": "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
    "FashionMNIST/raw/t10k-images-idx3-ubyte.gz": "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
    "FashionMNIST/raw/t10k-labels-idx1-ubyte.gz": "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
    "bike_sharing/hour.csv": "e03de4ee4ef4dc376ac6e04bf829673c6269e8eba5c60fa121640fa2f829504f",
    "bike_sharing/day.csv": "a6bcf826782d3c0fbfdcbeead17cd0884185a0dafe8ff10cd48a874ee7ba18be",
    "bike_sharing/Readme.txt": "b92c8628622948bf0828c43a1b315d1517c3d7fd63654730d0dea379b8e88175",
    "cifar10/convnetjs_png/labels.txt": "d4280d19d58ed014c6b7e62f77f7e473ab1cb2eb760c25558d2f7aa3e4f25981",
    "cifar10/jpeg_q75/cifar10_test_jpeg_q75.tar.gz": "492caf3a23b88048fb97d72b592c4bf43a970a521d01ce324075bb080f75357c",
    **{f"cifar10/convnetjs_png/cifar10_batch_{i}.png": h for i, h in enumerate(_SPRITES)},
    # ... and of the idx files torchvision extracts from the .gz files (gunzip of the above).
    "MNIST/raw/train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "MNIST/raw/train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "MNIST/raw/t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "MNIST/raw/t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
    "FashionMNIST/raw/train-images-idx3-ubyte": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
    "FashionMNIST/raw/train-labels-idx1-ubyte": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
    "FashionMNIST/raw/t10k-images-idx3-ubyte": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
    "FashionMNIST/raw/t10k-labels-idx1-ubyte": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
}

# The UCI archive of dataset 275 (its current address first, the historical one second).
BIKE_URLS = ("https://archive.ics.uci.edu/static/public/275/bike+sharing+dataset.zip",
             "https://archive.ics.uci.edu/ml/machine-learning-databases/00275/Bike-Sharing-Dataset.zip")
BIKE_ARCHIVE = "Bike-Sharing-Dataset.zip"

HOW_TO_GET = (
    "Run `python -m kdcore.data fetch` on a machine with network access, or set KDCORE_DATA to a "
    "folder holding the offline copies (the layout of shared/data: MNIST/raw, FashionMNIST/raw, "
    "cifar10/, bike_sharing/) and check them with `python -m kdcore.data check`.")


@dataclass(frozen=True)
class Source:
    """One dataset: the files it is read from, the files derived from them, how to fetch it."""

    name: str                       # the name used by kdcore.data.load_dataset and the CLI
    title: str                      # for messages
    files: tuple[str, ...]          # needed, relative to the data root
    extracted: tuple[str, ...] = () # written on first use; verified wherever present


def _idx(folder: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    names = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
             "t10k-labels-idx1-ubyte")
    return tuple(f"{folder}/raw/{n}.gz" for n in names), tuple(f"{folder}/raw/{n}" for n in names)


SOURCES: dict[str, Source] = {
    "mnist": Source("mnist", "MNIST", *_idx("MNIST")),
    "fashion_mnist": Source("fashion_mnist", "Fashion-MNIST", *_idx("FashionMNIST")),
    "cifar10": Source("cifar10", "CIFAR-10", tuple(k for k in SHA256 if k.startswith("cifar10/"))),
    "bike_sharing": Source("bike_sharing", "Bike Sharing", tuple(k for k in SHA256 if k.startswith("bike_sharing/"))),
}
CIFAR_ORIGINAL = "cifar-10-batches-py"   # torchvision's layout; takes precedence over the mirror


def may_download() -> bool:
    """Downloads are allowed unless ``KDCORE_OFFLINE=1`` (tests and offline machines)."""
    return os.environ.get("KDCORE_OFFLINE", "0") != "1"


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


_VERIFIED: set[tuple[str, int, int]] = set()


def verify_file(root: Path, relpath: str) -> None:
    """Raise :class:`DataError` if ``root/relpath`` exists but its sha256 is wrong.

    Checked once per file, size and modification time in a process; a corrupt file is
    reported, never used.
    """
    path = root / relpath
    if not path.exists():
        return
    st = path.stat()
    key = (str(path), st.st_mtime_ns, st.st_size)
    if key in _VERIFIED:
        return
    expected = SHA256.get(relpath)
    if expected is not None and _sha256(path) != expected:
        how = ("it is extracted again from the verified .gz on the next load"
               if not relpath.endswith(".gz") and relpath + ".gz" in SHA256 else
               "copy it again from shared/data or fetch it with `python -m kdcore.data fetch`")
        raise DataError(f"corrupt file {path}: its sha256 does not match the original "
                        f"({expected[:12]}...). Delete it; {how}.")
    _VERIFIED.add(key)


def _cifar_original_problems(root: Path, checksums: bool) -> tuple[list[str], list[str]]:
    from torchvision.datasets import CIFAR10
    from torchvision.datasets.utils import check_integrity

    base = root / CIFAR_ORIGINAL
    missing, corrupt = [], []
    for name, md5 in CIFAR10.train_list + CIFAR10.test_list:
        path = base / name
        if not path.exists():
            missing.append(str(path))
        elif checksums and not check_integrity(str(path), md5):
            corrupt.append(f"{path} (md5 does not match torchvision's)")
    return missing, corrupt


def problems(root: Path, names: Iterable[str] | None = None, checksums: bool = True) -> dict[str, list[str]]:
    """``{dataset title: [what is wrong, ...]}`` for the datasets ``names`` (default: all).

    A needed file that is absent is "missing"; with ``checksums`` every present file,
    extracted ones included, is verified ("corrupt").
    """
    out: dict[str, list[str]] = {}
    for name in names or SOURCES:
        src = SOURCES[name]
        if name == "cifar10" and (root / CIFAR_ORIGINAL).exists():
            missing, corrupt = _cifar_original_problems(root, checksums)
        else:
            missing = [str(root / f) for f in src.files if not (root / f).exists()]
            corrupt = []
            for rel in (src.files + src.extracted) if checksums else ():
                try:
                    verify_file(root, rel)
                except DataError:
                    corrupt.append(f"{root / rel} (sha256 does not match)")
        if len(missing) == len(src.files) and not corrupt:
            where = {str(Path(f).parent) for f in src.files}
            found = [f"missing (none of its {len(missing)} files under {root}: "
                     f"{', '.join(sorted(where))}"
                     + (f"; nor torchvision's {CIFAR_ORIGINAL}" if name == "cifar10" else "") + ")"]
        else:
            found = [f"missing {m}" for m in missing[:5]] + (
                [f"and {len(missing) - 5} more"] if len(missing) > 5 else []) + [f"corrupt {c}" for c in corrupt]
        if found:
            out[src.title] = found
    return out


def _fetch_mnist(cls_name: str, root: Path) -> None:
    import torchvision

    for train in (True, False):   # downloads the four .gz (md5-checked) and extracts them
        getattr(torchvision.datasets, cls_name)(str(root), train=train, download=True)


def _fetch_bike_sharing(root: Path, urls: Iterable[str] | None = None) -> None:
    """Download the UCI zip, extract it into ``root/bike_sharing`` and drop the zip."""
    from torchvision.datasets.utils import download_and_extract_archive

    folder = root / "bike_sharing"
    errors = []
    for url in urls or BIKE_URLS:
        try:
            download_and_extract_archive(url, str(folder), filename=BIKE_ARCHIVE, remove_finished=True)
            break
        except Exception as err:  # URLError, OSError, BadZipFile: try the next address
            errors.append(f"{url}: {type(err).__name__}: {err}")
            (folder / BIKE_ARCHIVE).unlink(missing_ok=True)
    else:
        raise DataError("could not download Bike Sharing: " + "; ".join(errors))
    for rel in SOURCES["bike_sharing"].files:   # some copies of the zip hold a top folder
        want = root / rel
        if not want.exists():
            found = sorted(folder.rglob(want.name))
            if found:
                shutil.move(str(found[0]), want)


def fetch(name: str, root: Path) -> None:
    """Download dataset ``name`` into ``root`` (progress bars from torchvision)."""
    if name == "mnist":
        _fetch_mnist("MNIST", root)
    elif name == "fashion_mnist":
        _fetch_mnist("FashionMNIST", root)
    elif name == "cifar10":
        import torchvision

        torchvision.datasets.CIFAR10(str(root), train=True, download=True)
    elif name == "bike_sharing":
        _fetch_bike_sharing(root)
    else:
        raise ValueError(f"unknown dataset {name!r}: choose one of {list(SOURCES)}")


def ensure(root: Path, names: Iterable[str] | None = None, download: bool | None = None) -> None:
    """Check the datasets ``names``; fetch the missing ones where downloads are allowed.

    Raises one :class:`DataError` that lists everything still missing or corrupt
    afterwards and how to get it, so a run stops before any work with one message.
    """
    names = list(names or SOURCES)
    download = may_download() if download is None else download
    notes: dict[str, str] = {}
    for name in names:
        title = SOURCES[name].title
        if title in problems(root, [name], checksums=False):
            if not download:
                notes[title] = "not fetched: downloads are off (KDCORE_OFFLINE=1)"
                continue
            try:
                fetch(name, root)
            except Exception as err:
                notes[title] = f"could not fetch it ({type(err).__name__}: {err})"
    found = problems(root, names)
    if found:
        lines = [f"Data missing or corrupt under {root}:"]
        for title, items in found.items():
            lines.append(f"  {title}: " + "; ".join(items) + (f"; {notes[title]}" if title in notes else ""))
        raise DataError("\n".join(lines + [HOW_TO_GET]))
