"""Training loop: determinism, cached teacher outputs stay aligned when shuffled, History."""

import pytest
import torch

from kdcore.data import make_synthetic, random_split
from kdcore.losses import MSE, CrossEntropy, HintonKD
from kdcore.models import MLP
from kdcore.training.loop import TrainConfig, cache_outputs, evaluate, fit, seed_everything


def _run(seed=0, shuffle=True):
    train, test = random_split(make_synthetic(600, dim=8, n_classes=4, seed=5), [500, 100], seed=0)
    seed_everything(seed)
    model = MLP([8, 16, 4])
    hist = fit(model, train, CrossEntropy(), TrainConfig(epochs=3, batch_size=32, seed=seed, shuffle=shuffle,
                                                          progress=False), test)
    return hist, model


def test_same_seed_same_history_on_cpu():
    (h1, m1), (h2, m2) = _run(0), _run(0)
    assert h1.train_loss == h2.train_loss and h1.test_metric == h2.test_metric
    assert all(torch.equal(a, b) for a, b in zip(m1.parameters(), m2.parameters()))
    assert _run(1)[0].train_loss != h1.train_loss


def test_history_fields():
    h, _ = _run()
    assert h.test_epochs == [1, 2, 3] and len(h.train_loss) == 3 == len(h.epoch_seconds)
    assert h.best == max(h.test_metric) and h.test_metric[h.best_epoch - 1] == h.best
    assert h.train_parts["ce"] == h.train_loss
    assert h.train_loss[-1] < h.train_loss[0]


class _Recorder:
    """Objective that checks every batch's cached logits against the teacher's live output."""

    def __init__(self, teacher):
        self.teacher, self.max_gap, self.inner = teacher, 0.0, HintonKD(2.0, 0.5)

    def __call__(self, model, batch):
        with torch.no_grad():
            live = self.teacher(batch["x"])
        self.max_gap = max(self.max_gap, float((live - batch["teacher_logits"]).abs().max()))
        return self.inner(model, batch)


def test_cached_teacher_outputs_stay_aligned_with_shuffled_batches():
    train = make_synthetic(300, dim=8, n_classes=4, seed=1)
    teacher = MLP([8, 32, 4]).eval()
    cached = cache_outputs(teacher, train)
    rec = _Recorder(teacher)
    fit(MLP([8, 8, 4]), cached, rec, TrainConfig(epochs=2, batch_size=50, progress=False))
    assert rec.max_gap < 1e-5


def test_regression_metric_and_objective_module_parameters_are_trained():
    x = torch.randn(200, 3)
    from kdcore.data import Split
    split = Split(x, x @ torch.tensor([1.0, -2.0, 0.5]))

    class WithScale(torch.nn.Module):  # an objective holding its own parameter
        def __init__(self):
            super().__init__()
            self.scale = torch.nn.Parameter(torch.tensor(0.1))

        def forward(self, model, batch):
            return MSE()(lambda x: model(x) * self.scale, batch)

    obj = WithScale()
    hist = fit(MLP([3, 1]), split, obj, TrainConfig(epochs=30, batch_size=50, lr=0.05, metric="mse",
                                                    progress=False), split)
    assert obj.scale.item() != pytest.approx(0.1)
    assert hist.metric == "mse" and hist.last < hist.test_metric[0]
    assert evaluate(MLP([3, 1]), split, "mse")["loss"] > 0


@pytest.mark.parametrize("field,value", [("epochs", 0), ("lr", -1.0), ("optimizer", "lbfgs"), ("metric", "f1"),
                                         ("schedule", "cosine"), ("gamma", 0.0)])
def test_bad_config_values_are_named(field, value):
    with pytest.raises(ValueError, match=field):
        TrainConfig(**{field: value})


def test_cache_features_stores_named_teacher_features_aligned_with_rows():
    from kdcore.training.loop import cache_features

    split = make_synthetic(40, dim=8, n_classes=4, seed=2)
    teacher = MLP([8, 6, 5, 4]).eval()
    cached = cache_features(teacher, split, ["fc1", "logits"], batch_size=16)
    with torch.no_grad():
        feats = teacher.features(split.inputs())
    assert torch.allclose(cached.extras["teacher/fc1"], feats["fc1"], atol=1e-6)
    assert cached.extras["teacher/logits"].shape == (40, 4)


def test_schedule_once_decays_a_single_time():
    """"once" = MultiStepLR([step_size]): one ×gamma after step_size epochs (the
    anti-distillation authors' teacher), unlike "step", which decays every step_size epochs."""
    from kdcore.training.loop import _scheduler

    lrs = {}
    for schedule in ("once", "step"):
        opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
        sched = _scheduler(opt, TrainConfig(schedule=schedule, step_size=2, gamma=0.1))
        seen = []
        for _ in range(6):
            seen.append(round(opt.param_groups[0]["lr"], 6))
            opt.step()
            sched.step()
        lrs[schedule] = seen
    assert lrs["once"] == [1.0, 1.0, 0.1, 0.1, 0.1, 0.1]
    assert lrs["step"] == [1.0, 1.0, 0.1, 0.1, 0.01, 0.01]
