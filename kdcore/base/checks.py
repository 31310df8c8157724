"""Typed, validated run configs: the decorator and the range helpers (the bottom layer).

Every chapter turns its papermill parameters into a config class decorated with
:func:`config_dataclass`, a pydantic dataclass in strict mode: a field typed ``bool``
accepts only ``True``/``False`` (never the string ``"false"``), a ``float`` only a finite
number (``inf`` and ``nan`` are refused), an ``int`` only an integer, and an unknown
keyword is refused. Its ``__post_init__`` then checks ranges with the helpers below. A
bad value fails *before* any data is loaded or any model trained, with a
:class:`ConfigError` (a ``ValueError``) that names the parameter and what is allowed.
"""

from __future__ import annotations

import difflib
import functools
import math
from collections.abc import Iterable, Sequence
from typing import Any

import pydantic
import pydantic.dataclasses

__all__ = ["ConfigError", "config_dataclass", "check_range", "check_int", "check_choice", "check_each",
           "check_bool", "check_profile", "PROFILES", "unknown_names_message"]


class ConfigError(ValueError):
    """A parameter is invalid. The message names it and says what is allowed."""


# Strict types, finite numbers, no unknown keywords (pydantic's names for those rules).
STRICT = pydantic.ConfigDict(strict=True, extra="forbid", allow_inf_nan=False)


def _explain(err: pydantic.ValidationError) -> str:
    """pydantic's errors as sentences that name each parameter."""
    out = []
    for e in err.errors(include_url=False):
        name = "".join(f"[{p}]" if isinstance(p, int) else ("." if i else "") + str(p)
                       for i, p in enumerate(e["loc"]))
        value = e.get("input")
        kind = e["type"]
        if kind == "value_error" and "error" in e.get("ctx", {}):
            out.append(str(e["ctx"]["error"]))          # a range check of __post_init__
        elif kind == "unexpected_keyword_argument":
            out.append(f"unknown parameter {name!r}")
        elif kind == "bool_type":
            out.append(f"parameter {name!r} must be true or false (a boolean), got {value!r}")
        elif kind == "finite_number":
            out.append(f"parameter {name!r} must be a finite number, got {value!r}")
        else:
            out.append(f"parameter {name!r}: {e['msg'].lower()}, got {value!r}")
    return "; ".join(out)


def config_dataclass(cls: type) -> type:
    """Decorator: ``cls`` as a strict pydantic dataclass whose errors are :class:`ConfigError`.

    ``dataclasses.fields``, ``asdict`` and ``replace`` work as on a plain dataclass; field
    names stay the papermill parameter names.
    """
    pcls = pydantic.dataclasses.dataclass(cls, config=STRICT)
    init = pcls.__init__

    @functools.wraps(init)
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        try:
            init(self, *args, **kwargs)
        except pydantic.ValidationError as err:
            raise ConfigError(f"{pcls.__name__}: {_explain(err)}") from None

    pcls.__init__ = __init__
    return pcls


def check_range(name: str, value: float, low: float | None = None, high: float | None = None,
                *, low_open: bool = False, high_open: bool = False) -> None:
    """Raise ``ValueError`` naming ``name`` unless ``value`` is a finite number with
    ``low (<|<=) value (<|<=) high``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ConfigError(f"parameter {name!r} must be a finite number, got {value!r}")
    lo_ok = low is None or (value > low if low_open else value >= low)
    hi_ok = high is None or (value < high if high_open else value <= high)
    if not (lo_ok and hi_ok):
        lo = "-inf" if low is None else f"{low}"
        hi = "inf" if high is None else f"{high}"
        interval = f"{'(' if low_open or low is None else '['}{lo}, {hi}{')' if high_open or high is None else ']'}"
        raise ConfigError(f"parameter {name!r} = {value!r} is out of range: allowed {interval}")


def check_int(name: str, value: Any, low: int | None = None, high: int | None = None) -> None:
    """Raise ``ValueError`` unless ``value`` is an int in ``[low, high]``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"parameter {name!r} must be an integer, got {value!r}")
    check_range(name, value, low, high)


def check_choice(name: str, value: Any, allowed: Iterable[Any]) -> None:
    """Raise ``ValueError`` unless ``value`` is one of ``allowed``."""
    allowed = list(allowed)
    if value not in allowed:
        raise ConfigError(f"parameter {name!r} = {value!r} is not allowed: choose one of {allowed}")


def check_each(name: str, values: Sequence[Any], check, *args, **kwargs) -> None:
    """Apply ``check(f"{name}[i]", v, *args)`` to every element; empty lists are rejected."""
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) or len(values) == 0:
        raise ConfigError(f"parameter {name!r} must be a non-empty list, got {values!r}")
    for i, v in enumerate(values):
        check(f"{name}[{i}]", v, *args, **kwargs)


def check_bool(name: str, value: Any) -> None:
    """Raise ``ValueError`` unless ``value`` is ``True`` or ``False`` (not ``"false"``, not 0)."""
    if not isinstance(value, bool):
        raise ConfigError(f"parameter {name!r} must be true or false (a boolean), got {value!r}")


PROFILES = ("smoke", "paper")


def check_profile(value: str) -> None:
    """Profiles: ``smoke`` (cell defaults, seconds) and ``paper`` (the paper's settings)."""
    check_choice("profile", value, PROFILES)


def unknown_names_message(unknown: Iterable[str], known: Iterable[str], where: str) -> str:
    """``unknown parameter 'temprature' (did you mean 'temperature'?) in WHERE; allowed: ...``"""
    known = sorted(known)
    parts = []
    for name in sorted(unknown):
        close = difflib.get_close_matches(name, known, n=1)
        parts.append(f"{name!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
    return (f"unknown parameter{'s' if len(parts) > 1 else ''} {', '.join(parts)} in {where}; "
            f"the parameters are {known}")
