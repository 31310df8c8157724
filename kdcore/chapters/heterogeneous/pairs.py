"""The heterogeneous-distillation draft's experiments, and the all-pairs version it left undone.

Gorpinich, Bakhteev & Strijov, "Knowledge distillation on heterogeneous models" (draft;
code: HeteroLayerDistillation). All on CIFAR-10 reduced (11,520 / 1,280), student
ConvVeryTiny, VID terms with one learned scalar variance (:class:`kdcore.losses.VIDTerm`):

- :func:`sweep_run`: fixed ``lambda`` in ``(1 - lambda) CE + lambda VID(fc1)``, ResNet18
  teacher, Adam 1e-3 (the authors' sweep);
- :func:`single_pair_run`: the same loss with ``lambda`` tuned by the one-step
  hypergradient (finite differences, Adam 1e-3 on lambda, clipping 1e-2, lambda clamped to
  [0, 1], start 1e-4; student SGD lr 1.0 halved every 10 epochs), ConvTiny teacher;
- :func:`cross_run`: ``(1 - beta) CE + beta sum_ij lambda_ij VID(t_i, s_j)`` over all
  teacher x student layer pairs, ``lambda`` on the simplex, against fixed uniform or random
  ``lambda``, i<->i pairs only, Hinton's loss and no teacher (same student optimiser as the
  bi-level run; ``beta = cross_beta``).
"""

from __future__ import annotations

import math

import torch

from ...hyper import ClampedScalar, HyperConfig, HyperStep, SimplexWeights
from ...losses import CrossEntropy, CrossLayerVID, HintonKD, MetaCrossLayer, neg_log_weights
from ...models import build_model
from ...models.regressors import feature_shapes
from ...results import RunStore
from ...training.loop import TrainConfig, cache_features, cache_outputs, fit, resolve_device, seed_everything
from .runners import CHAPTER, HeterogeneousConfig, data, teacher

__all__ = ["LAYERS", "STUDENT_LAYERS", "layer_pairs", "sweep_run", "sweep_setting", "single_pair_run", "single_setting", "SINGLE_DIRECTIONS", "cross_run",
           "cross_setting"]

DATASET = "cifar10_reduced"
STUDENT_LAYERS = ["conv1", "conv2", "conv3", "fc1"]
# Teacher layers: ConvTiny's own four; for the ResNets the stem and the last block of each stage.
LAYERS = {"conv_tiny": ["conv1", "conv2", "conv3", "fc1"],
          "resnet18": ["stem", "b2_out", "b4_out", "b6_out", "b8_out"],
          "resnet10": ["stem", "b1_out", "b2_out", "b3_out", "b4_out"]}
# The single-pair experiments distil "fc1": a ResNet has none, its last block output stands in.
LAST = {"conv_tiny": "fc1", "resnet18": "b8_out", "resnet10": "b4_out"}
HEATMAP_POINTS = 40


def layer_pairs(teacher_name: str, kind: str) -> list[tuple[str, str]]:
    """``"all"``: every (teacher, student) pair; ``"pairwise"``: the i<->i pairs (a ResNet's
    stem left out so the counts match)."""
    t = LAYERS[teacher_name]
    if kind == "all":
        return [(a, b) for a in t for b in STUDENT_LAYERS]
    return list(zip(t[-len(STUDENT_LAYERS):], STUDENT_LAYERS))


def _base_params(cfg: HeterogeneousConfig) -> dict:
    return {"n_rows": cfg.n_rows[DATASET], "test_rows": cfg.test_rows, "epochs": cfg.cross_epochs,
            "teacher_epochs": cfg.teacher_epochs, "batch_size": cfg.batch_size}


def _sgd(cfg: HeterogeneousConfig, seed: int) -> TrainConfig:
    return TrainConfig(epochs=cfg.cross_epochs, batch_size=cfg.batch_size, lr=1.0, optimizer="sgd", schedule="step",
                       step_size=10, gamma=0.5, seed=seed, device=cfg.device, progress=False)


