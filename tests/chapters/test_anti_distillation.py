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
    from kdcore.growth import grow

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


def test_epochs_to_reach():
    from kdcore.chapters.anti_distillation.experiments import epochs_to_reach

    recs = [{"setting": "t: default init", "seed": 0, "metrics": {"accuracy": 0.6},
             "history": {"test_accuracy_from_0": [0.1, 0.4, 0.6]}},
            {"setting": "t: Net2Net", "seed": 0, "metrics": {"accuracy": 0.7},
             "history": {"test_accuracy_from_0": [0.5, 0.65, 0.7]}},
            {"setting": "t: zero pad", "seed": 0, "metrics": {"accuracy": 0.5},
             "history": {"test_accuracy_from_0": [0.5, 0.5, 0.5]}}]
    df = epochs_to_reach(recs, "t: default init")
    assert df["epochs to target"].tolist()[:2] == [2, 1] and df["epochs to target"].isna().tolist()[2]
