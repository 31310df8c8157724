"""The results page of the book, generated from the run records at book-build time.

:func:`write_page` writes the files that ``book/results.md`` includes:

- ``scoreboard.md``      the at-a-glance table, per chapter: paper numbers compared, how
  many agree, how many misses have a cause named in the chapter's "What differed from the
  paper" (linked), and the verdicts of the chapter's claims (:mod:`kdcore.results.verdicts`);
- ``chapters.md``        per chapter: the named causes, the misses with none, the claims;
- ``paper_vs_ours.png``  :func:`kdcore.results.figure.paper_vs_ours_figure`;
- ``paper_vs_ours.html`` the same with hover (:func:`kdcore.results.interactive.paper_vs_ours_plotly`),
  and ``_static/plotly.min.js``, the copy of plotly.js every page of the book loads;
- ``margins.md``         the practical margin of each kind of metric and its reason;
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

from .agreement import KINDS
from .figure import paper_vs_ours_figure
from .interactive import copy_plotly_js, figure_html, paper_vs_ours_plotly
from .scoreboard import PAPER_PROFILE, chapter_summary, power, verdict_counts
from .verdicts import direction_words
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


def _rate(x: float) -> str:
    return "—" if x != x else f"{100 * x:.0f} %"


def _doc(chapter: str) -> str:
    return f"papers/{chapter}"


def _share(k: int, n: int) -> str:
    return "—" if not n else f"{k} of {n} ({100 * k / n:.0f} %)"


def _undecided(m) -> str:
    """What would decide an inconclusive number."""
    n = int(m.n_runs - m.n_failed) if m.compared_on == "trained runs" else int(m.n_runs)
    if n < 2:
        return "one run of ours: no spread, so no interval; two or more runs would give one"
    if m.seeds_to_decide == m.seeds_to_decide:
        return f"{n} runs; about {int(m.seeds_to_decide)} would decide it if mean and spread held"
    return f"{n} runs; no number of ours would decide it: the paper's own error is too wide for this gap"


def _power_lines(pw: pd.DataFrame) -> list[str]:
    """One line per paper table: right and wrong pairings that agree, the paper's own rows."""
    lines = []
    for t in pw.itertuples(index=False):
        if not t.right:
            continue
        reading = ("**this table cannot tell its settings apart**: its agreements are not counted as "
                   "confirmations" if not t.tells_apart else "it can tell its settings apart")
        own = (f"; the paper's own rows differ from each other in {_share(t.paper_pairs_differ, t.paper_pairs)} "
               f"pairs" if t.paper_pairs else "")
        lines.append(f"- {t.table}: right pairings agree {_share(t.right_agree, t.right)}, wrong pairings "
                     f"{_share(t.wrong_agree, t.wrong)}: {reading}{own}.")
    return lines


