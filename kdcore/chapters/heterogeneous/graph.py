"""Chapter 4's experiments as jobs for ``python -m kdcore run heterogeneous`` (the list only:
the units of work are :func:`.jobs.jobs`', run by :func:`.jobs.run_job`).

Each column's teacher first (and the draft's CIFAR-10 teachers, one per architecture), then
every run of the 2022 table, the fixed-λ sweep, the single-pair runs and the all-pairs runs.
With the paper profile, the full CIFAR-10 column runs with its own parameters files, as the
notebook reads them: ``notebooks/params/heterogeneous_cifar10_cpu.yaml`` (a 4-epoch teacher,
2 runs × 10 epochs) under the part ``cifar10_cpu``, and ``heterogeneous_cifar10_long.yaml``
(the paper's 15-epoch teacher, 5 runs × 100 epochs, over several sessions) under the part
``cifar10_long``. Every teacher job trains resumably per epoch
(:func:`.resumable.resumable_teacher`, the same record as :func:`.runners.teacher`).
"""

from __future__ import annotations

from pathlib import Path

from ...run import Job
from .jobs import jobs as unit_jobs, run_job
from .pairs import DATASET
from .resumable import resumable_teacher
from .runners import HeterogeneousConfig

CONFIG = HeterogeneousConfig
PARAMS = Path(__file__).resolve().parents[3] / "notebooks" / "params"
SIDE_PARAMS = PARAMS / "heterogeneous_cifar10_cpu.yaml"
LONG_PARAMS = PARAMS / "heterogeneous_cifar10_long.yaml"
SIDES = {"cifar10_cpu": SIDE_PARAMS, "cifar10_long": LONG_PARAMS}    # part -> its parameters file
__all__ = ["CONFIG", "jobs", "SIDE_PARAMS", "LONG_PARAMS", "SIDES"]


def _config(cfg: HeterogeneousConfig, side: bool | str) -> HeterogeneousConfig:
    """The chapter's config, or a side part's (``side``: its part name; ``True``: ``cifar10_cpu``)."""
    if not side:
        return cfg
    from ...run.profile import load_profile

    return load_profile("heterogeneous", HeterogeneousConfig, cfg.profile,
                        params=SIDES["cifar10_cpu" if side is True else side])


def teacher(cfg: HeterogeneousConfig, store, dataset: str, name: str | None, side: bool | str = False) -> None:
    resumable_teacher(_config(cfg, side), store, dataset, name)


def unit(cfg: HeterogeneousConfig, store, job: tuple, side: bool | str = False) -> None:
    run_job(_config(cfg, side), store, job)


def _graph(cfg: HeterogeneousConfig, side: bool | str, prefix: str, part: str | None) -> list[Job]:
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
    if cfg.profile == "paper" and "cifar10" not in cfg.datasets:
        for part, path in SIDES.items():
            if path.exists():
                out += _graph(_config(cfg, part), part, f"{part}/", part)
    return out
