"""Run a job graph: ``local`` (this process, or a process pool) or ``ray`` (a cluster).

Both backends call the same :func:`execute`, which sets the job's thread count and calls
``job.call(cfg, store, *job.args)``; the records they write are therefore the same, bit for
bit, on a CPU (``tests/test_run.py`` checks it) apart from the fields that say when, where
and how long (``created``, ``seconds``, ``device``, ``git_commit``).

- ``local`` runs jobs in dependency order. With ``workers = 1`` (the default) in this
  process; with more, in a pool of spawned processes (threads split between them), each job
  submitted once everything it needs has finished. Jobs write into the results folder
  directly (one machine, one folder).
- ``ray`` submits one Ray task per job, asking for ``job.threads`` CPUs (at most what the
  largest node has) and, on a cluster with GPUs, ``job.gpu`` of one, with the results of the jobs it needs as arguments (so Ray orders them). A worker
  runs its job against a private, temporary results folder holding the chapter's records
  and models as the driver had them plus what the jobs it needs wrote, and returns the
  files it wrote; the driver alone writes them into the results folder, atomically. No
  shared filesystem is needed. A worker that dies (killed, out of memory) loses only its
  job, which Ray runs again (``max_retries``).

A job that fails is reported and the jobs that need it are skipped; everything finished is
kept, so running the graph again resumes.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .graph import GraphError, Job

__all__ = ["Outcome", "execute", "run_local", "run_ray", "snapshot", "files_written"]


@dataclass
class Outcome:
    """What running a graph did: seconds per finished job, the error of each failed one,
    the jobs skipped because something they need failed."""

    done: dict[str, float] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed and not self.skipped


def execute(job: Job, cfg: Any, root: str | Path) -> float:
    """Run ``job`` against the results folder ``root``; returns its seconds.

    A run whose loss became non-finite (``FloatingPointError``, now or when it last ran with
    this code: :class:`kdcore.results.RunFailedBefore`) is an outcome the chapter reports,
    kept as a failure note, not a failure of the job: the job counts as done.
    """
    import torch

    from ..results import RunStore

    threads = torch.get_num_threads()
    # OMP_NUM_THREADS, when set, caps a job's threads: a run started beside another on a small
    # machine (two processes at 2 threads each on 2 cores run ~5x slower than at 1 each).
    cap = os.environ.get("OMP_NUM_THREADS", "")
    torch.set_num_threads(min(job.threads, int(cap)) if cap.isdigit() and int(cap) > 0 else job.threads)
    t0 = time.perf_counter()
    try:
        job.call(cfg, RunStore(root, profile=cfg.profile), *job.args)
    except FloatingPointError as err:
        print(f"[{job.key}] a run diverged (kept as a failure note): {str(err).splitlines()[0]}", flush=True)
    finally:
        torch.set_num_threads(threads)
    return time.perf_counter() - t0


def _progress(total: int, desc: str):
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit="job", dynamic_ncols=True)


def _job_in_process(job: Job, cfg: Any, root: str) -> float:
    """A pool worker's entry (module level, so spawned processes can import it)."""
    os.environ["KDCORE_RESULTS"] = root
    return execute(job, cfg, root)


def run_local(jobs: list[Job], cfg: Any, root: str | Path, workers: int = 1, desc: str = "") -> Outcome:
    """Run ``jobs`` (in dependency order, see :func:`.graph.order`) here or in ``workers`` processes."""
    out, root = Outcome(), str(root)
    bar = _progress(len(jobs), desc)
    bad = set()
    if workers <= 1:
        for job in jobs:
            if bad & set(job.needs):
                out.skipped.append(job.key), bad.add(job.key)
            else:
                try:
                    out.done[job.key] = execute(job, cfg, root)
                except Exception as err:   # reported; the jobs that do not need it go on
                    out.failed[job.key] = f"{type(err).__name__}: {err}"
                    bad.add(job.key)
                    traceback.print_exc()
            bar.update()
        bar.close()
        return out
    import multiprocessing as mp
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    waiting, running = list(jobs), {}
    with ProcessPoolExecutor(workers, mp_context=mp.get_context("spawn")) as pool:
        while waiting or running:
            for job in list(waiting):
                if bad & set(job.needs):
                    waiting.remove(job)
                    out.skipped.append(job.key), bad.add(job.key)
                    bar.update()
                elif all(n in out.done for n in job.needs) and len(running) < workers:
                    waiting.remove(job)
                    running[pool.submit(_job_in_process, job, cfg, root)] = job
            if not running:
                if waiting:      # nothing runs and nothing can start: a need outside the list
                    raise GraphError(f"jobs {[j.key for j in waiting]} need jobs that are not in the list")
                continue
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for fut in finished:
                job = running.pop(fut)
                try:
                    out.done[job.key] = fut.result()
                except Exception as err:   # the job raised, or its process died
                    out.failed[job.key] = f"{type(err).__name__}: {err}"
                    bad.add(job.key)
                bar.update()
    bar.close()
    return out


