"""all_pairs_resnet18's tuned runs, resumable (kdcore.studies.all_pairs_resnet18_tuned): the same
run as the study's own, and a run cut after an epoch ends with the uninterrupted record."""

from __future__ import annotations

import pytest
import torch

from kdcore.results import RunStore
from kdcore.studies import all_pairs_report as apr, all_pairs_resnet18 as base, all_pairs_resnet18_tuned as tuned

CFG = base.StudyConfig(rows=256, val_rows=64, test_rows=128, teacher_epochs=1, epochs=3, step_size=2,
                       ratios=(0.3, 3.0), probe_rows=32, batch_size=64)


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    torch.set_num_threads(1)
    store = RunStore(tmp_path_factory.mktemp("r18t"), profile="smoke")
    data = base._Data(CFG, store)
    r = base.probe(CFG, store, data)["metrics"]["vid_to_ce_at_init"]
    return store, data, r


def _same(a: dict, b: dict) -> None:
    assert a["params"] == b["params"] and a["setting"] == b["setting"]
    assert a["metrics"] == pytest.approx(b["metrics"], rel=1e-6, abs=1e-9)
    for k in ("train_loss", "test_metric", "grad_norm_ce", "grad_norm_vid"):
        assert a["history"][k] == pytest.approx(b["history"][k], rel=1e-6, abs=1e-9), k
    ta, tb = a["extra"]["trajectory"], b["extra"]["trajectory"]
    assert [t["step"] for t in ta] == [t["step"] for t in tb] and len(ta) > 2
    for x, y in zip(ta, tb):
        assert torch.allclose(torch.tensor(x["lambda"]), torch.tensor(y["lambda"]), rtol=1e-6, atol=1e-9), x["step"]
    assert a["extra"]["hyper_steps"] == b["extra"]["hyper_steps"]


def test_grid_incomplete_is_refused_by_name_before_any_run(setup):
    store, data, r = setup
    with pytest.raises(tuned.GridIncomplete, match=r"VID at 0.3x CE seed 0.*--phase grid"):
        tuned.chosen_rho(CFG, store, data, r)


def test_tuned_run_is_the_studys_own_and_resumes_to_the_same_record(setup, tmp_path):
    store, data, r = setup
    own = base.student_run(CFG, store, data, "tuned", 1.0, r, 0)
    whole = tuned.tuned_run(CFG, store, data, 1.0, r, 0)
    _same(whole, own)
    assert whole["chapter"] == tuned.STUDY and whole["extra"]["resumed_after_epoch"] == 0
    # λ moved: the upper level ran, so its state is what the resume must carry over.
    lam = [t["lambda"] for t in whole["extra"]["trajectory"]]
    assert lam[0] != lam[-1]

    cut = RunStore(tmp_path / "cut", profile="smoke")
    key = cut.key(tuned.STUDY, whole["setting"], 0, whole["params"], "smoke")
    with pytest.raises(KeyboardInterrupt):
        tuned.tuned_run(CFG, cut, data, 1.0, r, 0, stop_after=1)
    assert tuned.partial_path(cut, 0, key).exists() and not cut.records(tuned.STUDY)
    resumed = tuned.tuned_run(CFG, cut, data, 1.0, r, 0)
    assert resumed["extra"]["resumed_after_epoch"] == 1
    _same(resumed, whole)
    assert not tuned.partial_path(cut, 0, key).exists()      # gone once the record is written


def test_a_partial_file_of_another_run_is_refused_by_name(setup, tmp_path):
    store, data, r = setup
    cut = RunStore(tmp_path / "other", profile="smoke")
    with pytest.raises(KeyboardInterrupt):
        tuned.tuned_run(CFG, cut, data, 1.0, r, 1, stop_after=1)
    part = next((tmp_path / "other" / tuned.STUDY / "partial").glob("*.partial.pt"))
    blob = torch.load(part, weights_only=True)
    torch.save({**blob, "key": "0123456789abcdef"}, part)
    with pytest.raises(Exception, match="written for another run"):
        tuned.tuned_run(CFG, cut, data, 1.0, r, 1)


def test_the_report_reads_the_tuned_runs_as_the_studys_own(setup):
    store, data, r = setup
    base.student_run(CFG, store, data, "tuned", 1.0, r, 0)       # loaded when the test above wrote them
    tuned.tuned_run(CFG, store, data, 1.0, r, 0)
    recs, _ = apr.study_records(store, profile="smoke", study=base)
    tuned_recs = [x for x in recs if x["setting"] == base.setting("tuned", 1.0)]
    # the study's own record and the resumable one share (setting, seed): the study's own is kept, once
    assert len(tuned_recs) == 1 and tuned_recs[0]["chapter"] == base.STUDY


def test_rho_is_the_one_the_studys_grid_chose(setup):
    store, data, r = setup
    base.run(CFG, store, phases=("probe", "grid"))
    recs, notes = apr.study_records(store, profile="smoke", study=base)
    assert tuned.chosen_rho(CFG, store, data, r) == apr.grid_choice(CFG, recs, notes, study=base) in CFG.ratios
