"""The deep-nets students-alone study (kdcore.studies.deep_nets_students_bn) records both ways of testing."""

from __future__ import annotations

import pytest

from kdcore.results import RunStore
from kdcore.studies import deep_nets_students_bn as study


def test_smoke_run_records_eval_and_batch_statistics(tmp_path):
    store = RunStore(tmp_path, profile="smoke")
    recs = study.run(study.StudyConfig(), store)
    assert [r["params"]["student"] for r in recs] == list(study.STUDENTS)
    for r in recs:
        m = r["metrics"]
        assert {"accuracy", "accuracy_batch_stats", "accuracy_exact_1k"} <= set(m)
        assert all(0.0 <= v <= 1.0 for v in m.values())
        assert m["accuracy"] == r["history"]["test_metric"][-1]      # eval mode: the chapter's metric
    again = study.run(study.StudyConfig(), store)                     # read back, not retrained
    assert [r["created"] for r in again] == [r["created"] for r in recs]


def test_an_unknown_student_is_refused_before_any_work(tmp_path):
    store = RunStore(tmp_path, profile="smoke")
    with pytest.raises(ValueError, match="student"):
        study.student_run(store, study._lab(study.StudyConfig(), store), "resnet18", 0, "smoke")
