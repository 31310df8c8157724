"""Chapter 3, model distillation on multi-domain datasets (Orlov & Grabovoy 2022).

- :mod:`.config`     the typed config;
- :mod:`.runners`    the image runners (teachers, the VAE, students, continued chains);
- :mod:`.regression` the Bike Sharing runners (Table 5's Reg-Train layout, our Reg-Small reading);
- :mod:`.data`       the Big / Small domains, GeneratedMNIST, the Bike Sharing splits;
- :mod:`.integral`   the paper's integral quality criterion;
- :mod:`.report`     the chapter's tables and figures;
- :mod:`.paper`      the thesis table and the paper's Table 5 as data, and the claims.
"""

from . import data, integral, paper, report
from .regression import REG_TRAIN, run_reg_train, run_regression
from .runners import (CHAPTER, CONTINUED, REG_STUDENT_SIZES, REG_TEACHER_SIZES, SETTINGS, STUDENT_SIZES, TEACHER_SIZES, TEACHER_VIA_PHI, TEACHERS, Lab, MultidomainConfig, run_classification, run_sweeps, run_teachers)

NUMBERS = paper.NUMBERS
CLAIMS = paper.CLAIMS

__all__ = ["CHAPTER", "NUMBERS", "CLAIMS", "TEACHER_SIZES", "STUDENT_SIZES", "REG_TEACHER_SIZES",
           "REG_STUDENT_SIZES", "CONTINUED", "TEACHER_VIA_PHI", "TEACHERS", "MultidomainConfig", "Lab",
           "SETTINGS", "run_classification", "run_teachers", "run_sweeps", "run_regression", "run_reg_train",
           "REG_TRAIN", "data",
           "integral", "report", "paper"]
