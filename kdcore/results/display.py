"""Small helpers for showing library code and tables inside the book's notebooks."""

from __future__ import annotations

import hashlib
import inspect
import os
from pathlib import Path

import pandas as pd


def stable_styler(df: pd.DataFrame, caption: str = ""):
    """``df.style`` with a table id derived from its content, so re-executing a notebook
    writes the same HTML (pandas otherwise draws a random ``T_xxxxx`` id each time)."""
    uid = hashlib.sha256((caption + df.to_csv()).encode()).hexdigest()[:10]
    return df.style.set_uuid(uid)


def display_styler(styler, plain: pd.DataFrame) -> None:
    """Display a styled table as HTML with ``plain`` as its text form. ``display(styler)``
    would store ``<Styler at 0x7f...>`` (a memory address) as the text form, so a
    re-executed notebook would never be byte-identical."""
    from IPython.display import display

    # A "mean ± std" never breaks across lines (non-breaking spaces), and a table wider than
    # the text column scrolls inside its own box instead of being squeezed or cut.
    html = styler.to_html().replace(" ± ", "\u00a0±\u00a0")
    # "full-width" (sphinx-book-theme) lets a table use the margin column beside the text.
    display({"text/html": f'<div class="kd-table full-width" style="overflow-x: auto">{html}</div>',
             "text/plain": plain.to_string(index=False)}, raw=True)


def relative_path(path: str | os.PathLike) -> str:
    """``path`` relative to the repository (or the working folder) for printing in a chapter:
    an executed notebook never shows one machine's absolute paths."""
    path = Path(path).resolve()
    for base in [p for p in Path.cwd().resolve().parents if (p / "pyproject.toml").exists()] + [Path.cwd().resolve()]:
        if path.is_relative_to(base):
            return path.relative_to(base).as_posix() or "."
    return path.name


def show_source(obj) -> None:
    """Display the source of a kdcore function or class as a highlighted code block,
    so a chapter shows the implementation it runs instead of a second copy."""
    from IPython.display import Markdown, display

    display(Markdown(f"```python\n{inspect.getsource(obj).rstrip()}\n```"))


def show_table(df: pd.DataFrame, caption: str = "", digits: int = 4) -> None:
    """Display a DataFrame as a compact table with a caption (used for final tables)."""
    styler = stable_styler(df, caption).format(precision=digits, na_rep="—").hide(axis="index")
    if caption:
        styler = styler.set_caption(caption)
    display_styler(styler, df)


def status_column(settings, metrics, scored: pd.DataFrame | None) -> list[str]:
    """The results page's verdict on each (setting, metric): agrees / differs / inconclusive /
    failed (:func:`kdcore.results.scoreboard.score`), with "(variant)" for a row the page
    judges but does not count and "not run" where ours has no run; "—" without a paper number."""
    if scored is None:
        return ["—"] * len(list(settings))
    by = {(r.setting, r.metric): r.status + (" (variant)" if not r.counted and r.status != "not run" else "")
          for r in scored.itertuples(index=False)}
    return [by.get((s, m), "—") for s, m in zip(settings, metrics)]


def show_comparison(df: pd.DataFrame, caption: str = "", scored: pd.DataFrame | None = None) -> None:
    """Display a :func:`kdcore.results.comparison_table` (one chapter) for readers, with a
    ``status`` column from ``scored`` (:func:`kdcore.results.scoreboard.score` of the same
    rows) where given."""
    from . import readable_table

    table = readable_table(df, chapter_column=False)
    if scored is not None:
        table.insert(0, "status", status_column(df.setting, df.metric, scored))
    styler = stable_styler(table, caption).hide(axis="index").set_properties(**{"text-align": "left"})
    if caption:
        styler = styler.set_caption(caption)
    display_styler(styler, table)


def mean_std_table(df: pd.DataFrame, by: str, columns: list[str], caption: str = "") -> None:
    """Display ``columns`` of ``df`` grouped by ``by`` as "mean ± std" strings with the run
    count: the one number format of every chapter (see :func:`kdcore.results.format_metric`)."""
    from . import format_metric

    rows = {key: {**{col: format_metric(g[col].mean(), g[col].std(ddof=1) if len(g) > 1 else None, col)
                     for col in columns}, "runs": len(g)}
            for key, g in df.groupby(by, sort=False)}
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = by
    styler = stable_styler(table, caption).set_properties(**{"text-align": "left"})
    display_styler(styler.set_caption(caption) if caption else styler, table.reset_index())


def show_markdown(text: str) -> None:
    """Display generated prose (sentences filled from run records)."""
    from IPython.display import Markdown, display

    display(Markdown(text))


def mean_std(values, metric: str = "accuracy") -> str:
    """``"mean ± std"`` of ``values`` (sample std) in the book's one number format
    (:func:`kdcore.results.format_metric`, decimals by metric); one value
    gives the mean alone, no value ``"—"``."""
    from . import format_metric

    s = pd.Series(list(values), dtype=float).dropna()
    if s.empty:
        return "—"
    return format_metric(s.mean(), s.std() if len(s) > 1 else None, metric)


def profile_notice(profile: str) -> None:
    """Say at the top of a chapter when it was executed with a reduced profile, so a page
    built from a smoke execution is never read as the paper-scale result."""
    if profile != "paper":
        show_markdown(f"> **This page was executed with the `{profile}` profile.** Its numbers only show that the "
                      f"code runs; the paper profile (`notebooks/params/<name>.yaml`, `make reproduce`) has not "
                      f"produced this chapter's records yet.")


def glue(name: str, value) -> None:
    """Make ``value`` available to the chapter's Markdown as ``{glue:text}`name:.4f``` (myst-nb).

    The chapter's sentences are Markdown an editor can change; only their numbers (and
    words chosen by the records, e.g. "lowers" or "raises") come from code. NumPy scalars
    are stored as Python numbers, so a format spec applies to them. Nothing is shown in
    the notebook; where myst-nb is missing (Colab), nothing is stored either and the
    Markdown shows the role as written.
    """
    try:
        from myst_nb import glue as _glue
    except ImportError:      # pragma: no cover - a plain Jupyter without the book's tools
        return
    if hasattr(value, "item") and getattr(value, "ndim", 1) == 0:   # numpy / torch scalars
        value = value.item()
    _glue(name, value, display=False)


def glue_all(**values) -> None:
    """:func:`glue` each keyword argument under its own name."""
    for name, value in values.items():
        glue(name, value)
