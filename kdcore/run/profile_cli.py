"""Run a chapter's experiments without Jupyter: ``python -m kdcore.chapters.<name> ...``.

The notebook is the chapter; this entry runs the same runner functions with the same
validated config, so a machine without papermill (a rented GPU, a batch job) can fill the
run records that the notebook then only reads. Runs are resumable (finished records are
skipped), and independent *parts* of a chapter can run in parallel processes:

    python -m kdcore.chapters.kd_overview --profile paper --results DIR --part teachers
    python -m kdcore.chapters.kd_overview --profile paper --results DIR --part transfer &
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

__all__ = ["load_profile", "run_parts"]

C = TypeVar("C")

ROOT = Path(__file__).resolve().parents[2]   # the repository (kdcore/run/ -> ../..)


def load_profile(name: str, config_cls: type[C], profile: str, params: Path | None = None,
                 overrides: dict[str, Any] | None = None) -> C:
    """The validated config of chapter ``name`` at ``profile``, for every script entry point.

    ``smoke`` is the config's defaults (the notebook's ``parameters`` cell); any other
    profile reads ``params`` (default ``notebooks/params/<name>.yaml``), which must say
    ``profile: <profile>``. ``overrides`` replace single values. Unknown names and bad
    values fail here (the configs refuse them), before any work starts.
    """
    values: dict[str, Any] = {"profile": profile}
    if profile != "smoke":
        import yaml

        path = params or ROOT / "notebooks" / "params" / f"{name}.yaml"
        if not path.exists():
            raise FileNotFoundError(f"no parameters for {name!r} profile {profile!r}: {path} is missing")
        values = yaml.safe_load(path.read_text()) or {}
        if values.get("profile") != profile:
            raise ValueError(f"{path} sets profile {values.get('profile')!r}, not {profile!r}")
    merged = {**values, **(overrides or {})}
    if dataclasses.is_dataclass(config_cls):
        unknown = sorted(set(merged) - {f.name for f in dataclasses.fields(config_cls)})
        if unknown:
            raise ValueError(f"unknown parameters {unknown}: see {config_cls.__name__} for the allowed names")
    return config_cls(**merged)


def run_parts(name: str, config_cls: type, parts: dict[str, Callable[[Any, Any], object]],
              argv: list[str] | None = None) -> int:
    """Parse the command line, build and validate the config, run the chosen parts in order."""
    from ..results import RunStore

    parser = argparse.ArgumentParser(prog=f"python -m kdcore.chapters.{name}",
                                     description=f"Run the experiments of chapter {name!r}.")
    parser.add_argument("--profile", choices=("smoke", "paper"), default="paper")
    parser.add_argument("--params", type=Path, default=None, help="YAML of parameters (default: notebooks/params)")
    parser.add_argument("--results", type=Path, default=None, help="results folder (default: results_root())")
    parser.add_argument("--part", action="append", choices=list(parts), default=None,
                        help="run only this part (repeatable; default: all, in order)")
    args = parser.parse_args(argv)
    cfg = load_profile(name, config_cls, args.profile, args.params)    # validates before any work
    store = RunStore(args.results)
    for part in args.part or list(parts):
        t0 = time.perf_counter()
        print(f"[{name}] {part} ({args.profile})", flush=True)
        parts[part](cfg, store)
        print(f"[{name}] {part} done in {time.perf_counter() - t0:.0f} s", flush=True)
    return 0
