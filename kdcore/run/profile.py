"""A chapter's validated config at a profile, from its parameters file (no Jupyter needed).

``smoke`` is the config's defaults; any other profile reads ``notebooks/params/<name>.yaml``
(or another file). :mod:`kdcore.run.chapters` builds the runner's configs the way papermill
does (the notebook's parameters cell, then the YAML); this reads the YAML alone, for a
chapter that runs a column from its own parameters file.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, TypeVar

__all__ = ["load_profile", "ROOT"]

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
