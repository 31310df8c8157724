"""Chapter 3, model distillation on multi-domain datasets (Orlov & Grabovoy 2022).

- :mod:`.runners`   the typed config and the runners (teachers, the VAE, students);
- :mod:`.data`      the Big / Small domains, GeneratedMNIST, the Bike Sharing splits;
- :mod:`.integral`  the paper's integral quality criterion;
- :mod:`.report`    the chapter's tables and figures;
- :mod:`.paper`     the thesis table and the paper's Table 5 as data.
"""

from . import data, integral, paper, report
from .runners import (CHAPTER, CONTINUED, REG_STUDENT_SIZES, REG_TEACHER_SIZES, SETTINGS,
                      STUDENT_SIZES, TEACHER_SIZES, Lab, MultidomainConfig, run_classification,
                      run_regression, run_sweeps)

NUMBERS = paper.NUMBERS

__all__ = ["CHAPTER", "NUMBERS", "TEACHER_SIZES", "STUDENT_SIZES", "REG_TEACHER_SIZES",
           "REG_STUDENT_SIZES", "CONTINUED", "MultidomainConfig", "Lab", "SETTINGS",
           "run_classification", "run_sweeps", "run_regression", "data", "integral", "report",
           "paper"]
