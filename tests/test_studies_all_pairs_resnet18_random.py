"""all_pairs_resnet18's random fixed-λ control (kdcore.studies.all_pairs_resnet18_random): the draw,
the run (the study's uniform run but for λ), and how the report reads it."""

from __future__ import annotations

import pytest
import torch

from kdcore.results import RunStore
from kdcore.studies import all_pairs_report as apr, all_pairs_resnet18 as base, all_pairs_resnet18_random as rnd
from kdcore.studies import all_pairs_weighting as apw

RHO = 0.1          # small: at smoke size a larger VID term can overflow within two epochs
CFG = base.StudyConfig(rows=256, val_rows=64, test_rows=128, teacher_epochs=1, epochs=2, step_size=2,
                       ratios=(0.3, 3.0), probe_rows=32, batch_size=64)


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    torch.set_num_threads(1)
    store = RunStore(tmp_path_factory.mktemp("r18r"), profile="smoke")
    data = base._Data(CFG, store)
    r = base.probe(CFG, store, data)["metrics"]["vid_to_ce_at_init"]
    return store, data, r


def test_random_lambda_is_a_seeded_flat_dirichlet_draw():
    lam = rnd.random_lambda(3, (5, 4))
    assert lam.shape == (5, 4) and bool((lam > 0).all())
    assert float(lam.sum()) == pytest.approx(1.0, abs=1e-6)
    u = torch.rand(20, generator=torch.Generator().manual_seed(3)).double()
    assert torch.allclose(lam.flatten().double(), -u.log() / -u.log().sum(), atol=1e-6)   # -log u, normalised
    assert torch.equal(lam, rnd.random_lambda(3, (5, 4)))
    assert not torch.allclose(lam, rnd.random_lambda(4, (5, 4)))
    assert float(lam.max() - lam.min()) > 0.01            # not uniform: the control differs from uniform λ


def test_a_random_run_is_the_studys_uniform_run_but_for_lambda(setup, monkeypatch):
    store, data, r = setup
    uniform = base.student_run(CFG, store, data, "uniform", RHO, r, 0)
    drawn = rnd.random_run(CFG, store, data, RHO, r, 0)
    assert drawn["chapter"] == rnd.STUDY and drawn["setting"] == base.setting("random", RHO)
    assert drawn["params"]["lambda"] == pytest.approx(rnd.random_lambda(0, (5, 4)).flatten().tolist(), abs=1e-6)
    assert drawn["history"]["train_loss"] != pytest.approx(uniform["history"]["train_loss"], rel=1e-6)
    # With the draw replaced by uniform λ, the run is the study's own uniform run.
    monkeypatch.setattr(rnd, "random_lambda", lambda seed, shape: torch.full(shape, 1.0 / torch.Size(shape).numel()))
    same = rnd.random_run(CFG, RunStore(store.root / "as_uniform", profile="smoke"), data, RHO, r, 0)
    assert same["metrics"] == pytest.approx(uniform["metrics"], rel=1e-6, abs=1e-9)
    for k in ("train_loss", "test_metric", "grad_norm_ce", "grad_norm_vid"):
        assert same["history"][k] == pytest.approx(uniform["history"][k], rel=1e-6, abs=1e-9), k


def test_the_report_adds_random_to_the_resnet18_study_only(setup):
    store, data, r = setup
    rnd.random_run(CFG, store, data, RHO, r, 0)                  # loaded: written by the test above
    recs, notes = apr.study_records(store, profile="smoke", study=base)
    table = apr.main_table(recs, notes, RHO, study=base)
    assert list(table.method) == [*apw.METHODS, "random"]
    assert int(table.set_index("method").runs["random"]) == 1
    assert any("random" in c.text for c in apr.claims(1.0, base))
    assert not any("random" in c.text for c in apr.claims(1.0, apw)) and apr.methods(apw) == apw.METHODS
    assert apr.claims(1.0, base)[0].text.startswith("tuned λ beats uniform λ")   # the chapter reads the first


def test_grid_incomplete_is_refused_before_any_run(setup):
    store, data, r = setup
    with pytest.raises(rnd.GridIncomplete, match=r"--phase grid"):
        rnd.run(CFG, store)
    assert not store.records(rnd.STUDY) or all(x["setting"] == base.setting("random", RHO)
                                               for x in store.records(rnd.STUDY))
