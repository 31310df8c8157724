"""The all-pairs weighting from a heterogeneous teacher: ResNet18 → ConvVeryTiny, β where the feature term is felt.

The study :mod:`kdcore.studies.all_pairs_weighting` asks whether chapter 4's weights λ_ij can
matter, with a ConvTiny teacher (the same architecture family as the student). Chapter 4's
point is *heterogeneous* models: this study runs the same design from a ResNet18 teacher
(its stem and the last block of each stage: 5 teacher layers × 4 student layers = 20 pairs;
the four i↔i pairs are the last four teacher layers with the student's four, as chapter 4
pairs them), on the same 12,800 training images, 1,280 validation images and test set:

1. the ratio ``r`` of the two gradients at initialisation (uniform λ, pooled regressors);
2. ρ = β r / (1 - β) chosen on validation from ``ratios`` (uniform λ, ``grid_seeds``);
3. at the chosen ρ: none, uniform, pairwise and tuned λ over ``seeds`` (the tuned runs keep
   their λ trajectory for the 5 × 4 heatmaps).

The teacher is trained here once (chapter 4's recipe: Adam 1e-3, batch 128, bf16 autocast,
15 epochs) and its weights committed with its record. Everything else (the objective
:class:`~kdcore.studies.all_pairs_weighting.PooledAllPairs`, the student's SGD at lr 1.0
halved every 10 epochs, 25 epochs, the hypergradient settings) is the ConvTiny study's.

``python -m kdcore.studies.all_pairs_resnet18 [--profile smoke|paper] [--phase probe|grid|main]``
"""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from ..data import load_cifar10, random_split
from ..hyper import HyperConfig, HyperStep, SimplexWeights
from ..losses import CrossEntropy
from ..models import ConvVeryTiny, build_model
from ..models.regressors import feature_shapes
from ..results import RunStore
from ..results.model_store import ModelStore
from ..training.loop import TrainConfig, cache_features, evaluate, fit, seed_everything
from .all_pairs_weighting import (HEATMAP_POINTS, LAYERS as STUDENT_LAYERS, METHODS, PooledAllPairs, _Probe, attempt,
                                  beta_for_ratio, chosen_ratio, gradient_norms)

__all__ = ["StudyConfig", "TEACHER_LAYERS", "pairs_for", "run"]

STUDY = "all_pairs_resnet18"
TEACHER_LAYERS = ["stem", "b2_out", "b4_out", "b6_out", "b8_out"]   # chapter 4's ResNet18 layers


@dataclass(frozen=True)
class StudyConfig:
    profile: str = "smoke"
    rows: int = 512
    val_rows: int = 256
    test_rows: int = 10000
    teacher_epochs: int = 1
    epochs: int = 2
    step_size: int = 10
    lr: float = 1.0
    hyper_lr: float = 0.01
    ratios: tuple = (0.3, 1.0, 3.0)
    grid_seeds: tuple = (0,)
    seeds: tuple = (0,)
    probe_seeds: tuple = (0,)
    probe_rows: int = 64
    batch_size: int = 128

    @classmethod
    def paper(cls) -> "StudyConfig":
        return cls(profile="paper", rows=12800, val_rows=1280, teacher_epochs=15, epochs=25,
                   ratios=(0.1, 0.3, 1.0, 3.0, 10.0), grid_seeds=(0, 1), seeds=(0, 1, 2, 3, 4),
                   probe_seeds=(0, 1, 2), probe_rows=512)


def pairs_for(method: str) -> tuple[list[tuple[str, str]], tuple[int, ...]]:
    """``(pairs, λ shape)``: all 20 (teacher, student) pairs as a 5 × 4 grid, or the 4 i↔i pairs."""
    if method == "pairwise":
        return list(zip(TEACHER_LAYERS[-len(STUDENT_LAYERS):], STUDENT_LAYERS)), (len(STUDENT_LAYERS),)
    return [(t, s) for t in TEACHER_LAYERS for s in STUDENT_LAYERS], (len(TEACHER_LAYERS), len(STUDENT_LAYERS))


