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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kdcore.chapters.heterogeneous", description=__doc__.split("\n")[0])
    parser.add_argument("--profile", default="paper", choices=("paper", "smoke"))
    parser.add_argument("--results", default=None, help="results folder (default: results/ for the paper "
                        "profile, the scratch folder for smoke)")
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
    from .jobs import load_config

    cfg = load_config(args.profile, overrides)           # bad parameters fail here, before any work
    from ...results import RunStore, results_root
    from .jobs import jobs, worker
    from .pairs import DATASET
    from .runners import teacher

    results = str(Path(args.results).resolve()) if args.results else str(results_root(cfg.profile))
    os.environ["KDCORE_RESULTS"] = results
    store = RunStore(results)
    t0 = time.perf_counter()
    needed = [(d, None) for d in cfg.datasets if any(m != "none" for m in cfg.methods)]
    draft = ({cfg.teacher} if cfg.draft_sweep else set()) | (set(cfg.cross_teachers) if cfg.all_pairs else set())
    needed += [(DATASET, t) for t in sorted(draft | ({"conv_tiny"} if cfg.single_pair else set()))]
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
        from concurrent.futures import ProcessPoolExecutor, as_completed

        # spawn: CUDA cannot be forked; a worker that dies (e.g. out of memory) fails its
        # job instead of hanging the pool.
        with ProcessPoolExecutor(args.workers, mp_context=mp.get_context("spawn")) as pool:
            futures = {pool.submit(worker, (args.profile, overrides, results, j)): j for j in todo}
            for fut in as_completed(futures):
                try:
                    job, secs, err = fut.result()
                except Exception as crash:  # the process died
                    job, secs, err = futures[fut], float("nan"), f"worker died: {crash}"
                print(f"[heterogeneous] {job} {'FAILED ' + err if err else 'done'} in {secs:.0f} s", flush=True)
                if err:
                    failed.append(job)
    print(f"[heterogeneous] finished in {time.perf_counter() - t0:.0f} s; {len(failed)} failed", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
