"""Carry records over a change that leaves their computing code as it was: a verified re-stamp.

A record is stale when the hash of the code that computes it changed
(:mod:`.provenance`). Some changes alter the hash without touching a line that runs: a
file the chapter never imports is deleted, a module moves to another package, or the rule
of which files a hash covers is narrowed. Recomputing would cost hours (the CIFAR records
ran on a lent GPU), so this module re-stamps such records after checking, file by file,
that the code is the same:

1. the record's ``git_commit`` (without ``-dirty``; or ``--from REV``) is checked out into
   a temporary folder (``git archive``), and the chapter's code hash *there*, by that
   commit's own :mod:`.provenance`, must equal the record's ``code_hash``: the record was
   current at that commit;
2. every file the hash covers *today* must exist at that commit (at the same path, or at
   the old path a ``moved`` map gives) with the same normalised text (comments and
   docstrings aside, as the hash reads it).

Only then is ``code_hash`` replaced by today's, and the record gains a ``restamped`` entry
(old hash, commit, reason). A file of the old set that today's set no longer covers is
allowed (the set narrowed); a changed or new file refuses the whole chapter, naming it.

``python -m kdcore.results.restamp CHAPTER [--from REV] [--moved OLD=NEW ...] --reason TEXT [--dry-run]``
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tarfile
import tempfile
from functools import lru_cache
from pathlib import Path

from .provenance import PACKAGE, _normalised, code_files, code_hash

__all__ = ["RestampError", "check", "restamp"]

ROOT = PACKAGE.parent


class RestampError(ValueError):
    """The code that computed a record differs from today's: it must be recomputed, not re-stamped."""


@lru_cache(maxsize=None)
def _tree(commit: str) -> Path:
    """``kdcore/`` at ``commit``, extracted into a temporary folder (kept for this process)."""
    out = Path(tempfile.mkdtemp(prefix=f"kdcore-{commit[:8]}-"))
    archive = subprocess.run(["git", "archive", "--format=tar", commit, "kdcore"], cwd=ROOT,
                             capture_output=True, check=False)
    if archive.returncode:
        raise RestampError(f"git cannot read commit {commit!r}: {archive.stderr.decode().strip()}")
    import io

    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(out, filter="data")
    return out / "kdcore"


