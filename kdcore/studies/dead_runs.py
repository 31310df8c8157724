"""Why do some of chapter 4's distilled students die? The runs with a small start temperature, measured.

Chapter 4 (Gorpinich, Bakhteev & Strijov 2022) starts its "random", "gradient" and "proposed"
students from ``lambda ~ U(0, 1)``, ``log10 T ~ U(-1, 1)`` (:func:`random_start`, as the
paper draws them) and trains them with SGD at lr 1.0. On Fashion-MNIST one run in three ends
at chance (accuracy 0.10); in the records, the dead and damaged runs are those whose drawn
temperature is 0.107 or 0.182. The candidate cause: the soft term has no ``T^2`` factor
(as in the paper and the authors' code, :mod:`kdcore.losses.meta_hinton`), so its gradient
with respect to the student's logits ``z`` (``(B, C)``) is

    d/dz (1 - lambda) KL(p(v, T) || p(z, T)) = (1 - lambda) / T * (p(z, T) - p(v, T)) / B,

ten times larger at T = 0.1 than at T = 1, on top of a learning rate of 1.0.

This study reruns the chapter's Fashion-MNIST "random" students (same data, teacher, seeds,
schedule and code path: :func:`kdcore.chapters.heterogeneous.table.student_config`, the
chapter's cached teacher logits) with the soft term scaled by ``T^k``:

- ``k = 0``: the chapter's objective (its accuracy must equal the chapter's record: a check
  that this is the same run);
- ``k = 1``: the logit gradient ``(1 - lambda)(p(z, T) - p(v, T)) / B``, whose scale no longer
  depends on T (the corrected variant proposed for the chapter);
- ``k = 2``: Hinton's ``T^2`` (the gradient grows with T instead: at T = 7 it is 7 times
  the ``k = 1`` one).

Each record holds, for the first 100 steps and every 25th after, the gradient norms (all
student weights) of the hard and the soft term on the step's batch, the total gradient
norm and the spread of the logits, and per epoch the test accuracy, so the mechanism is
measured: a dead run is one whose logits collapse (the same output for every image).

``python -m kdcore.studies.dead_runs [--profile smoke|paper]``
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ..chapters.heterogeneous.runners import HeterogeneousConfig, _student, data, random_start, train_with_logits
from ..chapters.heterogeneous.table import student_config
from ..hyper.meta import HintonMeta
from ..losses.meta_hinton import MetaHintonKD
from ..results import RunStore
from ..run.profile import load_profile
from ..training.loop import fit, seed_everything

__all__ = ["StudyConfig", "ScaledMetaHintonKD", "run", "term_norms"]

STUDY = "dead_runs"
DATASET = "fashion_mnist"


@dataclass(frozen=True)
class StudyConfig:
    profile: str = "smoke"
    runs: tuple = (1,)                       # the chapter's run numbers (their start lambda and T)
    powers: tuple = (0, 1)                   # soft term scaled by T^k
    probe_first: int = 20                    # probe every step of the first ... steps,
    probe_every: int = 25                    # then every ...th

    @classmethod
    def paper(cls) -> "StudyConfig":
        # runs 0-2 are the chapter's three Fashion-MNIST runs (T = 1.61, 0.107, 0.518);
        # run 4 (T = 0.182) and run 5 (T = 7.26) are the draws that test the small- and large-T ends.
        return cls(profile="paper", runs=(0, 1, 2, 4, 5), powers=(0, 1, 2), probe_first=100)


class ScaledMetaHintonKD(MetaHintonKD):
    """The chapter's objective with its soft term multiplied by ``T^power`` (0: unchanged)."""

    def __init__(self, meta: HintonMeta, power: int) -> None:
        super().__init__(meta, t_squared=power == 2)
        self.power = power

    def __call__(self, model, batch):
        out = super().__call__(model, batch)
        if self.power == 1:
            out["soft"] = out["soft"] * self.meta.values()["temperature"]
        return out


