"""Run the deep-nets chapter's experiments as a plain script (no papermill, no notebook),
``python -m kdcore.chapters.deep_nets`` (:mod:`.__main__` calls :func:`main`; the worker
functions live here, in an importable module, so spawned processes can find them):

    python -m kdcore.chapters.deep_nets --profile paper --results DIR [--workers N] [--only PART ...]

``--profile paper`` reads ``notebooks/params/deep_nets.yaml``; ``smoke`` uses the config's
defaults (the notebook's ``parameters`` cell). Both are validated by
:class:`DeepNetsConfig` before any work. The runner functions are the ones the notebook
calls, so the records written to ``DIR`` (via :class:`kdcore.results.RunStore`) are the
records the notebook then reads; finished runs are skipped, so an interrupted run resumes.
Teachers are trained first, in this process; then the experiments run as small units of
work (one student run, one search's sequential part, ...) as soon as what they need is
done (:func:`plan`), on ``--workers`` processes. On one GPU several processes keep it busier than one: the
students are tiny and a single process mostly waits on kernel launches.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import traceback
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import torch

from ...profile_cli import load_profile
from ...results import RunStore
from . import experiments, search
from .cost import feature_cost
from .runners import DeepNetsConfig, Lab


def load_config(profile: str, params: Path | None = None) -> DeepNetsConfig:
    """The smoke defaults, or the paper profile from the yaml file (validated)."""
    return load_profile("deep_nets", DeepNetsConfig, profile, params)


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


_LAB: Lab | None = None


def _lab(cfg: DeepNetsConfig, root: str) -> Lab:
    global _LAB
    if _LAB is None:
        _LAB = Lab(cfg, RunStore(root, profile=cfg.profile))
    return _LAB


def run_task(cfg: DeepNetsConfig, root: str, task: tuple, threads: int = 0) -> tuple[tuple, float]:
    """One unit of :func:`plan` (also called in worker processes, which keep their Lab:
    data and cached teacher outputs are loaded once per process)."""
    if threads:
        torch.set_num_threads(threads)
    _fast_kernels()
    lab, t0 = _lab(cfg, root), time.perf_counter()
    kind, args = task[0], task[1:]
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
        feature_cost(lab, cfg.cost_rows)
    else:
        raise ValueError(f"unknown task {task}")
    return task, time.perf_counter() - t0


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


def teachers(lab: Lab, groups: tuple[str, ...] = GROUPS) -> None:
    """Every teacher the chosen parts of the configured experiments need, trained (or
    loaded) once, here."""
    need = [("resnet18", "full")] if {"hinton", "cost"} & set(groups) else []
    if "table1" in lab.cfg.tables and "table1" in groups:
        need += [("conv_tiny", "full"), ("conv_tiny", "part")]
    if "table2" in lab.cfg.tables and {"table2", "cost"} & set(groups):
        need += [("resnet10", "full"), ("resnet10", "part")]
    for arch, kind in need:
        t0 = time.perf_counter()
        rec = lab.teacher(arch, kind)
        print(f"[deep_nets] {rec['setting']}: accuracy {rec['metrics']['accuracy']:.4f} "
              f"({time.perf_counter() - t0:.0f} s)", flush=True)


def _report(task: tuple, sec: float) -> None:
    if sec > 5:
        print(f"[deep_nets] {' '.join(task)}: {sec:.0f} s", flush=True)


def run_plan(cfg: DeepNetsConfig, root: str, todo: list[tuple[tuple, list[tuple]]], workers: int) -> list[tuple]:
    """Run every task once its dependencies are done (in order with one worker; else on
    ``workers`` spawned processes). Returns the tasks that failed (their dependants are
    skipped; everything finished is kept, so a second call resumes)."""
    failed: list[tuple] = []
    if workers <= 1:
        for task, needs in todo:
            if any(n in failed for n in needs):
                failed.append(task)
                continue
            try:
                _report(*run_task(cfg, root, task))
            except Exception:
                failed.append(task)
                traceback.print_exc()
        return failed
    import multiprocessing as mp
    from concurrent.futures import FIRST_COMPLETED, wait

    threads = max(1, (os.cpu_count() or 2) // workers)
    done: set[tuple] = set()
    waiting = list(todo)
    with ProcessPoolExecutor(workers, mp_context=mp.get_context("spawn")) as pool:
        running: dict = {}
        while waiting or running:
            for task, needs in list(waiting):          # in plan order: the slow chains first
                if len(running) >= workers:              # queue no more than runs: a task that
                    break                                # becomes ready later must not wait behind
                if any(n in failed for n in needs):
                    waiting.remove((task, needs))
                    failed.append(task)
                elif all(n in done for n in needs):
                    waiting.remove((task, needs))
                    running[pool.submit(run_task, cfg, root, task, threads)] = task
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for fut in finished:
                task = running.pop(fut)
                try:
                    _report(*fut.result())
                    done.add(task)
                except Exception:
                    failed.append(task)
                    traceback.print_exc()
    return failed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kdcore.chapters.deep_nets", description=__doc__.split("\n")[0])
    parser.add_argument("--profile", choices=("smoke", "paper"), default="paper")
    parser.add_argument("--results", default=None, help="results folder (default: results_root())")
    parser.add_argument("--params", default=None, help="paper-profile yaml (default: notebooks/params/deep_nets.yaml)")
    parser.add_argument("--workers", type=int, default=1, help="processes for the experiments after the teachers")
    parser.add_argument("--only", nargs="+", choices=GROUPS, default=None,
                        help="run only these parts (default: those the profile enables; table1 needs no ResNet)")
    args = parser.parse_args(argv)
    cfg = load_config(args.profile, Path(args.params) if args.params else None)   # fails before any work
    store = RunStore(args.results, profile=cfg.profile)   # smoke records go to the scratch folder
    root = str(store.root)
    t_start = time.perf_counter()
    _fast_kernels()
    lab = _lab(cfg, root)
    device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else f"cpu ({os.cpu_count()} cores)"
    print(f"[deep_nets] profile {cfg.profile} on {device}; records in {root}; {args.workers} worker(s)", flush=True)
    groups = tuple(args.only) if args.only else cfg.parts()
    teachers(lab, groups)
    failed = run_plan(cfg, root, [(t, needs) for t, needs in plan(cfg) if group(t) in groups], args.workers)
    wall = time.perf_counter() - t_start
    recs = [r for r in store.records("deep_nets") if r["profile"] == cfg.profile]
    print(f"[deep_nets] wall time {wall:.0f} s on {device}; {len(recs)} records "
          f"(their own compute: {sum(r['seconds'] for r in recs):.0f} s)", flush=True)
    if failed:
        print(f"[deep_nets] FAILED: {failed} (finished runs are kept; run again to resume)", file=sys.stderr)
        return 1
    return 0


