"""The results page's figure: every compared paper number (x) against ours (y).

One panel per metric kind (:data:`kdcore.results.agreement.KINDS`, in that order), the
line y = x, our spread over seeds as vertical error bars (± one sample standard
deviation), each point coloured and shaped by its status on the scoreboard (agrees /
inconclusive / differs; failed settings and our uncounted variants are not drawn). Drawn
from :func:`kdcore.results.scoreboard.score` output, so it shows exactly the numbers the
page's counts and table show.
"""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.ticker import MaxNLocator, NullFormatter, ScalarFormatter

from .agreement import KINDS

__all__ = ["paper_vs_ours_figure", "STYLE"]

# status -> (legend label, colour, marker): colour-blind safe (Okabe-Ito), and the marker
# says the same again for grey-scale prints.
STYLE = {
    "agrees": ("agrees", "#0072B2", "o"),
    "inconclusive": ("inconclusive", "#E69F00", "s"),
    "differs": ("differs", "#CC3311", "X"),
}


def _status(row) -> str:
    return row.status


def _limits(values: list[float], log: bool) -> tuple[float, float]:
    lo, hi = min(values), max(values)
    if log:
        lo, hi = math.log10(lo), math.log10(hi)
        pad = 0.08 * max(hi - lo, 0.2)
        return 10 ** (lo - pad), 10 ** (hi + pad)
    pad = 0.06 * max(hi - lo, abs(hi) * 0.05, 1e-9)
    return lo - pad, hi + pad


def paper_vs_ours_figure(scored: pd.DataFrame, width_in: float = 6.8) -> plt.Figure:
    """The figure for :func:`~kdcore.results.scoreboard.score` output (compared rows only);
    ``width_in`` is the book's text column (about 680 px, drawn at 100 px per inch), so
    the font sizes below are what a reader sees."""
    df = scored[scored.status.isin(list(STYLE)) & scored.counted].copy()
    if df.empty:
        raise ValueError("no paper number has runs of ours: nothing to draw")
    df["group"] = [_status(r) for r in df.itertuples(index=False)]
    kinds = [k for k in KINDS.values() if (df.kind == k.label).any()]
    ncols = 2 if len(kinds) > 1 else 1
    nrows = math.ceil(len(kinds) / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(width_in, 0.5 * width_in * nrows + 0.7), squeeze=False)
    for ax, kind in zip(axes.flat, kinds):
        sub = df[df.kind == kind.label]
        err = sub.ours_std.fillna(0.0)
        span = list(sub.paper) + list(sub.ours - err) + list(sub.ours + err)
        if kind.log_scale:
            span = [v for v in span if v > 0]
        lo, hi = _limits(span, kind.log_scale)
        ax.plot([lo, hi], [lo, hi], color="0.55", lw=1, ls="--", zorder=1)
        for group, (label, colour, marker) in STYLE.items():
            pts = sub[sub.group == group]
            if pts.empty:
                continue
            yerr = pts.ours_std.fillna(0.0)
            if kind.log_scale:   # a bar may not reach zero or below on a log axis
                yerr = [yerr.clip(upper=pts.ours * 0.999), yerr]
            ax.errorbar(pts.paper, pts.ours, yerr=yerr, fmt=marker, ms=5, color=colour, ecolor=colour,
                        elinewidth=0.9, capsize=1.5, alpha=0.85, zorder=3, label=label)
        if kind.log_scale:
            ax.set(xscale="log", yscale="log")
            if hi / lo < 10:   # under a decade: minor-tick labels would overlap; plain numbers instead
                for axis in (ax.xaxis, ax.yaxis):
                    axis.set_minor_formatter(NullFormatter())
                    axis.set_major_locator(MaxNLocator(3))
                    axis.set_major_formatter(ScalarFormatter())
        ax.set(xlim=(lo, hi), ylim=(lo, hi), xlabel="paper", ylabel="ours (mean ± sd)")
        ax.set_aspect("equal", adjustable="box")
        n_agree = int((sub.group == "agrees").sum())
        ax.set_title(f"{kind.label}: {n_agree} of {len(sub)} agree", fontsize=11)
        ax.tick_params(labelsize=9)
        ax.xaxis.label.set_size(10)
        ax.yaxis.label.set_size(10)
        ax.grid(True, lw=0.4, alpha=0.5)
    for ax in list(axes.flat)[len(kinds):]:
        ax.set_visible(False)
    handles = [plt.Line2D([], [], ls="", marker=m, color=c, ms=6,
                          label=f"{label} ({int((df.group == g).sum())})")
               for g, (label, c, m) in STYLE.items()]
    handles.append(plt.Line2D([], [], ls="--", color="0.55", label="y = x"))
    fig.legend(handles=handles, loc="lower center", ncol=2, fontsize=9.5, frameon=False)
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    return fig