def _train_split(cfg: HeterogeneousConfig, store: RunStore, teacher_name: str, layers: list[str]):
    """Training rows with the teacher's logits and the named features cached once (bf16 and
    on the device when it is a GPU: a ResNet stem map is 64x32x32 per image)."""
    d = data(cfg, DATASET)
    t = teacher(cfg, store, DATASET, teacher_name).model
    device = resolve_device(cfg.device)
    t.to(device)
    gpu = device.type == "cuda"
    kw = {"dtype": torch.bfloat16, "on_device": True} if gpu else {}
    split = cache_outputs(t, d.train, bf16=cfg.teacher_bf16)
    if layers:
        split = cache_features(t, split, layers, bf16=cfg.teacher_bf16, **kw)
    return split, t


def _student_shapes() -> dict:
    return feature_shapes(build_model("conv_very_tiny"), STUDENT_LAYERS)


def _finish(model, hist, extra: dict | None = None) -> dict:
    return {"metrics": {"accuracy": hist.last, "best_accuracy": hist.best,
                        "epoch_seconds": sum(hist.epoch_seconds) / len(hist.epoch_seconds)},
            "history": hist.to_dict(), "extra": extra or {}}


NAMES = {"conv_tiny": "ConvTiny", "resnet18": "ResNet18", "resnet10": "ResNet10"}


def sweep_setting(teacher_name: str, lam: float) -> str:
    return f"sweep {NAMES[teacher_name]} -> ConvVeryTiny: lambda={lam:g}"


def sweep_run(cfg: HeterogeneousConfig, store: RunStore, lam: float, seed: int = 0) -> dict:
    """One point of the authors' fixed-lambda sweep, ``cfg.teacher`` (authors: ResNet18) ->
    ConvVeryTiny, Adam 1e-3; ``lam = 0`` is the student alone."""
    t_name = cfg.teacher
    params = {**_base_params(cfg), "teacher": t_name, "lambda": lam, "pair": [LAST[t_name], "fc1"], "lr": 1e-3}

    def run() -> dict:
        split, t = _train_split(cfg, store, t_name, [LAST[t_name]])
        d = data(cfg, DATASET)
        seed_everything(seed)
        model = build_model("conv_very_tiny")
        if lam == 0:
            objective = CrossEntropy()
        else:
            objective = CrossLayerVID([(LAST[t_name], "fc1")], feature_shapes(t, [LAST[t_name]]), _student_shapes(),
                                      [1.0], beta=lam)
        tcfg = TrainConfig(epochs=cfg.cross_epochs, batch_size=cfg.batch_size, lr=1e-3, seed=seed, device=cfg.device,
                           progress=False)
        return _finish(model, fit(model, split, objective, tcfg, d.test, desc=f"sweep {lam:g}"))

    return store.run(CHAPTER, sweep_setting(t_name, lam), seed, params, cfg.profile, run)


SINGLE_DIRECTIONS = {"student_to_teacher": "mu student->teacher", "teacher_to_student": "mu teacher->student"}


def single_setting(direction: str) -> str:
    """Run-record setting of the single-pair run (the names of :mod:`.paper`)."""
    return f"single pair bi-level, ConvTiny -> ConvVeryTiny ({SINGLE_DIRECTIONS[direction]})"