class _Data:
    """The ConvTiny study's splits (same seeds, same rows), a ResNet18 teacher and its maps."""

    def __init__(self, cfg: StudyConfig, store: RunStore) -> None:
        full = load_cifar10(True)
        self.plain, rest = random_split(full, [cfg.rows, len(full) - cfg.rows], seed=0)
        self.val = random_split(rest, [cfg.val_rows, len(rest) - cfg.val_rows], seed=1)[0]
        test_full = load_cifar10(False)
        self.test = test_full if cfg.test_rows >= len(test_full) else random_split(
            test_full, [cfg.test_rows, len(test_full) - cfg.test_rows], seed=0)[0]

        def build() -> nn.Module:
            seed_everything(0)
            return build_model("resnet18")

        params = {"rows": cfg.rows, "test_rows": cfg.test_rows, "epochs": cfg.teacher_epochs, "batch": 128,
                  "lr": 1e-3, "bf16": True}

        def fit_teacher(model: nn.Module) -> dict:     # chapter 4's teacher recipe
            tc = TrainConfig(epochs=cfg.teacher_epochs, batch_size=128, lr=1e-3, seed=0, bf16=True,
                             channels_last=True, progress=False)
            # ~45 CPU-minutes: resumable per epoch (``<results>/all_pairs_resnet18/teacher/*.partial.pt``,
            # committed while unfinished), so a session that ends mid-way loses at most an epoch.
            stored = ModelStore(Path(store.root) / STUDY / "teacher").get(
                {"study": STUDY, "profile": cfg.profile, **params}, build,
                lambda m, resume, on_checkpoint: fit(m, self.plain, CrossEntropy(), tc, test=self.test,
                                                     resume=resume, on_checkpoint=on_checkpoint),
                name="resnet18")
            model.load_state_dict(stored.model.state_dict())
            stored.path.unlink(missing_ok=True)   # the record's safetensors keep the weights
            hist = stored.history
            return {"metrics": {"accuracy": hist.last}, "history": hist.to_dict()}

        self.teacher = store.trained_model(STUDY, "teacher ResNet18", 0, params, cfg.profile, build, fit_teacher)
        self._cached = None
        self.t_shapes = feature_shapes(build_model("resnet18"), TEACHER_LAYERS)
        self.s_shapes = feature_shapes(ConvVeryTiny(), STUDENT_LAYERS)

    @property
    def train(self):
        if self._cached is None:   # 5 maps per image, bf16: ~0.4 MB an image
            self._cached = cache_features(self.teacher.model.eval(), self.plain, TEACHER_LAYERS, bf16=True,
                                          dtype=torch.bfloat16)
        return self._cached

    def probe_batch(self, n: int) -> dict:
        idx = torch.arange(min(n, len(self.train)))
        return {"x": self.train.inputs()[idx], "y": self.train.y[idx],
                **{k: v[idx] for k, v in self.train.extras.items()}}

    def objective(self, method: str, beta: float) -> tuple[PooledAllPairs, SimplexWeights]:
        pairs, shape = pairs_for(method)
        meta = SimplexWeights(shape)
        return PooledAllPairs(pairs, self.t_shapes, self.s_shapes, meta, beta), meta


def probe(cfg: StudyConfig, store: RunStore, data: _Data) -> dict:
    params = {"rows": cfg.rows, "probe_rows": cfg.probe_rows, "teacher": data.teacher.record["key"],
              "seeds": list(cfg.probe_seeds), "regressor": "pooled"}

    def go() -> dict:
        batch = data.probe_batch(cfg.probe_rows)
        rows = []
        for seed in cfg.probe_seeds:
            seed_everything(seed)
            model = ConvVeryTiny()
            objective, _ = data.objective("uniform", 0.5)
            rows.append({"seed": seed, **gradient_norms(model, objective, batch)})
        ratios = [r["vid"] / r["ce"] for r in rows]
        return {"metrics": {"vid_to_ce_at_init": float(torch.tensor(ratios).median()),
                            "vid_to_ce_min": min(ratios), "vid_to_ce_max": max(ratios)},
                "extra": {"per_seed": rows}}

    return store.run(STUDY, "gradient ratio at initialisation", 0, params, cfg.profile, go)


def setting(method: str, ratio: float) -> str:
    if method == "none":
        return "ConvVeryTiny <- ResNet18: none"
    return f"ConvVeryTiny <- ResNet18: {method}, VID at {ratio:g}x CE"


