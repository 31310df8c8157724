"""Chapter "Distillation of knowledge in deep networks" (Oleinik, Gorpinich & Bakhteev 2023, in Russian).

- :mod:`.runners`      the typed config, the data, the teachers and their cached outputs;
- :mod:`.experiments`  student runs: alone, Hinton (the authors' loss and the corrected one),
                       pairwise and all-to-all VID; the Hinton sweep; the Table baselines;
- :mod:`.search`       the Optuna λ searches and the retraining of the chosen trials;
- :mod:`.cost`         what the teacher's outputs cost a student run;
- :mod:`.report`       tables and figure data from the run records;
- :mod:`.paper`        the paper's and the authors' notebooks' numbers as data, and the claims;
- :mod:`.graph`        the experiments as jobs for ``python -m kdcore run deep_nets``.
"""

from . import cost, experiments, paper, report, runners, search
from .cost import feature_cost
from .experiments import hinton_draws, hinton_sweep, student_run, table_baselines
from .runners import CHAPTER, CONV_LAYERS, RESNET10_LAYERS, Data, DeepNetsConfig, Lab, load_data
from .search import run_search, searches

NUMBERS = paper.NUMBERS

__all__ = ["CHAPTER", "NUMBERS", "feature_cost", "cost", "report", "DeepNetsConfig", "Data", "Lab", "load_data", "CONV_LAYERS", "RESNET10_LAYERS",
           "student_run", "hinton_draws", "hinton_sweep", "table_baselines", "run_search", "searches",
           "experiments", "paper", "runners", "search"]
