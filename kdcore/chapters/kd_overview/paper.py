"""Chapter 1 anchors: Hinton, Vinyals & Dean (2015), section 3 (MNIST).

Counts of test errors out of 10,000, as commonly cited from the paper's text; the
paper's networks used dropout and input jitter, which the book's runs do not.
"""

from ...results.paper import PaperNumber
from ...results.scoreboard import Explanation
from ...verdicts import Claim

_SRC = "Hinton et al. 2015, arXiv:1503.02531, section 3 (MNIST)"
NUMBERS = [
    PaperNumber("kd_overview", "teacher 1200-1200", "test_errors", 67, None, _SRC,
                "dropout + jittered inputs; approximate"),
    PaperNumber("kd_overview", "student 800-800 alone", "test_errors", 146, None, _SRC, "approximate"),
    PaperNumber("kd_overview", "student 800-800 distilled T=20", "test_errors", 74, None, _SRC, "approximate"),
]

# Scoreboard data (kdcore.results.scoreboard): each metric's kind, and the misses whose
# cause the chapter's "What differed from the paper" section names.
METRIC_KINDS = {"test_errors": "errors"}
EXPLAINED = [
    Explanation("our teacher has dropout but no input jitter and only 20 epochs of Adam: weaker than "
                "Hinton et al.'s, and so is the student distilled from it",
                settings=("teacher 1200-1200", "student 800-800 distilled T=20")),
    Explanation("training length is the profile's (8 epochs of Adam for a student), not the paper's",
                settings=("student 800-800 alone",)),
]

# The paper's claims as comparisons the run records decide (kdcore.verdicts).
_T20, _ALONE = "student 800-800 distilled T=20", "student 800-800 alone"
CLAIMS = [
    Claim("distillation at T = 20 lowers the 800-800 student's test errors", _T20, "test_errors",
          baseline=_ALONE, higher_is_better=False),
    Claim("a high temperature (T = 20) transfers more than T = 1", _T20, "test_errors",
          baseline="student 800-800 distilled T=1", higher_is_better=False),
    Claim("a student that never saw a 3 recognises 3s when distilled", "student 800-800 without 3s, distilled T=20",
          "accuracy_on_3", baseline="student 800-800 without 3s, hard labels"),
]
