"""Chapter 4's experiments as jobs for ``python -m kdcore run heterogeneous`` (the list only:
the units of work are :func:`.jobs.jobs`', run by :func:`.jobs.run_job`).

Each column's teacher first (and the draft's CIFAR-10 teachers, one per architecture), then
every run of the 2022 table, the fixed-λ sweep, the single-pair runs and the all-pairs runs.
With the paper profile, the full CIFAR-10 column runs with its own parameters file
(``notebooks/params/heterogeneous_cifar10_cpu.yaml``, as the notebook reads it) under the
part ``cifar10_cpu``.
"""

from __future__ import annotations

from pathlib import Path

from ...run import Job
from .jobs import jobs as unit_jobs, run_job
from .pairs import DATASET
from .runners import HeterogeneousConfig, teacher as column_teacher

CONFIG = HeterogeneousConfig
SIDE_PARAMS = Path(__file__).resolve().parents[3] / "notebooks" / "params" / "heterogeneous_cifar10_cpu.yaml"
__all__ = ["CONFIG", "jobs", "SIDE_PARAMS"]


def _config(cfg: HeterogeneousConfig, side: bool) -> HeterogeneousConfig:
    if not side:
        return cfg
    from ...run.profile import load_profile

    return load_profile("heterogeneous", HeterogeneousConfig, cfg.profile, params=SIDE_PARAMS)


def teacher(cfg: HeterogeneousConfig, store, dataset: str, name: str | None, side: bool = False) -> None:
    column_teacher(_config(cfg, side), store, dataset, name)


def unit(cfg: HeterogeneousConfig, store, job: tuple, side: bool = False) -> None:
    run_job(_config(cfg, side), store, job)


def _graph(cfg: HeterogeneousConfig, side: bool, prefix: str, part: str | None) -> list[Job]:
    need = [(d, None) for d in cfg.datasets if any(m != "none" for m in cfg.methods)]
    draft = ({cfg.teacher} if cfg.draft_sweep else set()) | (set(cfg.cross_teachers) if cfg.all_pairs else set())
    need += [(DATASET, t) for t in sorted(draft | ({"conv_tiny"} if cfg.single_pair else set()))]
    tkey = lambda d, t: f"{prefix}teacher/{d}" + (f"/{t}" if t else "")
    out = [Job(tkey(d, t), teacher, (d, t, side), part=part or "teachers", threads=2, gpu=1.0, cost=100)
           for d, t in need]
    have = {j.key for j in out}
    for job in unit_jobs(cfg):
        kind = job[0]
        if kind == "table":
            needs = [tkey(job[1], None)]
        elif kind == "sweep":
            needs = [tkey(DATASET, cfg.teacher)]
        elif kind == "single":
            needs = [tkey(DATASET, "conv_tiny")]
        else:
            needs = [tkey(DATASET, job[1])]
        out.append(Job(prefix + "/".join(map(str, job)), unit, (job, side), part=part or kind,
                       needs=tuple(n for n in needs if n in have), gpu=0.1))
    return out


def jobs(cfg: HeterogeneousConfig) -> list[Job]:
    out = _graph(cfg, False, "", None)
    if cfg.profile == "paper" and "cifar10" not in cfg.datasets and SIDE_PARAMS.exists():
        out += _graph(_config(cfg, True), True, "cifar10_cpu/", "cifar10_cpu")
    return out
