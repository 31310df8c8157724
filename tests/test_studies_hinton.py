"""The two Hinton studies: the 2012 schedule's formulas, a resume that is bit for bit the same
run, and the gradient-norm probe of the soft and hard terms."""

from __future__ import annotations

import dataclasses

import pytest
import torch
import torch.nn.functional as F

from kdcore.studies import hinton_teacher as ht
from kdcore.studies.hinton_lr import term_gradient_norms


def test_momentum_ramps_linearly_then_holds_and_lr_decays_geometrically():
    cfg = ht.StudyConfig.paper()
    assert ht.momentum_at(cfg, 0) == 0.5
    assert ht.momentum_at(cfg, 250) == pytest.approx(0.745)
    assert ht.momentum_at(cfg, 500) == ht.momentum_at(cfg, 2000) == pytest.approx(0.99)
    assert ht.lr_at(cfg, 10) == pytest.approx(cfg.eps0 * 0.998 ** 10)


def test_sgd_step_is_hintons_update():
    """v <- p v - (1 - p) eps g; w <- w + v, against the formula written out."""
    w = torch.tensor([1.0, -2.0], requires_grad=True)
    v = [torch.tensor([0.3, 0.1])]
    w.grad = torch.tensor([0.5, -1.0])
    expect_v = 0.9 * torch.tensor([0.3, 0.1]) - 0.1 * 2.0 * torch.tensor([0.5, -1.0])
    expect_w = torch.tensor([1.0, -2.0]) + expect_v
    ht.sgd_step([w], v, p=0.9, eps=2.0)
    assert torch.allclose(v[0], expect_v) and torch.allclose(w.detach(), expect_w)


def test_a_resumed_run_is_the_same_run(tmp_path, monkeypatch):
    monkeypatch.setenv("KDCORE_RESULTS", str(tmp_path / "a"))
    cfg = dataclasses.replace(ht.StudyConfig(), n_train=300, n_val=100, epochs=4, hidden=(32,), milestones=(4,),
                              checkpoint_every=1)
    quiet = lambda *a: None
    straight = ht.run(cfg, log=quiet)
    monkeypatch.setenv("KDCORE_RESULTS", str(tmp_path / "b"))
    ht.run(cfg, until=2, log=quiet)
    resumed = ht.run(cfg, log=quiet)                       # a new call reads the checkpoint
    drop = lambda s: [{k: v for k, v in c.items()} for c in s["curve"]]
    assert drop(straight) == drop(resumed) and resumed["epoch"] == 4


def test_a_foreign_checkpoint_is_refused_by_name(tmp_path, monkeypatch):
    monkeypatch.setenv("KDCORE_RESULTS", str(tmp_path))
    cfg = dataclasses.replace(ht.StudyConfig(), n_train=200, n_val=100, epochs=1, hidden=(16,), milestones=())
    ht.run(cfg, log=lambda *a: None)
    path = next(tmp_path.rglob(ht.CHECKPOINT))
    path.write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="unreadable checkpoint"):
        ht.run(cfg, log=lambda *a: None)


def test_term_gradient_norms_match_autograd_of_each_term():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(12, 5))
    x, y, t = torch.randn(8, 3, 2, 2), torch.randint(0, 5, (8,)), torch.randn(8, 5)
    norms = term_gradient_norms(model, x, y, t, temperature=4.0, alpha=0.9)
    logits = model(x)
    soft = 0.9 * 16 * F.kl_div(F.log_softmax(logits / 4, -1), F.log_softmax(t / 4, -1), reduction="batchmean",
                               log_target=True)
    g = torch.autograd.grad(soft, list(model.parameters()))
    assert norms["soft"] == pytest.approx(float(torch.sqrt(sum((a ** 2).sum() for a in g))), rel=1e-5)
    assert norms["hard"] > 0


def test_the_student_search_chooses_on_validation_and_reports_test(tmp_path):
    """kdcore.studies.hinton_student at a tiny size: it reads the committed 2012-regime teacher,
    never trains it, and keeps validation and test errors apart."""
    from kdcore.results import RunStore
    from kdcore.studies import hinton_student as hs

    cfg = hs.StudyConfig(n_train=300, n_val=200, epoch_scale=0.01)
    (rec,) = hs.run(cfg, ("chapter schedule",), RunStore(tmp_path, profile="smoke"))
    assert 0 <= rec["metrics"]["val_errors"] <= 200 and 0 <= rec["metrics"]["test_errors"] <= 10000
    assert rec["params"]["epochs"] == 1 and rec["history"]["test_epochs"] == [1]   # the curve is on validation
