"""Chapter 2's experiments as jobs for ``python -m kdcore run anti_distillation`` (the list
only; the runner functions are in :mod:`.runners` and :mod:`.experiments`).

Table 1 (faithful and corrected) and each growth task are independent; each trains the
teachers it needs itself, seed by seed.
"""

from __future__ import annotations

from ...run import Job
from .experiments import growth_tasks, run_growth_task
from .runners import AntiDistillationConfig, run_table1

CONFIG = AntiDistillationConfig
__all__ = ["CONFIG", "jobs"]


def table1(cfg: AntiDistillationConfig, store, faithful: bool) -> None:
    run_table1(cfg, faithful=faithful, store=store)


def growth(cfg: AntiDistillationConfig, store, index: int) -> None:
    run_growth_task(cfg, growth_tasks(cfg)[index], store)


def jobs(cfg: AntiDistillationConfig) -> list[Job]:
    out = [Job("table1/faithful", table1, (True,), part="table1", cost=cfg.fc_seeds),
           Job("table1/corrected", table1, (False,), part="table1", cost=cfg.fc_corrected_seeds)]
    out += [Job(f"growth/{i}", growth, (i,), part="growth", cost=task.epochs)
            for i, task in enumerate(growth_tasks(cfg))]
    return out
