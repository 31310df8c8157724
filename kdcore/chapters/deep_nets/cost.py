"""What the teacher's outputs cost a student run, relative to training the student alone.

Three ways to give a student its teacher's outputs on non-augmented data:

- *cached logits*: one teacher pass over the training set, ``(N, 10)`` floats kept beside
  the images (always affordable);
- *cached feature maps*: the same for every distilled layer, in bf16 on the device, when
  they fit (ResNet10's nine layers take ~0.6 MB per image, ~6 GB for 10,112 images);
- *teacher forward per batch*: the frozen teacher runs under ``torch.no_grad`` and bf16
  autocast on every batch (no memory, one teacher forward per step).

:func:`feature_cost` times a few epochs of ConvTiny in each mode (the minimum epoch after
a warm-up epoch) on the run's device and stores the ratios to the student-only epoch as a
run record, with the one-off caching times and the cache sizes.
"""

from __future__ import annotations

import time

import torch

from ...losses import CrossEntropy, CrossLayerVID, HintonKD, all_to_all_pairs
from ...models.regressors import feature_shapes
from ...training.loop import cache_features, fit, predict, resolve_device, seed_everything
from .runners import CHAPTER, CONV_LAYERS, RESNET10_LAYERS, Lab, build, train_config

__all__ = ["feature_cost", "COST_MODES"]

COST_MODES = {
    "hinton_cached": "Hinton, cached ResNet18 logits",
    "hinton_forward": "Hinton, ResNet18 forward per batch",
    "a2a_cached": "all-to-all VID (36 pairs), cached ResNet10 features",
    "a2a_forward": "all-to-all VID (36 pairs), ResNet10 forward per batch",
    "a2a_faithful_cached": "all-to-all VID as coded (last pair only), cached features",
}


def _device_name(device: torch.device) -> str:
    return torch.cuda.get_device_name(device) if device.type == "cuda" else f"cpu ({torch.get_num_threads()} threads)"


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def feature_cost(lab: Lab, rows: int = 0) -> dict:
    """Time ConvTiny epochs in each mode of :data:`COST_MODES` against student-only.

    Args:
        rows: first rows of the training split timed (0 = all ``n_train``).
    """
    cfg = lab.cfg
    device = resolve_device(cfg.device)
    n = rows or cfg.n_train
    pairs = all_to_all_pairs(RESNET10_LAYERS, CONV_LAYERS)
    # No device in the key: a notebook re-executed elsewhere reads the record (which names
    # the device it was timed on) instead of timing again.
    params = {"rows": n, "epochs": cfg.cost_epochs, "student": "conv_tiny", "bf16": cfg.bf16,
              "batch_size": cfg.batch_size, "teachers": [lab.teacher_key("resnet18"), lab.teacher_key("resnet10")]}

    def run() -> dict:
        split = lab.train_split("full").subset(torch.arange(n))
        r18, r10 = lab.teacher_model("resnet18"), lab.teacher_model("resnet10")
        t_shapes = feature_shapes(r10, RESNET10_LAYERS)
        s_shapes = feature_shapes(build("conv_tiny", cfg), CONV_LAYERS)
        lam = [1.0 / len(pairs)] * len(pairs)
        once: dict[str, float] = {}

        def timed(fn):
            _sync(device)
            t0 = time.perf_counter()
            out = fn()
            _sync(device)
            return out, time.perf_counter() - t0

        logits, once["cache_logits_s"] = timed(lambda: predict(r18, split, bf16=cfg.bf16))
        with_logits = split.with_extra("teacher_logits", logits)
        with_feats, once["cache_features_s"] = timed(lambda: cache_features(
            r10, split, RESNET10_LAYERS, bf16=cfg.bf16, dtype=torch.bfloat16, on_device=True))

        def a2a(faithful: bool, teacher=None) -> CrossLayerVID:
            return CrossLayerVID(pairs, t_shapes, s_shapes, lam, 0.3, faithful=faithful, last_pair_scale=0.25,
                                 teacher=teacher, teacher_bf16=cfg.bf16)

        setups = {"student_only": (split, CrossEntropy),
                  "hinton_cached": (with_logits, lambda: HintonKD(3.0, 0.5)),
                  "hinton_forward": (split, lambda: HintonKD(3.0, 0.5, teacher=r18)),
                  "a2a_cached": (with_feats, lambda: a2a(False)),
                  "a2a_forward": (split, lambda: a2a(False, r10)),
                  "a2a_faithful_cached": (with_feats, lambda: a2a(True))}
        seconds = {}
        for name, (data, make) in setups.items():
            seed_everything(0)
            model, objective = build("conv_tiny", cfg), make()
            hist = fit(model, data, objective, train_config(cfg, cfg.cost_epochs + 1, 0), desc=f"cost: {name}")
            seconds[name] = min(hist.epoch_seconds[1:])        # the first epoch warms up
        base = seconds["student_only"]
        gb = lab.feature_gb("resnet10", RESNET10_LAYERS)
        return {"metrics": {f"ratio_{k}": v / base for k, v in seconds.items() if k != "student_only"},
                "extra": {"epoch_seconds": seconds, **once, "cache_gb_full_train": gb,
                          "bytes_per_image": gb * 1e9 / cfg.n_train, "device": _device_name(device)}}

    return lab.store.run(CHAPTER, "cost of teacher outputs (ConvTiny student)", 0, params, cfg.profile, run)