def scoreboard_markdown(scored: pd.DataFrame, verdicts: Mapping[str, pd.DataFrame],
                        titles: Mapping[str, str], profile: str = PAPER_PROFILE,
                        powered: pd.DataFrame | None = None,
                        effects: Mapping[str, pd.DataFrame] | None = None) -> tuple[str, str]:
    """MyST Markdown: the at-a-glance table, and one short section per chapter (the power
    check per table, the misses by grade, the inconclusive and failed numbers, the claims).

    ``scored`` is :func:`~kdcore.results.scoreboard.score` output, ``powered``
    :func:`~kdcore.results.scoreboard.power`'s, ``verdicts`` each chapter's
    :func:`kdcore.results.verdicts.verdict_table`, ``effects`` each chapter's
    :func:`~kdcore.results.scoreboard.claim_effects`, ``titles`` each chapter's title.
    Links point at ``papers/<chapter>.ipynb`` (the page lives in ``book/``).
    """
    powered = powered if powered is not None else power(scored)
    effects = effects or {}
    summary = chapter_summary(scored, powered)
    empty = pd.DataFrame(columns=["verdict"])
    # Two narrow tables rather than one wide one: the numbers, then failures, misses and claims.
    lines = ["| chapter | paper numbers | agree | differ | inconclusive | wrong pairs agree |",
             "|---|--:|--:|--:|--:|--:|"]
    second = ["", "| chapter | failed | misses: measured / setup unknown / hypothesis / no cause | claims |",
              "|---|--:|---|---|"]
    for r in summary.itertuples(index=False):
        agree = f"{r.agree}" + (f" (+{r.agree_no_power})" if r.agree_no_power else "")
        link = f"[{r.chapter}]({_doc(r.chapter)}.ipynb)"
        graded = (f"{r.measured} / {r.setup_unknown} / {r.hypothesis} / {r.unnamed} of {r.differ}"
                  if r.differ else "no misses")
        lines.append(f"| {link} | {r.numbers - r.not_run} | {agree} | {r.differ} | {r.inconclusive} | "
                     f"{_rate(r.wrong_rate)} |")
        second.append(f"| {link} | {r.failed} | {graded} | {verdict_counts(verdicts.get(r.chapter, empty))} |")
    if (summary.agree_no_power > 0).any():
        lines += ["", "(+k): agreements in tables whose wrong pairings agree as often, not counted as confirmations."]
    lines += second
    out = ["\n".join(lines)]
    for r in summary.itertuples(index=False):
        sub = scored[(scored.chapter == r.chapter) & scored.counted]
        part = [f"### {titles.get(r.chapter, r.chapter)}", "",
                f"{{doc}}`The chapter <{_doc(r.chapter)}>`: {r.numbers - r.not_run} distinct paper numbers compared "
                f"({profile} profile): **{r.agree} agree**"
                + (f" (and {r.agree_no_power} in tables that cannot tell their settings apart)" if r.agree_no_power else "")
                + f", {r.differ} differ, {r.inconclusive} inconclusive, {r.failed} failed."]
        if r.not_run:
            part[-1] += f" {r.not_run} paper numbers have no run of ours yet."
        pw = _power_lines(powered[powered.chapter == r.chapter])
        if pw:
            part += ["", "Could a wrong pairing agree? Each of our numbers against the other rows of its paper table:"]
            part += pw
        misses = sub[sub.status == "differs"]
        for grade, words in (("measured", "cause measured (a record that changes only that cause)"),
                             ("setup unknown", "the paper omits what would decide it"),
                             ("hypothesis", "a cause named but not tested (hypothesis)")):
            g = misses[misses.grade == grade]
            if len(g):
                part += ["", f"Misses, {words} ({len(g)}):"]
                for (why, anchor, ev), grp in g.groupby(["explained", "anchor", "evidence"], sort=False):
                    extra = f"; evidence: {ev}" if ev else ""
                    part.append(f"- {why} ({len(grp)}{extra}; [what differed](papers/{r.chapter}.ipynb#{anchor}))")
        unnamed = misses[misses.grade == ""]
        if len(unnamed):
            part += ["", f"Misses with no cause named ({len(unnamed)}):"]
            part += [f"- {m.setting}, `{m.metric}`: paper {_pm(m.paper, m.paper_std)}, ours "
                     f"{_pm(m.ours, m.ours_std)} (Δ {_g(m.delta, True, 3)}, interval {_g(m.low, True, 2)} to "
                     f"{_g(m.high, True, 2)}, margin ±{_g(m.margin, digits=2)})"
                     for m in unnamed.itertuples(index=False)]
        undecided = sub[sub.status == "inconclusive"]
        if len(undecided):
            part += ["", f"Inconclusive ({len(undecided)}): the interval straddles the margin's edge."]
            part += [f"- {m.setting}, `{m.metric}`: Δ {_g(m.delta, True, 3)} ({_undecided(m)})"
                     for m in undecided.itertuples(index=False)]
        failed = sub[sub.status == "failed"]
        if len(failed):
            part += ["", f"Failed settings ({len(failed)}): more than half of our runs failed; not compared."]
            part += [f"- {m.setting}: {m.n_failed} of {m.n_runs} runs failed" for m in failed.itertuples(index=False)]
        v = verdicts.get(r.chapter)
        e = effects.get(r.chapter)
        if v is not None and len(v):
            part += ["", f"Does the claim hold here? ({profile} profile)"]
            for i, c in enumerate(v.itertuples(index=False)):
                facts = [] if c.difference != c.difference else [
                    f"difference {_g(c.difference, True, 3)} {direction_words(c.difference)}"]
                facts += [] if c.std != c.std else [f"sd {_g(abs(c.std), digits=2)}"]
                if e is not None and e.paper_effect.iloc[i] == e.paper_effect.iloc[i]:
                    facts.append(f"paper's effect {_g(e.paper_effect.iloc[i], True, 3)}")
                facts += [f"failed runs left out: {c.failed}"] if getattr(c, "failed", "") else []
                part.append(f"- **{c.verdict}**: {c.claim} ({', '.join(facts + [f'n = {c.n}'])})")
        out.append("\n".join(part))
    return out[0] + "\n", "\n\n".join(out[1:]) + "\n"


