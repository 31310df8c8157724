"""Chapter 1's experiments as jobs for ``python -m kdcore run kd_overview`` (the list only:
the runner functions are in :mod:`.runners` and :mod:`.pruning`, and the notebook calls them too).

The teachers (one per ensemble member; seed 0 is the distillation teacher) come first; the
distilled students, the ensemble, the transfer-set runs and each OBD seed then run in any order,
and with the paper profile the students of the 2012-regime teacher (stored by the study's export).
"""

from __future__ import annotations

from ...run import Job
from .config import KDOverviewConfig
from .pruning import obd_experiment
from .runners import distillation_runs, ensemble_runs, hinton2012_runs, load_data, train_teacher, transfer_set_runs

CONFIG = KDOverviewConfig
__all__ = ["CONFIG", "jobs"]


def teacher(cfg: KDOverviewConfig, store, seed: int) -> None:
    train_teacher(cfg, load_data(cfg), store, seed)


def distillation(cfg: KDOverviewConfig, store) -> None:
    distillation_runs(cfg, load_data(cfg), store)


def ensemble(cfg: KDOverviewConfig, store) -> None:
    ensemble_runs(cfg, load_data(cfg), store)


def transfer(cfg: KDOverviewConfig, store) -> None:
    transfer_set_runs(cfg, load_data(cfg), store)


def hinton2012(cfg: KDOverviewConfig, store) -> None:
    hinton2012_runs(cfg, load_data(cfg), store)


def obd(cfg: KDOverviewConfig, store, seed: int) -> None:
    obd_experiment(cfg, load_data(cfg), store, seed)


def jobs(cfg: KDOverviewConfig) -> list[Job]:
    seeds = range(max(cfg.ensemble_size, 1))
    teachers = [Job(f"teacher/{s}", teacher, (s,), part="teachers", threads=2, cost=cfg.teacher_epochs) for s in seeds]
    students = len(cfg.seeds) + len(cfg.temperatures) * len(cfg.sweep_seeds)
    return teachers + [
        Job("distillation", distillation, needs=("teacher/0",), part="distillation", threads=2,
            cost=students * cfg.student_epochs),
        Job("ensemble", ensemble, needs=tuple(t.key for t in teachers), part="ensemble", threads=2),
        Job("transfer", transfer, needs=("teacher/0",), part="transfer", threads=2,
            cost=len(cfg.bias_shifts) * cfg.student_epochs),
        *[Job(f"obd/{s}", obd, (s,), part="obd", cost=cfg.obd_epochs) for s in cfg.obd_seeds],
        # the paper profile only: its teacher comes from the study's long run
        # (python -m kdcore.studies.hinton_teacher_export writes it; the job fails, naming that, before)
        *([Job("hinton2012", hinton2012, part="hinton2012", threads=2,
               cost=(len(cfg.seeds) + len(cfg.sweep_seeds)) * cfg.student_epochs)] if cfg.profile == "paper" else []),
    ]