def _provenance_then(old: Path):
    """The extracted commit's own :mod:`.provenance` module (its rule of which files a hash covers)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(f"_provenance_{old.parent.name}", old / "results" / "provenance.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _hash_then(old: Path, chapter: str) -> str:
    """``chapter``'s hash at the extracted commit, by *that* commit's rule (its own provenance module)."""
    return _provenance_then(old).code_hash(chapter, old)


def _module_of(rel: str) -> str:
    parts = ["kdcore", *Path(rel).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def renames(moved: dict[str, str]) -> dict[str, str]:
    """Old module name -> today's, from ``moved`` (today's file -> its file then); a file split
    over several places keeps its old name."""
    targets: dict[str, set[str]] = {}
    for new, old in moved.items():
        targets.setdefault(_module_of(old), set()).add(_module_of(new))
    return {old: next(iter(new)) for old, new in targets.items() if len(new) == 1}


def _addition(text: str) -> bool:
    """A statement that only defines something new: a function, a class, or a name bound to a
    literal. Code the records ran cannot reach it: every statement that has a twin uses each of
    its names with the same meaning as then, so none of them refers to a new definition."""
    import ast

    node = ast.parse(text).body[0]
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return True
    if isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None:
        try:
            ast.literal_eval(node.value)
        except ValueError:
            return False
        return True
    return False


def check(chapter: str, commit: str, old_hash: str, moved: dict[str, str] | None = None) -> list[str]:
    """Raise :class:`RestampError` unless ``old_hash`` was ``chapter``'s hash at ``commit`` and
    the code today's hash covers is unchanged since; returns those files (relative paths).

    A file is unchanged when its normalised text equals the file's then (at the same path or
    the one ``moved`` gives). Files that were moved, regrouped or split are compared statement
    by statement (:mod:`.code_units`): every top-level statement today must be one of then, with
    the same text and the same meaning of every name it uses, or a new definition (a function,
    a class, a name bound to a literal) that none of those statements uses."""
    from .code_units import UnitResolver, units

    moved = moved or {}
    old = _tree(commit)
    then = _hash_then(old, chapter)
    if then != old_hash:
        raise RestampError(f"{chapter}: the records' hash {old_hash} is not the hash at {commit[:12]} ({then}); "
                           f"give the commit that computed them with --from")
    out, differing = [], []
    for path in code_files(chapter):
        rel = path.relative_to(PACKAGE).as_posix()
        before = old / moved.get(rel, rel)
        if not before.is_file() or _normalised(before) != _normalised(path):
            differing.append(path)
        out.append(rel)
    if differing:
        old_files = _provenance_then(old).code_files(chapter, old)
        have = units(old_files, UnitResolver(old, renames(moved)))
        today = UnitResolver(PACKAGE)
        for path in differing:
            for unit in units([path], today):
                if unit not in have and not _addition(unit[0]):
                    rel = path.relative_to(PACKAGE).as_posix()
                    first = unit[0].splitlines()[0][:80]
                    raise RestampError(f"{chapter}: kdcore/{rel} changed since {commit[:12]} ({first!r} has no "
                                       f"twin there with the same text and names; a moved file needs --moved "
                                       f"NEW=OLD): the records must be recomputed")
    return out


def restamp(root: Path, chapter: str, reason: str, commit: str | None = None, moved: dict[str, str] | None = None,
            dry_run: bool = False) -> int:
    """Re-stamp every stale record and failure note of ``chapter`` under ``root`` (see the module docstring).
    Returns how many were (or, with ``dry_run``, would be) re-stamped; refuses all or none."""
    from ..base.files import atomic_write
    from .records import read_record

    if not reason.strip():
        raise RestampError("say why the hash changed (--reason)")
    new = code_hash(chapter)
    todo, checked = [], set()
    # Run records and failure notes alike: a note under an old hash would let the run be retried.
    files = sorted((root / chapter).rglob("*.json")) + sorted((root / chapter).rglob("*.failure"))
    for path in files:
        if path.parent.name == "models":
            continue
        rec = read_record(path) if path.suffix == ".json" else json.loads(path.read_text())
        if rec.get("code_hash") == new:
            continue
        rev = commit or rec.get("git_commit", "")
        if not rev or rev.endswith("-dirty") or rev == "unknown":
            raise RestampError(f"{path}: written from uncommitted code ({rev or 'no commit'}); give --from REV")
        key = (rev, rec["code_hash"])
        if key not in checked:                 # one check per (commit, hash), not per record
            check(chapter, rev, rec["code_hash"], moved)
            checked.add(key)
        todo.append((path, rec, rev))
    for path, rec, rev in todo if not dry_run else []:
        rec.setdefault("restamped", []).append({"from": rec["code_hash"], "commit": rev, "reason": reason})
        rec["code_hash"] = new
        text = json.dumps(rec, indent=1, sort_keys=True)
        atomic_write(path, lambda tmp, text=text: tmp.write_text(text))
    return len(todo)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m kdcore.results.restamp", description=__doc__.splitlines()[0])
    ap.add_argument("chapter")
    ap.add_argument("--from", dest="commit", default=None, help="the commit that computed the records "
                    "(default: each record's git_commit)")
    ap.add_argument("--moved", nargs="*", default=[], metavar="NEW=OLD",
                    help="a file's path today = its path then, relative to kdcore/ (e.g. run/x.py=x.py)")
    ap.add_argument("--reason", required=True)
    ap.add_argument("--dry-run", action="store_true")
    args = ap.parse_args(argv)
    from .records import results_root

    moved = dict(m.split("=", 1) for m in args.moved)
    try:
        n = restamp(results_root(), args.chapter, args.reason, args.commit, moved, args.dry_run)
    except RestampError as err:
        print(f"refused: {err}")
        return 1
    print(f"{args.chapter}: {n} record(s) {'would be ' if args.dry_run else ''}re-stamped to {code_hash(args.chapter)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
