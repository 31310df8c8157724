"""A random fixed λ for :mod:`kdcore.studies.all_pairs_resnet18`: does tuning beat a random weighting?

``all_pairs_resnet18`` compares, at the ρ its grid chose, the student alone, uniform λ over
the 20 (ResNet18 layer, student layer) pairs, the four i↔i pairs and tuned λ. Chapter 4's
own cross runs have one more control, *random*: a fixed λ drawn once per run and never
tuned. A tuned λ that beats uniform could do so only because any non-uniform weighting
helps; a tuned λ that beats a random one as well cannot.

This study runs that control with everything else of ``all_pairs_resnet18``'s main
comparison (rows, teacher and its cached maps, pooled regressors, β at the chosen ρ, SGD
lr 1.0 halved every 10 epochs, 25 epochs, probe of both gradients per epoch). λ is a flat
Dirichlet draw over the 20 pairs, ``-log u`` normalised to sum to 1 with
``u ~ U(0, 1]^20`` from a generator seeded by the run's seed, as chapter 4's random rows
draw it (:func:`kdcore.losses.cross_layer.neg_log_weights`), shaped 5 × 4 (teacher ×
student). A run costs what a uniform one does (about 30 minutes at one thread on the 2-core
CPU), so it is not resumable: start one only with that much time left.

The records go to this study (``all_pairs_resnet18_random``), whose code hash covers this
file and ``all_pairs_resnet18``'s; :mod:`kdcore.studies.all_pairs_report` reads them as
that study's random rows. ρ is the one ``all_pairs_resnet18``'s grid chose, so its grid must
be complete first.

``python -m kdcore.studies.all_pairs_resnet18_random [--profile smoke|paper] [--seeds 0 1 ...]``
"""

from __future__ import annotations

import argparse
import math

import torch
from torch import Tensor

from ..hyper import SimplexWeights
from ..losses.cross_layer import neg_log_weights
from ..models import ConvVeryTiny
from ..results import RunStore
from ..training.loop import TrainConfig, evaluate, fit, seed_everything
from . import all_pairs_resnet18 as base
from .all_pairs_resnet18_tuned import GridIncomplete, chosen_rho
from .all_pairs_weighting import LAYERS as STUDENT_LAYERS, PooledAllPairs, _Probe, attempt

__all__ = ["STUDY", "GridIncomplete", "random_lambda", "random_run", "run"]

STUDY = "all_pairs_resnet18_random"
METHOD = "random"


def random_lambda(seed: int, shape: tuple[int, ...]) -> Tensor:
    """λ of shape ``shape`` (teacher × student), positive and summing to 1: a flat Dirichlet
    draw over its ``prod(shape)`` entries from a generator seeded by ``seed`` (the same draw
    for the same seed, on any machine)."""
    n = math.prod(shape)
    return neg_log_weights(torch.rand(n, generator=torch.Generator().manual_seed(seed))).view(shape)


def random_run(cfg: base.StudyConfig, store: RunStore, data: base._Data, ratio: float, r: float, seed: int) -> dict:
    """One student run with λ fixed at :func:`random_lambda` ``(seed)`` over all 20 pairs."""
    beta = base.beta_for_ratio(ratio, r)
    pairs, shape = base.pairs_for(METHOD)          # all 20 pairs, 5 × 4
    lam = random_lambda(seed, shape)
    # all_pairs_resnet18.student_run's parameters, plus the drawn λ (the record says what ran).
    params = {"rows": cfg.rows, "val_rows": cfg.val_rows, "test_rows": cfg.test_rows, "epochs": cfg.epochs,
              "lr": cfg.lr, "step_size": cfg.step_size, "batch": cfg.batch_size, "method": METHOD,
              "teacher": data.teacher.record["key"], "regressor": "pooled", "ratio": ratio, "r": r, "beta": beta,
              "lambda": [round(float(x), 6) for x in lam.flatten()]}

    def go() -> dict:
        seed_everything(seed)
        model = ConvVeryTiny()
        meta = SimplexWeights(shape, lam)
        objective = PooledAllPairs(pairs, data.t_shapes, data.s_shapes, meta, beta)
        probe_cb = _Probe(objective, data.probe_batch(cfg.probe_rows))
        probe_cb.on_epoch_end(0, model, None)
        tc = TrainConfig(epochs=cfg.epochs, batch_size=cfg.batch_size, lr=cfg.lr, optimizer="sgd", schedule="step",
                         step_size=cfg.step_size, gamma=0.5, seed=seed, progress=False)
        hist = fit(model, data.train, objective, tc, test=data.test, callbacks=[probe_cb])
        metrics = {"accuracy": hist.last, "best_accuracy": max(hist.test_metric),
                   "val_accuracy": evaluate(model, data.val)["accuracy"],
                   "diverged": float(not all(math.isfinite(v) for v in hist.train_loss))}
        history = hist.to_dict()
        history["grad_norm_ce"] = [p["ce"] for p in probe_cb.rows]
        history["grad_norm_vid"] = [p["vid"] for p in probe_cb.rows]
        first, last = probe_cb.rows[0], probe_cb.rows[-1]
        metrics["weighted_ratio_at_init"] = beta * first["vid"] / ((1 - beta) * first["ce"])
        metrics["weighted_ratio_last"] = beta * last["vid"] / ((1 - beta) * last["ce"])
        extra = {"lambda": lam.tolist(), "teacher_layers": base.TEACHER_LAYERS,
                 "student_layers": STUDENT_LAYERS}
        return {"metrics": metrics, "history": history, "extra": extra}

    return store.run(STUDY, base.setting(METHOD, ratio), seed, params, cfg.profile, go)


def run(cfg: base.StudyConfig, store: RunStore | None = None, seeds: tuple | None = None) -> list[dict]:
    """The random-λ runs at the grid's ρ, for ``seeds`` (default: the study's)."""
    store = store or RunStore(profile=cfg.profile)
    data = base._Data(cfg, store)
    r = base.probe(cfg, store, data)["metrics"]["vid_to_ce_at_init"]
    rho = chosen_rho(cfg, store, data, r)
    return [attempt(random_run, cfg, store, data, rho, r, s) for s in (cfg.seeds if seeds is None else seeds)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=f"python -m kdcore.studies.{STUDY}", description=__doc__.split("\n")[0])
    parser.add_argument("--profile", choices=("smoke", "paper"), default="smoke")
    parser.add_argument("--seeds", nargs="+", type=int, default=None)
    args = parser.parse_args(argv)
    cfg = base.StudyConfig.paper() if args.profile == "paper" else base.StudyConfig()
    if args.seeds is not None and not set(args.seeds) <= set(cfg.seeds):
        parser.error(f"--seeds {args.seeds}: the study's seeds are {list(cfg.seeds)}")
    for rec in run(cfg, seeds=None if args.seeds is None else tuple(args.seeds)):
        if "failed" in rec:
            print(f"failed: {rec['args']}: {rec['failed'][:120]}", flush=True)
        else:
            m = rec["metrics"]
            print(f"{rec['setting']:52s} seed {rec['seed']}  test {m['accuracy']:.4f}  val {m['val_accuracy']:.4f}",
                  flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
