"""``python -m kdcore run|status|results``: fill a chapter's run records, say how far they are, compare them.

    python -m kdcore run <chapter|all> [--profile paper|smoke] [--only PART ...] [--keys GLOB ...] [--list]
                         [--backend local|ray] [--address ADDR] [--workers N] [--set NAME=VALUE ...]
    python -m kdcore status [chapter|all] [--profile paper|smoke]
    python -m kdcore results [--chapter C] [--summary | --page DIR] ...   (kdcore.run.results_cli)

``run`` builds the chapter's validated config (``smoke``: its defaults; ``paper``:
``notebooks/params/<chapter>.yaml``; ``--set`` overrides single values, written in YAML)
and its job graph (:mod:`kdcore.run`), then runs the jobs: ``--backend local`` (default) in
this process or ``--workers`` processes, ``--backend ray`` as Ray tasks on the cluster at
``--address`` (none: a local one). Finished records are skipped, so a second run resumes.
The notebooks then only read the records (``make reproduce`` does both).
"""

from __future__ import annotations

import argparse
import sys
import time


def _overrides(items: list[str], parser: argparse.ArgumentParser) -> dict:
    import yaml

    out = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep:
            parser.error(f"--set {item!r}: expected NAME=VALUE")
        out[name] = yaml.safe_load(value)
    return out


def _run(args, parser) -> int:
    from .results import RunStore
    from .run.backends import run_local, run_ray
    from .run.chapters import chapter_jobs, chapter_names, load_config
    from .run.graph import order, parts, select

    names = chapter_names() if args.chapter == "all" else [args.chapter]
    plans = []
    for name in names:            # every config and graph is checked before any work starts
        cfg = load_config(name, args.profile, _overrides(args.set, parser))
        jobs = chapter_jobs(name, cfg)
        if args.only or args.keys:
            only = [p for p in args.only if p in parts(jobs)] if args.only and args.chapter == "all" else args.only
            jobs = select(jobs, only, args.keys)
        if args.list:
            print("\n".join(f"{name}: {j.key}  (part {j.part}, cost {j.cost:g})" for j in order(jobs)))
            continue
        plans.append((name, cfg, jobs))
    if args.list:
        return 0
    bad = 0
    for name, cfg, jobs in plans:
        root = RunStore(profile=cfg.profile).root
        t0 = time.perf_counter()
        print(f"[{name}] {len(jobs)} jobs, profile {cfg.profile}, backend {args.backend}; records in {root}", flush=True)
        if args.backend == "ray":
            out = run_ray(jobs, cfg, root, name, address=args.address, desc=name)
        else:
            out = run_local(jobs, cfg, root, workers=args.workers, desc=name)
        for key, err in out.failed.items():
            print(f"[{name}] FAILED {key}: {err}", file=sys.stderr)
        if out.skipped:
            print(f"[{name}] skipped (a job they need failed): {out.skipped}", file=sys.stderr)
        print(f"[{name}] {len(out.done)} done in {time.perf_counter() - t0:.0f} s", flush=True)
        bad += not out.ok
    return 1 if bad else 0


def _status(args) -> int:
    from .run.chapters import chapter_names
    from .run.status import chapter_status, format_table

    names = chapter_names() if args.chapter in (None, "all") else [args.chapter]
    rows = [chapter_status(n, args.profile) for n in names]
    print(format_table(rows))
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["results"]:          # its own options: python -m kdcore results --help
        from .run.results_cli import main as results_main

        return results_main(argv[1:])
    parser = argparse.ArgumentParser(prog="python -m kdcore", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="fill a chapter's run records")
    run.add_argument("chapter", help="a chapter's name, or 'all'")
    run.add_argument("--profile", choices=("paper", "smoke"), default="paper")
    run.add_argument("--only", nargs="+", default=None, metavar="PART", help="only these parts (and what they need)")
    run.add_argument("--keys", nargs="+", default=None, metavar="GLOB",
                     help="only the jobs whose key matches one of these patterns (and what they need)")
    run.add_argument("--list", action="store_true", help="print the selected jobs in run order and stop")
    run.add_argument("--backend", choices=("local", "ray"), default="local")
    run.add_argument("--address", default=None, help="a running Ray cluster (ray start --head prints it)")
    run.add_argument("--workers", type=int, default=1, help="local backend: processes (threads are split)")
    run.add_argument("--set", nargs="*", default=[], metavar="NAME=VALUE", help="override parameters (YAML values)")
    status = sub.add_parser("status", help="records done, stale, missing, failed, and the time left")
    status.add_argument("chapter", nargs="?", default="all")
    status.add_argument("--profile", choices=("paper", "smoke"), default="paper")
    sub.add_parser("results", help="the paper-vs-ours table, scoreboard and results page (see its --help)")
    args = parser.parse_args(argv)
    if args.command == "run" and args.address and args.backend != "ray":
        parser.error("--address needs --backend ray")
    if args.command == "run" and args.keys and args.chapter == "all":
        parser.error("--keys: job keys are a chapter's own; name one chapter")
    return _run(args, parser) if args.command == "run" else _status(args)


if __name__ == "__main__":
    raise SystemExit(main())
