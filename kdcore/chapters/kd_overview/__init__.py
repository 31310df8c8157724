"""Chapter 1, knowledge distillation overview (Hinton et al. 2015; LeCun et al. 1990).

- :mod:`.runners`  the typed config and the experiment runners;
- :mod:`.paper`    Hinton's MNIST numbers as data.
"""

from . import paper
from .runners import (CHAPTER, Data, KDOverviewConfig, distillation_runs, ensemble_runs,
                      gradient_scaling_table, load_data, obd_experiment, soft_gradient,
                      student_name, train_student, train_teacher, transfer_set_runs)

NUMBERS = paper.NUMBERS

__all__ = ["CHAPTER", "NUMBERS", "KDOverviewConfig", "Data", "load_data", "train_teacher",
           "train_student", "student_name", "distillation_runs", "ensemble_runs",
           "transfer_set_runs", "soft_gradient", "gradient_scaling_table", "obd_experiment"]
