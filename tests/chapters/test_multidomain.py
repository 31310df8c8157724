"""Multi-domain chapter: integral criterion, parameter counts, config, Bike Sharing splits."""

import pytest
import torch

from kdcore.chapters.multidomain import (REG_STUDENT_SIZES, REG_TEACHER_SIZES, STUDENT_SIZES, TEACHER_SIZES, MultidomainConfig)
from kdcore.chapters.multidomain.integral import integral_criterion
from kdcore.models.mappings import Composed, DilatedConv
from kdcore.models import MLP, weight_count


def test_integral_criterion_is_the_trapezoid_area():
    assert integral_criterion([1.0, 2.0, 3.0]) == pytest.approx(4.0)
    assert integral_criterion([0.5] * 20) == pytest.approx(0.5 * 19)
    assert integral_criterion([1.0, 3.0], epochs=[2, 4]) == pytest.approx(4.0)
    with pytest.raises(ValueError):
        integral_criterion([1.0])


def test_parameter_counts_match_the_paper():
    counts = [weight_count(MLP(s)) for s in (TEACHER_SIZES, STUDENT_SIZES, REG_TEACHER_SIZES, REG_STUDENT_SIZES)]
    assert counts == [246400, 50816, 48960, 512]


@pytest.mark.parametrize("bad, name", [({"lam": 1.5}, "lam"), ({"seeds": []}, "seeds"),
                                       ({"temperature": 0.0}, "temperature"),
                                       ({"bike_sizes": [8700, 300, 999]}, "bike_sizes"),
                                       ({"profile": "fast"}, "profile"), ({"sweep_seeds": 5}, "sweep_seeds")])
def test_config_rejects_bad_parameters(bad, name):
    with pytest.raises(ValueError, match=name):
        MultidomainConfig(**bad)


def test_bike_splits_sizes_disjoint_and_feature_widths():
    from kdcore.chapters.multidomain.data import BIKE_READINGS, load_bike_splits

    widths = {"leak-free": 15, "leak-free, 13 raw": 13, "leaky": 15}
    for reading in BIKE_READINGS:
        big, small, test = load_bike_splits(reading)
        assert (len(big), len(small), len(test)) == (8700, 300, 1000)
        assert big.x.shape[1] == small.x.shape[1] == widths[reading]
    # column 0 is `instant` (unique per row) in both readings: the parts are disjoint
    ids = [set(s.x[:, 0].tolist()) for s in load_bike_splits("leak-free")]
    assert not (ids[0] & ids[1]) and not (ids[0] & ids[2]) and not (ids[1] & ids[2])
    assert "casual" not in BIKE_READINGS["leak-free"] and "casual" in BIKE_READINGS["leaky"]


def test_teacher_on_dilated_inputs_has_576_inputs():
    comp = Composed(DilatedConv(), MLP([576] + TEACHER_SIZES[1:]))
    assert comp(torch.rand(2, 1, 28, 28)).shape == (2, 10)
    assert not comp.random


# -- runners -----------------------------------------------------------------------------

def test_select_on_validation_reports_test_at_the_best_validation_epoch():
    from kdcore.chapters.multidomain.regression import select_on_validation

    out = select_on_validation([10, 20, 30], [5.0, 3.0, 4.0], [10, 20, 30], [9.0, 8.0, 1.0])
    assert out == {"mse": 8.0, "mse_last_epoch": 1.0, "chosen_epoch": 20.0, "val_mse": 3.0}
    with pytest.raises(ValueError, match="same epochs"):
        select_on_validation([10, 20], [1.0, 2.0], [10, 30], [1.0, 2.0])


def test_bike_validation_rows_lie_outside_the_papers_10000():
    from kdcore.chapters.multidomain.data import load_bike_splits, load_bike_validation

    val = load_bike_validation("leak-free, 13 raw", 10000, 1000, 1234)
    assert len(val) == 1000 and val.x.shape[1] == 13
    ids = set(val.x[:, 0].tolist())            # column 0 is `instant`, unique per row
    for part in load_bike_splits("leak-free, 13 raw"):
        assert not ids & set(part.x[:, 0].tolist())
    with pytest.raises(ValueError, match="bike_val_rows"):
        load_bike_validation("leak-free", 10000, 8000, 1234)


