"""The results page's generated files and ``python -m kdcore results --summary``."""

import re

import pytest

from kdcore import chapters
from kdcore.results import PaperNumber, RunStore, comparison_table
from kdcore.run.results_cli import main
from kdcore.results.page import scoreboard_markdown, table_frame, table_html, write_page
from kdcore.results.scoreboard import Explanation, power, score
from kdcore.results.verdicts import Claim, verdict_table

NUMBERS = [PaperNumber("ch", "a", "acc", 0.80, 0.004, "src", n=10), PaperNumber("ch", "b", "acc", 0.90, 0.004, "src", n=10),
           PaperNumber("ch", "c", "acc", 0.70, 0.004, "src", n=10)]
KINDS = {("ch", "acc"): "accuracy"}


@pytest.fixture()
def page_inputs(tmp_path):
    store = RunStore(tmp_path)
    for seed, (a, b, c) in enumerate([(0.800, 0.70, 0.50), (0.801, 0.72, 0.52), (0.800, 0.71, 0.51)]):
        for setting, v in zip("abc", (a, b, c)):
            store.run("ch", setting, seed, {}, "paper", lambda v=v: {"metrics": {"acc": v}})
        store.run("ch", "ours only", seed, {}, "paper", lambda: {"metrics": {"acc": 0.6}})
        # smoke records beside them (as if a smoke run had written here): never on the page
        store.run("ch", "smoke only", seed, {}, "smoke", lambda: {"metrics": {"acc": 0.1}})
        store.run("ch", "a", seed, {}, "smoke", lambda: {"metrics": {"acc": 0.1}})
    table = comparison_table("ch", tmp_path, NUMBERS, keep_values=True)
    scored = score(table, NUMBERS, KINDS, {"ch": [Explanation("a named cause", settings=("b",))]})
    verdicts = {"ch": verdict_table(store.records("ch"), [Claim("a beats b", "a", "acc", baseline="b")], "paper")}
    return scored, table, verdicts


def test_scoreboard_markdown_counts_links_and_lists_the_unexplained(page_inputs):
    scored, _, verdicts = page_inputs
    glance, sections = scoreboard_markdown(scored, verdicts, {"ch": "A chapter"}, powered=power(scored))
    first, second = [line for line in glance.splitlines() if "papers/ch" in line]
    cells = [c.strip() for c in first.strip("|").split("|")]
    # numbers, agree, differ, inconclusive, wrong pairs agree; then failed, misses by grade, claims
    assert cells == ["[ch](papers/ch.ipynb)", "3", "1", "2", "0", "0 %"]
    assert [c.strip() for c in second.strip("|").split("|")][1:] == ["0", "0 / 0 / 1 / 1 of 2", "1 holds"]
    assert "### A chapter" in sections and "a cause named but not tested (hypothesis) (1)" in sections
    assert re.search(r"- c, `acc`: paper 0\.7 ± 0\.004, ours 0\.51 ± 0\.01 \(Δ −0\.19", sections)   # no cause
    assert "wrong pairings 0 of 6 (0 %): it can tell its settings apart" in sections
    assert "**holds**: a beats b" in sections


def test_table_has_paper_rows_first_and_no_other_profile(page_inputs):
    scored, table, _ = page_inputs
    frame = table_frame(scored, table)
    assert list(frame.setting) == ["a", "b", "c", "ours only"]
    assert list(frame.status) == ["agrees", "differs, cause: hypothesis", "differs", "—"]
    assert frame.profile.str.startswith("paper").all() and "smoke only" not in set(frame.setting)
    assert frame.loc[0, "ours"] == "0.8003 ± 0.00058" and frame.loc[0, "n"] == 3


def test_table_html_works_offline(page_inputs):
    scored, table, _ = page_inputs
    html = table_html(table_frame(scored, table))
    assert "_itables_" in html and "injectModule" in html          # the library is embedded
    # nothing is fetched: no script or style sheet from the network, no module import of a URL
    assert not re.search(r"src=[\"']?https?://|from\s+[\"']https?://|<link[^>]+href=[\"']?https?://", html)
    assert "full-width" in html and "ours only" in html


def test_write_page_writes_every_file(page_inputs, tmp_path):
    scored, table, verdicts = page_inputs
    paths = write_page(tmp_path / "gen", scored, table, verdicts, {"ch": "A chapter"})
    assert [p.name for p in paths] == ["scoreboard.md", "chapters.md", "paper_vs_ours.png", "results_table.html",
                                       "margins.md", "paper_vs_ours.html", "plotly.min.js"]
    assert "| accuracy-like | ±0.01 |" in paths[4].read_text()
    assert all(p.stat().st_size > 0 for p in paths) and paths[2].read_bytes()[:4] == b"\x89PNG"
    # the interactive figure: a plotly div without plotly.js and without the network; the book
    # serves the copy of plotly.js written beside it (_static/, in _config.yml's html_js_files)
    html = paths[5].read_text()
    assert "plotly-graph-div" in html and "Plotly.newPlot" in html
    assert not re.search(r"src=[\"']?https?://", html) and len(html) < 200_000
    assert paths[6].parent.name == "_static" and paths[6].stat().st_size > 1_000_000


def test_the_interactive_figure_names_every_point(page_inputs):
    """Hovering a point shows its chapter, setting and metric: each drawn row's setting is in the
    figure's hover text, once per point."""
    from kdcore.results.interactive import paper_vs_ours_plotly

    scored, _, _ = page_inputs
    fig = paper_vs_ours_plotly(scored)
    hover = [t for tr in fig.data if tr.mode == "markers" for t in tr.text]
    drawn = scored[scored.status.isin(["agrees", "inconclusive", "differs"]) & scored.counted]
    assert len(hover) == len(drawn)
    assert all(any(s in t and m in t for t in hover) for s, m in zip(drawn.setting, drawn.metric))


def test_summary_prints_one_line_per_chapter(capsys):
    assert main(["--summary"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    with_numbers = sorted({p.chapter for p in chapters.paper_numbers()})
    assert [line.split()[0] for line in lines] == with_numbers
    for line in lines:
        assert re.search(r"numbers\s+\d+\s+agree \d+.*differ \d+\s+inconclusive \d+\s+failed \d+\s+"
                         r"wrong-pairing agree (\d+ %|—)\s+misses: measured \d+, setup unknown \d+, hypothesis \d+", line), line


def test_summary_of_a_results_folder(tmp_path, capsys):
    store = RunStore(tmp_path)
    for seed in range(3):
        store.run("kd_overview", "teacher 1200-1200, 2012 regime", seed, {}, "paper",
                  lambda seed=seed: {"metrics": {"test_errors": 67.0 + seed - 1}})
        store.run("kd_overview", "student 800-800 alone", seed, {}, "smoke", lambda: {"metrics": {"test_errors": 146.0}})
    main(["--summary", "--chapter", "kd_overview", "--root", str(tmp_path)])
    out = capsys.readouterr().out
    not_run = sum(p.chapter == "kd_overview" for p in chapters.paper_numbers()) - 1    # the smoke one too
    assert re.search(rf"^kd_overview\s+numbers\s+7\s+agree 1\s+differ 0\s+inconclusive 0\s+failed 0.*"
                     rf"not run {not_run}\s", out, re.M), out
