"""Is the cheap all-to-all VID objective as good as the full sum? A reduced run, 3 seeds.

The corrected all-to-all objective of the deep-nets chapter (Oleinik, Gorpinich & Bakhteev
2023; :class:`kdcore.losses.CrossLayerVID`) costs hundreds of student steps per step on a
CPU. :class:`kdcore.losses.cross_layer_sampled.SampledCrossLayerVID` cuts it with two
levers: every pair matched at the smaller resolution, and ``k`` of the pairs drawn per step
∝ λ with an unbiased reweighting. Before a chapter may use it, this study measures whether
either lever changes the result, on the deep-nets chapter's Table 1 layout (ConvTiny teacher
→ ConvVeryTiny student, 4 × 4 = 16 pairs: conv1-3 and fc1 on both sides), uniform λ, at a
reduced size that the exact objective fits on a CPU:

- ``exact``: :class:`~kdcore.losses.CrossLayerVID` (exact-size regressors, every pair);
- ``pooled``: every pair at the smaller resolution;
- ``pooled, k = K``: ``K`` pairs sampled per step;
- ``alone``: the student without a teacher (so a difference the seeds could detect is known).

``python -m kdcore.studies.sampled_vid [--profile smoke|paper]`` writes one record per
(variant, seed) under ``results/sampled_vid/`` (paper) and prints the accuracies.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass, field

import torch

from ..data import first_n, load_cifar10
from ..losses import CrossEntropy, CrossLayerVID, all_to_all_pairs
from ..losses.cross_layer_sampled import SampledCrossLayerVID
from ..models import ConvTiny, ConvVeryTiny
from ..models.regressors import feature_shapes
from ..results import RunStore
from ..training.loop import TrainConfig, cache_features, fit, seed_everything

__all__ = ["StudyConfig", "run", "VARIANTS"]

STUDY = "sampled_vid"
LAYERS = ["conv1", "conv2", "conv3", "fc1"]


@dataclass(frozen=True)
class StudyConfig:
    profile: str = "smoke"
    rows: int = 256                 # first CIFAR-10 training images (the deep-nets chapter: 10,112)
    test_rows: int = 10000          # images of the JPEG test copy (sorted by class: use all)
    teacher_epochs: int = 2
    epochs: int = 1
    beta: float = 0.3
    k: int = 4
    seeds: tuple = (0, 1)
    batch_size: int = 128
    variants: tuple = field(default=("alone", "exact", "pooled", "sampled"))

    @classmethod
    def paper(cls) -> "StudyConfig":
        return cls(profile="paper", rows=10112, teacher_epochs=30, epochs=30, seeds=(0, 1, 2))   # Table 1 sizes


VARIANTS = ("alone", "exact", "pooled", "sampled")


def _tc(cfg: StudyConfig, epochs: int, seed: int) -> TrainConfig:
    return TrainConfig(epochs=epochs, batch_size=cfg.batch_size, lr=1e-3, seed=seed, bf16=True,
                       channels_last=True, progress=False, shuffle=False)


def run(cfg: StudyConfig, store: RunStore | None = None) -> list[dict]:
    """Teacher (seed 0), then every variant for every seed; returns the student records."""
    store = store or RunStore(profile=cfg.profile)
    train, test = first_n(load_cifar10(True), cfg.rows), first_n(load_cifar10(False), cfg.test_rows)
    base = {"rows": cfg.rows, "test_rows": cfg.test_rows, "batch": cfg.batch_size}

    def build():
        seed_everything(0)
        return ConvTiny()

    def train_teacher(model):
        hist = fit(model, train, CrossEntropy(), _tc(cfg, cfg.teacher_epochs, 0), test=test)
        return {"metrics": {"accuracy": hist.last}, "history": hist.to_dict()}

    teacher = store.trained_model(STUDY, "teacher ConvTiny", 0, {**base, "epochs": cfg.teacher_epochs},
                                  cfg.profile, build, train_teacher)
    pairs = all_to_all_pairs(LAYERS, LAYERS)
    lam = [1 / len(pairs)] * len(pairs)
    t_shapes, s_shapes = feature_shapes(ConvTiny(), LAYERS), feature_shapes(ConvVeryTiny(), LAYERS)
    cached: list = []
    out = []
    for variant in cfg.variants:
        for seed in cfg.seeds:
            params = {**base, "variant": variant, "epochs": cfg.epochs, "beta": cfg.beta, "teacher": teacher.record["key"],
                      **({"k": cfg.k} if variant == "sampled" else {})}

            def go(variant=variant, seed=seed):
                if variant != "alone" and not cached:
                    cached.append(cache_features(teacher.model.eval(), train, LAYERS, bf16=True, dtype=torch.bfloat16))
                data = train if variant == "alone" else cached[0]
                objective = {"alone": lambda: CrossEntropy(),
                             "exact": lambda: CrossLayerVID(pairs, t_shapes, s_shapes, lam, cfg.beta),
                             "pooled": lambda: SampledCrossLayerVID(pairs, t_shapes, s_shapes, lam, cfg.beta, k=None),
                             "sampled": lambda: SampledCrossLayerVID(pairs, t_shapes, s_shapes, lam, cfg.beta,
                                                                     k=cfg.k, seed=seed)}[variant]()
                seed_everything(seed)
                t0 = time.perf_counter()
                hist = fit(ConvVeryTiny(), data, objective, _tc(cfg, cfg.epochs, seed), test=test)
                return {"metrics": {"accuracy": hist.last, "best_accuracy": max(hist.test_metric),
                                    "epoch_seconds": (time.perf_counter() - t0) / cfg.epochs},
                        "history": hist.to_dict()}

            out.append(store.run(STUDY, f"ConvVeryTiny <- ConvTiny: {variant}", seed, params, cfg.profile, go))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kdcore.studies.sampled_vid", description=__doc__.split("\n")[0])
    parser.add_argument("--profile", choices=("smoke", "paper"), default="smoke")
    parser.add_argument("--variants", nargs="+", choices=VARIANTS, default=list(VARIANTS))
    args = parser.parse_args(argv)
    base = StudyConfig.paper() if args.profile == "paper" else StudyConfig()
    cfg = StudyConfig(**{**base.__dict__, "variants": tuple(args.variants)})
    for r in run(cfg):
        print(f"{r['setting']:45s} seed {r['seed']}  accuracy {r['metrics']['accuracy']:.4f}  "
              f"{r['metrics']['epoch_seconds']:.1f} s/epoch")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
