"""Anti-distillation chapter runners: config, untouched units, epochs to reach."""

import pytest
import torch
import torch.nn.functional as F

from kdcore.models import MLP

torch.set_num_threads(1)


def test_config_validation_names_the_parameter():
    from kdcore.chapters.anti_distillation import AntiDistillationConfig

    AntiDistillationConfig()                                   # the paper defaults are valid
    with pytest.raises(ValueError, match="student_hidden"):
        AntiDistillationConfig(student_hidden=[64, 128, 64])
    with pytest.raises(ValueError, match="fgsm_eps"):
        AntiDistillationConfig(fgsm_eps=[0.0, 0.01])           # the headline ε = 0.018 is missing
    with pytest.raises(ValueError, match="growth_inits"):
        AntiDistillationConfig(growth_inits=["xavier"])
    with pytest.raises(ValueError, match="profile"):
        AntiDistillationConfig(profile="full")


def test_untouched_new_units_after_zero_pad_training_step():
    from kdcore.chapters.anti_distillation import untouched_new_units
    from kdcore.models.growth import grow

    torch.manual_seed(0)
    teacher, student = MLP([10, 4, 3]), MLP([10, 8, 3])
    grow(teacher, student, "zero")
    opt = torch.optim.SGD(student.parameters(), lr=0.5)
    for _ in range(3):
        opt.zero_grad()
        F.cross_entropy(student(torch.randn(32, 10)), torch.randint(0, 3, (32,))).backward()
        opt.step()
    assert untouched_new_units(student, [4]) == [1.0]          # ReLU'(0) = 0: no gradient ever
    assert untouched_new_units(grow(teacher, MLP([10, 8, 3]), "uniform"), [4]) == [0.0]


def test_epochs_to_reach_is_defined_for_every_row():
    from kdcore.chapters.anti_distillation.experiments import epochs_to_reach, reach_target

    recs = [{"setting": "t: default init", "seed": 0, "metrics": {"accuracy": 0.6},
             "history": {"test_accuracy_from_0": [0.1, 0.4, 0.6]}},
            {"setting": "t: Net2Net", "seed": 0, "metrics": {"accuracy": 0.7},
             "history": {"test_accuracy_from_0": [0.5, 0.65, 0.7]}},
            {"setting": "t: zero pad", "seed": 0, "metrics": {"accuracy": 0.5},
             "history": {"test_accuracy_from_0": [0.3, 0.5, 0.5]}}]
    target = reach_target(recs, 0.9)
    assert target == pytest.approx(0.45)                        # 0.9 x the weakest row's final accuracy
    df = epochs_to_reach(recs, target)
    assert df["epochs to target"].tolist() == [2, 0, 1] and df["reached"].all()
    late = epochs_to_reach(recs, 0.65)                           # zero pad never gets there: censored at 3
    assert late["epochs to target"].tolist() == [3, 1, 3] and late["reached"].tolist() == [False, True, False]


# --- the Table 1 runners on a tiny stand-in for Fashion-MNIST ----------------------------
def _tiny_cfg(**kw):
    from kdcore.chapters.anti_distillation import AntiDistillationConfig

    base = dict(profile="smoke", fc_seeds=1, fc_corrected_seeds=1, fc_extra_seeds=0, fc_train_size=256,
                fc_test_size=100, teacher_hidden=[8, 4, 4], student_hidden=[16, 8, 8], batch_size=64,
                teacher_epochs=2, teacher_step=1, student_epochs=3, student_epochs_short=2, checkpoint_epoch=2,
                transfer_frozen_epochs=1, ad_epochs=1, fgsm_eps=[0.0, 0.018], noise_eps=[0.0, 0.09])
    return AntiDistillationConfig(**{**base, **kw})


@pytest.fixture
def tiny_fmnist(monkeypatch):
    from kdcore.chapters.anti_distillation import runners
    from kdcore.data import Split

    g = torch.Generator().manual_seed(0)
    make = lambda n: Split(torch.rand(n, 1, 28, 28, generator=g), torch.arange(n) % 10)
    data = (make(256), make(100))
    monkeypatch.setattr(runners, "fc_data", lambda cfg: data)
    return data


def test_row_epochs_follow_the_authors_histories_and_the_matched_baseline():
    from kdcore.chapters.anti_distillation import MATCHED_ROWS, TABLE1_ROWS, row_epochs

    cfg = _tiny_cfg(student_epochs=30, student_epochs_short=10, ad_epochs=15)
    faithful = {name: row_epochs(cfg, row, True) for name, row in TABLE1_ROWS.items()}
    assert faithful == {"Xavier": 30, "Zero pad": 30, "Uniform pad": 30, "Transfer": 10, "Net2Net": 30,
                        "With data noise": 30, "AD, λ4=0": 30, "AD, all λ (code's λ)": 10}
    assert {row_epochs(cfg, row, False) for row in TABLE1_ROWS.values()} == {30}
    assert row_epochs(cfg, MATCHED_ROWS["Xavier, compute-matched"], True) == 45


