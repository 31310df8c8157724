"""Run records: one JSON file per finished run, written atomically, never recomputed.

A *run record* is one JSON file per finished run (a setting and a seed) under
``results/<chapter>/<setting>/``, named by a key derived from everything that determines
the run (chapter, setting, seed, profile, parameters). It holds the headline ``metrics``
(the numbers that go into tables), optional ``history`` and ``extra`` data (curves), the
parameters, the profile, the seed, package versions, the device and the git commit.
Writes are atomic (temporary file, then rename), so an interrupted run leaves either
nothing or a complete record, and :meth:`RunStore.run` never recomputes a finished run.

Each record stores the hash of the code that computed it
(:func:`kdcore.results.provenance.code_hash`). A record whose hash differs from today's
code is *stale*: :meth:`RunStore.run` recomputes it, unless the store keeps stale records
(``keep_stale=True`` or ``KDCORE_KEEP_STALE=1``), and the tables mark it.

Trained models that later runs need (teachers) are kept with the records as safetensors
files, their sha256 in the record (:mod:`kdcore.results.weights`).

Only the paper profile writes into the committed ``results/``: a store opened for another
profile (``RunStore(profile="smoke")``) keeps its records in :func:`scratch_root`, outside
the tracked tree, and :meth:`RunStore.run` refuses to write a record of another profile
into the committed folder, so a smoke run leaves ``git status`` clean and a smoke number
can never reach the book's results page.

"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import platform
import re
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..base.files import atomic_write, ensure_writable, load_torch
from .provenance import code_hash
from .weights import _slug
from .read_only import ReadOnlyError, refuse_if_read_only as _refuse_if_read_only

__all__ = ["ReadOnlyError", "CorruptRecordError", "read_record", "RunStore", "RunFailedBefore", "TrainedModel", "results_root", "scratch_root",
           "is_current", "SCHEMA", "PAPER_PROFILE"]

SCHEMA = 1
PAPER_PROFILE = "paper"   # the one profile whose records are committed and set against papers


def _repo_root(start: Path) -> Path | None:
    for p in [start, *start.parents]:
        if (p / "pyproject.toml").exists() and (p / "kdcore").is_dir():
            return p
    return None


def _repository() -> Path | None:
    return _repo_root(Path.cwd().resolve()) or _repo_root(Path(__file__).resolve().parent)


def results_root(profile: str = PAPER_PROFILE) -> Path:
    """``$KDCORE_RESULTS``; else, for the paper profile, ``results/`` of the repository
    containing the cwd or kdcore itself (else ``./results``), and for any other profile
    :func:`scratch_root`."""
    if os.environ.get("KDCORE_RESULTS"):
        return Path(os.environ["KDCORE_RESULTS"]).expanduser()
    if profile != PAPER_PROFILE:
        return scratch_root()
    root = _repository()
    return (root / "results") if root else Path("results").resolve()


def scratch_root() -> Path:
    """Records of reduced profiles (smoke): ``build/scratch/results`` of the repository
    (ignored by git, removed by ``make clean``), else a folder in the temporary directory."""
    root = _repository()
    return (root / "build" / "scratch" / "results") if root else Path(tempfile.gettempdir()) / "kdcore-scratch" / "results"


def _committed_results() -> set[Path]:
    """The tracked ``results/`` folders a run could reach (of the cwd's and kdcore's repository)."""
    roots = {_repo_root(Path.cwd().resolve()), _repo_root(Path(__file__).resolve().parent)}
    return {(r / "results").resolve() for r in roots if r is not None}


def _jsonable(obj: Any) -> Any:
    """Parameters as canonical JSON values (tuples become lists, paths strings)."""
    return json.loads(json.dumps(obj, default=str, sort_keys=True))


def _git_commit(chapter: str | None = None) -> str:
    """``HEAD``, with ``-dirty`` when the code that computes ``chapter``'s records (its
    :func:`~kdcore.results.provenance.code_files`, notebook and parameters) has uncommitted
    changes; without a chapter, any change under ``kdcore/`` or ``notebooks/`` counts."""
    root = _repo_root(Path(__file__).resolve().parent)
    if root is None:
        return "unknown"
    paths = ["kdcore", "notebooks"]
    if chapter is not None:
        from .provenance import PACKAGE, code_files

        paths = [str(p) for p in code_files(chapter) if p.is_relative_to(root)] if PACKAGE.is_relative_to(root) else paths
        paths += [f"notebooks/{chapter}.py", f"notebooks/params/{chapter}.yaml"]
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True,
                              timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", *paths], cwd=root,
                               capture_output=True, text=True, timeout=10).stdout.strip()
        return (head or "unknown") + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def _environment(chapter: str | None = None) -> dict[str, Any]:
    import numpy
    import torch

    from .. import __version__

    device = "cuda:" + torch.cuda.get_device_name(0) if torch.cuda.is_available() else f"cpu ({platform.processor() or platform.machine()}, {os.cpu_count()} cores)"
    return {"versions": {"python": platform.python_version(), "torch": torch.__version__,
                         "numpy": numpy.__version__, "kdcore": __version__},
            "device": device, "git_commit": _git_commit(chapter)}


_atomic_write = atomic_write   # errors name the path (disk full, read-only)

RECORD_KEYS = ("schema", "chapter", "setting", "seed", "profile", "metrics")


class CorruptRecordError(ValueError):
    """A file under the results folder is not a readable run record; the message names it."""


def read_record(path: Path) -> dict:
    """The run record in ``path``; a truncated or foreign file raises :class:`CorruptRecordError`."""
    try:
        record = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise CorruptRecordError(f"corrupt run record {path}: {err}. Delete it to recompute the run.") from err
    missing = [k for k in RECORD_KEYS if not isinstance(record, dict) or k not in record]
    if missing:
        raise CorruptRecordError(f"{path} is not a kdcore run record (it lacks {missing}): move it out "
                                 f"of the results folder, or delete it to recompute the run.")
    _note_read(path)
    return record


def _read_note(path: Path) -> dict:
    """A failure note (:meth:`RunStore.failures`); a truncated one raises :class:`CorruptRecordError`."""
    try:
        note = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise CorruptRecordError(f"corrupt failure note {path}: {err}. Delete it to run the run again.") from err
    if not isinstance(note, dict) or not {"setting", "seed", "error", "code_hash"} <= note.keys():
        raise CorruptRecordError(f"{path} is not a kdcore failure note: move it out of the results folder.")
    _note_read(path)
    return note


def _note_read(path: Path) -> None:
    """Append ``path`` to ``$KDCORE_RECORD_LOG`` (set by ``kdcore.run.reproduce``), which thereby
    learns every record a chapter read or wrote, to re-run it when one goes missing."""
    log = os.environ.get("KDCORE_RECORD_LOG")
    if log:
        with open(log, "a") as f:
            f.write(f"{path.resolve()}\n")


class RunFailedBefore(FloatingPointError):
    """The run stopped with a non-finite loss when it last ran with this code; its failure
    note (:meth:`RunStore.failure`, in ``note``) says where. It is not retried: delete the
    note (the path is in the message) to try again."""

    def __init__(self, message: str, note: dict) -> None:
        super().__init__(message)
        self.note = note


class TrainedModel:
    """A trained model's run record, and the model itself built only when first asked for."""

    def __init__(self, record: dict, load: Callable[[], Any], model: Any = None) -> None:
        self.record = record
        self._load = load
        self._model: Any = model

    @property
    def model(self) -> Any:
        if self._model is None:
            self._model = self._load()
        return self._model

    @property
    def loaded(self) -> bool:
        return self._model is not None


