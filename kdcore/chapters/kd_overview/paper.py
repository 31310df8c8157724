"""Chapter 1 anchors: Hinton, Vinyals & Dean (2015), section 3 (MNIST).

Counts of test errors out of 10,000, as commonly cited from the paper's text; the
paper's networks used dropout and input jitter, which the book's runs do not.
"""

from ...results.paper import PaperNumber

_SRC = "Hinton et al. 2015, arXiv:1503.02531, section 3 (MNIST)"
NUMBERS = [
    PaperNumber("kd_overview", "teacher 1200-1200", "test_errors", 67, None, _SRC,
                "dropout + jittered inputs; approximate"),
    PaperNumber("kd_overview", "student 800-800 alone", "test_errors", 146, None, _SRC, "approximate"),
    PaperNumber("kd_overview", "student 800-800 distilled T=20", "test_errors", 74, None, _SRC, "approximate"),
]