def term_norms(model: torch.nn.Module, objective, batch: dict) -> dict[str, float]:
    """Gradient norms of the objective's ``hard`` and ``soft`` terms on ``batch`` (train mode,
    BatchNorm's running statistics restored afterwards, so training is unchanged), and the
    mean over classes of the logits' standard deviation across the batch (0: collapsed)."""
    buffers = {k: v.clone() for k, v in model.state_dict().items() if "running" in k or "num_batches" in k}
    params = [p for p in model.parameters() if p.requires_grad]
    with torch.enable_grad():
        terms = objective(model, batch)
        out = {}
        for name in ("hard", "soft"):
            grads = torch.autograd.grad(terms[name], params, retain_graph=True, allow_unused=True)
            out[name] = float(torch.sqrt(sum((g.float() ** 2).sum() for g in grads if g is not None)))
    with torch.no_grad():
        out["logit_spread"] = float(model(batch["x"]).float().std(0).mean())
    model.load_state_dict(buffers, strict=False)
    return out


class _Probe:
    """``fit`` callback: term norms before chosen steps, the total gradient norm as trained."""

    def __init__(self, objective, cfg: StudyConfig) -> None:
        self.objective, self.cfg, self.rows = objective, cfg, []

    def on_before_step(self, model, batch, step: int) -> None:
        if step <= self.cfg.probe_first or step % self.cfg.probe_every == 0:
            total = float(torch.sqrt(sum((p.grad.float() ** 2).sum() for p in model.parameters() if p.grad is not None)))
            self.rows.append({"step": step, "total": total, **term_norms(model, self.objective, batch)})


def run(cfg: StudyConfig, store: RunStore | None = None) -> list[dict]:
    # the chapter's paper profile, or its smoke defaults with a 2-epoch Fashion-MNIST column
    chapter = (load_profile("heterogeneous", HeterogeneousConfig, "paper") if cfg.profile == "paper"
               else HeterogeneousConfig(datasets=[DATASET], runs={DATASET: 1}, epochs={DATASET: 2}))
    store = store or RunStore(profile=cfg.profile)
    ch_store = RunStore(store.root, profile=chapter.profile)
    d = data(chapter, DATASET, "random")
    out = []
    for run_no in cfg.runs:
        lam, temp = random_start(run_no)
        for power in cfg.powers:
            params = {"dataset": DATASET, "run": run_no, "lambda": lam, "temperature": temp, "power": power,
                      "epochs": chapter.epochs[DATASET], "n_rows": chapter.n_rows.get(DATASET, 0),
                      "lr": chapter.lr, "teacher": chapter.teacher_fmnist, "probe_first": cfg.probe_first,
                      "probe_every": cfg.probe_every}

            def go(run_no=run_no, lam=lam, temp=temp, power=power):
                train = train_with_logits(chapter, ch_store, DATASET, "random")
                seed_everything(run_no)
                model = _student(chapter, DATASET, d.in_channels)
                objective = ScaledMetaHintonKD(HintonMeta(lam, temp), power)
                probe = _Probe(objective, cfg)
                hist = fit(model, train, objective, student_config(chapter, DATASET, run_no), d.test,
                           callbacks=[probe], desc=f"T={temp:.3g} k={power}")
                return {"metrics": {"accuracy": hist.last, "best_accuracy": hist.best,
                                    "max_soft_over_hard": max(r["soft"] / max(r["hard"], 1e-12) for r in probe.rows),
                                    "final_logit_spread": probe.rows[-1]["logit_spread"]},
                        "history": hist.to_dict(), "extra": {"probe": probe.rows}}

            out.append(store.run(STUDY, f"T^{power}", run_no, params, cfg.profile, go))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profile", choices=("smoke", "paper"), default="smoke")
    args = ap.parse_args(argv)
    cfg = StudyConfig.paper() if args.profile == "paper" else StudyConfig()
    for rec in run(cfg):
        p, m = rec["params"], rec["metrics"]
        print(f"run {p['run']} (T = {p['temperature']:.3g}, lambda = {p['lambda']:.3g}) T^{p['power']}: "
              f"accuracy {m['accuracy']:.4f}, max soft/hard gradient {m['max_soft_over_hard']:.1f}, "
              f"final logit spread {m['final_logit_spread']:.3g}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
