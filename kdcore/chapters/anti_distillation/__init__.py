"""Chapter 2, anti-distillation (Petrushina, Bakhteev, Grabovoy & Strijov 2022).

- :mod:`.runners`      the typed config and the Table 1 runners (fully connected, Fashion-MNIST);
- :mod:`.experiments`  the growth experiments the draft promised (conv, LSTM, synthetic);
- :mod:`.paper`        Table 1 as data.
"""

from . import experiments, paper
from .runners import (CHAPTER, D1, EXTRA_ROWS, INITS, TABLE1_ROWS, AntiDistillationConfig, Row,
                      curves_frame, fc_data, fc_model, fc_params, fc_student_run, fc_teacher,
                      masked_accuracy, records_frame, robustness, run_table1, summary,
                      train_student, untouched_new_units)

NUMBERS = paper.NUMBERS

__all__ = ["CHAPTER", "NUMBERS", "D1", "INITS", "AntiDistillationConfig", "Row", "TABLE1_ROWS",
           "EXTRA_ROWS", "fc_data", "fc_model", "masked_accuracy", "fc_teacher", "robustness",
           "train_student", "fc_student_run", "untouched_new_units", "fc_params", "run_table1",
           "records_frame", "curves_frame", "summary", "experiments"]