def table_frame(scored: pd.DataFrame, table: pd.DataFrame, profile: str = PAPER_PROFILE) -> pd.DataFrame:
    """The full table for readers: every paper number first (as scored), then our rows of
    ``profile`` that have no paper number; strings, missing values as "—"."""
    marks = readable_table(table).assign(_k=list(zip(table.chapter, table.setting, table.metric, table.profile)))
    profile_of = dict(zip(marks._k, marks.profile))
    rows = []
    for s in scored.itertuples(index=False):
        status = s.status if s.counted else f"{s.status} (variant: {s.variant}; not counted)"
        if s.status == "differs" and s.grade:
            status += f", cause: {s.grade}"
        rows.append({"chapter": s.chapter, "setting": s.setting, "metric": s.metric,
                     "paper": _pm(s.paper, s.paper_std), "ours": _pm(s.ours, s.ours_std),
                     "Δ (95 % interval)": "—" if s.delta != s.delta else (
                         f"{_g(s.delta, True, 3)} ({_g(s.low, True, 2)} to {_g(s.high, True, 2)})"),
                     "margin ±": _g(s.margin, digits=2), "status": status,
                     "n": int(s.n_runs) if not s.n_failed else f"{int(s.n_runs)} ({int(s.n_failed)} failed)",
                     "profile": profile_of.get((s.chapter, s.setting, s.metric, s.profile), "—")})
    have = {(s.chapter, s.setting, s.metric) for s in scored.itertuples(index=False)}
    ours_only = table[(table.profile == profile) & table.paper.isna()]
    for t in ours_only.itertuples(index=False):
        if (t.chapter, t.setting, t.metric) in have:
            continue
        rows.append({"chapter": t.chapter, "setting": t.setting, "metric": t.metric, "paper": "—",
                     "ours": _pm(t.ours, t.ours_std), "Δ (95 % interval)": "—", "margin ±": "—",
                     "status": "—", "n": int(t.n_runs),
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
    numeric = [i for i, c in enumerate(frame.columns) if c in ("paper", "ours", "margin ±", "n")]
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



def margins_markdown() -> str:
    """The practical margin of each kind of metric, with its reason (:data:`KINDS`)."""
    lines = ["| kind of metric | margin | why |", "|---|---|---|"]
    for k in KINDS.values():
        margin = (f"±{_g(k.margin_abs, digits=3)}" if k.margin_abs else "") + (
            f"{' or ' if k.margin_abs else '±'}{100 * k.margin_rel:g} % of the paper's value" if k.margin_rel else "")
        lines.append(f"| {k.label} | {margin} | {k.reason} |")
    return "\n".join(lines) + "\n"


def write_page(out_dir: Path | str, scored: pd.DataFrame, table: pd.DataFrame,
               verdicts: Mapping[str, pd.DataFrame], titles: Mapping[str, str],
               powered: pd.DataFrame | None = None, effects: Mapping[str, pd.DataFrame] | None = None,
               profile: str = PAPER_PROFILE) -> list[Path]:
    """Write ``scoreboard.md``, ``chapters.md``, ``paper_vs_ours.png``,
    ``results_table.html``, ``margins.md``, ``paper_vs_ours.html`` and ``_static/plotly.min.js``
    into ``out_dir``; returns their paths."""
    import matplotlib.pyplot as plt

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / "scoreboard.md", out / "chapters.md", out / "paper_vs_ours.png", out / "results_table.html",
             out / "margins.md"]
    glance, sections = scoreboard_markdown(scored, verdicts, titles, profile, powered, effects)
    paths[0].write_text(glance)
    paths[1].write_text(sections)
    fig = paper_vs_ours_figure(scored)
    fig.savefig(paths[2], dpi=150)
    plt.close(fig)
    frame = table_frame(scored, table, profile)
    paths[3].write_text(table_html(frame))
    paths[4].write_text(margins_markdown())
    paths.append(out / "paper_vs_ours.html")
    paths[5].write_text(figure_html(paper_vs_ours_plotly(scored)))
    paths.append(copy_plotly_js(out / "_static"))
    return paths
