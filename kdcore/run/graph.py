"""A chapter's experiments as a graph of jobs.

A :class:`Job` is one call ``call(cfg, store, *args)`` of a chapter's runner function: it
fills run records through :class:`kdcore.results.RunStore` (finished records are skipped,
so a job whose records exist costs only their loading). ``needs`` names the jobs whose
records or trained models it reads (a teacher before its students); the graph checks that
every name exists and that nothing needs itself, before any work starts.
"""

from __future__ import annotations

import fnmatch
import graphlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Job", "GraphError", "order", "select", "parts"]


class GraphError(ValueError):
    """A job graph that cannot run: a duplicate key, an unknown dependency, a cycle, an unknown part."""


@dataclass(frozen=True)
class Job:
    """One unit of work.

    Attributes:
        key: unique in its chapter's graph, readable (``"teacher/resnet18/full"``).
        call: a module-level function ``call(cfg, store, *args)`` (picklable by reference).
        args: its further arguments (plain values: they travel to other processes and machines).
        needs: keys of the jobs that must finish first.
        part: the group ``--only`` selects (``"teachers"``, ``"table1"``, ...).
        threads: CPU threads it uses (``torch.set_num_threads``; a Ray task asks for as many CPUs).
        gpu: the fraction of one GPU it asks for on a GPU machine (tiny students share a card).
        cost: a relative estimate of its time, to start the slow chains first.
    """

    key: str
    call: Callable[..., Any] = field(compare=False)
    args: tuple = ()
    needs: tuple[str, ...] = ()
    part: str = ""
    threads: int = 1
    gpu: float = 0.0
    cost: float = 1.0

    def __post_init__(self) -> None:
        if not self.key:
            raise GraphError("a job needs a non-empty key")
        if self.threads < 1:
            raise GraphError(f"job {self.key!r}: threads = {self.threads} must be >= 1")
        if not 0 <= self.gpu <= 1:
            raise GraphError(f"job {self.key!r}: gpu = {self.gpu} must be a fraction of one GPU in [0, 1]")
        qualname = getattr(self.call, "__qualname__", "<?>")
        if "<" in qualname or "." in qualname:
            raise GraphError(f"job {self.key!r}: call must be a module-level function (it is pickled by name)")


def order(jobs: Iterable[Job]) -> list[Job]:
    """The jobs with every job after those it needs; among ready jobs the costliest first.

    Raises :class:`GraphError` on a duplicate key, an unknown dependency or a cycle.
    """
    jobs = list(jobs)
    by_key: dict[str, Job] = {}
    for job in jobs:
        if job.key in by_key:
            raise GraphError(f"two jobs have the key {job.key!r}")
        by_key[job.key] = job
    for job in jobs:
        unknown = [n for n in job.needs if n not in by_key]
        if unknown:
            raise GraphError(f"job {job.key!r} needs {unknown}, which the graph does not have")
    sorter = graphlib.TopologicalSorter({j.key: set(j.needs) for j in jobs})
    try:
        sorter.prepare()
    except graphlib.CycleError as err:
        raise GraphError(f"the jobs {err.args[1]} need each other in a cycle") from None
    out: list[Job] = []
    position = {j.key: i for i, j in enumerate(jobs)}
    while sorter.is_active():
        ready = sorted(sorter.get_ready(), key=lambda k: (-by_key[k].cost, position[k]))
        out += [by_key[k] for k in ready]
        sorter.done(*ready)
    return out


def parts(jobs: Iterable[Job]) -> list[str]:
    """The parts of a graph, in first-seen order."""
    return list(dict.fromkeys(j.part for j in jobs))


def select(jobs: Iterable[Job], only: Iterable[str] | None, keys: Iterable[str] | None = None) -> list[Job]:
    """The jobs of the parts ``only`` whose key matches one of the glob patterns ``keys``
    (:func:`fnmatch.fnmatchcase`), and every job they need (transitively); ``None``: no filter.

    ``keys`` lets a session start only the jobs that fit the time it has left
    (``--keys 'cifar10_long/table/cifar10/none/*'``). Raises :class:`GraphError` on an unknown
    part or on a pattern that matches no job of those parts, before any work starts.
    """
    jobs = list(jobs)
    if not only and not keys:
        return jobs
    chosen = jobs
    if only:
        only = list(only)
        unknown = [p for p in only if p not in parts(jobs)]
        if unknown:
            raise GraphError(f"unknown part(s) {unknown}: this graph has {parts(jobs)}")
        chosen = [j for j in chosen if j.part in only]
    if keys:
        keys = list(keys)
        unmatched = [k for k in keys if not any(fnmatch.fnmatchcase(j.key, k) for j in chosen)]
        if unmatched:
            raise GraphError(f"--keys {unmatched} match no job" + (f" of the parts {only}" if only else "")
                             + (f"; keys look like {chosen[0].key!r}" if chosen else ""))
        chosen = [j for j in chosen if any(fnmatch.fnmatchcase(j.key, k) for k in keys)]
    by_key = {j.key: j for j in jobs}
    keep: set[str] = set()
    todo = [j.key for j in chosen]
    while todo:
        key = todo.pop()
        if key not in keep:
            keep.add(key)
            todo += list(by_key[key].needs)
    return [j for j in jobs if j.key in keep]
