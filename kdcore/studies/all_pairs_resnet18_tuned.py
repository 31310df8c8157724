"""The tuned runs of :mod:`kdcore.studies.all_pairs_resnet18`, resumable per epoch.

A tuned run there trains ConvVeryTiny from the ResNet18 teacher's 20 pooled (teacher,
student) pairs, with the DARTS finite-difference upper-level step on λ before every
lower-level step. On the 2-core CPU it costs about 2.1× a uniform run (measured at smoke
size: 45 s against 22 s), so about two hours at one thread beside another run: longer than
what a session leaves for it, and a run cut off by a session's end leaves nothing.

This module runs the same run (same rows, teacher, objective, upper level, schedule, seeds,
record parameters and setting names; ``all_pairs_resnet18.student_run(..., "tuned", ...)``
gives the same metrics and trajectory, tested) and after every epoch writes everything it
needs to go on atomically to ``<results>/all_pairs_resnet18_tuned/partial/*.partial.pt``:
``fit``'s own state (student, regressors, optimiser, scheduler, shuffling generator, global
RNG, history) plus the upper level's (λ, its Adam state, its validation-batch generator, its
trajectory and step count) and the probe's gradient norms. The file is committed while
unfinished; a later session continues from the last finished epoch and ends with exactly
the record of an uninterrupted run (tested). It is deleted once the record is written.

The records go to this study (``all_pairs_resnet18_tuned``), whose code hash covers this
file and ``all_pairs_resnet18``'s; :mod:`kdcore.studies.all_pairs_report` reads them as
that study's tuned rows. ρ is the one ``all_pairs_resnet18``'s grid chose, so its grid
must be complete first.

``python -m kdcore.studies.all_pairs_resnet18_tuned [--profile smoke|paper] [--seeds 0 1 ...]``
"""

from __future__ import annotations

import argparse
import math
import os
from pathlib import Path

import torch
from torch import nn

from ..hyper import HyperConfig, HyperStep
from ..losses import CrossEntropy
from ..models import ConvVeryTiny
from ..results import RunStore
from ..results.model_store import CheckpointError, load_file
from ..training.loop import TrainConfig, evaluate, fit, seed_everything
from . import all_pairs_resnet18 as base
from .all_pairs_weighting import HEATMAP_POINTS, LAYERS as STUDENT_LAYERS, _Probe, attempt, chosen_ratio

__all__ = ["STUDY", "GridIncomplete", "chosen_rho", "tuned_run", "partial_path", "run"]

STUDY = "all_pairs_resnet18_tuned"
METHOD = "tuned"


class GridIncomplete(RuntimeError):
    """``all_pairs_resnet18``'s grid lacks runs, so no ρ is chosen yet; the message names them."""


class _Resume:
    """``fit`` callback placed after the :class:`HyperStep`: on a resumed run it puts back the
    upper level's and the probe's state (``fit`` restores its own after ``on_fit_start``)."""

    def __init__(self, hyper: HyperStep, probe: _Probe, saved: dict | None) -> None:
        self.hyper, self.probe, self.saved = hyper, probe, saved

    def state(self) -> dict:
        h = self.hyper
        return {"meta": h.meta.state_dict(), "meta_opt": h._meta_opt.state_dict(), "val_gen": h._gen.get_state(),
                "trajectory": h.trajectory, "hyper_steps": h.hyper_steps, "probe": self.probe.rows}

    def on_fit_start(self, model: nn.Module, optimizer: torch.optim.Optimizer) -> None:
        if self.saved is None:
            return
        h, s = self.hyper, self.saved
        h.meta.load_state_dict(s["meta"])          # λ is not a submodule of the objective: fit skips it
        h._meta_opt.load_state_dict(s["meta_opt"])
        h._gen.set_state(s["val_gen"])
        h.trajectory, h.hyper_steps = list(s["trajectory"]), int(s["hyper_steps"])
        self.probe.rows = list(s["probe"])


def partial_path(store: RunStore, seed: int, key: str) -> Path:
    """Where a tuned run's state after its last finished epoch lives (``key``: its record key)."""
    return Path(store.root) / STUDY / "partial" / f"tuned-seed{seed}-{key}.partial.pt"


def _save(state: dict, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)         # atomic: a run killed while saving keeps the previous epoch


def chosen_rho(cfg: base.StudyConfig, store: RunStore, data: base._Data, r: float) -> float:
    """ρ as ``all_pairs_resnet18.run`` chooses it, from that study's grid records (loaded, never
    computed). Raises :class:`GridIncomplete` naming the missing runs."""
    have = {(rec["setting"], rec["seed"]) for rec in store.records(base.STUDY) if rec["profile"] == cfg.profile
            and store.usable(rec)}
    have |= {(n["setting"], n["seed"]) for n in store.failures(base.STUDY) if n["profile"] == cfg.profile}
    missing = [f"{base.setting('uniform', rho)} seed {s}" for rho in cfg.ratios for s in cfg.grid_seeds
               if (base.setting("uniform", rho), s) not in have]
    if missing:
        raise GridIncomplete(f"{base.STUDY}'s grid has no record for: {'; '.join(missing)}. Run "
                             f"`python -m kdcore.studies.{base.STUDY} --profile {cfg.profile} --phase grid` first.")
    return chosen_ratio([attempt(base.student_run, cfg, store, data, "uniform", rho, r, s)
                         for rho in cfg.ratios for s in cfg.grid_seeds])


