"""What one upper-level step costs beside a plain one, on the machine that runs this: ``make
bench`` row (f) kept as a run record.

Chapter 4 (Gorpinich, Bakhteev & Strijov, AiT 83(10), 2022: ``(lambda, T)`` tuned by a
one-step unrolled hypergradient at every training step) times its own runs, but those ran on a
GPU shared by ten or more processes, so their ratios say as much about the neighbours as
about the step. This study times the step alone with :func:`kdcore.run.bench.bench_hyper`:
the 2022 paper's student (ConvVeryTiny, batch 128, CIFAR-shaped inputs), a distillation step
with fixed ``(lambda, T)`` against the same step followed by each upper-level method, every
method timed once per round over interleaved rounds (minimum kept), the FLOPs of one step
counted by ``torch.utils.flop_counter``. One record per machine kind and thread count (both
in its parameters; the record's environment names the processor).

Run it with nothing else on the machine: ``python -m kdcore.studies.hyper_step_cost [--profile smoke|paper]``.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass

import torch

from ..results import RunStore
from ..run.bench import HYPER_METHODS, bench_hyper

__all__ = ["StudyConfig", "run", "SETTING"]

STUDY = "hyper_step_cost"
SETTING = "ConvVeryTiny step, batch 128: upper-level methods"


@dataclass(frozen=True)
class StudyConfig:
    profile: str = "smoke"
    batch_size: int = 8
    rounds: int = 1
    steps: int = 2

    @classmethod
    def paper(cls) -> "StudyConfig":
        return cls(profile="paper", batch_size=128, rounds=5, steps=20)


def run(cfg: StudyConfig, store: RunStore | None = None) -> dict:
    """The record: seconds and FLOPs per step of every method of :data:`HYPER_METHODS`."""
    store = store or RunStore(profile=cfg.profile)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    params = {"model": "ConvVeryTiny", "batch": cfg.batch_size, "rounds": cfg.rounds, "steps": cfg.steps,
              "device": device, "threads": torch.get_num_threads()}

    def go() -> dict:
        got = bench_hyper(cfg.batch_size, cfg.rounds, cfg.steps)
        plain_s, plain_f = got["seconds"]["plain"], got["flops"]["plain"]
        metrics = {}
        for m in HYPER_METHODS:
            metrics[f"{m}_ms"] = 1000 * got["seconds"][m]
            metrics[f"{m}_gflop"] = got["flops"][m] / 1e9
            metrics[f"{m}_time_ratio"] = got["seconds"][m] / plain_s
            metrics[f"{m}_flop_ratio"] = got["flops"][m] / plain_f
        return {"metrics": metrics}

    return store.run(STUDY, SETTING, 0, params, cfg.profile, go)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kdcore.studies.hyper_step_cost", description=__doc__.split("\n")[0])
    parser.add_argument("--profile", choices=("smoke", "paper"), default="smoke")
    args = parser.parse_args(argv)
    cfg = StudyConfig.paper() if args.profile == "paper" else StudyConfig()
    rec = run(cfg)
    for m in HYPER_METHODS:
        print(f"{m:18s} {rec['metrics'][f'{m}_ms']:8.2f} ms  x{rec['metrics'][f'{m}_time_ratio']:.2f}  "
              f"{rec['metrics'][f'{m}_gflop']:.3f} GFLOP  x{rec['metrics'][f'{m}_flop_ratio']:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
