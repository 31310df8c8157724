"""Student runs of the deep-nets chapter: alone, Hinton, pairwise and all-to-all VID.

A :class:`Method` says what goes into the run record's key (``params``), how to get the
training split with the teacher's outputs (``data``, which may train a teacher), and how
to build the objective once the student exists (so every run is seeded the same way,
whether or not a teacher had to be trained first). :func:`student_run` is the one place
that trains a student; each run is a :meth:`kdcore.results.RunStore.run` record, so a
finished run is never recomputed.

Faithful runs are the authors' code (PAPERS.md §5): swapped-KL Hinton without ``T²``,
σ²-multiplied VID counted for the last pair only, and teachers left in training mode
(BatchNorm with batch statistics). Corrected runs fix all of it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ...data import Split
from ...losses import CrossEntropy, CrossLayerVID, HintonKD
from ...models.regressors import feature_shapes
from ...training.loop import evaluate, fit, seed_everything
from .runners import CHAPTER, NAMES, Lab, build, train_config

__all__ = ["Method", "alone", "hinton", "vid", "student_run", "hinton_draws", "hinton_sweep", "alone_run",
           "sweep_run", "sweep_runs", "best_of_sweep", "sweep_setting", "table_baselines", "VARIANT_LABEL"]

VARIANT_LABEL = {"oleinik2023": "authors' loss", "hinton": "corrected loss"}


@dataclass
class Method:
    """One way of training a student (see the module doc)."""

    params: dict                                              # what determines the run
    data: Callable[[], tuple[Split, nn.Module | None]]       # training split (+ teacher to run per batch)
    objective: Callable[[nn.Module | None], object]          # the objective, built after the student


def alone(lab: Lab, kind: str = "full") -> Method:
    return Method({"method": "alone"}, lambda: (lab.train_split(kind), None), lambda _t: CrossEntropy())


def hinton(lab: Lab, teacher: str, beta: float, temperature: float, variant: str, kind: str = "full") -> Method:
    """Hinton KD from cached teacher logits; ``variant="oleinik2023"`` is the authors' loss
    with their teacher in training mode, ``"hinton"`` the corrected loss, teacher in eval mode."""
    bn = "batch" if variant == "oleinik2023" else "eval"
    params = {"method": "hinton", "teacher": lab.teacher_key(teacher, kind), "beta": beta, "T": temperature,
              "variant": variant, "teacher_bn": bn}
    return Method(params, lambda: lab.teacher_outputs(teacher, kind, None, bn),
                  lambda _t: HintonKD(temperature, beta, variant=variant))


def vid(lab: Lab, teacher: str, student: str, pairs: list[tuple[str, str]], lam: list[float], beta: float,
        mode: str, last_pair_scale: float = 1.0, kind: str = "full") -> Method:
    """Cross-layer VID over ``pairs`` with weights ``lam`` (see :class:`kdcore.losses.CrossLayerVID`)."""
    faithful = mode == "faithful"
    bn = "batch" if faithful else "eval"
    variance, reduction = ("scalar", "sum") if faithful else (lab.cfg.variance, lab.cfg.reduction)
    # the faithful loss reads only the last pair: cache only that teacher layer
    t_layers = [pairs[-1][0]] if faithful else list(dict.fromkeys(t for t, _ in pairs))
    params = {"method": "vid", "teacher": lab.teacher_key(teacher, kind), "pairs": pairs, "beta": beta,
              "mode": mode, "teacher_bn": bn, "variance": variance, "reduction": reduction,
              # the faithful loss ignores λ and scales the last pair by c
              **({"last_pair_scale": last_pair_scale} if faithful else {"lam": [round(float(v), 8) for v in lam]})}

    def objective(teacher_module: nn.Module | None) -> CrossLayerVID:
        t_shapes = feature_shapes(build(teacher, lab.cfg), list(dict.fromkeys(t for t, _ in pairs)))
        s_shapes = feature_shapes(build(student, lab.cfg), [s for _, s in pairs])
        return CrossLayerVID(pairs, t_shapes, s_shapes, lam, beta, faithful=faithful,
                             last_pair_scale=last_pair_scale, variance=variance, reduction=reduction,
                             teacher=teacher_module, teacher_bf16=lab.cfg.bf16)

    return Method(params, lambda: lab.teacher_outputs(teacher, kind, t_layers, bn), objective)


class EvalCallback:
    """Accuracy on extra splits (the exact first 1,000 test images, the validation rows)
    after every evaluated epoch; the splits are moved to the device once."""

    def __init__(self, splits: dict[str, Split], device: torch.device, every: int, epochs: int, bf16: bool) -> None:
        self.splits = {k: v.to(device) for k, v in splits.items()}
        self.every, self.epochs, self.bf16 = every, epochs, bf16
        self.curves: dict[str, list[float]] = {k: [] for k in splits}

    def on_epoch_end(self, epoch: int, model: nn.Module, history) -> None:
        if epoch % self.every == 0 or epoch == self.epochs:
            for k, split in self.splits.items():
                self.curves[k].append(evaluate(model, split, bf16=self.bf16)["accuracy"])


def student_run(lab: Lab, setting: str, seed: int, student: str, method: Method, kind: str = "full",
                epochs: int | None = None, eval_every: int = 1) -> dict:
    """Train one student with ``method`` (or read its record). Metrics: ``accuracy`` (last
    epoch, full 10k JPEG test), ``best_accuracy`` (peak over epochs, never used to choose),
    ``accuracy_exact_1k`` (last epoch, exact first 1,000) and, on the carved rows,
    ``val_accuracy`` (last epoch)."""
    cfg = lab.cfg
    epochs = epochs or cfg.epochs
    rows = cfg.n_train if kind == "full" else cfg.n_train - cfg.val_size
    params = {"student": student, "epochs": epochs, "lr": cfg.lr, "batch_size": cfg.batch_size,
              "shuffle": cfg.shuffle, "bf16": cfg.bf16, "train_rows": rows, "test_rows": cfg.test_rows,
              "eval_every": eval_every, **method.params}

    def run() -> dict:
        split, teacher_module = method.data()          # may train the teacher: before seeding
        seed_everything(seed)
        model = build(student, cfg)
        objective = method.objective(teacher_module)
        d = lab.data
        extra_splits = {"exact_1k": d.test_1k, **({"val": d.val} if kind == "part" else {})}
        cb = EvalCallback(extra_splits, lab.device, eval_every, epochs, cfg.bf16)
        hist = fit(model, split, objective, train_config(cfg, epochs, seed, eval_every=eval_every), d.test, [cb],
                   desc=f"{setting} seed {seed}")
        metrics = {"accuracy": hist.last, "best_accuracy": hist.best, "accuracy_exact_1k": cb.curves["exact_1k"][-1]}
        if kind == "part":
            metrics["val_accuracy"] = cb.curves["val"][-1]
        diverged = not all(math.isfinite(v) for v in hist.train_loss)   # NaN weights: chance accuracy
        extra = {"curves": cb.curves, "diverged": diverged}
        if isinstance(objective, CrossLayerVID):
            extra["variances"] = [t.variance.detach().float().cpu().tolist() for t in objective.terms]
        return {"metrics": metrics, "history": hist.to_dict(), "extra": extra}

    return lab.store.run(CHAPTER, setting, seed, params, cfg.profile, run)


# ----------------------------------------------------------------------------------------
# Experiment (b): Hinton sweep from ResNet18, students alone
# ----------------------------------------------------------------------------------------
def hinton_draws(n: int, seed: int) -> list[tuple[float, float]]:
    """``(β, T)`` with β ~ U(0, 1) and T = 10^U(-1, 1), as basic_experiment.ipynb drew them."""
    rng = np.random.default_rng(seed)
    return [(float(rng.uniform()), float(10 ** rng.uniform(-1, 1))) for _ in range(n)]


def hinton_sweep(lab: Lab) -> list[dict]:
    """Each student alone over ``alone_seeds`` and distilled from ResNet18 with every drawn
    (β, T), for each loss variant; ``basic_epochs`` epochs. Returns the records."""
    cfg, out = lab.cfg, []
    lab.teacher("resnet18")
    for student in ("conv_tiny", "conv_very_tiny"):
        for seed in cfg.alone_seeds:
            out.append(alone_run(lab, student, seed))
        for variant in cfg.hinton_variants:
            out += sweep_runs(lab, student, variant)
            out.append(best_of_sweep(lab, student, variant))
    return out


def alone_run(lab: Lab, student: str, seed: int) -> dict:
    """A student alone for ``basic_epochs`` (experiment (b))."""
    e = lab.cfg.basic_epochs
    return student_run(lab, f"{NAMES[student]} alone, {e} epochs", seed, student, alone(lab), epochs=e, eval_every=e)


def sweep_run(lab: Lab, student: str, variant: str, k: int) -> dict:
    """Run ``k`` of the Hinton sweep: the ``k``-th (β, T) draw, seed ``k``."""
    cfg = lab.cfg
    beta, temp = hinton_draws(cfg.hinton_runs, cfg.hinton_draw_seed)[k]
    return student_run(lab, sweep_setting(student, variant), k, student, hinton(lab, "resnet18", beta, temp, variant),
                       epochs=cfg.basic_epochs, eval_every=cfg.basic_epochs)


def sweep_runs(lab: Lab, student: str, variant: str) -> list[dict]:
    return [sweep_run(lab, student, variant, k) for k in range(lab.cfg.hinton_runs)]


def sweep_setting(student: str, variant: str) -> str:
    return f"Hinton sweep {NAMES[student]} ← ResNet18 ({VARIANT_LABEL[variant]})"


def best_of_sweep(lab: Lab, student: str, variant: str) -> dict:
    """A record derived from the sweep's records (no training of its own): the best run's
    accuracy (the paper's "best Hinton" number), the mean of the runs that converged, and
    how many diverged."""
    recs = sweep_runs(lab, student, variant)
    params = {"runs": [r["key"] for r in recs]}

    def run() -> dict:
        best = max(recs, key=lambda r: r["metrics"]["accuracy"])
        ok = [r["metrics"]["accuracy"] for r in recs if not r["extra"]["diverged"]]
        return {"metrics": {"accuracy": best["metrics"]["accuracy"], "runs": len(recs),
                            "diverged_runs": len(recs) - len(ok),
                            "accuracy_mean_converged": float(np.mean(ok)) if ok else float("nan")},
                "extra": {"beta": best["params"]["beta"], "T": best["params"]["T"], "seed": best["seed"]}}

    return lab.store.run(CHAPTER, f"{sweep_setting(student, variant)}: best run", 0, params, lab.cfg.profile, run)


# ----------------------------------------------------------------------------------------
# Tables 1-2: the rows without a search
# ----------------------------------------------------------------------------------------
TABLES = {"table1": ("conv_tiny", "conv_very_tiny", "T1"), "table2": ("resnet10", "conv_tiny", "T2")}


def table_baselines(lab: Lab, table: str) -> list[dict]:
    """Teacher, student alone and Hinton (both losses) over ``alone_seeds``, ``epochs`` epochs."""
    cfg = lab.cfg
    teacher, student, tag = TABLES[table]
    out = [lab.teacher(teacher)]
    for seed in cfg.alone_seeds:
        out.append(student_run(lab, f"{tag} {NAMES[student]} alone", seed, student, alone(lab)))
        for variant in cfg.hinton_variants:
            out.append(student_run(lab, f"{tag} {NAMES[student]} Hinton ← {NAMES[teacher]} ({VARIANT_LABEL[variant]})",
                                   seed, student, hinton(lab, teacher, cfg.table_hinton_beta,
                                                         cfg.table_hinton_temperature, variant)))
    return out
