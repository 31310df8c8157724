"""Run records, paper numbers, and the paper-vs-ours table.

A *run record* is one JSON file per finished run (a setting and a seed) under
``results/<chapter>/<setting>/``, named by a key derived from everything that determines
the run (chapter, setting, seed, profile, parameters). It holds the headline ``metrics``
(the numbers that go into tables), optional ``history`` and ``extra`` data (curves), the
parameters, the profile, the seed, package versions, the device and the git commit.
Writes are atomic (temporary file, then rename), so an interrupted run leaves either
nothing or a complete record, and :meth:`RunStore.run` never recomputes a finished run.

Trained models that later runs need (teachers) are kept beside the records in
``results/.cache`` (not committed); if one is missing it is retrained deterministically.

``python -m kdcore.results [--chapter C] [--format table|csv|markdown]`` prints the table.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import hashlib
import json
import os
import platform
import re
import subprocess
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from .paper_data import PaperNumber, all_paper_numbers

__all__ = ["RunStore", "results_root", "comparison_table", "readable_table", "PaperNumber", "format_mean_std"]

SCHEMA = 1
TABLE_COLUMNS = ["chapter", "setting", "metric", "paper", "ours", "ours_std", "delta", "n_runs", "profile"]


def _repo_root(start: Path) -> Path | None:
    for p in [start, *start.parents]:
        if (p / "pyproject.toml").exists() and (p / "kdcore").is_dir():
            return p
    return None


def results_root() -> Path:
    """``$KDCORE_RESULTS``; else ``results/`` of the repository containing the cwd or
    kdcore itself; else ``./results``."""
    if os.environ.get("KDCORE_RESULTS"):
        return Path(os.environ["KDCORE_RESULTS"]).expanduser()
    root = _repo_root(Path.cwd().resolve()) or _repo_root(Path(__file__).resolve().parent)
    return (root / "results") if root else Path("results").resolve()


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._=-]+", "_", text).strip("_")[:80] or "run"


def _jsonable(obj: Any) -> Any:
    """Parameters as canonical JSON values (tuples become lists, paths strings)."""
    return json.loads(json.dumps(obj, default=str, sort_keys=True))


def _git_commit() -> str:
    root = _repo_root(Path(__file__).resolve().parent)
    if root is None:
        return "unknown"
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True,
                              timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "kdcore", "notebooks"], cwd=root,
                               capture_output=True, text=True, timeout=10).stdout.strip()
        return (head or "unknown") + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def _environment() -> dict[str, Any]:
    import numpy
    import torch

    from . import __version__

    device = "cuda:" + torch.cuda.get_device_name(0) if torch.cuda.is_available() else f"cpu ({platform.processor() or platform.machine()}, {os.cpu_count()} cores)"
    return {"versions": {"python": platform.python_version(), "torch": torch.__version__,
                         "numpy": numpy.__version__, "kdcore": __version__},
            "device": device, "git_commit": _git_commit()}


def _atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


class RunStore:
    """Finished runs on disk, keyed by their configuration."""

    def __init__(self, root: Path | str | None = None) -> None:
        self.root = Path(root) if root is not None else results_root()

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
        try:
            return json.loads(path.read_text())
        except json.JSONDecodeError as err:
            raise ValueError(f"corrupt run record {path}: {err}. Delete it to recompute the run.") from err

    def run(self, chapter: str, setting: str, seed: int, params: dict, profile: str,
            fn: Callable[[], dict]) -> dict:
        """Return the finished record, or call ``fn()`` and store what it returns.

        ``fn`` returns ``{"metrics": {name: float}, "history": {...}?, "extra": {...}?}``;
        ``metrics`` are the headline numbers that go into the paper-vs-ours table.
        """
        done = self.load(chapter, setting, seed, params, profile)
        if done is not None:
            return done
        t0 = time.perf_counter()
        out = fn()
        if "metrics" not in out:
            raise ValueError("a run function must return a dict with 'metrics'")
        record = {"schema": SCHEMA, "chapter": chapter, "setting": setting, "seed": seed,
                  "profile": profile, "params": _jsonable(params),
                  "key": self.key(chapter, setting, seed, params, profile),
                  "metrics": {k: float(v) for k, v in out["metrics"].items()},
                  "history": _jsonable(out.get("history")), "extra": _jsonable(out.get("extra")),
                  "seconds": round(time.perf_counter() - t0, 3),
                  "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
                  **_environment()}
        path = self.path(chapter, setting, seed, params, profile)
        _atomic_write(path, lambda p: p.write_text(json.dumps(record, indent=1, sort_keys=True)))
        return record

    def model_run(self, chapter: str, setting: str, seed: int, params: dict, profile: str,
                  build: Callable[[], Any], train: Callable[[Any], dict]) -> tuple[dict, Any]:
        """Like :meth:`run` for a model later runs need (e.g. a teacher).

        Returns ``(record, model)``. The weights are cached in ``results/.cache``; if they
        are missing the model is rebuilt and retrained (deterministic given the seed) and
        the record is kept or written.
        """
        import torch

        key = self.key(chapter, setting, seed, params, profile)
        weights = self.root / ".cache" / f"{_slug(chapter)}-{_slug(setting)}-{key}.pt"
        model = build()
        record = self.load(chapter, setting, seed, params, profile)
        if record is not None and weights.exists():
            model.load_state_dict(torch.load(weights, map_location="cpu"))
            return record, model
        if record is None:
            record = self.run(chapter, setting, seed, params, profile, lambda: train(model))
        else:  # record committed, weights not (fresh clone): retrain, keep the record
            train(model)
        model.cpu()
        _atomic_write(weights, lambda p: torch.save(model.state_dict(), p))
        return record, model

    def records(self, chapter: str | None = None) -> list[dict]:
        """All records (of one chapter), in a stable order."""
        base = self.root / _slug(chapter) if chapter else self.root
        if not base.exists():
            return []
        return [json.loads(p.read_text()) for p in sorted(base.rglob("*.json")) if ".cache" not in p.parts]


def _fmt(x: float, digits: int = 4) -> str:
    """Numbers as a reader wants them: counts and values of 10 or more with one decimal,
    the rest (accuracies, losses) with ``digits`` decimals."""
    return f"{x:.1f}" if abs(x) >= 10 else f"{x:.{digits}f}"


def format_mean_std(mean: float, std: float | None, digits: int = 4) -> str:
    """``"0.8560 ± 0.0120"`` (or just the mean when there is no spread)."""
    if mean != mean:  # NaN
        return "—"
    if std is None or std != std:
        return _fmt(mean, digits)
    return f"{_fmt(mean, digits)} ± {_fmt(std, digits)}"


def _latest_per_seed(records: list[dict]) -> list[dict]:
    """One record per (chapter, setting, profile, seed): the newest.

    A setting re-run with other parameters (e.g. a retrained teacher) leaves the older
    record on disk; it must not be averaged with the new one. Superseded records are
    reported so they can be deleted.
    """
    latest: dict[tuple, dict] = {}
    for rec in records:
        k = (rec["chapter"], rec["setting"], rec["profile"], rec["seed"])
        if k not in latest or rec["created"] > latest[k]["created"]:
            if k in latest:
                warnings.warn(f"run record {latest[k]['key']} of {k} is superseded by {rec['key']}", stacklevel=3)
            latest[k] = rec
        else:
            warnings.warn(f"run record {rec['key']} of {k} is superseded by {latest[k]['key']}", stacklevel=3)
    return list(latest.values())


def comparison_table(chapter: str | None = None, root: Path | str | None = None) -> pd.DataFrame:
    """The paper-vs-ours table: one row per (chapter, setting, metric, profile).

    ``ours`` is the mean over seeds of the run records, ``ours_std`` their sample std
    (NaN for one run), ``delta = ours - paper``. Paper numbers without a run of ours
    appear with ``ours`` empty, so what is missing is visible.
    """
    rows: dict[tuple, dict] = {}
    for rec in _latest_per_seed(RunStore(root).records(chapter)):
        for metric, value in rec["metrics"].items():
            k = (rec["chapter"], rec["setting"], metric, rec["profile"])
            rows.setdefault(k, {"values": []})["values"].append(value)
    paper = {(p.chapter, p.setting, p.metric): p for p in all_paper_numbers()
             if chapter is None or p.chapter == chapter}
    out = []
    for (ch, setting, metric, profile), r in rows.items():
        vals = pd.Series(r["values"], dtype=float)
        p = paper.get((ch, setting, metric))
        pv = p.value if p else float("nan")
        out.append({"chapter": ch, "setting": setting, "metric": metric, "paper": pv,
                    "ours": vals.mean(), "ours_std": vals.std(ddof=1) if len(vals) > 1 else float("nan"),
                    "delta": vals.mean() - pv, "n_runs": len(vals), "profile": profile})
    have = {(r["chapter"], r["setting"], r["metric"]) for r in out}
    for key, p in paper.items():
        if key not in have:
            out.append({"chapter": p.chapter, "setting": p.setting, "metric": p.metric, "paper": p.value,
                        "ours": float("nan"), "ours_std": float("nan"), "delta": float("nan"),
                        "n_runs": 0, "profile": ""})
    df = pd.DataFrame(out, columns=TABLE_COLUMNS)
    order = {(p.chapter, p.setting): i for i, p in enumerate(all_paper_numbers())}
    df["_o"] = [order.get((c, s), 10**6) for c, s in zip(df.chapter, df.setting)]
    return df.sort_values(["chapter", "_o", "setting", "metric", "profile"], kind="stable").drop(columns="_o").reset_index(drop=True)


def readable_table(df: pd.DataFrame, chapter_column: bool = True) -> pd.DataFrame:
    """The comparison table as strings for readers: ``ours`` as "mean ± std", Δ signed,
    missing values as "—"."""
    out = pd.DataFrame({
        "chapter": df.chapter,
        "setting": df.setting,
        "metric": df.metric,
        "paper": ["—" if p != p else _fmt(p) for p in df.paper],
        "ours (mean ± std)": [format_mean_std(m, s) for m, s in zip(df.ours, df.ours_std)],
        "Δ": ["—" if d != d else ("+" if d >= 0 else "") + _fmt(d) for d in df.delta],
        "runs": df.n_runs.astype(int),
        "profile": [p or "—" for p in df.profile],
    })
    return out if chapter_column else out.drop(columns="chapter")


def _markdown(df: pd.DataFrame) -> str:
    """One section per chapter (``## <chapter>``) holding its table, for the book's page."""
    parts = []
    for chapter, sub in df.groupby("chapter", sort=False):
        table = readable_table(sub, chapter_column=False)
        # Non-breaking spaces keep "mean ± std" on one line in narrow columns.
        table["ours (mean ± std)"] = table["ours (mean ± std)"].str.replace(" ± ", "\u00a0±\u00a0")
        lines = [f"## {chapter}", "", "| " + " | ".join(table.columns) + " |", "|" + "---|" * len(table.columns)]
        lines += ["| " + " | ".join(str(v) for v in row) + " |" for row in table.itertuples(index=False)]
        parts.append("\n".join(lines))
    return "\n\n".join(parts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kdcore.results", description=__doc__.split("\n")[0])
    parser.add_argument("--chapter", default=None, help="only this chapter (notebook name)")
    parser.add_argument("--format", choices=("table", "csv", "markdown"), default="table")
    parser.add_argument("--root", default=None, help="results folder (default: results_root())")
    args = parser.parse_args(argv)
    df = comparison_table(args.chapter, args.root)
    if args.format == "csv":
        df.to_csv(sys.stdout, index=False)
    elif args.format == "markdown":
        print(_markdown(df))
    else:
        with pd.option_context("display.max_rows", None, "display.width", 200, "display.max_columns", None):
            print(df.to_string(index=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
