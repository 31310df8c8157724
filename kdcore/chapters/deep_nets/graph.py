"""Chapter 5's experiments as jobs for ``python -m kdcore run deep_nets`` (the list only: the
units of work and their order are :func:`.script.plan`'s, run by :func:`.script.run_task`).

Teachers first (ResNet18 for the Hinton sweep and the cost table, ConvTiny for Table 1,
ResNet10 for Table 2, each on the full and the reduced training part); a search's trials
before its summary, its summary before the re-runs of the chosen trials.
"""

from __future__ import annotations

from pathlib import Path

from ...run import Job
from . import script
from .runners import DeepNetsConfig, Lab

CONFIG = DeepNetsConfig
__all__ = ["CONFIG", "jobs"]

_ARCH_PARTS = {"resnet18": ("hinton", "cost"), "conv_tiny": ("table1",), "resnet10": ("table2", "cost")}


def _lab(cfg: DeepNetsConfig, store) -> Lab:
    """The worker process's Lab (data and cached teacher outputs loaded once), for this results folder."""
    if script._LAB is not None and Path(script._LAB.store.root) != Path(store.root):
        script._LAB = None            # a Ray worker process runs jobs of several folders in turn
    return script._lab(cfg, str(store.root))


def teacher(cfg: DeepNetsConfig, store, arch: str, kind: str) -> None:
    _lab(cfg, store).teacher(arch, kind)


def task(cfg: DeepNetsConfig, store, unit: tuple) -> None:
    _lab(cfg, store)
    script.run_task(cfg, str(store.root), unit)


def _teachers(cfg: DeepNetsConfig) -> list[tuple[str, str]]:
    need = [("resnet18", "full")] if {"hinton", "cost"} & set(cfg.parts()) else []
    if "table1" in cfg.tables and "table1" in cfg.parts():
        need += [("conv_tiny", "full"), ("conv_tiny", "part")]
    if "table2" in cfg.tables and {"table2", "cost"} & set(cfg.parts()):
        need += [("resnet10", "full"), ("resnet10", "part")]
    return need


def jobs(cfg: DeepNetsConfig) -> list[Job]:
    teachers = _teachers(cfg)
    out = [Job(f"teacher/{a}/{k}", teacher, (a, k), part="teachers", threads=2, gpu=1.0, cost=100)
           for a, k in teachers]
    key = lambda unit: "/".join(unit)
    groups = set(cfg.parts())
    for unit, needs in script.plan(cfg):
        part = script.group(unit)
        if part not in groups:
            continue
        # A unit needs the teachers of its part (the plan leaves them out: the script trained them first).
        teach = [f"teacher/{a}/{k}" for a, k in teachers if part in _ARCH_PARTS[a]]
        out.append(Job(key(unit), task, (unit,), needs=tuple(teach) + tuple(key(n) for n in needs), part=part,
                       gpu=0.25, cost=10 if unit[0] in ("search", "rerun") else 1))
    return out
