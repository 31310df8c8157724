"""The dead-runs study (kdcore.studies.dead_runs): its scaled objective and its probe."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from kdcore.hyper.meta import HintonMeta
from kdcore.models import ConvVeryTiny
from kdcore.studies.dead_runs import ScaledMetaHintonKD, term_norms


class _Logits(torch.nn.Module):
    """A 'model' whose output is its parameter: the gradient of a loss is the gradient in the logits."""

    def __init__(self, z: torch.Tensor) -> None:
        super().__init__()
        self.z = torch.nn.Parameter(z.clone())

    def forward(self, x):
        return self.z


def _soft_grad(power: int, temp: float, lam: float = 0.3) -> tuple[torch.Tensor, torch.Tensor]:
    torch.manual_seed(0)
    z, v = torch.randn(8, 10, dtype=torch.float64), torch.randn(8, 10, dtype=torch.float64)
    model = _Logits(z)
    objective = ScaledMetaHintonKD(HintonMeta(lam, temp), power)
    soft = objective(model, {"x": None, "teacher_logits": v, "y": torch.zeros(8, dtype=torch.long)})["soft"]
    (grad,) = torch.autograd.grad(soft, model.z)
    expected = (1 - lam) * temp ** (power - 1) * (F.softmax(z / temp, -1) - F.softmax(v / temp, -1)) / 8
    return grad, expected


def test_the_soft_gradient_in_the_logits_scales_as_t_to_the_power_minus_one():
    for power in (0, 1, 2):
        for temp in (0.107, 1.0, 7.26):
            grad, expected = _soft_grad(power, temp)
            assert torch.allclose(grad.double(), expected, rtol=1e-4, atol=1e-7), (power, temp)


def test_power_zero_is_the_chapters_objective():
    from kdcore.losses.meta_hinton import MetaHintonKD

    torch.manual_seed(1)
    batch = {"x": None, "teacher_logits": torch.randn(4, 10), "y": torch.randint(0, 10, (4,))}
    model = _Logits(torch.randn(4, 10))
    meta = HintonMeta(0.4, 0.2)
    ours, theirs = ScaledMetaHintonKD(meta, 0)(model, batch), MetaHintonKD(meta)(model, batch)
    assert all(torch.equal(ours[k], theirs[k]) for k in ("hard", "soft"))


def test_the_probe_leaves_batchnorm_statistics_and_gradients_as_they_were():
    torch.manual_seed(0)
    model = ConvVeryTiny(in_channels=1)
    model.train()
    x = torch.randn(16, 1, 32, 32)       # the chapter pads Fashion-MNIST to 32 x 32
    batch = {"x": x, "teacher_logits": torch.randn(16, 10), "y": torch.randint(0, 10, (16,))}
    before = {k: v.clone() for k, v in model.state_dict().items()}
    out = term_norms(model, ScaledMetaHintonKD(HintonMeta(0.5, 0.107), 0), batch)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert all(p.grad is None for p in model.parameters())
    assert out["soft"] > 0 and out["hard"] > 0 and out["logit_spread"] > 0


def test_tuned_runs_scale_the_soft_term_and_record_the_upper_level(tmp_path):
    from kdcore.results import RunStore
    from kdcore.studies import dead_runs_tuned

    store = RunStore(tmp_path, profile="smoke")
    (rec,) = dead_runs_tuned.run("smoke", store, methods=("gradient",))
    assert rec["params"]["power"] == 1 and rec["params"]["method"] == "gradient" and rec["setting"] == "gradient, T^1"
    assert 0 <= rec["metrics"]["accuracy"] <= 1 and rec["metrics"]["final_temperature"] > 0
    assert rec["extra"]["trajectory"][0]["temperature"] == pytest.approx(rec["params"]["temperature"], rel=1e-5)
    # read back, not retrained
    assert dead_runs_tuned.run("smoke", store, methods=("gradient",))[0]["created"] == rec["created"]
