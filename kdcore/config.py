"""Validation helpers for the typed run configs.

Every chapter turns its papermill parameters into a dataclass whose ``__post_init__``
calls these helpers, so a bad value fails *before* any data is loaded or any model
trained, with a message that names the parameter and the allowed range.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any


def check_range(name: str, value: float, low: float | None = None, high: float | None = None,
                *, low_open: bool = False, high_open: bool = False) -> None:
    """Raise ``ValueError`` naming ``name`` unless ``low (<|<=) value (<|<=) high``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
        raise ValueError(f"parameter {name!r} must be a number, got {value!r}")
    lo_ok = low is None or (value > low if low_open else value >= low)
    hi_ok = high is None or (value < high if high_open else value <= high)
    if not (lo_ok and hi_ok):
        lo = "-inf" if low is None else f"{low}"
        hi = "inf" if high is None else f"{high}"
        interval = f"{'(' if low_open or low is None else '['}{lo}, {hi}{')' if high_open or high is None else ']'}"
        raise ValueError(f"parameter {name!r} = {value!r} is out of range: allowed {interval}")


def check_int(name: str, value: Any, low: int | None = None, high: int | None = None) -> None:
    """Raise ``ValueError`` unless ``value`` is an int in ``[low, high]``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"parameter {name!r} must be an integer, got {value!r}")
    check_range(name, value, low, high)


def check_choice(name: str, value: Any, allowed: Iterable[Any]) -> None:
    """Raise ``ValueError`` unless ``value`` is one of ``allowed``."""
    allowed = list(allowed)
    if value not in allowed:
        raise ValueError(f"parameter {name!r} = {value!r} is not allowed: choose one of {allowed}")


def check_each(name: str, values: Sequence[Any], check, *args, **kwargs) -> None:
    """Apply ``check(f"{name}[i]", v, *args)`` to every element; empty lists are rejected."""
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) or len(values) == 0:
        raise ValueError(f"parameter {name!r} must be a non-empty list, got {values!r}")
    for i, v in enumerate(values):
        check(f"{name}[{i}]", v, *args, **kwargs)


PROFILES = ("smoke", "paper")


def check_profile(value: str) -> None:
    """Profiles: ``smoke`` (cell defaults, seconds) and ``paper`` (the paper's settings)."""
    check_choice("profile", value, PROFILES)


class ConfigBase:
    """Mixin for the chapters' config dataclasses.

    ``Config.from_namespace(globals())`` picks the fields from a notebook's namespace
    (the ``parameters`` cell plus what papermill injected), so papermill parameter names
    equal the field names and validation (``__post_init__``) runs before any work.
    """

    @classmethod
    def from_namespace(cls, namespace: dict[str, Any]):
        import dataclasses

        names = [f.name for f in dataclasses.fields(cls)]  # type: ignore[arg-type]
        missing = [n for n in names if n not in namespace]
        if missing:
            raise ValueError(f"parameters {missing} are missing from the notebook's parameters cell")
        return cls(**{n: namespace[n] for n in names})

    def asdict(self) -> dict[str, Any]:
        import dataclasses

        return dataclasses.asdict(self)  # type: ignore[arg-type]