def test_variant_settings_enter_the_record_key():
    from kdcore.chapters.anti_distillation import TABLE1_ROWS, fc_params

    cfg = _tiny_cfg()
    ad, n2n = TABLE1_ROWS["AD, all λ (code's λ)"], TABLE1_ROWS["Net2Net"]
    assert fc_params(cfg, ad, True)["hessian"] == "uniform_detached"
    assert fc_params(cfg, ad, False)["hessian"] == "rademacher"
    assert fc_params(cfg, ad, True)["block_norm"] == "concatenated"
    assert fc_params(_tiny_cfg(corrected_block_norm="per_tensor"), ad, False)["block_norm"] == "per_tensor"
    assert fc_params(cfg, n2n, True)["net2net_noise"] == 0.0 and fc_params(cfg, n2n, False)["net2net_noise"] == 0.1
    with pytest.raises(ValueError, match="corrected_block_norm"):
        _tiny_cfg(corrected_block_norm="squared")
    with pytest.raises(ValueError, match="student_epochs_short"):
        _tiny_cfg(student_epochs_short=5)


def test_faithful_ad_run_uses_the_constant_hessian_term(tiny_fmnist, monkeypatch):
    from kdcore.chapters.anti_distillation import TABLE1_ROWS, fc_model, fc_student_run, runners

    seen = []
    real = runners.AntiDistillation

    def spy(*args, **kw):
        seen.append((kw["hessian"], kw["block_norm"]))
        return real(*args, **kw)

    monkeypatch.setattr(runners, "AntiDistillation", spy)
    cfg = _tiny_cfg()
    teacher = fc_model(cfg.teacher_hidden, True).eval()
    rec = fc_student_run(cfg, TABLE1_ROWS["AD, all λ (code's λ)"], 0, True, teacher)
    fc_student_run(cfg, TABLE1_ROWS["AD, all λ (code's λ)"], 0, False, fc_model(cfg.teacher_hidden, False).eval())
    assert seen == [("uniform_detached", "concatenated"), ("rademacher", "concatenated")]
    assert len(rec["history"]["test_accuracy"]) == cfg.student_epochs_short
    assert set(rec["history"]["ad_parts"]) == {"ce", "block", "noisy_ce", "hessian"}


def test_every_row_is_measured_after_the_checkpoint_epoch(tiny_fmnist):
    from kdcore.chapters.anti_distillation import TABLE1_ROWS, fc_model, fc_student_run

    cfg = _tiny_cfg()
    teacher = fc_model(cfg.teacher_hidden, False).eval()
    long = fc_student_run(cfg, TABLE1_ROWS["Xavier"], 0, False, teacher)["metrics"]
    assert long["accuracy (epoch 2)"] != long["accuracy"] or long["weight norm (epoch 2)"] != long["weight norm"]
    for key in ("FGSM ε=0.018 among correct", "classes never predicted", "param noise ε=0.09"):
        assert f"{key} (epoch 2)" in long
    transfer = fc_student_run(cfg, TABLE1_ROWS["Transfer"], 0, False, teacher)   # frozen body, then 2 more epochs
    hist = transfer["history"]["test_accuracy"]
    assert transfer["metrics"]["accuracy (epoch 2)"] == pytest.approx(hist[1])
    short = fc_student_run(_tiny_cfg(), TABLE1_ROWS["Transfer"], 0, True, fc_model(cfg.teacher_hidden, True).eval())
    assert short["metrics"]["accuracy (epoch 2)"] == short["metrics"]["accuracy"]   # ends at the checkpoint


def test_faithful_net2net_keeps_its_replicas(tiny_fmnist):
    from kdcore.chapters.anti_distillation import TABLE1_ROWS, fc_model, fc_student_run

    cfg = _tiny_cfg()
    rec = fc_student_run(cfg, TABLE1_ROWS["Net2Net"], 0, True, fc_model(cfg.teacher_hidden, True).eval())
    assert rec["extra"]["duplicate_units_start"] == rec["extra"]["duplicate_units_end"]
    assert min(rec["extra"]["duplicate_units_start"]) > 0
    noisy = fc_student_run(cfg, TABLE1_ROWS["Net2Net"], 0, False, fc_model(cfg.teacher_hidden, False).eval())
    assert max(noisy["extra"]["duplicate_units_end"]) == 0


def test_table1_with_every_record_present_trains_nothing(tiny_fmnist, tmp_path, monkeypatch):
    from kdcore.chapters.anti_distillation import runners
    from kdcore.results import RunStore

    cfg = _tiny_cfg()
    store = RunStore(tmp_path)
    first = runners.run_table1(cfg, True, store)
    assert len(first) == len(runners.TABLE1_ROWS) + len(runners.MATCHED_ROWS)

    def boom(*a, **k):
        raise AssertionError("trained or built a model although every record exists")

    monkeypatch.setattr(runners, "fit", boom)
    monkeypatch.setattr(runners, "fc_model", boom)
    for f in tmp_path.rglob("*.safetensors"):                       # even with the weights gone, nothing is built
        f.unlink()
    again = runners.run_table1(cfg, True, store)
    assert [r["key"] for r in again] == [r["key"] for r in first]
