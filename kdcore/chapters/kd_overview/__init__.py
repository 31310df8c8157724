"""Chapter 1, knowledge distillation overview (Hinton et al. 2015; LeCun et al. 1990).

- :mod:`.config`     the typed config (papermill parameters);
- :mod:`.runners`    teacher, students, temperature sweep, ensemble, transfer set, the 2012-regime teacher's students;
- :mod:`.pruning`    the Optimal Brain Damage experiment;
- :mod:`.gradients`  numerical checks of the T^2 scaling and the logit-matching limit;
- :mod:`.paper`      Hinton's MNIST numbers as data, and the chapter's claims.
"""

from . import paper
from .config import KDOverviewConfig
from .gradients import gradient_scaling_table, soft_gradient
from .paper import claims
from .pruning import obd_experiment, obd_methods, obd_setting
from .runners import (CHAPTER, Data, bias_metric, distillation_runs, ensemble_name, ensemble_runs, hinton2012_name,
                      hinton2012_names, hinton2012_runs, hinton2012_stored, hinton2012_teacher, load_data,
                      student_name, teacher_name, train_student, train_teacher, transfer_names, transfer_set_runs)

NUMBERS = paper.NUMBERS

__all__ = ["CHAPTER", "NUMBERS", "KDOverviewConfig", "Data", "load_data", "teacher_name", "student_name",
           "ensemble_name", "transfer_names", "bias_metric", "train_teacher", "train_student",
           "distillation_runs", "ensemble_runs", "transfer_set_runs", "soft_gradient",
           "gradient_scaling_table", "obd_experiment", "obd_methods", "obd_setting", "claims", "hinton2012_name",
           "hinton2012_names", "hinton2012_runs", "hinton2012_stored", "hinton2012_teacher"]
