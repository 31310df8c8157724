"""Tiny jobs that check a backend, not a paper: a record written, a worker that dies once.

``tests/test_run.py`` runs them on a two-node local Ray cluster (a killed worker must lose
only its job, which reruns); they live in the package so that every Ray worker can import
them by name.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

CHAPTER = "selftest"
__all__ = ["SelfTestConfig", "write_value", "die_once"]


@dataclass(frozen=True)
class SelfTestConfig:
    profile: str = "smoke"


def write_value(cfg: SelfTestConfig, store, name: str, value: float) -> None:
    """One record, ``metrics = {"value": value}``."""
    store.run(CHAPTER, name, 0, {"value": value}, cfg.profile, lambda: {"metrics": {"value": value}})


def die_once(cfg: SelfTestConfig, store, marker: str, name: str) -> None:
    """The first call kills its own process (as a lost worker would be lost); later calls write a record."""
    if not Path(marker).exists():
        Path(marker).write_text("died once\n")
        os._exit(1)
    write_value(cfg, store, name, 1.0)