def single_pair_run(cfg: HeterogeneousConfig, store: RunStore, seed: int = 0,
                    direction: str = "student_to_teacher") -> dict:
    """The draft's bi-level run: one lambda on VID(fc1), tuned by the hypergradient.

    ``direction`` is which side the regressor μ reads (the authors logged both: 0.5773 with
    μ teacher→student, 0.5899 with μ student→teacher; see
    :class:`kdcore.losses.CrossLayerVID`)."""
    t_name = "conv_tiny"
    hcfg = HyperConfig(lr=1e-3, optimizer="adam", clip=1e-2, method="finite_difference",
                       val_batch_size=cfg.batch_size, seed=seed, record_every=10)
    params = {**_base_params(cfg), "teacher": t_name, "start": 1e-4, "hyper": hcfg.__dict__}
    if direction != "student_to_teacher":      # the first runs' keys stay as they were
        params["direction"] = direction

    def run() -> dict:
        split, t = _train_split(cfg, store, t_name, ["fc1"])
        d = data(cfg, DATASET)
        seed_everything(seed)
        model = build_model("conv_very_tiny")
        meta = ClampedScalar(1e-4, 0.0, 1.0, name="beta")
        base = CrossLayerVID([("fc1", "fc1")], feature_shapes(t, ["fc1"]), _student_shapes(), [1.0], beta=0.5,
                             direction=direction)
        objective = MetaCrossLayer(base, meta)
        cb = HyperStep(meta, objective, CrossEntropy(), d.val, hcfg)
        hist = fit(model, split, objective, _sgd(cfg, seed), d.test, callbacks=[cb], desc="single pair")
        out = _finish(model, hist, {"trajectory": cb.trajectory[::max(1, len(cb.trajectory) // 200)]})
        out["metrics"]["final_lambda"] = meta.snapshot()["beta"]
        return out

    return store.run(CHAPTER, single_setting(direction), seed, params, cfg.profile, run)


def cross_setting(teacher_name: str, method: str) -> str:
    """Run-record setting of an all-pairs run (the same names as :mod:`.paper`'s claims)."""
    return f"all pairs {NAMES[teacher_name]} -> ConvVeryTiny: {method}"


def cross_run(cfg: HeterogeneousConfig, store: RunStore, teacher_name: str, method: str, seed: int) -> dict:
    """One run of the all-pairs comparison (see the module doc for the methods)."""
    kind = "pairwise" if method == "pairwise" else "all"
    pairs = layer_pairs(teacher_name, kind)
    hcfg = HyperConfig(lr=cfg.hyper_lr, optimizer=cfg.hyper_optimizer, clip=cfg.hyper_clip, method=cfg.hyper_method,
                       val_batch_size=cfg.batch_size, seed=seed, record_every=10)
    params = {**_base_params(cfg), "teacher": teacher_name, "method": method, "beta": cfg.cross_beta,
              "pairs": pairs if method not in ("none", "hinton") else None,
              "hyper": hcfg.__dict__ if method == "tuned" else None}

    def run() -> dict:
        d = data(cfg, DATASET)
        layers = sorted({t for t, _ in pairs}) if method not in ("none", "hinton") else []
        split, t = _train_split(cfg, store, teacher_name, layers) if method != "none" else (d.train, None)
        seed_everything(seed)
        model = build_model("conv_very_tiny")
        callbacks, cb = [], None
        n_t = len(LAYERS[teacher_name])
        if method == "none":
            objective = CrossEntropy()
        elif method == "hinton":
            objective = HintonKD(4.0, 0.9)
        else:
            if method == "random":
                lam = neg_log_weights(torch.rand(len(pairs), generator=torch.Generator().manual_seed(seed)))
            else:
                lam = torch.full((len(pairs),), 1.0 / len(pairs))
            base = CrossLayerVID(pairs, feature_shapes(t, layers), _student_shapes(), lam, beta=cfg.cross_beta)
            shape = (n_t, len(STUDENT_LAYERS)) if kind == "all" else (len(pairs),)
            meta = SimplexWeights(shape, lam.view(shape))
            objective = MetaCrossLayer(base, meta)
            if method == "tuned":
                cb = HyperStep(meta, objective, CrossEntropy(), d.val, hcfg)
                callbacks = [cb]
        hist = fit(model, split, objective, _sgd(cfg, seed), d.test, callbacks=callbacks, desc=cross_setting(teacher_name, method))
        extra = {}
        if cb is not None:
            traj = cb.trajectory
            extra = {"trajectory": traj[::max(1, math.ceil(len(traj) / HEATMAP_POINTS))] + [traj[-1]],
                     "teacher_layers": LAYERS[teacher_name], "student_layers": STUDENT_LAYERS,
                     "hyper_steps": cb.hyper_steps}
        return _finish(model, hist, extra)

    return store.run(CHAPTER, cross_setting(teacher_name, method), seed, params, cfg.profile, run)
