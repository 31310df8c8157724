"""The reduced CIFAR-10 dead-runs study (kdcore.studies.dead_runs_cifar10) reruns the runs it names."""

from __future__ import annotations

import pytest

from kdcore.chapters.heterogeneous.runners import random_start
from kdcore.studies import dead_runs_cifar10 as study


def test_the_paper_cases_are_the_small_start_temperatures_and_a_live_control():
    cfg = study.StudyConfig.paper()
    temps = {(m, r): random_start(r)[1] for m, r in cfg.cases}
    assert temps[("random", 0)] == pytest.approx(1.61, abs=0.01)        # the control, trained in every method
    assert temps[("random", 1)] == pytest.approx(0.107, abs=0.001)
    assert all(t == pytest.approx(0.182, abs=0.001) for (m, r), t in temps.items() if r == 4)
    assert {m for m, _ in cfg.cases} == {"random", "gradient", "proposed"} and cfg.powers == (0, 1)


def test_the_paper_profile_is_the_chapters_reduced_column():
    chapter = study.chapter_config("paper")
    assert chapter.n_rows[study.DATASET] == 12800 and chapter.epochs[study.DATASET] == 50 and chapter.lr == 1.0
