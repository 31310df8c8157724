"""The results page of the book, generated from the run records at book-build time.

:func:`write_page` writes the files that ``book/results.md`` includes:

- ``scoreboard.md``      the at-a-glance table, per chapter: paper numbers compared, how
  many agree, how many misses have a cause named in the chapter's "What differed from the
  paper" (linked), and the verdicts of the chapter's claims (:mod:`kdcore.verdicts`);
- ``chapters.md``        per chapter: the named causes, the misses with none, the claims;
- ``paper_vs_ours.png``  :func:`kdcore.results.figure.paper_vs_ours_figure`;
- ``results_table.html`` every paper-profile row, paper numbers first, as an interactive
  table (itables in its offline mode: the DataTables code is embedded in the page, so
  the built book needs no network).

Only the paper profile reaches the page: a reduced (smoke) profile is never set against
a paper, even if its records were in the results folder.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from .figure import paper_vs_ours_figure
from .scoreboard import PAPER_PROFILE, WHAT_DIFFERED, chapter_summary, verdict_counts
from ..verdicts import direction_words
from .table import readable_table

__all__ = ["scoreboard_markdown", "table_frame", "table_html", "write_page"]


def _g(x: float, signed: bool = False, digits: int = 4) -> str:
    """``digits`` significant digits, whole numbers from ``10**digits`` on, never an
    exponent: 0.6315, 155, 17888; a true minus sign."""
    if x != x:
        return "—"
    sign = "+" if signed else ""
    s = f"{x:{sign}.0f}" if abs(x) >= 10 ** digits else f"{x:{sign}.{digits}g}"
    if "e" in s:   # tiny numbers: fixed point with the same significant digits
        s = f"{x:{sign}.{digits - 1 - math.floor(math.log10(abs(x)))}f}"
    return s.replace("-", "−")


def _pm(mean: float, std: float | None, digits: int = 4) -> str:
    """``mean ± std`` with the spread to two significant digits ("0.6855 ± 0.069")."""
    if mean != mean:
        return "—"
    return _g(mean, digits=digits) + ("" if std is None or std != std else f" ± {_g(std, digits=2)}")


def _doc(chapter: str) -> str:
    return f"papers/{chapter}"


def scoreboard_markdown(scored: pd.DataFrame, verdicts: Mapping[str, pd.DataFrame],
                        titles: Mapping[str, str], profile: str = PAPER_PROFILE) -> tuple[str, str]:
    """MyST Markdown: the at-a-glance table, and one short section per chapter (its
    misses and its claims' verdicts).

    ``scored`` is :func:`~kdcore.results.scoreboard.score` output, ``verdicts`` each
    chapter's :func:`kdcore.verdicts.verdict_table`, ``titles`` each chapter's title.
    Links point at ``papers/<chapter>.ipynb`` (the page lives in ``book/``).
    """
    summary = chapter_summary(scored)
    empty = pd.DataFrame(columns=["verdict"])
    lines = ["| chapter | paper numbers compared | agree | misses explained | claims |",
             "|---|--:|--:|---|---|"]
    for r in summary.itertuples(index=False):
        anchors = [a for a in scored[scored.chapter == r.chapter].anchor if a]
        differed = f"papers/{r.chapter}.ipynb#{anchors[0] if anchors else WHAT_DIFFERED}"
        explained = f"{r.explained} of {r.misses} ([what differed]({differed}))" if r.misses else "no misses"
        lines.append(f"| {{doc}}`{_doc(r.chapter)}` | {r.compared} | {r.agree} | {explained} | "
                     f"{verdict_counts(verdicts.get(r.chapter, empty))} |")
    out = ["\n".join(lines)]
    for r in summary.itertuples(index=False):
        sub = scored[scored.chapter == r.chapter]
        part = [f"### {titles.get(r.chapter, r.chapter)}", "",
                f"{{doc}}`The chapter <{_doc(r.chapter)}>`: {r.compared} paper numbers compared "
                f"({profile} profile), **{r.agree} agree**, {r.misses} miss."]
        if r.not_run:
            part[-1] += f" {r.not_run} paper numbers have no run of ours yet."
        misses = sub[sub.status == "misses"]
        named = misses[misses.explained != ""]
        if len(named):
            part += ["", f"Misses with a cause named in the chapter ({len(named)}):"]
            for (why, anchor), grp in named.groupby(["explained", "anchor"], sort=False):
                part.append(f"- {why} ({len(grp)}; [what differed](papers/{r.chapter}.ipynb#{anchor}))")
        unnamed = misses[misses.explained == ""]
        if len(unnamed):
            part += ["", f"Misses with no cause named ({len(unnamed)}):"]
            part += [f"- {m.setting}, `{m.metric}`: paper {_pm(m.paper, m.paper_std)}, ours "
                     f"{_pm(m.ours, m.ours_std)} (Δ {_g(m.delta, True, 3)}, allowed ±{_g(m.allowed, digits=2)})"
                     for m in unnamed.itertuples(index=False)]
        v = verdicts.get(r.chapter)
        if v is not None and len(v):
            part += ["", f"Does the claim hold here? ({profile} profile)"]
            for c in v.itertuples(index=False):
                facts = [] if c.difference != c.difference else [
                    f"difference {_g(c.difference, True, 3)} {direction_words(c.difference)}"]
                facts += [] if c.std != c.std else [f"sd {_g(abs(c.std), digits=2)}"]
                part.append(f"- **{c.verdict}**: {c.claim} ({', '.join(facts + [f'n = {c.n}'])})")
        out.append("\n".join(part))
    return out[0] + "\n", "\n\n".join(out[1:]) + "\n"


def table_frame(scored: pd.DataFrame, table: pd.DataFrame, profile: str = PAPER_PROFILE) -> pd.DataFrame:
    """The full table for readers: every paper number first (as scored), then our rows of
    ``profile`` that have no paper number; strings, missing values as "—"."""
    status = {"agrees": "agrees", "not run": "not run"}
    marks = readable_table(table).assign(_k=list(zip(table.chapter, table.setting, table.metric, table.profile)))
    profile_of = dict(zip(marks._k, marks.profile))
    rows = []
    for s in scored.itertuples(index=False):
        rows.append({"chapter": s.chapter, "setting": s.setting, "metric": s.metric,
                     "paper": _pm(s.paper, s.paper_std), "ours": _pm(s.ours, s.ours_std),
                     "Δ": _g(s.delta, True, 3), "allowed ±": _g(s.allowed, digits=2),
                     "agreement": status.get(s.status) or ("misses (cause named)" if s.explained else "misses"),
                     "n": int(s.n_runs),
                     "profile": profile_of.get((s.chapter, s.setting, s.metric, s.profile), "—")})
    have = {(s.chapter, s.setting, s.metric) for s in scored.itertuples(index=False)}
    ours_only = table[(table.profile == profile) & table.paper.isna()]
    for t in ours_only.itertuples(index=False):
        if (t.chapter, t.setting, t.metric) in have:
            continue
        rows.append({"chapter": t.chapter, "setting": t.setting, "metric": t.metric, "paper": "—",
                     "ours": _pm(t.ours, t.ours_std), "Δ": "—", "allowed ±": "—",
                     "agreement": "—", "n": int(t.n_runs),
                     "profile": profile_of.get((t.chapter, t.setting, t.metric, t.profile), profile)})
    frame = pd.DataFrame(rows)
    # The second guard (the first: reduced profiles write to a scratch folder): no row of
    # another profile can reach the page.
    frame = frame[frame.profile.str.split(" ").str[0].isin([profile, "—"])]
    return frame.reset_index(drop=True)


# The table fits the page: it spans the text column and the margin (the book theme's
# "full-width"), with a smaller font; numbers are kept on one line, words wrap.
TABLE_CSS = """<style>
.kd-results-table table.dataTable { font-size: 0.78rem; }
.kd-results-table table.dataTable td, .kd-results-table table.dataTable th { padding: 3px 5px; }
.kd-results-table table.dataTable td.kd-num { white-space: nowrap; }
.kd-results-table table.dataTable td.kd-setting { min-width: 9em; }
.kd-results-table table.dataTable td.kd-profile { min-width: 9.5em; }
</style>"""


def table_html(frame: pd.DataFrame) -> str:
    """``frame`` as an interactive DataTables table, the library embedded (offline)."""
    from itables import options as itables_options
    from itables import to_html_datatable
    from itables.javascript import generate_init_offline_itables_html

    init = generate_init_offline_itables_html(itables_options.dt_bundle)
    numeric = [i for i, c in enumerate(frame.columns) if c in ("paper", "ours", "Δ", "allowed ±", "n")]
    setting = [i for i, c in enumerate(frame.columns) if c == "setting"]
    profile = [i for i, c in enumerate(frame.columns) if c == "profile"]
    table = to_html_datatable(
        frame, connected=False, classes="display compact cell-border",
        showIndex=False, pageLength=25, lengthMenu=[10, 25, 50, 100, 500], order=[],
        style={"width": "100%", "table-layout": "auto"},
        display_logo_when_loading=False,
        columnDefs=[{"className": "dt-left kd-num", "targets": numeric},
                    {"className": "dt-left kd-setting", "targets": setting},
                    {"className": "dt-left kd-profile", "targets": profile},
                    {"className": "dt-left", "targets": "_all"}])
    return f'{init}\n{TABLE_CSS}\n<div class="full-width kd-results-table">\n{table}\n</div>'



def write_page(out_dir: Path | str, scored: pd.DataFrame, table: pd.DataFrame,
               verdicts: Mapping[str, pd.DataFrame], titles: Mapping[str, str],
               profile: str = PAPER_PROFILE) -> list[Path]:
    """Write ``scoreboard.md``, ``chapters.md``, ``paper_vs_ours.png`` and
    ``results_table.html`` into ``out_dir``; returns their paths."""
    import matplotlib.pyplot as plt

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / "scoreboard.md", out / "chapters.md", out / "paper_vs_ours.png", out / "results_table.html"]
    glance, sections = scoreboard_markdown(scored, verdicts, titles, profile)
    paths[0].write_text(glance)
    paths[1].write_text(sections)
    fig = paper_vs_ours_figure(scored)
    fig.savefig(paths[2], dpi=150)
    plt.close(fig)
    frame = table_frame(scored, table, profile)
    paths[3].write_text(table_html(frame))
    return paths
