"""What the anti-distillation chapter measures on a trained student, besides its accuracy.

- :func:`robustness`: the paper's two robustness curves (FGSM on the inputs, Gaussian noise
  on the parameters; Petrushina et al. 2022, section 4) over the config's ε lists, and the
  numbers that keep them from being read as clean accuracy in disguise: the FGSM accuracy
  among the inputs classified correctly without attack, the number of classes the model
  never predicts (with the authors' ReLU on the logits a class can die), the weight norm;
- :class:`EpochProbe`: the same measures after an intermediate epoch (the authors trained
  six Table 1 rows 30 epochs and two rows 10, so every row is also measured after 10);
- :func:`untouched_new_units` and :func:`duplicate_units`: whether a grown network really
  uses its extra width (zero pad leaves new ReLU units dead; Net2Net without noise leaves
  replicas identical to their source unit for ever).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from ...data import Split
from ...models import MLP
from ...training.robustness import fgsm_report, never_predicted, param_noise_accuracy, weight_norm

__all__ = ["robustness", "EpochProbe", "untouched_new_units", "duplicate_units", "nearest"]


def nearest(xs: Sequence[float], ys: Sequence[float], x: float) -> float:
    """``ys[i]`` for the ``xs[i]`` closest to ``x`` (the headline value of a curve)."""
    return ys[min(range(len(xs)), key=lambda i: abs(xs[i] - x))]


def robustness(model: nn.Module, test: Split, fgsm_eps: Sequence[float], noise_eps: Sequence[float],
               fgsm_headline: float, noise_headline: float, seed: int, batch_size: int = 256,
               n_classes: int = 10) -> dict:
    """Curves over ``fgsm_eps`` / ``noise_eps`` and the headline metrics of one model.

    Returns ``{"fgsm", "fgsm_kept", "param_noise": [per ε], "headline": {name: float}}``;
    the headline holds the FGSM accuracy (all inputs and among the clean-correct ones) at
    ``fgsm_headline``, the parameter-noise accuracy at ``noise_headline``, the number of
    classes never predicted on ``test`` and the weight norm.
    """
    fg = fgsm_report(model, test, fgsm_eps, batch_size)
    pn = param_noise_accuracy(model, test, noise_eps, batch_size, seed=seed)
    return {"fgsm": fg["accuracy"], "fgsm_kept": fg["kept"], "param_noise": pn,
            "headline": {f"FGSM ε={fgsm_headline:g}": nearest(fgsm_eps, fg["accuracy"], fgsm_headline),
                         f"FGSM ε={fgsm_headline:g} among correct": nearest(fgsm_eps, fg["kept"], fgsm_headline),
                         f"param noise ε={noise_headline:g}": nearest(noise_eps, pn, noise_headline),
                         "classes never predicted": never_predicted(model, test, n_classes),
                         "weight norm": weight_norm(model)}}


class EpochProbe:
    """``fit`` callback: the accuracy and :func:`robustness` headline after epoch ``at``.

    ``offset`` shifts the epoch numbers of a second ``fit`` call (transfer: frozen body
    first). Measuring reads the model only (FGSM takes input gradients, parameter noise
    uses its own generator), so the training run is the same with or without the probe.
    """

    def __init__(self, at: int, measure, offset: int = 0) -> None:
        self.at, self.measure, self.offset = at, measure, offset
        self.result: dict | None = None

    def on_epoch_end(self, epoch: int, model: nn.Module, history) -> None:
        if epoch + self.offset == self.at:
            self.result = {"accuracy": history.test_metric[-1], **self.measure(model)}


@torch.no_grad()
def untouched_new_units(student: MLP, teacher_hidden: list) -> list[float]:
    """Per hidden layer, the fraction of the student's *new* units (beyond the teacher's
    width) whose incoming weights and bias are still exactly zero. After zero pad with
    ReLU such a unit has pre-activation 0, ReLU'(0) = 0 and output 0, so it never gets a
    gradient: the grown network keeps training as the teacher-sized one."""
    out = []
    for layer, n_t in zip(student.layers[:-1], teacher_hidden):
        w = torch.cat([layer.weight[n_t:], layer.bias[n_t:, None]], 1)
        out.append(float((w == 0).all(1).float().mean()) if len(w) else float("nan"))
    return out


@torch.no_grad()
def duplicate_units(student: MLP) -> list[float]:
    """Per hidden layer, the fraction of units whose incoming weights and bias equal those
    of another unit of the layer *exactly*. Net2Net without noise starts with every replica
    equal to its source unit; since replicas then get the same gradient (same activation,
    equal outgoing weights), the fraction stays at its start value under any training."""
    out = []
    for layer in student.layers[:-1]:
        w = torch.cat([layer.weight, layer.bias[:, None]], 1)
        _, inverse, counts = torch.unique(w, dim=0, return_inverse=True, return_counts=True)
        out.append(float((counts[inverse] > 1).float().mean()))
    return out
