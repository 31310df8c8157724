"""Interactive figures for the book: plotly, served from the built book itself (no network).

Two figures a reader explores rather than reads: the results page's paper-against-ours plot
(hover a point for its chapter, setting and metric) and a chapter's λ_ij heatmaps (hover a
cell for its teacher and student layer). Both are plotly figures written as an HTML fragment
*without* plotly.js; the book loads one copy of plotly.js for every page
(:func:`copy_plotly_js` puts the copy from the installed plotly package into the build's
static files, ``html_js_files`` in ``_config.yml`` names it), so an offline build renders them.

In a notebook outside the book build (Jupyter, Colab), :func:`show_figure` hands the figure to
plotly's own renderer instead. The book build is recognised by ``KDCORE_BOOK_BUILD=1``, which
:mod:`kdcore.run.reproduce` sets for the kernels it starts.
"""

from __future__ import annotations

import math
import os
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from .agreement import KINDS
from .figure import STYLE

__all__ = ["PLOTLY_JS", "BOOK_BUILD", "copy_plotly_js", "figure_html", "show_figure", "paper_vs_ours_plotly",
           "heatmap_pair"]

PLOTLY_JS = "plotly.min.js"            # the file name the book's html_js_files loads
BOOK_BUILD = "KDCORE_BOOK_BUILD"       # set to 1 by kdcore.run.reproduce for the kernels it runs
# plotly's marker symbols for the static figure's matplotlib markers (same status, same shape)
_SYMBOLS = {"o": "circle", "s": "square", "X": "x"}
_CONFIG = {"displaylogo": False, "responsive": True,
           "modeBarButtonsToRemove": ["select2d", "lasso2d", "autoScale2d", "toggleSpikelines"]}


def copy_plotly_js(static_dir: Path | str) -> Path:
    """Copy the installed plotly package's ``plotly.min.js`` to ``static_dir`` (a folder of the
    book's ``html_static_path``); returns the copy's path."""
    import plotly

    source = Path(plotly.__file__).parent / "package_data" / PLOTLY_JS
    if not source.exists():
        raise FileNotFoundError(f"plotly.js not found at {source}: reinstall plotly (pip install plotly)")
    target = Path(static_dir) / PLOTLY_JS
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)
    return target


def figure_html(fig, height: int | None = None) -> str:
    """``fig`` as an HTML ``<div>`` and the script that draws it, plotly.js left out (the page
    has it). Its width follows the text column."""
    return fig.to_html(full_html=False, include_plotlyjs=False, config=_CONFIG, default_width="100%",
                       default_height=f"{height}px" if height else "100%")


def show_figure(fig, height: int | None = None) -> None:
    """Show a plotly figure: as :func:`figure_html` in the book build, else with plotly's renderer."""
    if os.environ.get(BOOK_BUILD) == "1":
        from IPython.display import HTML, display

        display(HTML(figure_html(fig, height)))
    else:    # pragma: no cover - an interactive session
        fig.show()


