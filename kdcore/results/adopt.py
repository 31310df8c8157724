"""``python -m kdcore.results.adopt [--root DIR]``: move weights that older code left in the
git-ignored ``results/.cache`` (``<chapter>-<setting>-<key>.pt``, saved by the process that
trained them) into the layout of :mod:`.weights` and record their hash."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..base.files import load_torch
from .records import read_record, results_root
from .weights import attach, save_weights, weights_file

__all__ = ["adopt_cache", "main"]


def adopt_cache(root: Path) -> list[Path]:
    """Move every ``results/.cache/<chapter>-<setting>-<key>.pt`` whose record exists and names
    no weights yet into the safetensors layout, attaching its hash; return the records changed."""
    root = Path(root)
    cache = root / ".cache"
    changed = []
    by_key = {p.stem.split("-")[-1]: p for p in root.rglob("seed*-*.json") if ".cache" not in p.parts}
    for pt in sorted(cache.glob("*.pt")) if cache.exists() else []:
        key = pt.stem.rsplit("-", 1)[-1]
        rec_path = by_key.get(key)
        if rec_path is None:
            continue
        record = read_record(rec_path)
        if "weights" in record:
            continue
        dest = weights_file(root, record["chapter"], record["setting"], record["seed"], key)
        entry = save_weights(load_torch(pt, map_location="cpu"), dest, root)
        attach(rec_path, entry)
        changed.append(rec_path)
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kdcore.results.adopt",
                                     description="Trained models kept with the run records.")
    parser.add_argument("command", choices=["adopt"], help="adopt: move results/.cache weights into results/<chapter>/models")
    parser.add_argument("--root", default=None, help="results folder (default: results_root())")
    args = parser.parse_args(argv)
    for path in adopt_cache(Path(args.root) if args.root else results_root()):
        print(f"adopted weights for {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