@pytest.fixture(scope="module")
def tiny_lab(tmp_path_factory):
    from kdcore.chapters.multidomain import Lab
    from kdcore.results import RunStore

    cfg = MultidomainConfig(seeds=[0, 1, 2], teacher_seeds=2, teacher_rows=300, full_rows=300, test_rows=300,
                            teacher_epochs=1, student_epochs=2, vae_epochs=1, vae_rows=300,
                            generated_per_object=2, long_teacher_epochs=2, long_teacher_step=1,
                            temperature_grid=[4.0], lambda_grid=[0.5], bike_teacher_epochs=1,
                            bike_student_epochs=20)
    torch.set_num_threads(1)
    return Lab(cfg, RunStore(tmp_path_factory.mktemp("results")))


def test_student_seed_i_learns_from_teacher_i_mod_k(tiny_lab):
    assert [tiny_lab.teacher_seed(s) for s in (0, 1, 2)] == [0, 1, 0]
    recs = [tiny_lab.run_student("Small, teacher on FMNIST-Big", s, "FMNIST-Big", "identity") for s in (0, 1, 2)]
    keys = [tiny_lab.teacher("FMNIST-Big", t).record["key"] for t in (0, 1)]
    assert [r["params"]["teacher"] for r in recs] == [keys[0], keys[1], keys[0]]
    assert keys[0] != keys[1]
    assert all("soft" in r["history"]["train_parts"] for r in recs)          # the KD term was used
    alone = tiny_lab.run_student("Small, no teacher", 0, None)
    assert set(alone["history"]["train_parts"]) == {"hard"}


def test_records_present_means_no_teacher_is_built(tiny_lab):
    from kdcore.chapters.multidomain import Lab

    tiny_lab.run_student("Small, dilation φ", 0, "FMNIST-Big, dilation φ", "dilation")
    again = Lab(tiny_lab.cfg, tiny_lab.store)                                 # a re-execution
    again.run_student("Small, dilation φ", 0, "FMNIST-Big, dilation φ", "dilation")
    assert not again.teacher("FMNIST-Big, dilation φ", 0).loaded


def test_teacher_through_identity_phi_equals_its_own_test_accuracy(tiny_lab):
    # the FMNIST-Big teacher's own test set is FMNIST test, its φ the identity: same number
    via = tiny_lab.teacher_quality("Small, teacher on FMNIST-Big", 1)
    own = tiny_lab.teacher("FMNIST-Big", 1).record
    assert via["metrics"]["accuracy"] == pytest.approx(own["metrics"]["accuracy"])
    assert via["params"]["teacher"] == own["key"]
    vae = tiny_lab.teacher_quality("MNIST teacher + VAE φ", 0)
    assert vae["params"]["phi"] == "vae" and 0 <= vae["metrics"]["accuracy"] <= 1


def test_t_sweeps_with_and_without_t2_are_different_runs(tiny_lab):
    sweeps = ch_run_sweeps(tiny_lab)
    assert set(sweeps) == {"λ", "T", "T, ×T²"}
    plain, t2 = sweeps["T"][0], sweeps["T, ×T²"][0]
    assert t2["params"].get("t_squared") is True and "t_squared" not in plain["params"]
    # the soft term of the T^2 run is T^2 = 16 times larger at the first step's teacher/student
    assert t2["history"]["train_parts"]["soft"][0] > 4 * plain["history"]["train_parts"]["soft"][0]


def ch_run_sweeps(lab):
    from kdcore.chapters.multidomain import run_sweeps

    return run_sweeps(lab)


def test_vae_record_holds_the_phi_gallery(tiny_lab):
    from kdcore.chapters.multidomain.report import gallery_from_record

    gallery = gallery_from_record(tiny_lab.vae().record)
    assert "x (FMNIST-Small)" in gallery and "VAE φ → MNIST" in gallery and len(gallery) == 5
    assert gallery["dilation φ (24×24)"].shape == (6, 24, 24)
    assert all(g.dtype.name == "uint8" for g in gallery.values())


def test_bike_students_report_test_mse_at_the_validation_choice(tiny_lab):
    from kdcore.chapters.multidomain import run_regression

    recs = run_regression(tiny_lab.cfg, tiny_lab.store, readings=("leak-free, 13 raw",))
    teachers = [r for r in recs if r["setting"].startswith("teacher")]
    students = [r for r in recs if not r["setting"].startswith("teacher")]
    assert len(teachers) == 2 and len(students) == 6
    for r in students:
        e = int(r["metrics"]["chosen_epoch"])
        i = r["extra"]["val_epochs"].index(e)
        assert r["extra"]["val_mse"][i] == min(r["extra"]["val_mse"])
        assert r["metrics"]["mse"] == pytest.approx(r["history"]["test_metric"][i])
        assert r["params"]["max_epochs"] == 20 and r["setting"].endswith("(13 raw columns)")


