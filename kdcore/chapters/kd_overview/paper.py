"""Chapter 1: Hinton, Vinyals & Dean (2015), section 3 (MNIST), as data; and the claims tested.

Counts of test errors out of 10,000 as given in the paper's text. Their teacher was
regularised with dropout and weight constraints on inputs jittered by up to two pixels, in
the regime of Hinton et al. (2012); their 800-800 student baseline had no regularisation.
The teacher's numbers and those of its students are set against the chapter's 2012-regime
teacher (:func:`.runners.hinton2012_teacher`) and its students; the Adam teacher's runs are
the chapter's own variant, beside them.
"""

import math
from dataclasses import replace

from ...results.paper import PaperNumber
from ...results.scoreboard import Explanation
from ...results.verdicts import Claim, FailureRule
from .config import KDOverviewConfig
from .runners import (bias_metric, ensemble_name, hinton2012_name, hinton2012_names, student_name, teacher_name,
                      transfer_names)

_SRC = "Hinton et al. 2015, arXiv:1503.02531, section 3 (MNIST)"
_TEACHER = hinton2012_name(KDOverviewConfig())                       # "teacher 1200-1200, 2012 regime"
_KD, _T3 = hinton2012_names(KDOverviewConfig())                      # its students at T = 20
# One run each (Hinton et al. give single counts, no spread): each is judged by the error
# of a count printed as a whole number; ``n`` is left at one run.
NUMBERS = [
    PaperNumber("kd_overview", _TEACHER, "test_errors", 67, None, _SRC,
                "dropout, weight constraints, inputs jittered by up to 2 pixels"),
    PaperNumber("kd_overview", "student 800-800 alone", "test_errors", 146, None, _SRC, "no regularisation"),
    PaperNumber("kd_overview", _KD, "test_errors", 74, None, _SRC,
                "soft targets of the jittered teacher at T=20"),
    PaperNumber("kd_overview", _T3, "test_errors", 206, None, _SRC, "transfer set without any 3"),
    PaperNumber("kd_overview", _T3, "errors_on_3", 133, None, _SRC, "of the 1010 threes in the test set"),
    PaperNumber("kd_overview", _T3, "test_errors, bias 3 +3.5", 109, None, _SRC, "bias of the 3 raised by 3.5"),
    PaperNumber("kd_overview", _T3, "errors_on_3, bias 3 +3.5", 14, None, _SRC, "bias of the 3 raised by 3.5"),
]

# Scoreboard data (kdcore.results.scoreboard): each metric's kind, when a run failed, and
# the misses whose cause the chapter's "What differed from the paper" section names, graded
# by evidence (only a record that changes the named cause alone makes one "measured").
METRIC_KINDS = {metric: "errors" for metric in {p.metric for p in NUMBERS}}
# A run that guesses makes ~9,000 errors of 10,000; within two points of that it failed.
FAILURE = [FailureRule("test_errors", 9000.0, 200.0, higher_is_better=False)]
EXPLAINED = [
    Explanation("the distilled student's optimiser, schedule and hard-label weight are not in the paper (\"a "
                "considerably lower weight\" on the hard targets); ours are 25 Adam epochs at alpha = 0.9. The study "
                "hinton_student lengthens the schedule and lowers the hard-label weight, chosen on validation, and "
                "stays above 74 (the chapter's table)",
                settings=(_KD,), metrics=("test_errors",), grade="setup unknown",
                evidence="the distilled student's optimiser, learning-rate schedule, length and the weight of its "
                         "hard-label term (Hinton et al. 2015, section 3, give none of them)"),
    Explanation("after Hinton's raise of 3.5 our student without 3s makes a few more errors on 3s than theirs "
                "but many more on the other nine digits, before the raise as after it (the chapter's transfer-set "
                "table): the gap is in what it learned of the other digits, not in the raise",
                settings=(_T3,), grade="hypothesis"),
]


HINTON_UNSEEN_ACCURACY = 1 - 133 / 1010   # Hinton et al. 2015, §3: 133 of the 1010 test 3s wrong, no 3 in training
# Hinton's teacher made 67 test errors; a rerun of the same regime varies by about sqrt(67) ~ 8 errors
# (a binomial count at p ~ 0.0067 on 10,000 images), so "matches" allows two of those.
HINTON_TEACHER_BOUND = 67 + 2 * math.sqrt(67 * (1 - 67 / 10_000))


def claims(cfg: KDOverviewConfig) -> list[Claim]:
    """The chapter's claims for the settings ``cfg`` runs, decided by :mod:`kdcore.results.verdicts`."""
    teacher, student = teacher_name(cfg), student_name(cfg)
    kd = hinton2012_names(cfg)[1]     # the transfer set's distilled student, taught by the 2012-regime teacher
    c, t = cfg.omitted_class, cfg.temperature
    kd2012, _ = hinton2012_names(cfg)
    out = [
        Claim(f"the 2012-regime teacher matches Hinton's 67 test errors (at most {HINTON_TEACHER_BOUND:.0f}: 67 plus "
              "two binomial sds of a count on 10,000 images)", hinton2012_name(cfg), "test_errors",
              target=HINTON_TEACHER_BOUND, higher_is_better=False),
        Claim(f"the 2012-regime teacher distils a better student at T={t:g} than the Adam teacher", kd2012,
              "test_errors", baseline=f"{student} distilled T={t:g}", higher_is_better=False),
        Claim(f"distillation at T={t:g} gives the student fewer test errors than training it alone",
              f"{student} distilled T={t:g}", "test_errors", baseline=f"{student} alone", higher_is_better=False),
        # A student on hard labels without 3s recognises none by construction (its 3 output is never a
        # target), so the claim is held to Hinton's own student: 877 of the 1010 test 3s (133 errors).
        Claim(f"soft targets teach a digit the student never saw as well as in Hinton's run: with no {c} in the "
              f"transfer set, at least his {100 * HINTON_UNSEEN_ACCURACY:.1f} % of the {c}s recognised", kd, f"accuracy_on_{c}",
              target=HINTON_UNSEEN_ACCURACY),
        Claim(f"raising the output bias of the unseen {c} lowers the distilled student's errors (Hinton: 206 -> 109)",
              kd, bias_metric("test_errors", c, 3.5), baseline=kd, baseline_metric="test_errors",
              higher_is_better=False),
        Claim("an ensemble of teachers distils a better student than one teacher (its member of seed 0)",
              f"{student} distilled from {ensemble_name(cfg)}, T={t:g}", "test_errors",
              baseline=f"{student} distilled T={t:g}", higher_is_better=False),
    ]
    return [replace(claim, failure=FAILURE[0]) for claim in out]


CLAIMS = claims(KDOverviewConfig(ensemble_size=3))   # the paper profile's settings
