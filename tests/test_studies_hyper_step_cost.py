"""The upper-level step cost study (kdcore.studies.hyper_step_cost) keeps bench row (f) as a record."""

from __future__ import annotations

import pytest

from kdcore.results import RunStore
from kdcore.run.bench import HYPER_METHODS
from kdcore.studies import hyper_step_cost as study


def test_smoke_run_records_every_method_and_reads_back(tmp_path):
    store = RunStore(tmp_path, profile="smoke")
    rec = study.run(study.StudyConfig(), store)
    m = rec["metrics"]
    assert m["plain_time_ratio"] == m["plain_flop_ratio"] == 1.0
    for meth in HYPER_METHODS[1:]:
        assert m[f"{meth}_ms"] > 0 and m[f"{meth}_flop_ratio"] > 1.0     # an upper step is never free
        assert m[f"{meth}_time_ratio"] == pytest.approx(m[f"{meth}_ms"] / m["plain_ms"], rel=1e-9)
    assert rec["params"]["threads"] >= 1 and rec["params"]["device"] in ("cpu", "cuda")
    assert study.run(study.StudyConfig(), store)["created"] == rec["created"]   # read back, not re-timed
