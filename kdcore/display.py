"""Small helpers for showing library code and tables inside the book's notebooks."""

from __future__ import annotations

import inspect

import pandas as pd


def show_source(obj) -> None:
    """Display the source of a kdcore function or class as a highlighted code block,
    so a chapter shows the implementation it runs instead of a second copy."""
    from IPython.display import Markdown, display

    display(Markdown(f"```python\n{inspect.getsource(obj).rstrip()}\n```"))


def show_table(df: pd.DataFrame, caption: str = "", digits: int = 4) -> None:
    """Display a DataFrame as a compact table with a caption (used for final tables)."""
    from IPython.display import display

    styler = df.style.format(precision=digits, na_rep="—").hide(axis="index")
    if caption:
        styler = styler.set_caption(caption)
    display(styler)


def show_comparison(df: pd.DataFrame, caption: str = "") -> None:
    """Display a :func:`kdcore.results.comparison_table` (one chapter) for readers."""
    from IPython.display import display

    from .results import readable_table

    table = readable_table(df, chapter_column=False)
    styler = table.style.hide(axis="index").set_properties(**{"text-align": "left"})
    if caption:
        styler = styler.set_caption(caption)
    display(styler)
