"""``python -m kdcore results [--chapter C] [--format table|csv|markdown] [--root DIR]``,
``python -m kdcore results --summary`` and ``python -m kdcore results --page DIR``.

The command line is the one place that knows every chapter: it gathers their paper
numbers, metric kinds, explained misses and claims (:mod:`kdcore.chapters`, imported by name) and hands
them to the table, scoreboard and page builders of the core, which import no chapter.

- default: the paper-vs-ours table of every chapter (every profile);
- ``--summary``: one line per chapter (paper profile, :mod:`kdcore.results.scoreboard`): distinct paper
  numbers, agree / differ / inconclusive, failed settings, the wrong-pairing agreement
  rate, misses by grade of explanation, and the verdicts of its claims with how many of
  their effects have the paper's sign;
- ``--page DIR``: the results page's generated files (:mod:`kdcore.results.page`).
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import pandas as pd

from .chapters import book
from ..results.verdicts import verdict_table
from ..results.records import CorruptRecordError, RunStore, _slug, results_root
from ..results.scoreboard import (PAPER_PROFILE, chapter_summary, claim_effects, power, score, summary_lines, verdict_counts)
from ..results.table import comparison_table, markdown_sections

NOTEBOOKS = Path(__file__).resolve().parent.parent.parent / "notebooks"


def _title(name: str) -> str:
    """The chapter's title: the first heading of ``notebooks/<name>.py``, else its name."""
    src = NOTEBOOKS / f"{name}.py"
    found = re.search(r"^# # (.+)$", src.read_text(), flags=re.M) if src.exists() else None
    return found.group(1).strip() if found else name


def _verdicts(root: str | None, chapter: str | None) -> dict[str, pd.DataFrame]:
    store, chapters = RunStore(root), book()
    return {name: verdict_table(store.records(name), claims, PAPER_PROFILE)
            for name, claims in chapters.claims().items() if claims and chapter in (None, name)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kdcore results", description="The paper-vs-ours table of every chapter.")
    parser.add_argument("--chapter", default=None, help="only this chapter (notebook name)")
    parser.add_argument("--format", choices=("table", "csv", "markdown"), default="table")
    parser.add_argument("--root", default=None, help="results folder (default: results_root())")
    what = parser.add_mutually_exclusive_group()
    what.add_argument("--summary", action="store_true",
                      help="one line per chapter: numbers, agree / differ / inconclusive, failed, wrong-pairing "
                           "rate, misses by grade, claims (paper profile)")
    what.add_argument("--page", metavar="DIR", default=None, help="write the results page's files into DIR")
    args = parser.parse_args(argv)
    chapters = book()
    root = Path(args.root) if args.root is not None else results_root()
    if not root.is_dir():
        print(f"error: results folder {root} does not exist (--root)", file=sys.stderr)
        return 2
    if args.chapter is not None and args.chapter not in chapters.names() and not (root / _slug(args.chapter)).is_dir():
        print(f"error: unknown chapter {args.chapter!r} (--chapter): choose one of {chapters.names()}", file=sys.stderr)
        return 2
    numbers = [p for p in chapters.paper_numbers() if args.chapter in (None, p.chapter)]
    try:
        df = comparison_table(args.chapter, root, numbers, keep_values=bool(args.summary or args.page))
    except CorruptRecordError as err:   # named by path; the table would silently lack a run
        print(f"error: {err}", file=sys.stderr)
        return 1
    if args.summary or args.page:
        scored = score(df, numbers, chapters.metric_kinds(), chapters.explanations(), chapters.failure_rules())
        powered = power(scored)
        verdicts = _verdicts(root, args.chapter)
        effects = {name: claim_effects(chapters.claims()[name], v, numbers) for name, v in verdicts.items()}
        if args.page:
            titles = {name: _title(name) for name in chapters.names()}
            from ..results.page import write_page   # matplotlib and itables only when a page is wanted

            for path in write_page(args.page, scored, df, verdicts, titles, powered, effects):
                print(f"wrote {path}")
            return 0
        summary = chapter_summary(scored, powered)
        for line, name in zip(summary_lines(summary), summary.chapter):
            v = verdicts.get(name)
            claims = "" if v is None else "  claims: " + verdict_counts(v, ", ")
            e = effects.get(name)
            if e is not None and e.same_sign.notna().any():
                claims += f" (paper's sign: {int((e.same_sign == True).sum())} of {int(e.same_sign.notna().sum())})"  # noqa: E712
            print(line + claims)
        return 0
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
