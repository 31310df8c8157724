"""Chapter 5's experiments as jobs for ``python -m kdcore run deep_nets`` (the list and the
dispatch only: every unit calls a runner function of :mod:`.experiments`, :mod:`.search` or
:mod:`.cost`, which the notebook calls too).

Teachers first (ResNet18 for the Hinton sweep and the cost table, ConvTiny for Table 1,
ResNet10 for Table 2, each on the full and the reduced training part); then the units of
:func:`plan`: a search's trials before its summary, its summary before the re-runs of the
chosen trials, a sweep's runs before its best-run record. On one GPU several processes keep
it busier than one: the students are tiny and a single process mostly waits on kernel launches.
"""

from __future__ import annotations

import time
from pathlib import Path

import torch

from ...results.model_store import ModelStore
from ...run import Job
from . import experiments, search
from .cost import feature_cost
from .sampled import SampledSearch
from .runners import DeepNetsConfig, Lab

CONFIG = DeepNetsConfig
__all__ = ["CONFIG", "jobs", "plan", "group", "run_unit", "GROUPS"]

_ARCH_PARTS = {"resnet18": ("hinton", "cost"), "conv_tiny": ("table1",), "resnet10": ("table2", "cost")}


_LAB: Lab | None = None


def _lab(cfg: DeepNetsConfig, store) -> Lab:
    """This process's Lab (data and cached teacher outputs loaded once) for this results folder
    and config (a Ray worker process runs jobs of several folders in turn)."""
    global _LAB
    if _LAB is None or Path(_LAB.store.root) != Path(store.root) or _LAB.cfg != cfg:
        _LAB = Lab(cfg, store, teacher_store(store))
    return _LAB


def teacher_store(store) -> ModelStore:
    """Where the runner keeps this chapter's teachers: ``results/deep_nets/teachers/``, committed
    with the records (a ResNet10 takes 75 CPU-minutes; the per-epoch ``.partial.pt`` file of an
    unfinished one is committed too, so the next session resumes it)."""
    return ModelStore(Path(store.root) / "deep_nets" / "teachers")


def _fast_kernels() -> None:
    if torch.cuda.is_available():
        torch.backends.cudnn.benchmark = True
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True


GROUPS = ("hinton", "table1", "table2", "cost")


def group(task: tuple) -> str:
    """Which part of the chapter a unit of :func:`plan` belongs to (``--only`` selects parts)."""
    kind = task[0]
    if kind in ("trial", "search", "rerun", "baselines"):
        return task[1]
    return "cost" if kind == "cost" else "hinton"        # sweep, best_of_sweep, alone


def plan(cfg: DeepNetsConfig) -> list[tuple[tuple, list[tuple]]]:
    """Units of work and what each waits for: ``[(task, [tasks it needs]), ...]``.

    Known up front (no dependencies): every Hinton-sweep run, the students alone, the table
    baselines, the cost timing, and each search's leading random trials. A search's
    sequential part (its TPE trials and summary) waits for its random trials; the
    retraining of its chosen trials (one unit per seed) waits for the summary; the sweeps'
    best-run records wait for their runs. The slowest searches come first, so their
    chains start early.
    """
    out: list[tuple[tuple, list[tuple]]] = []
    heavy = {("table2", "all-to-all", "corrected"): 0, ("table1", "all-to-all", "corrected"): 1}
    keys = [(t, m, mode) for t, m in search.SEARCHES if t in cfg.tables for mode in cfg.modes]
    for key in sorted(keys, key=lambda k: heavy.get(k, 9)):
        n_random = search.Search(Lab(cfg), *key).n_random
        trials = [("trial", *key, str(k)) for k in range(n_random)]
        out += [(t, []) for t in trials]
        out.append((("search", *key), trials))
        out += [(("rerun", *key, str(seed)), [("search", *key)]) for seed in cfg.rerun_seeds]
    for student in ("conv_tiny", "conv_very_tiny"):
        for variant in cfg.hinton_variants:
            runs = [("sweep", student, variant, str(k)) for k in range(cfg.hinton_runs)]
            out += [(r, []) for r in runs] + [(("best_of_sweep", student, variant), runs)]
        out += [(("alone", student, str(seed)), []) for seed in cfg.alone_seeds]
    out += [(("baselines", table), []) for table in cfg.tables] + [(("cost",), [])]
    return out