def is_current(record: dict) -> bool:
    """True when ``record`` was computed by the code that would compute it today."""
    return record.get("code_hash") == code_hash(record["chapter"])


class RunStore:
    """Finished runs on disk, keyed by their configuration.

    ``keep_stale``: reuse records computed by older code instead of recomputing them
    (default: ``$KDCORE_KEEP_STALE == "1"``); tables still mark them stale. ``profile``
    picks the default ``root`` (:func:`results_root`): a smoke store lives in scratch.
    """

    def __init__(self, root: Path | str | None = None, keep_stale: bool | None = None,
                 profile: str = PAPER_PROFILE) -> None:
        self.root = Path(root) if root is not None else results_root(profile)
        self.keep_stale = (os.environ.get("KDCORE_KEEP_STALE", "0") == "1") if keep_stale is None else keep_stale

    def usable(self, record: dict | None) -> bool:
        """A finished record this store reuses: current, or stale while ``keep_stale``."""
        return record is not None and (self.keep_stale or is_current(record))

    # -- keys and paths ---------------------------------------------------------------
    @staticmethod
    def key(chapter: str, setting: str, seed: int, params: dict, profile: str) -> str:
        """sha256 over the canonical JSON of everything that determines a run (16 hex)."""
        blob = json.dumps({"schema": SCHEMA, "chapter": chapter, "setting": setting, "seed": seed,
                           "params": _jsonable(params), "profile": profile}, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    def path(self, chapter: str, setting: str, seed: int, params: dict, profile: str) -> Path:
        k = self.key(chapter, setting, seed, params, profile)
        return self.root / _slug(chapter) / _slug(setting) / f"seed{seed}-{k}.json"

    # -- records ----------------------------------------------------------------------
    def load(self, chapter: str, setting: str, seed: int, params: dict, profile: str) -> dict | None:
        """The finished record, or ``None``. A corrupt record raises ``ValueError`` naming it."""
        path = self.path(chapter, setting, seed, params, profile)
        if not path.exists():
            return None
        return read_record(path)

    def check_writable(self) -> None:
        """Raise ``OSError`` naming the results folder unless a record can be written there;
        run before any training (once per store), so no finished work is lost to it."""
        if not getattr(self, "_writable", False):
            ensure_writable(self.root, "results folder")
            self._writable = True

    def run(self, chapter: str, setting: str, seed: int, params: dict, profile: str,
            fn: Callable[[], dict]) -> dict:
        """Return the finished record, or call ``fn()`` and store what it returns.

        ``fn`` returns ``{"metrics": {name: float}, "history": {...}?, "extra": {...}?}``;
        ``metrics`` are the headline numbers that go into the paper-vs-ours table. A stale
        record (older code) is recomputed and overwritten unless ``keep_stale``.
        """
        done = self.load(chapter, setting, seed, params, profile)
        if self.usable(done):
            return done
        if profile != PAPER_PROFILE and self.root.resolve() in _committed_results():
            raise ValueError(f"a {profile!r} run must not write its record into the committed results folder "
                             f"{self.root}: open the store with RunStore(profile={profile!r}) (records go to "
                             f"{scratch_root()}) or set KDCORE_RESULTS to another folder")
        failed = self.failure(chapter, setting, seed, params, profile)
        if failed is not None and (self.keep_stale or failed["code_hash"] == code_hash(chapter)):
            raise RunFailedBefore(f"{setting} seed {seed} failed before ({failed['error']}: {failed['message']}); "
                                  f"not retried. Delete {self.failure_path(chapter, setting, seed, params, profile)} "
                                  f"to run it again.", failed)
        _refuse_if_read_only(chapter, f"{setting} seed {seed}", "has no current record")
        self.check_writable()
        t0 = time.perf_counter()
        try:
            out = fn()
        except FloatingPointError as err:    # a non-finite loss: an outcome of the run, kept
            self._write_failure(chapter, setting, seed, params, profile, err, time.perf_counter() - t0)
            raise
        if "metrics" not in out:
            raise ValueError("a run function must return a dict with 'metrics'")
        record = {"schema": SCHEMA, "chapter": chapter, "setting": setting, "seed": seed,
                  "profile": profile, "params": _jsonable(params),
                  "key": self.key(chapter, setting, seed, params, profile),
                  "metrics": {k: float(v) for k, v in out["metrics"].items()},
                  "history": _jsonable(out.get("history")), "extra": _jsonable(out.get("extra")),
                  "seconds": round(time.perf_counter() - t0, 3), "code_hash": code_hash(chapter),
                  "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
                  **_environment(chapter)}
        path = self.path(chapter, setting, seed, params, profile)
        _atomic_write(path, lambda p: p.write_text(json.dumps(record, indent=1, sort_keys=True)))
        _note_read(path)
        # A retry (under changed code) that finished: its old failure note no longer holds.
        self.failure_path(chapter, setting, seed, params, profile).unlink(missing_ok=True)
        return record

    # -- failure notes ------------------------------------------------------------------
    # A run whose loss became non-finite (FloatingPointError, e.g. train.NonFiniteLossError)
    # writes no record, but that it failed, where and with which code is a result too (the
    # deep-nets chapter's Hinton sweep counts such runs, as its authors did). The note sits
    # beside where the record would be, as "<seed>-<key>.failure" (JSON), so record readers
    # never take it for a record.
    def failure_path(self, chapter: str, setting: str, seed: int, params: dict, profile: str) -> Path:
        return self.path(chapter, setting, seed, params, profile).with_suffix(".failure")

    def failure(self, chapter: str, setting: str, seed: int, params: dict, profile: str) -> dict | None:
        """The failure note of this run, or ``None``."""
        path = self.failure_path(chapter, setting, seed, params, profile)
        return _read_note(path) if path.exists() else None

    def failures(self, chapter: str | None = None) -> list[dict]:
        """All failure notes (of one chapter), in a stable order."""
        return [_read_note(p) for p in self._files(chapter, "*.failure")]

    def _write_failure(self, chapter: str, setting: str, seed: int, params: dict, profile: str,
                       err: BaseException, seconds: float) -> None:
        note = {"schema": SCHEMA, "chapter": chapter, "setting": setting, "seed": seed, "profile": profile,
                "params": _jsonable(params), "key": self.key(chapter, setting, seed, params, profile),
                "error": type(err).__name__, "message": str(err), "seconds": round(seconds, 3),
                "code_hash": code_hash(chapter),
                "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
                **_environment(chapter)}
        path = self.failure_path(chapter, setting, seed, params, profile)
        _atomic_write(path, lambda p: p.write_text(json.dumps(note, indent=1, sort_keys=True)))
        _note_read(path)

    def trained_model(self, chapter: str, setting: str, seed: int, params: dict, profile: str,
                      build: Callable[[], Any], train: Callable[[Any], dict]) -> "TrainedModel":
        """A model later runs need (e.g. a teacher), its record now, the model only on demand.

        With a usable record, nothing is trained here: ``.model`` loads the weights the record
        names (``results/<chapter>/models/``, checked by sha256, :mod:`.weights`) on first
        access. A record without weights (older code) reads the git-ignored cache, else
        retrains and keeps the new weights only if they reproduce the record's metrics. So a
        chapter whose downstream records all exist never builds its teachers. Without a
        usable record the model is trained now and both are written.
        """
        from .weights import attach, save_weights, weights_file

        key = self.key(chapter, setting, seed, params, profile)
        target = weights_file(self.root, chapter, setting, seed, key)
        record = self.load(chapter, setting, seed, params, profile)
        if self.usable(record):
            return TrainedModel(record, lambda: self._load_or_retrain(record, target, build, train))
        model = build()
        record = self.run(chapter, setting, seed, params, profile, lambda: train(model))
        record = attach(self.path(chapter, setting, seed, params, profile), save_weights(model, target, self.root))
        return TrainedModel(record, lambda: model, model)

    def model_run(self, chapter: str, setting: str, seed: int, params: dict, profile: str,
                  build: Callable[[], Any], train: Callable[[Any], dict]) -> tuple[dict, Any]:
        """``(record, model)`` of :meth:`trained_model`, the model loaded (or trained) now."""
        t = self.trained_model(chapter, setting, seed, params, profile, build, train)
        return t.record, t.model

    def _load_or_retrain(self, record: dict, target: Path, build: Callable[[], Any],
                         train: Callable[[Any], dict]) -> Any:
        import warnings

        from ..training.loop import resolve_device
        from .weights import attach, load_weights, save_weights

        model = build()
        path = self.path(record["chapter"], record["setting"], record["seed"], record["params"], record["profile"])
        legacy = self.root / ".cache" / f"{_slug(record['chapter'])}-{_slug(record['setting'])}-{record['key']}.pt"
        if "weights" in record:           # committed with the record: checked by hash, never retrained
            model.load_state_dict(load_weights(self.root, record["weights"], str(path)))
        elif legacy.exists():              # saved by the process that trained it (older code)
            model.load_state_dict(load_torch(legacy, map_location="cpu"))
            attach(path, save_weights(model, target, self.root))
        else:                              # record committed, weights not: retrain, keep only a reproduction
            _refuse_if_read_only(record["chapter"], f"{record['setting']} seed {record['seed']}",
                                 "has a record but no committed weights, so it would be retrained")
            self.check_writable()
            metrics = train(model).get("metrics", {})
            same = all(abs(float(metrics.get(k, float("nan"))) - v) <= 1e-6 * max(1.0, abs(v))
                       for k, v in record["metrics"].items())
            if same:
                attach(path, save_weights(model, target, self.root))
            else:
                warnings.warn(f"retrained {record['setting']} seed {record['seed']} does not reproduce its record "
                              f"{path} ({metrics} vs {record['metrics']}): its weights are not kept with the record",
                              stacklevel=2)
            return model
        return model.to(resolve_device("auto"))  # where fit would have left it

    def records(self, chapter: str | None = None) -> list[dict]:
        """All records (of one chapter), in a stable order."""
        return [read_record(p) for p in self._files(chapter, "*.json")]

    def _files(self, chapter: str | None, pattern: str) -> list[Path]:
        """The files matching ``pattern`` under the store (or one chapter), sorted, cache excluded."""
        base = self.root / _slug(chapter) if chapter else self.root
        return sorted(p for p in base.rglob(pattern) if ".cache" not in p.parts) if base.exists() else []
