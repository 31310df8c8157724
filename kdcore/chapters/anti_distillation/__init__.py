"""Chapter 2, anti-distillation (Petrushina, Bakhteev, Grabovoy & Strijov 2022).

- :mod:`.runners`      the typed config and the Table 1 runners (fully connected, Fashion-MNIST);
- :mod:`.measures`     robustness and the numbers that keep it apart from clean accuracy;
- :mod:`.experiments`  the growth experiments the draft promised (conv, LSTM, synthetic);
- :mod:`.report`       tables and long frames from run records;
- :mod:`.paper`        Table 1 as data.
"""

from . import experiments, paper
from .measures import duplicate_units, robustness, untouched_new_units
from .report import curves_frame, records_frame, short_name, summary
from .runners import (CHAPTER, D1, EXTRA_ROWS, INITS, MATCHED_ROWS, TABLE1_ROWS, AntiDistillationConfig, Row, fc_data, fc_model, fc_params, fc_student_run, fc_teacher, masked_accuracy, row_epochs, run_table1, table1_rows, train_student)

NUMBERS = paper.NUMBERS

__all__ = ["CHAPTER", "NUMBERS", "D1", "INITS", "AntiDistillationConfig", "Row", "TABLE1_ROWS",
           "MATCHED_ROWS", "EXTRA_ROWS", "fc_data", "fc_model", "masked_accuracy", "fc_teacher", "robustness",
           "train_student", "fc_student_run", "untouched_new_units", "duplicate_units", "fc_params",
           "row_epochs", "table1_rows", "run_table1", "records_frame", "curves_frame", "summary", "short_name",
           "experiments"]
