"""Execute the chapters with papermill: ``python -m kdcore.reproduce [--nb NAME] [--profile P]``.

For every ``notebooks/<name>.py`` (jupytext py:percent): convert to a notebook, execute it
with papermill (``--profile paper`` injects ``notebooks/params/<name>.yaml``; ``smoke``
keeps the cell defaults) and write ``book/papers/<name>.ipynb`` atomically.

A chapter is skipped when its executed notebook carries the same *stamp*: a hash of its
source, its parameters, the profile and every ``kdcore`` source file, and none of its
records of that profile is stale (computed by older code). Inside a chapter, finished
runs are skipped by :class:`kdcore.results.RunStore`, so an interrupted reproduction
resumes where it stopped; stale records are recomputed unless ``KDCORE_KEEP_STALE=1``
(``make reproduce KEEP_STALE=1``), which keeps them, marked stale in every table.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import time
from pathlib import Path

__all__ = ["stamp", "chapters", "execute", "main"]

ROOT = Path(__file__).resolve().parent.parent


def chapters(root: Path = ROOT) -> list[str]:
    """Notebook names: the ``notebooks/*.py`` sources, in name order."""
    return sorted(p.stem for p in (root / "notebooks").glob("*.py"))


def _params(root: Path, name: str, profile: str) -> dict:
    import yaml

    if profile == "smoke":
        return {}
    path = root / "notebooks" / "params" / f"{name}.yaml"
    if not path.exists():
        raise FileNotFoundError(f"no paper profile for {name!r}: {path} is missing")
    params = yaml.safe_load(path.read_text()) or {}
    if params.get("profile") != profile:
        raise ValueError(f"{path} must set 'profile: {profile}'")
    return params


def stamp(root: Path, name: str, profile: str) -> str:
    """sha256 of the notebook source, its parameter file (paper profile), the profile and kdcore."""
    h = hashlib.sha256(profile.encode())
    files = [root / "notebooks" / f"{name}.py"]
    if profile != "smoke":
        files.append(root / "notebooks" / "params" / f"{name}.yaml")
    files += sorted((root / "kdcore").rglob("*.py"))
    for f in files:
        h.update(str(f.relative_to(root)).encode())
        h.update(f.read_bytes())
    return h.hexdigest()


def _current_stamp(path: Path) -> str | None:
    import nbformat

    if not path.exists():
        return None
    try:
        return nbformat.read(path, as_version=4).metadata.get("kdcore", {}).get("stamp")
    except Exception:  # an unreadable notebook is simply re-run
        return None


def _stale_records(name: str, profile: str) -> int:
    """How many of the chapter's records of ``profile`` would be recomputed as stale."""
    from .results import RunStore
    from .results.records import is_current

    store = RunStore(profile=profile)
    if store.keep_stale:
        return 0
    return sum(not is_current(r) for r in store.records(name) if r.get("profile") == profile)


def execute(name: str, profile: str = "paper", out_dir: Path | None = None, root: Path = ROOT,
            force: bool = False) -> bool:
    """Execute one chapter; returns ``False`` if it was up to date and skipped."""
    import jupytext
    import nbformat
    import papermill

    out_dir = out_dir or root / "book" / "papers"
    out = out_dir / f"{name}.ipynb"
    params = _params(root, name, profile)          # fails before any work if missing / wrong
    want = stamp(root, name, profile)
    if not force and _current_stamp(out) == want and not _stale_records(name, profile):
        print(f"[reproduce] {name}: up to date ({profile}), skipped")
        return False
    nb = jupytext.read(root / "notebooks" / f"{name}.py")
    for i, cell in enumerate(nb.cells):   # fixed cell ids (jupytext draws random ones): byte-stable output
        cell["id"] = f"cell-{i:03d}"
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    out_dir.mkdir(parents=True, exist_ok=True)
    src = out_dir / f".{name}.src.ipynb"
    tmp = out_dir / f".{name}.tmp.ipynb"
    nbformat.write(nb, src)
    print(f"[reproduce] {name}: executing with the {profile} profile -> {out}", flush=True)
    t0 = time.perf_counter()
    try:
        papermill.execute_notebook(str(src), str(tmp), parameters=params, cwd=str(root / "notebooks"),
                                   kernel_name="python3", progress_bar=False, log_output=False)
        done = nbformat.read(tmp, as_version=4)
        done.metadata["kdcore"] = {"stamp": want, "profile": profile}
        nbformat.write(done, tmp)
        os.replace(tmp, out)
    finally:
        for f in (src, tmp):
            if f.exists():
                f.unlink()
    print(f"[reproduce] {name}: done in {time.perf_counter() - t0:.0f} s", flush=True)
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kdcore.reproduce", description=__doc__.split("\n")[0])
    parser.add_argument("--nb", default=None, help="one chapter (notebook name); default: all")
    parser.add_argument("--profile", default="paper", choices=("paper", "smoke"))
    parser.add_argument("--force", action="store_true", help="re-execute even if up to date")
    args = parser.parse_args(argv)
    names = chapters()
    if args.nb is not None and args.nb not in names:
        print(f"unknown notebook {args.nb!r}: choose one of {names}", file=sys.stderr)
        return 2
    for name in [args.nb] if args.nb else names:
        execute(name, args.profile, force=args.force)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
