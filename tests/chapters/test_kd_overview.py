"""Chapter 1 runners: distilled runs read the teacher's outputs, the OBD variants use their own
diagonals, the bias raise, and a re-execution with every record present trains nothing."""

import pytest
import torch

from kdcore.chapters import kd_overview as ch
from kdcore.chapters.kd_overview import pruning, runners
from kdcore.data import ImagePrep, Split
from kdcore.losses import HintonKD
from kdcore.results import RunStore
from kdcore.training.loop import predict

torch.set_num_threads(1)


def _toy(n: int, seed: int) -> Split:
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % 10
    x = torch.randint(0, 60, (n, 28, 28), generator=g, dtype=torch.uint8)
    x[torch.arange(n), 10, y * 2 + 4] = 255          # a class-dependent bright pixel: learnable
    return Split(x, y, ImagePrep())


def _cfg(**kw):
    base = dict(n_train=200, teacher_hidden=[32], student_hidden=[16], teacher_epochs=2, student_epochs=1,
                temperatures=[2.0], temperature=2.0, ensemble_size=2, obd_hidden=4, obd_epochs=1,
                obd_hessian_rows=20, hutchinson_probes=3, hutchinson_probes_more=6, prune_fractions=[0.0, 0.5])
    return ch.KDOverviewConfig(**{**base, **kw})


@pytest.fixture()
def data():
    return ch.Data(_toy(200, 0), _toy(100, 1))


def test_a_distilled_run_uses_the_kd_loss_with_the_teachers_outputs(data, tmp_path, monkeypatch):
    cfg, store = _cfg(), RunStore(tmp_path)
    calls = []
    real_fit = runners.fit
    monkeypatch.setattr(runners, "fit", lambda model, split, objective, *a, **k:
                        calls.append((split, objective)) or real_fit(model, split, objective, *a, **k))
    ch.distillation_runs(cfg, data, store)
    distilled = [(s, o) for s, o in calls if isinstance(o, HintonKD)]
    assert len(distilled) == 1 and distilled[0][1].temperature == 2.0
    teacher = ch.train_teacher(cfg, data, store, 0).model
    torch.testing.assert_close(distilled[0][0].extras["teacher_logits"], predict(teacher, data.train))
    alone = [s for s, o in calls if not isinstance(o, HintonKD) and s is data.train]
    assert alone and "teacher_logits" not in alone[-1].extras


def test_re_executing_with_every_record_present_trains_nothing(data, tmp_path, monkeypatch):
    cfg, store = _cfg(), RunStore(tmp_path)
    ch.distillation_runs(cfg, data, store)
    ch.ensemble_runs(cfg, data, store)
    ch.transfer_set_runs(cfg, data, store)
    for f in tmp_path.rglob("*.safetensors"):          # even with the weights gone, nothing is loaded
        f.unlink()

    def no_training(*args, **kwargs):
        raise AssertionError("trained although every record exists")

    monkeypatch.setattr(runners, "fit", no_training)
    monkeypatch.setattr(runners, "predict", no_training)
    assert len(ch.distillation_runs(cfg, data, store)) == 2
    assert len(ch.ensemble_runs(cfg, data, store)) == 4
    assert len(ch.transfer_set_runs(cfg, data, store)) == 2


def test_bias_raise_counts_errors_overall_and_on_the_omitted_class():
    test = Split(torch.zeros(4, 28, 28, dtype=torch.uint8), torch.tensor([3, 3, 1, 2]), ImagePrep())
    logits = torch.tensor([[0.0, 0, 0, -1], [0.0, 0, 0, -5], [0.0, 5, 0, 0], [0.0, 0, 5, 0]])
    metrics, curve = runners._omitted_metrics(logits, test, 3, [0.0, 3.5])
    assert metrics["test_errors"] == 2 and metrics["errors_on_3"] == 2
    assert metrics["test_errors, bias 3 +3.5"] == 1 and metrics["errors_on_3, bias 3 +3.5"] == 1
    assert metrics["accuracy_on_3"] == 0.0 and {c["bias_shift"] for c in curve} >= {0.0, 3.5, 8.0}