def tuned_run(cfg: base.StudyConfig, store: RunStore, data: base._Data, ratio: float, r: float, seed: int,
              stop_after: int | None = None) -> dict:
    """One tuned run, resumed from its partial file when there is one.

    ``stop_after`` (tests only): raise ``KeyboardInterrupt`` once that epoch's state is saved,
    as a session's end would cut the run there.
    """
    beta = base.beta_for_ratio(ratio, r)
    hcfg = HyperConfig(lr=cfg.hyper_lr, optimizer="adam", method="finite_difference", val_batch_size=cfg.batch_size,
                       seed=seed, record_every=10)
    # The parameters of all_pairs_resnet18.student_run's tuned record, unchanged.
    params = {"rows": cfg.rows, "val_rows": cfg.val_rows, "test_rows": cfg.test_rows, "epochs": cfg.epochs,
              "lr": cfg.lr, "step_size": cfg.step_size, "batch": cfg.batch_size, "method": METHOD,
              "teacher": data.teacher.record["key"], "regressor": "pooled", "ratio": ratio, "r": r, "beta": beta,
              "hyper": hcfg.__dict__}
    setting = base.setting(METHOD, ratio)
    key = store.key(STUDY, setting, seed, params, cfg.profile)
    part = partial_path(store, seed, key)

    def go() -> dict:
        seed_everything(seed)
        model = ConvVeryTiny()
        objective, meta = data.objective(METHOD, beta)
        probe_cb = _Probe(objective, data.probe_batch(cfg.probe_rows))
        probe_cb.on_epoch_end(0, model, None)
        cb = HyperStep(meta, objective, CrossEntropy(), data.val, hcfg)
        saved = load_file(part) if part.exists() else None
        if saved is not None and saved.get("key") != key:
            raise CheckpointError(f"partial run {part} was written for another run (key {saved.get('key')}); "
                                  "delete it")
        keeper = _Resume(cb, probe_cb, saved["upper"] if saved is not None else None)

        def on_checkpoint(state: dict) -> None:
            _save({**state, "key": key, "upper": keeper.state()}, part)
            if stop_after is not None and state["epoch"] >= stop_after:
                raise KeyboardInterrupt(f"stopped after epoch {state['epoch']} (test)")

        tc = TrainConfig(epochs=cfg.epochs, batch_size=cfg.batch_size, lr=cfg.lr, optimizer="sgd", schedule="step",
                         step_size=cfg.step_size, gamma=0.5, seed=seed, progress=False)
        try:
            hist = fit(model, data.train, objective, tc, test=data.test, callbacks=[probe_cb, cb, keeper],
                       resume=saved, on_checkpoint=on_checkpoint)
        except FloatingPointError:
            part.unlink(missing_ok=True)      # a diverged run is kept as a failure note, not resumed
            raise
        metrics = {"accuracy": hist.last, "best_accuracy": max(hist.test_metric),
                   "val_accuracy": evaluate(model, data.val)["accuracy"],
                   "diverged": float(not all(math.isfinite(v) for v in hist.train_loss))}
        history = hist.to_dict()
        history["grad_norm_ce"] = [p["ce"] for p in probe_cb.rows]
        history["grad_norm_vid"] = [p["vid"] for p in probe_cb.rows]
        first, last = probe_cb.rows[0], probe_cb.rows[-1]
        metrics["weighted_ratio_at_init"] = beta * first["vid"] / ((1 - beta) * first["ce"])
        metrics["weighted_ratio_last"] = beta * last["vid"] / ((1 - beta) * last["ce"])
        traj = cb.trajectory
        extra = {"trajectory": traj[::max(1, math.ceil(len(traj) / HEATMAP_POINTS))] + [traj[-1]],
                 "teacher_layers": base.TEACHER_LAYERS, "student_layers": STUDENT_LAYERS,
                 "hyper_steps": cb.hyper_steps, "resumed_after_epoch": int(saved["epoch"]) if saved else 0}
        return {"metrics": metrics, "history": history, "extra": extra}

    rec = store.run(STUDY, setting, seed, params, cfg.profile, go)
    part.unlink(missing_ok=True)
    return rec


def run(cfg: base.StudyConfig, store: RunStore | None = None, seeds: tuple | None = None) -> list[dict]:
    """The tuned runs at the grid's ρ, for ``seeds`` (default: the study's)."""
    store = store or RunStore(profile=cfg.profile)
    data = base._Data(cfg, store)
    r = base.probe(cfg, store, data)["metrics"]["vid_to_ce_at_init"]
    rho = chosen_rho(cfg, store, data, r)
    return [attempt(tuned_run, cfg, store, data, rho, r, s) for s in (cfg.seeds if seeds is None else seeds)]


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
