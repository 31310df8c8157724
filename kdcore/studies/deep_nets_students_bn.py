"""Chapter 5's 50-epoch students alone, measured as the authors measured them: with BatchNorm's batch statistics.

Oleinik, Gorpinich & Bakhteev (2023) report the experiment (b) students alone in
``code/basic_experiment.ipynb`` (cells 12 and 14: ConvTiny 0.5757 ± 0.0061, ConvVeryTiny
0.5147 ± 0.0070 over 5 runs, 50 epochs). That notebook never calls ``.eval()``: its
``accuracy()`` runs the test set through the model in training mode, so every 128-image
batch is normalised by its own statistics. The chapter's records of the same students hold
only eval-mode accuracy (running statistics), so the chapter compared unlike numbers.

This study retrains those students on the CPU exactly as the chapter's ``alone_run`` does
(:mod:`kdcore.chapters.deep_nets.experiments`: the first 10,112 training images in stored
order, batch 128, Adam 1e-3, bf16 autocast, 50 epochs, seeds 0-4) and records both: eval-mode
accuracy (the chapter's metric; its records ran on a lent GPU, so they are not bit-equal) and
batch-statistics accuracy (:func:`~kdcore.chapters.deep_nets.runners.batch_stats_accuracy`, the
authors' metric), each on the 10k JPEG test copy, and eval mode on the exact first 1,000.

``python -m kdcore.studies.deep_nets_students_bn [--profile smoke|paper]``
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, replace

from ..chapters.deep_nets.experiments import alone
from ..chapters.deep_nets.runners import NAMES, DeepNetsConfig, Lab, batch_stats_accuracy, build, train_config
from ..losses import CrossEntropy
from ..results import RunStore
from ..run.profile import load_profile
from ..training.loop import evaluate, fit, seed_everything

__all__ = ["StudyConfig", "STUDENTS", "run"]

STUDY = "deep_nets_students_bn"
STUDENTS = ("conv_tiny", "conv_very_tiny")


@dataclass(frozen=True)
class StudyConfig:
    profile: str = "smoke"
    students: tuple = STUDENTS
    seeds: tuple = (0,)

    @classmethod
    def paper(cls) -> "StudyConfig":
        return cls(profile="paper", seeds=(0, 1, 2, 3, 4))


def _lab(cfg: StudyConfig, store: RunStore) -> Lab:
    """The chapter's config at this profile, on the CPU."""
    base = load_profile("deep_nets", DeepNetsConfig, "paper") if cfg.profile == "paper" else DeepNetsConfig()
    return Lab(replace(base, device="cpu"), store)


def student_run(store: RunStore, lab: Lab, student: str, seed: int, profile: str) -> dict:
    """One student alone for the chapter's ``basic_epochs``, both ways of testing (a record)."""
    if student not in STUDENTS:
        raise ValueError(f"parameter 'student' = {student!r} is not allowed: choose one of {list(STUDENTS)}")
    c = lab.cfg
    e = c.basic_epochs
    params = {"student": student, "epochs": e, "lr": c.lr, "batch_size": c.batch_size, "shuffle": c.shuffle,
              "bf16": c.bf16, "train_rows": c.n_train, "test_rows": c.test_rows}

    def go() -> dict:
        method = alone(lab)
        split, _ = method.data()
        seed_everything(seed)
        model = build(student, c)
        hist = fit(model, split, method.objective(None), train_config(c, e, seed, eval_every=e), lab.data.test,
                   desc=f"{NAMES[student]} seed {seed}")
        model.eval()
        d = lab.data
        return {"metrics": {"accuracy": hist.last,          # eval mode, as the chapter's records
                            "accuracy_batch_stats": batch_stats_accuracy(model, d.test, c.batch_size),
                            "accuracy_exact_1k": evaluate(model, d.test_1k, bf16=c.bf16)["accuracy"]},
                "history": hist.to_dict()}

    return store.run(STUDY, f"{NAMES[student]} alone, {e} epochs", seed, params, profile, go)


def run(cfg: StudyConfig, store: RunStore | None = None) -> list[dict]:
    """Seed by seed, both students per seed."""
    store = store or RunStore(profile=cfg.profile)
    lab = _lab(cfg, store)
    return [student_run(store, lab, s, seed, cfg.profile) for seed in cfg.seeds for s in cfg.students]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kdcore.studies.deep_nets_students_bn",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--profile", choices=("smoke", "paper"), default="smoke")
    args = parser.parse_args(argv)
    cfg = StudyConfig.paper() if args.profile == "paper" else StudyConfig()
    for rec in run(cfg):
        m = rec["metrics"]
        print(f"{rec['setting']:32s} seed {rec['seed']}  eval {m['accuracy']:.4f}  batch-stat "
              f"{m['accuracy_batch_stats']:.4f}  exact 1k {m['accuracy_exact_1k']:.4f}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
