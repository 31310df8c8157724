"""Chapter 3's experiments as jobs for ``python -m kdcore run multidomain`` (the list only;
the runner functions are in :mod:`.runners` and :mod:`.regression`).

The image part trains the VAE φ and the teachers first (one job), then each classification
setting and the sweeps; the Bike Sharing regression (the Reg-Train table and the chapter's
own layout) needs nothing from it.
"""

from __future__ import annotations

from ...run import Job
from .config import MultidomainConfig
from .regression import run_reg_train, run_regression
from .runners import SETTINGS, Lab, run_classification, run_sweeps, run_teachers

CONFIG = MultidomainConfig
__all__ = ["CONFIG", "jobs"]


def teachers(cfg: MultidomainConfig, store) -> None:
    lab = Lab(cfg, store)
    lab.vae()
    run_teachers(lab)


def classification(cfg: MultidomainConfig, store, setting: str) -> None:
    run_classification(Lab(cfg, store), [setting])


def sweeps(cfg: MultidomainConfig, store) -> None:
    run_sweeps(Lab(cfg, store))


def reg_train(cfg: MultidomainConfig, store) -> None:
    run_reg_train(cfg, store)


def regression(cfg: MultidomainConfig, store) -> None:
    run_regression(cfg, store)


def jobs(cfg: MultidomainConfig) -> list[Job]:
    out = [Job("teachers", teachers, part="images", cost=10)]
    out += [Job(f"classification/{name}", classification, (name,), needs=("teachers",), part="images",
                cost=len(cfg.seeds)) for name in SETTINGS]
    out += [Job("sweeps", sweeps, needs=("teachers",), part="images", cost=5),
            Job("reg_train", reg_train, part="regression", cost=5),
            Job("regression", regression, part="regression", cost=5)]
    return out
