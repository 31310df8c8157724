"""The all-pairs weighting study (kdcore.studies.all_pairs_weighting): β from the gradient
ratio, the pooled objective's λ-linearity, the probe, the choice of ρ, and a tiny end-to-end run."""

from __future__ import annotations

import math

import pytest
import torch

from kdcore.hyper import SimplexWeights
from kdcore.losses import all_to_all_pairs
from kdcore.models import ConvTiny, ConvVeryTiny
from kdcore.models.regressors import feature_shapes
from kdcore.studies import all_pairs_report as apr, all_pairs_weighting as apw


def test_beta_for_ratio_puts_the_weighted_gradients_at_the_ratio():
    for ratio in (0.1, 1.0, 10.0):
        for r in (0.5, 147.0):
            beta = apw.beta_for_ratio(ratio, r)
            assert 0 < beta < 1 and beta * r / (1 - beta) == pytest.approx(ratio)
    with pytest.raises(ValueError):
        apw.beta_for_ratio(0.0, 1.0)


def _setup(seed: int = 0):
    torch.manual_seed(seed)
    teacher, student = ConvTiny().eval(), ConvVeryTiny()
    pairs = all_to_all_pairs(apw.LAYERS, apw.LAYERS)
    meta = SimplexWeights((4, 4), torch.rand(4, 4) + 0.1)
    obj = apw.PooledAllPairs(pairs, feature_shapes(teacher, apw.LAYERS), feature_shapes(student, apw.LAYERS), meta, 0.3)
    x = torch.randn(6, 3, 32, 32)
    with torch.no_grad():
        feats = teacher.features(x)
    batch = {"x": x, "y": torch.randint(0, 10, (6,)), **{"teacher/" + n: feats[n] for n in apw.LAYERS}}
    return student, obj, meta, batch


def test_pooled_objective_is_linear_in_lambda_and_reads_the_metaparameters():
    student, obj, meta, batch = _setup()
    out = obj(student, batch)
    feats = student.features(batch["x"])
    vids = obj.vids(feats, batch)
    lam = meta.values()["lambda"].reshape(-1)
    assert out["vid"].detach().item() == pytest.approx(0.3 * float((lam * vids).sum()), rel=1e-5)
    # d(vid)/d(lambda_p) = beta * VID_p: the hypergradient's linear handle on each pair
    lam_leaf = lam.detach().requires_grad_(True)
    (g,) = torch.autograd.grad(0.3 * (lam_leaf * vids.detach()).sum(), lam_leaf)
    assert torch.allclose(g, 0.3 * vids.detach())
    # metaparameters are outside the module tree (fit must not train them)
    assert not any(p is meta.logits for p in obj.parameters())
    with torch.no_grad():
        meta.logits.zero_()
    assert obj(student, batch)["vid"].item() == pytest.approx(0.3 * float(obj.vids(student.features(batch["x"]), batch).mean()), rel=1e-5)


def test_gradient_norms_match_a_direct_computation_and_keep_modes():
    student, obj, meta, batch = _setup(1)
    student.train()
    norms = apw.gradient_norms(student, obj, batch)
    assert student.training and obj.training
    student.eval(), obj.eval()
    params = list(student.parameters())
    feats = student.features(batch["x"])
    ce = torch.nn.functional.cross_entropy(feats["logits"], batch["y"])
    g = torch.autograd.grad(ce, params)
    assert norms["ce"] == pytest.approx(math.sqrt(sum(float((x ** 2).sum()) for x in g)), rel=1e-5)
    assert norms["vid"] > 0


def test_chosen_ratio_skips_a_ratio_with_a_diverged_seed():
    ok = lambda rho, val: {"params": {"ratio": rho}, "metrics": {"val_accuracy": val}}
    grid = [ok(0.1, 0.50), ok(0.1, 0.52), ok(1.0, 0.60), {"failed": "NaN", "args": ["uniform", 1.0, 147.0, 1]},
            ok(3.0, 0.55), ok(3.0, 0.57)]
    assert apw.chosen_ratio(grid) == 3.0
    with pytest.raises(RuntimeError):
        apw.chosen_ratio([{"failed": "NaN", "args": ["uniform", 1.0, 147.0, 0]}])


def test_a_tiny_study_runs_end_to_end_and_its_tables_read_it(tmp_path):
    from kdcore.results import RunStore

    store = RunStore(tmp_path, profile="smoke")
    cfg = apw.StudyConfig(rows=128, val_rows=64, test_rows=200, epochs=1, ratios=(0.1, 1.0), probe_rows=32,
                          batch_size=64)
    out = apw.run(cfg, store, methods=("none", "uniform", "tuned"))
    recs, notes = apr.study_records(store, "smoke")
    rho = apr.grid_choice(cfg, recs, notes)
    assert rho in cfg.ratios and len(out) == 1 + 2 + 3
    table = apr.main_table(recs, notes, rho)
    assert list(table.runs) == [1, 1, 0, 1]       # pairwise was not asked for
    tuned = next(r for r in recs if r["setting"] == apw.setting("tuned", rho))
    assert tuned["extra"]["hyper_steps"] == 2 and len(tuned["history"]["grad_norm_vid"]) == 2
    grid = apr.grid_table(cfg, recs, notes)
    assert grid["runs"].sum() + grid["diverged"].sum() == 2
    assert set(apr.lambda_maps(recs, rho)) == {"start", "end"}


def test_resnet18_study_pairs_every_teacher_layer_with_every_student_layer():
    from kdcore.models import build_model
    from kdcore.studies import all_pairs_resnet18 as r18

    pairs, shape = r18.pairs_for("uniform")
    assert shape == (5, 4) and len(pairs) == 20 and pairs[0] == ("stem", "conv1") and pairs[-1] == ("b8_out", "fc1")
    pw, pshape = r18.pairs_for("pairwise")
    assert pshape == (4,) and pw == [("b2_out", "conv1"), ("b4_out", "conv2"), ("b6_out", "conv3"), ("b8_out", "fc1")]
    teacher, student = build_model("resnet18").eval(), ConvVeryTiny()
    meta = SimplexWeights(shape)
    obj = apw.PooledAllPairs(pairs, feature_shapes(teacher, r18.TEACHER_LAYERS), feature_shapes(student, apw.LAYERS),
                             meta, 0.1)
    x = torch.randn(4, 3, 32, 32)
    with torch.no_grad():
        feats = teacher.features(x)
    out = obj(student, {"x": x, "y": torch.randint(0, 10, (4,)), **{"teacher/" + n: feats[n] for n in r18.TEACHER_LAYERS}})
    assert torch.isfinite(out["vid"]) and out["vid"].requires_grad