# -- Table 5's layout, the thesis loss as written, continued chains ------------------------------
def test_broadcast_mse_is_the_distance_to_the_batch_mean_plus_the_target_variance():
    from kdcore.chapters.multidomain.regression import BroadcastMSE

    torch.manual_seed(0)
    model = torch.nn.Linear(3, 1)
    x, y = torch.randn(7, 3), torch.randn(7)
    loss = float(BroadcastMSE()(model, {"x": x, "y": y})["mse_broadcast"].detach())
    g = model(x).reshape(-1).detach()
    assert loss == pytest.approx(float(((g - y.mean()) ** 2).mean() + y.var(unbiased=False)), rel=1e-5)
    # the written loss is what torch's MSELoss gives a (B, 1) prediction against a (B,) target
    with pytest.warns(UserWarning, match="broadcast"):
        written = torch.nn.MSELoss()(model(x), y)
    assert loss == pytest.approx(float(written.detach()), rel=1e-6)
    # its gradient is zero when every prediction is the batch mean, whatever the targets' order
    const = torch.nn.Linear(3, 1)
    with torch.no_grad():
        const.weight.zero_()
        const.bias.fill_(float(y.mean()))
    BroadcastMSE()(const, {"x": x, "y": y})["mse_broadcast"].backward()
    assert float(const.bias.grad.abs()) < 1e-5 and float(const.weight.grad.abs().max()) < 1e-5


def test_closed_form_baselines_on_exact_data():
    from kdcore.chapters.multidomain.regression import _closed_form
    from kdcore.data import Split

    torch.manual_seed(0)
    x = torch.randn(200, 4)
    y = x @ torch.tensor([1.0, -2.0, 0.5, 3.0]) + 7.0
    train, test = Split(x[:150], y[:150], None), Split(x[150:], y[150:], None)
    out = _closed_form(train, test)
    assert out["Reg-Train, OLS"]["mse"] < 1e-8
    assert out["Reg-Train, mean predictor"]["mse"] == pytest.approx(float(((y[:150].mean() - y[150:]) ** 2).mean()))


def test_reg_train_runs_the_papers_layout(tiny_lab):
    from kdcore.chapters.multidomain import REG_TRAIN, run_reg_train

    cfg = tiny_lab.cfg
    recs = run_reg_train(cfg, tiny_lab.store, readings=("leak-free, 13 raw",))
    settings = {r["setting"] for r in recs}
    assert {s + " (13 raw columns)" for s in REG_TRAIN} <= settings
    students = [r for r in recs if r["setting"] == "Reg-Train, no teacher (13 raw columns)"]
    assert len(students) == len(cfg.seeds)
    for r in students:   # the thesis' statistic: the mean of each attempt's last test MSE
        assert len(r["extra"]["attempt_mse"]) == cfg.bike_attempts
        assert r["metrics"]["mse"] == pytest.approx(sum(r["extra"]["attempt_mse"]) / cfg.bike_attempts)
        assert r["params"]["rows"] == 10000 and r["params"]["train"] == "Reg-Train"
    taught = [r for r in recs if r["setting"] == "Reg-Train, teacher on Reg-Train (13 raw columns)"]
    teachers = {r["key"] for r in recs if r["setting"] == "teacher: Reg-Train (13 raw columns)"}
    assert {r["params"]["teacher"] for r in taught} <= teachers and len(teachers) == cfg.teacher_seeds


def test_continued_attempts_run_as_independent_chains(tmp_path):
    import dataclasses

    from kdcore.chapters.multidomain import Lab
    from kdcore.results import RunStore

    cfg = MultidomainConfig(seeds=[0, 1], teacher_seeds=1, teacher_rows=300, test_rows=300, student_epochs=2,
                            continued_chains=2, vae_rows=300)
    lab = Lab(cfg, RunStore(tmp_path))
    chains = lab.run_continued("Small, no teacher", None)
    assert [r["seed"] for r in chains] == [0, 1] and chains[0]["metrics"] != chains[1]["metrics"]
    for r in chains:
        accs = [a["accuracy"] for a in r["extra"]["attempts"]]
        assert len(accs) == len(cfg.seeds) and r["metrics"]["accuracy"] == pytest.approx(sum(accs) / len(accs))
        assert len(r["history"]["test_epochs"]) == len(cfg.seeds) * cfg.student_epochs
    with pytest.raises(ValueError, match="continued_chains"):
        dataclasses.replace(cfg, continued_chains=3)