def student_run(cfg: StudyConfig, store: RunStore, data: _Data, method: str, ratio: float, r: float,
                seed: int) -> dict:
    beta = beta_for_ratio(ratio, r)
    hcfg = HyperConfig(lr=cfg.hyper_lr, optimizer="adam", method="finite_difference", val_batch_size=cfg.batch_size,
                       seed=seed, record_every=10)
    params = {"rows": cfg.rows, "val_rows": cfg.val_rows, "test_rows": cfg.test_rows, "epochs": cfg.epochs,
              "lr": cfg.lr, "step_size": cfg.step_size, "batch": cfg.batch_size, "method": method,
              "teacher": data.teacher.record["key"], "regressor": "pooled",
              **({} if method == "none" else {"ratio": ratio, "r": r, "beta": beta}),
              **({"hyper": hcfg.__dict__} if method == "tuned" else {})}

    def go() -> dict:
        seed_everything(seed)
        model = ConvVeryTiny()
        callbacks, cb, probe_cb = [], None, None
        if method == "none":
            objective, split = CrossEntropy(), data.plain
        else:
            objective, meta = data.objective(method, beta)
            split = data.train
            probe_cb = _Probe(objective, data.probe_batch(cfg.probe_rows))
            probe_cb.on_epoch_end(0, model, None)
            callbacks.append(probe_cb)
            if method == "tuned":
                cb = HyperStep(meta, objective, CrossEntropy(), data.val, hcfg)
                callbacks.append(cb)
        tc = TrainConfig(epochs=cfg.epochs, batch_size=cfg.batch_size, lr=cfg.lr, optimizer="sgd", schedule="step",
                         step_size=cfg.step_size, gamma=0.5, seed=seed, progress=False)
        hist = fit(model, split, objective, tc, test=data.test, callbacks=callbacks)
        metrics = {"accuracy": hist.last, "best_accuracy": max(hist.test_metric),
                   "val_accuracy": evaluate(model, data.val)["accuracy"],
                   "diverged": float(not all(math.isfinite(v) for v in hist.train_loss))}
        history, extra = hist.to_dict(), {}
        if probe_cb is not None:
            history["grad_norm_ce"] = [p["ce"] for p in probe_cb.rows]
            history["grad_norm_vid"] = [p["vid"] for p in probe_cb.rows]
            first, last = probe_cb.rows[0], probe_cb.rows[-1]
            metrics["weighted_ratio_at_init"] = beta * first["vid"] / ((1 - beta) * first["ce"])
            metrics["weighted_ratio_last"] = beta * last["vid"] / ((1 - beta) * last["ce"])
        if cb is not None:
            traj = cb.trajectory
            extra = {"trajectory": traj[::max(1, math.ceil(len(traj) / HEATMAP_POINTS))] + [traj[-1]],
                     "teacher_layers": TEACHER_LAYERS, "student_layers": STUDENT_LAYERS,
                     "hyper_steps": cb.hyper_steps}
        return {"metrics": metrics, "history": history, "extra": extra}

    return store.run(STUDY, setting(method, ratio), seed, params, cfg.profile, go)


def run(cfg: StudyConfig, store: RunStore | None = None, phases: tuple = ("probe", "grid", "main"),
        methods: tuple = METHODS) -> list[dict]:
    """Probe, grid, main phase, each reading what the earlier ones recorded."""
    store = store or RunStore(profile=cfg.profile)
    data = _Data(cfg, store)
    out = [probe(cfg, store, data)]
    r = out[0]["metrics"]["vid_to_ce_at_init"]
    if "grid" not in phases and "main" not in phases:
        return out
    grid = [attempt(student_run, cfg, store, data, "uniform", rho, r, s) for rho in cfg.ratios for s in cfg.grid_seeds]
    out += grid
    if "main" in phases:
        rho = chosen_ratio(grid)
        out += [attempt(student_run, cfg, store, data, m, rho, r, s) for s in cfg.seeds for m in methods]
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kdcore.studies.all_pairs_resnet18",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--profile", choices=("smoke", "paper"), default="smoke")
    parser.add_argument("--phase", choices=("probe", "grid", "main"), default="main")
    parser.add_argument("--methods", nargs="+", choices=METHODS, default=list(METHODS))
    args = parser.parse_args(argv)
    cfg = StudyConfig.paper() if args.profile == "paper" else StudyConfig()
    phases = ("probe", "grid", "main")[:("probe", "grid", "main").index(args.phase) + 1]
    for rec in run(cfg, phases=phases, methods=tuple(args.methods)):
        if "failed" in rec:
            print(f"failed: {rec['args']}: {rec['failed'][:120]}", flush=True)
        elif "accuracy" in rec["metrics"]:
            m = rec["metrics"]
            print(f"{rec['setting']:52s} seed {rec['seed']}  test {m['accuracy']:.4f}  val {m['val_accuracy']:.4f}",
                  flush=True)
        else:
            print(f"{rec['setting']}: r = {rec['metrics']['vid_to_ce_at_init']:.3g}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
