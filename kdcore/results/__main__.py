"""``python -m kdcore.results [--chapter C] [--format table|csv|markdown] [--root DIR]``.

The command line is the one place that knows every chapter: it gathers their paper
numbers (:func:`kdcore.chapters.paper_numbers`) and hands them to the table builder of
the core, which imports no chapter.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from ..chapters import names, paper_numbers
from .records import CorruptRecordError, _slug, results_root
from .table import comparison_table, markdown_sections


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kdcore.results", description="The paper-vs-ours table of every chapter.")
    parser.add_argument("--chapter", default=None, help="only this chapter (notebook name)")
    parser.add_argument("--format", choices=("table", "csv", "markdown"), default="table")
    parser.add_argument("--root", default=None, help="results folder (default: results_root())")
    args = parser.parse_args(argv)
    root = Path(args.root) if args.root is not None else results_root()
    if not root.is_dir():
        print(f"error: results folder {root} does not exist (--root)", file=sys.stderr)
        return 2
    if args.chapter is not None and args.chapter not in names() and not (root / _slug(args.chapter)).is_dir():
        print(f"error: unknown chapter {args.chapter!r} (--chapter): choose one of {names()}", file=sys.stderr)
        return 2
    try:
        df = comparison_table(args.chapter, root, paper_numbers())
    except CorruptRecordError as err:   # named by path; the table would silently lack a run
        print(f"error: {err}", file=sys.stderr)
        return 1
    if args.format == "csv":
        df.to_csv(sys.stdout, index=False)
    elif args.format == "markdown":
        print(markdown_sections(df))
    else:
        with pd.option_context("display.max_rows", None, "display.width", 200, "display.max_columns", None):
            print(df.to_string(index=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