# -- ray ------------------------------------------------------------------------------------
def snapshot(root: Path, chapter: str) -> dict[str, bytes]:
    """Every file of ``root/<chapter>/`` (records, failure notes, models) as ``{relative path: bytes}``."""
    folder = root / chapter
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and not p.name.startswith(".")} if folder.is_dir() else {}


def files_written(root: Path, before: dict[str, bytes]) -> dict[str, bytes]:
    """The files under ``root`` that are new or differ from ``before`` (hidden files aside)."""
    out = {}
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root).as_posix()
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(root).parts):
            data = p.read_bytes()
            if before.get(rel) != data:
                out[rel] = data
    return out


def _ray_job(job: Job, cfg: Any, base: dict[str, bytes], *needed: dict) -> dict:
    """A Ray task: run ``job`` in a private results folder holding ``base`` and the files of
    the jobs it needs; return ``{"files": the files it wrote, "seconds": its time}``."""
    root = Path(tempfile.mkdtemp(prefix="kdcore-job-"))
    try:
        inputs = dict(base)
        for result in needed:
            inputs.update(result["files"])
        for rel, data in inputs.items():
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / rel).write_bytes(data)
        os.environ["KDCORE_RESULTS"] = str(root)
        seconds = execute(job, cfg, root)
        return {"files": files_written(root, inputs), "seconds": seconds}
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _write(root: Path, files: dict[str, bytes]) -> None:
    from ..base.files import atomic_write

    for rel, data in files.items():
        atomic_write(root / rel, lambda tmp, data=data: tmp.write_bytes(data))


def run_ray(jobs: list[Job], cfg: Any, root: str | Path, chapter: str, address: str | None = None,
            max_retries: int = 2, desc: str = "") -> Outcome:
    """Run ``jobs`` as Ray tasks (see the module docstring). ``address`` joins a running
    cluster (``ray start --head`` ...); ``None`` joins the one ``ray.init`` finds or starts one here."""
    import ray

    if not ray.is_initialized():
        ray.init(address=address, include_dashboard=False, log_to_driver=False,
                 runtime_env={"env_vars": {"KDCORE_OFFLINE": os.environ.get("KDCORE_OFFLINE", "")}})
    root, out = Path(root), Outcome()
    remote = ray.remote(_ray_job)
    base = ray.put(snapshot(root, chapter))
    refs: dict[str, Any] = {}
    bad: set[str] = set()
    # Ask for no more than one node has: a task asking for more would wait forever. The job
    # still uses job.threads threads (as on the local backend, so the arithmetic is the same).
    nodes = [n["Resources"] for n in ray.nodes() if n.get("Alive")]
    most_cpus = max((r.get("CPU", 0) for r in nodes), default=1)
    has_gpu = any(r.get("GPU", 0) for r in nodes)
    for job in jobs:                      # dependency order: every needed ref exists already
        if bad & set(job.needs):
            out.skipped.append(job.key), bad.add(job.key)
            continue
        opts = {"num_cpus": min(job.threads, most_cpus), "max_retries": max_retries, "retry_exceptions": False}
        if job.gpu and has_gpu:
            opts["num_gpus"] = job.gpu
        refs[job.key] = remote.options(**opts).remote(job, cfg, base, *(refs[n] for n in job.needs))
    bar = _progress(len(refs), desc)
    key_of = {r: k for k, r in refs.items()}
    pending = list(refs.values())
    while pending:
        ready, pending = ray.wait(pending, num_returns=1)
        key = key_of[ready[0]]
        try:
            result = ray.get(ready[0])
            _write(root, result["files"])
            out.done[key] = result["seconds"]
        except Exception as err:   # the task raised (its dependants then raise too)
            out.failed[key] = f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}"
        bar.update()
    bar.close()
    # A task whose needed job failed fails with it; report it as skipped, not as a failure of its own.
    for job in jobs:
        if job.key in out.failed and any(n in out.failed or n in out.skipped for n in job.needs):
            out.failed.pop(job.key)
            out.skipped.append(job.key)
    return out
