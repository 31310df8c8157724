"""Heterogeneous distillation with hypergradients (Gorpinich, Bakhteev & Strijov).

- :mod:`.data`     the 2022 table's datasets (the authors' synthetic XOR, Fashion-MNIST, CIFAR-10);
- :mod:`.runners`  the typed config, teachers and cached teacher logits;
- :mod:`.table`    the runs of the 2022 table (none / naive / random / gradient / hyperopt / proposed);
- :mod:`.pairs`    the draft's fixed-lambda sweep, single-pair bi-level run, and all T x S pairs;
- :mod:`.jobs`     every run as an independent job, for the runner;
- :mod:`.graph`    those jobs as a graph for ``python -m kdcore run heterogeneous``;
- :mod:`.report`   summaries (mean and max over runs) and the claims the chapter decides;
- :mod:`.paper`    the authors' numbers as data;
"""

from . import paper
from .data import DATASETS, LABELS, load_table_data, xor_synthetic
from .runners import CHAPTER, METHODS, HeterogeneousConfig, random_start, setting, teacher
from .jobs import jobs, run_job
from .pairs import (SINGLE_DIRECTIONS, cross_run, cross_setting, layer_pairs, single_pair_run, single_setting, sweep_run)
from .table import hyperopt_runs, table_run, table_runs

NUMBERS = paper.NUMBERS

__all__ = ["CHAPTER", "NUMBERS", "METHODS", "DATASETS", "LABELS", "HeterogeneousConfig", "load_table_data",
           "xor_synthetic", "random_start", "setting", "teacher", "table_run", "hyperopt_runs", "table_runs",
           "jobs", "run_job", "sweep_run", "single_pair_run", "single_setting", "SINGLE_DIRECTIONS", "cross_run",
           "cross_setting", "layer_pairs"]
