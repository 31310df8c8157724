"""``python -m kdcore.chapters.heterogeneous --profile paper --results DIR [--workers N]``.

Runs the chapter's experiments as a plain script (no papermill): reads the profile
(``notebooks/params/heterogeneous.yaml`` for ``paper``, the config defaults for ``smoke``),
validates it with :class:`HeterogeneousConfig` before any work, trains the teachers and
caches nothing else up front, then runs every job (see :func:`jobs`) in ``N`` processes on
the same device, each writing its records through :class:`kdcore.results.RunStore` into
``DIR``. Finished runs are skipped, so an interrupted run resumes where it stopped.
The notebook then only reads the records.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def load_config(profile: str, overrides: dict | None = None):
    import yaml

    from .runners import HeterogeneousConfig

    params: dict = {}
    if profile == "paper":
        path = ROOT / "notebooks" / "params" / "heterogeneous.yaml"
        if not path.exists():
            raise FileNotFoundError(f"paper profile {path} is missing")
        params = yaml.safe_load(path.read_text()) or {}
    import dataclasses

    merged = {**params, **(overrides or {})}
    unknown = sorted(set(merged) - {f.name for f in dataclasses.fields(HeterogeneousConfig)})
    if unknown:
        raise ValueError(f"unknown parameters {unknown}: see HeterogeneousConfig for the allowed names")
    return HeterogeneousConfig(**merged)


def _worker(args: tuple) -> tuple[tuple, float, str]:
    profile, overrides, results, job = args
    os.environ["KDCORE_RESULTS"] = results
    import torch

    torch.set_num_threads(1)
    from ...results import RunStore
    from .jobs import run_job

    cfg = load_config(profile, overrides)
    t0 = time.perf_counter()
    try:
        run_job(cfg, RunStore(results), job)
        return job, time.perf_counter() - t0, ""
    except Exception as err:  # reported, the other jobs go on
        return job, time.perf_counter() - t0, f"{type(err).__name__}: {err}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kdcore.chapters.heterogeneous", description=__doc__.split("\n")[0])
    parser.add_argument("--profile", default="paper", choices=("paper", "smoke"))
    parser.add_argument("--results", default=None, help="results folder (default: results_root())")
    parser.add_argument("--workers", type=int, default=1, help="processes sharing the device (tiny students are "
                        "launch-bound: 8-12 on one GPU)")
    parser.add_argument("--datasets", nargs="*", default=None, help="only these columns")
    parser.add_argument("--set", nargs="*", default=[], metavar="NAME=VALUE",
                        help="override parameters, values in YAML (e.g. cross_seeds=[0,1] runs={synthetic:2})")
    args = parser.parse_args(argv)
    import yaml

    overrides = {"datasets": args.datasets} if args.datasets else {}
    for item in args.set:
        name, sep, value = item.partition("=")
        if not sep:
            parser.error(f"--set {item!r}: expected NAME=VALUE")
        overrides[name] = yaml.safe_load(value)
    cfg = load_config(args.profile, overrides)           # bad parameters fail here, before any work
    from ...results import RunStore, results_root
    from .jobs import jobs
    from .pairs import DATASET
    from .runners import teacher

    results = str(Path(args.results).resolve()) if args.results else str(results_root())
    os.environ["KDCORE_RESULTS"] = results
    store = RunStore(results)
    t0 = time.perf_counter()
    needed = [(d, None) for d in cfg.datasets if any(m != "none" for m in cfg.methods)]
    needed += [(DATASET, t) for t in {cfg.teacher, *cfg.cross_teachers} | ({"conv_tiny"} if cfg.single_pair else set())]
    for d, name in needed:                               # teachers first, once, in this process
        rec = teacher(cfg, store, d, name).record
        print(f"[heterogeneous] {rec['setting']}: accuracy {rec['metrics']['accuracy']:.4f}", flush=True)
    todo = jobs(cfg)
    print(f"[heterogeneous] {len(todo)} jobs, {args.workers} workers, results in {results}", flush=True)
    failed = []
    if args.workers <= 1:
        from .jobs import run_job

        for job in todo:
            t1 = time.perf_counter()
            run_job(cfg, store, job)
            print(f"[heterogeneous] {job} done in {time.perf_counter() - t1:.0f} s", flush=True)
    else:
        import multiprocessing as mp

        with mp.get_context("spawn").Pool(args.workers) as pool:
            for job, secs, err in pool.imap_unordered(_worker, [(args.profile, overrides, results, j) for j in todo]):
                print(f"[heterogeneous] {job} {'FAILED ' + err if err else 'done'} in {secs:.0f} s", flush=True)
                if err:
                    failed.append(job)
    print(f"[heterogeneous] finished in {time.perf_counter() - t0:.0f} s; {len(failed)} failed", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