def run_unit(lab: Lab, unit: tuple) -> None:
    """One unit of :func:`plan`."""
    kind, args = unit[0], unit[1:]
    if kind == "trial":
        search.Search(lab, *args[:3]).random_trial(int(args[3]))
    elif kind == "search":
        search.Search(lab, *args).summary()
    elif kind == "rerun":
        search.Search(lab, *args[:3]).reruns(int(args[3]))
    elif kind == "sweep":
        experiments.sweep_run(lab, args[0], args[1], int(args[2]))
    elif kind == "best_of_sweep":
        experiments.best_of_sweep(lab, *args)
    elif kind == "alone":
        experiments.alone_run(lab, args[0], int(args[1]))
    elif kind == "baselines":
        experiments.table_baselines(lab, args[0])
    elif kind == "cost":
        feature_cost(lab, lab.cfg.cost_rows)
    elif kind == "sampled_trial":
        SampledSearch(lab, args[0]).random_trial(int(args[1]))
    elif kind == "sampled_search":
        SampledSearch(lab, args[0]).summary()
    elif kind == "sampled_rerun":
        SampledSearch(lab, args[0]).reruns(int(args[1]))
    else:
        raise ValueError(f"unknown unit {unit}")



def teacher(cfg: DeepNetsConfig, store, arch: str, kind: str) -> None:
    _fast_kernels()
    t0 = time.perf_counter()
    rec = _lab(cfg, store).teacher(arch, kind)
    if time.perf_counter() - t0 > 5:
        print(f"[deep_nets] {rec['setting']}: accuracy {rec['metrics']['accuracy']:.4f}", flush=True)


def task(cfg: DeepNetsConfig, store, unit: tuple) -> None:
    _fast_kernels()
    run_unit(_lab(cfg, store), unit)


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
    for unit, needs in plan(cfg):
        part = group(unit)
        if part not in groups:
            continue
        # A unit needs the teachers of its part (the plan lists only the students' units).
        teach = [f"teacher/{a}/{k}" for a, k in teachers if part in _ARCH_PARTS[a]]
        out.append(Job(key(unit), task, (unit,), needs=tuple(teach) + tuple(key(n) for n in needs), part=part,
                       gpu=0.25, cost=10 if unit[0] in ("search", "rerun") else 1))
    out += sampled_jobs(cfg, teachers)
    return out


SAMPLED_PART = "table2_sampled"


def sampled_jobs(cfg: DeepNetsConfig, teachers: list[tuple[str, str]]) -> list[Job]:
    """Table 2's corrected search with the pooled, sampled objective (:mod:`.sampled`), part
    ``table2_sampled``: its random trials, then the summary, then one rerun unit per seed.
    Listed whenever Table 2 is (``--only table2_sampled`` runs it alone)."""
    if "table2" not in cfg.tables:
        return []
    teach = tuple(f"teacher/{a}/{k}" for a, k in teachers if a == "resnet10")
    trials = [("sampled_trial", "table2", str(k)) for k in range(SampledSearch(Lab(cfg), "table2").n_random)]
    summary = ("sampled_search", "table2")
    units = [(t, ()) for t in trials] + [(summary, tuple(trials))]
    units += [(("sampled_rerun", "table2", str(seed)), (summary,)) for seed in cfg.rerun_seeds]
    return [Job("/".join(u), task, (u,), needs=teach + tuple("/".join(n) for n in needs), part=SAMPLED_PART,
                gpu=0.25, cost=10 if u[0] != "sampled_trial" else 1) for u, needs in units]
