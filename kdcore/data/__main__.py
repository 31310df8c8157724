"""``python -m kdcore.data fetch|check [DATASET ...] [--root DIR]``: get and verify the data.

- ``fetch`` downloads every dataset that is missing (torchvision's progress bars), then
  verifies every file; with ``KDCORE_OFFLINE=1`` it only checks.
- ``check`` verifies every file by sha256, the idx files torchvision extracted included.

Both exit 0 when all is well, else 1 with one message that names everything missing or
corrupt and how to get it (``make test`` runs ``fetch`` first, so tests never start on
missing data).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import data_root
from .sources import HOW_TO_GET, SOURCES, DataError, ensure, problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kdcore.data", description=__doc__.split("\n")[0])
    parser.add_argument("command", choices=("fetch", "check"))
    parser.add_argument("datasets", nargs="*", choices=[[], *SOURCES], metavar="DATASET",
                        help=f"some of {list(SOURCES)} (default: all)")
    parser.add_argument("--root", type=Path, default=None, help="data root (default: $KDCORE_DATA or ~/.cache/kdcore)")
    args = parser.parse_args(argv)
    root = args.root or data_root()
    names = args.datasets or list(SOURCES)
    if args.command == "check":
        found = problems(root, names)
        if found:
            lines = [f"Data missing or corrupt under {root}:"]
            lines += [f"  {title}: " + "; ".join(items) for title, items in found.items()]
            print("\n".join(lines + [HOW_TO_GET]), file=sys.stderr)
            return 1
    else:
        try:
            ensure(root, names)
        except DataError as err:
            print(err, file=sys.stderr)
            return 1
    print(f"data OK under {root}: {', '.join(SOURCES[n].title for n in names)} (every file verified)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