def test_exact_and_hutchinson_obd_curves_use_their_own_diagonals(data, tmp_path, monkeypatch):
    cfg, store = _cfg(), RunStore(tmp_path)
    used = []
    real = pruning.obd.obd_saliency
    monkeypatch.setattr(pruning.obd, "obd_saliency", lambda p, d: used.append(d) or real(p, d))
    rec = ch.obd_experiment(cfg, data, store, seed=0)
    exact, hutch, clamped, more = used
    key = "layers.0.weight"
    assert not torch.equal(exact[key], hutch[key]) and not torch.equal(hutch[key], more[key])
    assert (clamped[key] >= 0).all() and torch.equal(clamped[key], hutch[key].clamp(min=0))
    m = rec["metrics"]
    assert -1 <= m["spearman_exact_hutchinson"] <= 1 and m["zero_exact_diagonal"] >= 0
    assert {c["method"] for c in rec["extra"]["curve"]} == set(ch.obd_methods(cfg))


def test_claims_name_settings_the_runners_write(data, tmp_path):
    cfg, store = _cfg(seeds=[0, 1], sweep_seeds=[0, 1]), RunStore(tmp_path)
    ch.distillation_runs(cfg, data, store)
    ch.ensemble_runs(cfg, data, store)
    ch.transfer_set_runs(cfg, data, store)
    ch.hinton2012_teacher(cfg, data, store, _random_teacher(cfg))
    ch.hinton2012_runs(cfg, data, store)
    from kdcore.results.verdicts import verdict_table

    table = verdict_table(store.records(ch.CHAPTER), ch.claims(cfg), cfg.profile)
    assert "no runs" not in set(table.verdict), table[["claim", "verdict"]]


def _random_teacher(cfg, seed: int = 3):
    """A ``load_state`` for the 2012-regime teacher: seeded random weights and a two-epoch curve."""
    def load(model):
        torch.manual_seed(seed)
        for w in model.parameters():
            torch.nn.init.normal_(w, std=0.05)
        return {"epoch": [1, 2], "val_errors": [50, 40]}
    return load


def test_the_2012_teacher_is_read_never_trained_and_says_how_to_store_it(data, tmp_path):
    cfg, store = _cfg(), RunStore(tmp_path)
    assert not ch.hinton2012_stored(cfg, store)
    with pytest.raises(RuntimeError, match="hinton_teacher_export"):
        ch.hinton2012_teacher(cfg, data, store)
    rec = ch.hinton2012_teacher(cfg, data, store, _random_teacher(cfg)).record
    assert ch.hinton2012_stored(cfg, store) and rec["weights"]["sha256"]
    model = ch.hinton2012_teacher(cfg, data, store).model          # read back from its weights, by hash
    assert rec["metrics"]["test_errors"] == int((predict(model, data.test).argmax(1) != data.test.y).sum())
    assert rec["history"]["val_errors"] == [50, 40]


def test_the_2012_teachers_students_differ_from_the_adam_teachers_only_in_the_teacher(data, tmp_path):
    cfg, store = _cfg(), RunStore(tmp_path)
    ch.hinton2012_teacher(cfg, data, store, _random_teacher(cfg))
    rows = ch.hinton2012_runs(cfg, data, store)
    adam = ch.distillation_runs(cfg, data, store)
    kd2012, transfer2012 = ch.hinton2012_names(cfg)
    assert set(rows.setting) == {ch.hinton2012_name(cfg), kd2012, transfer2012}
    new = [r for r in store.records(ch.CHAPTER) if r["setting"] == kd2012][0]
    old = [r for r in store.records(ch.CHAPTER) if r["setting"] == f"{ch.student_name(cfg)} distilled T=2"][0]
    differ = {k for k in set(new["params"]) | set(old["params"]) if new["params"].get(k) != old["params"].get(k)}
    assert differ == {"teacher"}, differ
    assert len(adam)
