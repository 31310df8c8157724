"""``python -m kdcore.chapters.kd_overview [--profile paper] [--results DIR] [--part P ...]``.

Parts (teachers first; the others need them and can then run in parallel processes):
``teachers``, ``distillation``, ``ensemble``, ``transfer``, ``obd``.
"""

from ...profile_cli import run_parts
from .config import KDOverviewConfig
from .pruning import obd_experiment
from .runners import distillation_runs, ensemble_runs, load_data, train_teacher, transfer_set_runs


def _with_data(fn):
    return lambda cfg, store: fn(cfg, load_data(cfg), store)


def _teachers(cfg, data, store):
    for seed in range(max(cfg.ensemble_size, 1)):
        train_teacher(cfg, data, store, seed)


def _obd(cfg, data, store):
    for seed in cfg.obd_seeds:
        obd_experiment(cfg, data, store, seed)


PARTS = {"teachers": _with_data(_teachers), "distillation": _with_data(distillation_runs),
         "ensemble": _with_data(ensemble_runs), "transfer": _with_data(transfer_set_runs), "obd": _with_data(_obd)}

if __name__ == "__main__":
    raise SystemExit(run_parts("kd_overview", KDOverviewConfig, PARTS))