def paper_vs_ours_plotly(scored: pd.DataFrame):
    """The results page's figure (:func:`kdcore.results.figure.paper_vs_ours_figure`) with
    hover: one panel per metric kind, the line y = x, ours ± one sd, colour and marker by
    status; hovering a point names its chapter, setting and metric and gives both numbers."""
    from plotly.subplots import make_subplots
    import plotly.graph_objects as go

    df = scored[scored.status.isin(list(STYLE)) & scored.counted].copy()
    if df.empty:
        raise ValueError("no paper number has runs of ours: nothing to draw")
    kinds = [k for k in KINDS.values() if (df.kind == k.label).any()]
    ncols = 2 if len(kinds) > 1 else 1
    nrows = math.ceil(len(kinds) / ncols)
    titles = [f"{k.label}: {int(((df.kind == k.label) & (df.status == 'agrees')).sum())} of "
              f"{int((df.kind == k.label).sum())} agree" for k in kinds]
    fig = make_subplots(rows=nrows, cols=ncols, subplot_titles=titles, horizontal_spacing=0.12,
                        vertical_spacing=0.14 if nrows > 1 else 0.1)
    for i, kind in enumerate(kinds):
        row, col = i // ncols + 1, i % ncols + 1
        sub = df[df.kind == kind.label]
        values = [v for v in list(sub.paper) + list(sub.ours) if v == v and (v > 0 or not kind.log_scale)]
        lo, hi = min(values), max(values)
        fig.add_trace(go.Scatter(x=[lo, hi], y=[lo, hi], mode="lines", line={"dash": "dash", "color": "#8c8c8c",
                                                                                "width": 1},
                                 hoverinfo="skip", showlegend=i == 0, name="y = x"), row=row, col=col)
        for status, (label, colour, marker) in STYLE.items():
            pts = sub[sub.status == status]
            if pts.empty:
                continue
            text = [f"<b>{c}</b><br>{s}<br>{m}: paper {p:.4g}, ours {o:.4g}" + (f" ± {sd:.2g}" if sd == sd else "")
                    + f" ({n} runs)<br>{status}" for c, s, m, p, o, sd, n in
                    zip(pts.chapter, pts.setting, pts.metric, pts.paper, pts.ours, pts.ours_std, pts.n_runs)]
            fig.add_trace(go.Scatter(x=pts.paper, y=pts.ours, mode="markers", name=label, legendgroup=status,
                                     showlegend=i == 0, text=text, hovertemplate="%{text}<extra></extra>",
                                     marker={"color": colour, "symbol": _SYMBOLS[marker], "size": 8, "opacity": 0.85},
                                     error_y={"type": "data", "array": pts.ours_std.fillna(0.0), "thickness": 1,
                                              "width": 2, "color": colour}), row=row, col=col)
        axis = {"type": "log" if kind.log_scale else "linear", "showgrid": True}
        fig.update_xaxes(title_text="paper", row=row, col=col, **axis)
        fig.update_yaxes(title_text="ours (mean ± sd)", row=row, col=col, **axis)
    fig.update_layout(height=360 * nrows + 80, margin={"l": 60, "r": 20, "t": 40, "b": 40}, template="plotly_white",
                      legend={"orientation": "h", "y": -0.08, "x": 0.5, "xanchor": "center"}, font={"size": 12})
    return fig


def heatmap_pair(maps: Mapping[str, np.ndarray], rows: Sequence[str], columns: Sequence[str], row_title: str,
                 column_title: str = "student layer", title: str = ""):
    """Two (or one) matrices side by side on one colour scale, e.g. λ_ij at the start and the
    end of tuning (teacher layer × student layer); hovering a cell names its pair and value."""
    from plotly.subplots import make_subplots
    import plotly.graph_objects as go

    names = list(maps)[:2]
    vmax = max(float(np.max(maps[n])) for n in names)
    fig = make_subplots(rows=1, cols=len(names), subplot_titles=names, horizontal_spacing=0.16)
    for k, name in enumerate(names):
        mat = np.asarray(maps[name], dtype=float)
        fig.add_trace(go.Heatmap(z=mat, x=list(columns), y=list(rows), zmin=0, zmax=vmax, colorscale="Viridis",
                                 showscale=k == len(names) - 1, text=np.vectorize(lambda v: f"{v:.3f}")(mat),
                                 texttemplate="%{text}", textfont={"size": 10},
                                 hovertemplate=f"{row_title} %{{y}} → {column_title} %{{x}}<br>λ = %{{z:.4f}}<extra></extra>"),
                      row=1, col=k + 1)
        fig.update_xaxes(title_text=column_title, row=1, col=k + 1)
        fig.update_yaxes(title_text=row_title, autorange="reversed", row=1, col=k + 1)
    fig.update_layout(title={"text": title, "font": {"size": 13}}, height=360, template="plotly_white",
                      margin={"l": 70, "r": 20, "t": 70, "b": 50}, font={"size": 12})
    return fig
