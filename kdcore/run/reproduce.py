"""Execute the chapters with papermill: ``python -m kdcore.run.reproduce [--nb NAME] [--profile P]``.

For every ``notebooks/<name>.py`` (jupytext py:percent): convert to a notebook, execute it
with papermill (``--profile paper`` injects ``notebooks/params/<name>.yaml``; ``smoke``
keeps the cell defaults) and write ``book/papers/<name>.ipynb`` atomically.

A chapter is skipped when its executed notebook carries the same *stamp*: a hash of its
source, its parameters, the profile and every ``kdcore`` source file, and none of its
records of that profile is stale (computed by older code). Inside a chapter, finished
runs are skipped by :class:`kdcore.results.RunStore`, so an interrupted reproduction
resumes where it stopped; stale records are recomputed unless ``KDCORE_KEEP_STALE=1``
(``make reproduce KEEP_STALE=1``), which keeps them, marked stale in every table.

The executed notebook also lists every run record the chapter read or wrote; if one of
them is missing, the chapter is re-run (``--force``, ``make reproduce FORCE=1``, re-runs
it anyway). The parameter file's keys must be parameters of the notebook (a misspelt one
is refused before anything runs). Two reproductions of one chapter never overlap: a
per-chapter lock file (``fcntl.flock``) makes the second wait, and temporary notebooks
are per process.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import fcntl
import hashlib
import os
import tempfile
import sys
import time
from pathlib import Path

__all__ = ["stamp", "chapters", "execute", "main", "parameter_names", "missing_records", "chapter_lock"]

ROOT = Path(__file__).resolve().parents[2]   # the repository (kdcore/run/ -> ../..)


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
    known = parameter_names(root, name)
    unknown = [k for k in params if k not in known]
    if unknown:   # papermill would only warn and the run would start with the default
        from ..base.checks import ConfigError, unknown_names_message

        raise ConfigError(unknown_names_message(unknown, known, str(path)))
    return params


def parameter_names(root: Path, name: str) -> list[str]:
    """The names assigned in the cell tagged ``parameters`` of ``notebooks/<name>.py``
    (equal to the chapter config's fields, see tests/test_notebooks.py)."""
    import jupytext

    for cell in jupytext.read(root / "notebooks" / f"{name}.py").cells:
        if "parameters" in cell.metadata.get("tags", []):
            return [t.id for node in ast.parse(cell.source).body if isinstance(node, ast.Assign)
                    for t in node.targets if isinstance(t, ast.Name)]
    raise ValueError(f"notebooks/{name}.py has no cell tagged 'parameters'")


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


def _metadata(path: Path) -> dict:
    import nbformat

    try:
        return nbformat.read(path, as_version=4).metadata.get("kdcore", {})
    except Exception:  # absent or unreadable: the chapter is simply re-run
        return {}


def missing_records(path: Path) -> list[str]:
    """The run records the executed notebook ``path`` read or wrote that no longer exist
    (paths relative to the results folder)."""
    from ..results import results_root

    root = results_root()
    return [r for r in _metadata(path).get("records", []) if not (root / r).exists()]


_TIMING = ("start_time", "end_time", "duration")


def normalise(nb, name: str):
    """Drop what differs between two executions of unchanged code and records: papermill's
    timings and absolute paths (a machine's folders), Jupyter's per-cell execution
    timestamps, and the random id of papermill's injected-parameters cell, which is also
    tagged ``remove-cell`` (the book states the profile in words). Returns ``nb``."""
    pm = nb.metadata.get("papermill", {})
    for key in _TIMING:
        pm.pop(key, None)
    pm["input_path"] = f"notebooks/{name}.py"
    pm["output_path"] = f"book/papers/{name}.ipynb"
    for cell in nb.cells:
        for key in _TIMING:
            cell.metadata.get("papermill", {}).pop(key, None)
        cell.metadata.pop("execution", None)
        if "injected-parameters" in cell.metadata.get("tags", []):
            cell["id"] = "injected-parameters"
            if "remove-cell" not in cell.metadata["tags"]:      # the page states its profile in words
                cell.metadata["tags"].append("remove-cell")
    return nb


@contextlib.contextmanager
def chapter_lock(out_dir: Path, name: str):
    """Hold ``out_dir/.<name>.lock`` exclusively; a second holder waits (and says so)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f".{name}.lock"
    with open(path, "a") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print(f"[reproduce] {name}: another reproduction holds {path}; waiting for it", flush=True)
            fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _records_read(log: Path) -> list[str]:
    from ..results import results_root

    root = results_root().resolve()
    paths = {Path(line) for line in log.read_text().splitlines() if line} if log.exists() else set()
    return sorted(str(p.relative_to(root)) for p in paths if p.is_relative_to(root))


def _stale_records(name: str, profile: str) -> int:
    """How many of the chapter's records of ``profile`` would be recomputed as stale."""
    from ..results import RunStore
    from ..results.records import is_current

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

    from ..results.interactive import BOOK_BUILD

    out_dir = out_dir or root / "book" / "papers"
    out = out_dir / f"{name}.ipynb"
    params = _params(root, name, profile)          # fails before any work if missing / wrong
    want = stamp(root, name, profile)
    with chapter_lock(out_dir, name):              # decided inside: the other run may just have finished
        missing = missing_records(out)
        if not force and _current_stamp(out) == want and not missing and not _stale_records(name, profile):
            print(f"[reproduce] {name}: up to date ({profile}), skipped")
            return False
        if missing and not force:
            print(f"[reproduce] {name}: {len(missing)} of its run records are missing "
                  f"(e.g. {missing[0]}): re-executing", flush=True)
        nb = jupytext.read(root / "notebooks" / f"{name}.py")
        for i, cell in enumerate(nb.cells):   # fixed cell ids (jupytext draws random ones): byte-stable output
            cell["id"] = f"cell-{i:03d}"
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        tag = f"{name}.{os.getpid()}"              # per process: never shared with another run
        src, tmp = out_dir / f".{tag}.src.ipynb", out_dir / f".{tag}.tmp.ipynb"
        log = Path(tempfile.gettempdir()) / f"kdcore-records-{tag}.txt"
        nbformat.write(nb, src)
        print(f"[reproduce] {name}: executing with the {profile} profile -> {out}", flush=True)
        t0 = time.perf_counter()
        old_log = os.environ.get("KDCORE_RECORD_LOG")
        os.environ["KDCORE_RECORD_LOG"] = str(log)     # the kernel inherits it (RunStore notes reads)
        # ... and this: interactive figures are written for the book (its own plotly.js), not for
        # a notebook front end (kdcore.results.interactive.show_figure)
        old_build, os.environ[BOOK_BUILD] = os.environ.get(BOOK_BUILD), "1"
        try:
            papermill.execute_notebook(str(src), str(tmp), parameters=params, cwd=str(root / "notebooks"),
                                       kernel_name="python3", progress_bar=False, log_output=False)
            done = normalise(nbformat.read(tmp, as_version=4), name)
            done.metadata["kdcore"] = {"stamp": want, "profile": profile, "records": _records_read(log)}
            nbformat.write(done, tmp)
            os.replace(tmp, out)
        finally:
            for key, value in (("KDCORE_RECORD_LOG", old_log), (BOOK_BUILD, old_build)):
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
            for f in (src, tmp, log):
                if f.exists():
                    f.unlink()
    print(f"[reproduce] {name}: done in {time.perf_counter() - t0:.0f} s", flush=True)
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kdcore.run.reproduce", description=__doc__.split("\n")[0])
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
