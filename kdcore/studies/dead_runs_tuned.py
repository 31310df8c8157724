"""Does the dead-runs correction hold where λ and T are tuned? Chapter 4's "gradient" and "proposed" students with the soft term × T.

The study :mod:`kdcore.studies.dead_runs` found why one Fashion-MNIST student in three dies in
chapter 4 (Gorpinich, Bakhteev & Strijov 2022): without a ``T^2`` factor the soft term's
gradient in the logits is ``(1 - λ)/T · (p(z, T) - p(v, T))/B``, ten times larger at the drawn
T = 0.107 than at T = 1, on top of SGD at lr 1.0; scaled by ``T`` (``k = 1``) every "random"
student trains. The chapter's "gradient" and "proposed" students start from the same draws
(:func:`kdcore.chapters.heterogeneous.runners.random_start`) and then move λ and T by the
hypergradient, so whether they die depends on where the upper level takes T as well.

This study reruns them (the chapter's runs 0-2: same start λ and T, seeds, teacher logits,
schedule and upper level: one-step hypergradient by finite differences every step for
"gradient", trajectory extrapolation over mini-epochs for "proposed") with the soft term
scaled by ``T^power`` (``power = 1``, the corrected variant). Their faithful counterparts are
the chapter's own records.

``python -m kdcore.studies.dead_runs_tuned [--profile smoke|paper]``
"""

from __future__ import annotations

import argparse

from ..chapters.heterogeneous.runners import HeterogeneousConfig, _student, data, random_start, train_with_logits
from ..chapters.heterogeneous.table import _hyper, student_config
from ..hyper import HintonMeta, HyperConfig, HyperStep, TrajectoryExtrapolation
from ..losses import CrossEntropy
from ..results import RunStore
from ..run.profile import load_profile
from ..training.loop import evaluate, fit, seed_everything
from .dead_runs import DATASET, ScaledMetaHintonKD

__all__ = ["METHODS", "chapter_config", "run"]

STUDY = "dead_runs_tuned"
METHODS = ("gradient", "proposed")


def chapter_config(profile: str) -> HeterogeneousConfig:
    """Chapter 4's paper profile, or its smoke defaults with a 2-epoch Fashion-MNIST column."""
    if profile == "paper":
        return load_profile("heterogeneous", HeterogeneousConfig, "paper")
    return HeterogeneousConfig(datasets=[DATASET], runs={DATASET: 1}, epochs={DATASET: 2})


def run(profile: str = "smoke", store: RunStore | None = None, power: int = 1, methods: tuple = METHODS) -> list[dict]:
    """One record per (method, run): test and validation accuracy, the final λ and T, and the
    upper level's trajectory (every 50th point)."""
    chapter = chapter_config(profile)
    store = store or RunStore(profile=profile)
    ch_store = RunStore(store.root, profile=chapter.profile)
    d = data(chapter, DATASET, "random")
    h = _hyper(chapter, DATASET)
    out = []
    for method in methods:
        for run_no in range(chapter.runs[DATASET]):
            lam, temp = random_start(run_no)
            params = {"dataset": DATASET, "run": run_no, "method": method, "lambda": lam, "temperature": temp,
                      "power": power, "epochs": chapter.epochs[DATASET], "n_rows": chapter.n_rows.get(DATASET, 0),
                      "lr": chapter.lr, "teacher": chapter.teacher_fmnist, "hyper_method": chapter.hyper_method, **h,
                      **({"mini_epochs_per_epoch": chapter.mini_epochs_per_epoch,
                          "fit_mini_epochs": chapter.fit_mini_epochs,
                          "extrapolate_mini_epochs": chapter.extrapolate_mini_epochs} if method == "proposed" else {})}

            def go(method=method, run_no=run_no, lam=lam, temp=temp):
                train = train_with_logits(chapter, ch_store, DATASET, method)
                tcfg = student_config(chapter, DATASET, run_no)
                seed_everything(run_no)
                model = _student(chapter, DATASET, d.in_channels)
                meta = HintonMeta(lam, temp)
                objective = ScaledMetaHintonKD(meta, power)
                hcfg = HyperConfig(lr=h["hyper_lr"], optimizer=h["hyper_optimizer"], clip=h["hyper_clip"],
                                   method=chapter.hyper_method, val_batch_size=min(chapter.batch_size, len(d.val)),
                                   seed=run_no, record_every=10)
                if method == "gradient":
                    upper = HyperStep(meta, objective, CrossEntropy(), d.val, hcfg)
                else:   # the chapter's mini-epochs: a tenth of an epoch's steps
                    mini = max(1, -(-len(train) // tcfg.batch_size) // chapter.mini_epochs_per_epoch)
                    upper = TrajectoryExtrapolation(meta, objective, CrossEntropy(), d.val, hcfg, mini,
                                                    chapter.fit_mini_epochs, chapter.extrapolate_mini_epochs)
                hist = fit(model, train, objective, tcfg, d.test, callbacks=[upper], desc=f"{method} T^{power}")
                end = meta.snapshot()
                return {"metrics": {"accuracy": hist.last, "best_accuracy": hist.best,
                                    "val_accuracy": evaluate(model, d.val)["accuracy"],
                                    "final_lambda": end["lambda"], "final_temperature": end["temperature"]},
                        "history": hist.to_dict(), "extra": {"trajectory": upper.trajectory[::50]}}

            out.append(store.run(STUDY, f"{method}, T^{power}", run_no, params, profile, go))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m kdcore.studies.dead_runs_tuned", description=__doc__.splitlines()[0])
    ap.add_argument("--profile", choices=("smoke", "paper"), default="smoke")
    args = ap.parse_args(argv)
    for rec in run(args.profile):
        p, m = rec["params"], rec["metrics"]
        print(f"{p['method']} run {p['run']} (start T = {p['temperature']:.3g}) T^{p['power']}: accuracy "
              f"{m['accuracy']:.4f}, final T {m['final_temperature']:.3g}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
