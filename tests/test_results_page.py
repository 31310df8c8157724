"""The results page's generated files and ``python -m kdcore.results --summary``."""

import re

import pytest

from kdcore import chapters
from kdcore.results import PaperNumber, RunStore, comparison_table
from kdcore.results.__main__ import main
from kdcore.results.page import scoreboard_markdown, table_frame, table_html, write_page
from kdcore.results.scoreboard import Explanation, score
from kdcore.verdicts import Claim, verdict_table

NUMBERS = [PaperNumber("ch", "a", "acc", 0.80, 0.01, "src"), PaperNumber("ch", "b", "acc", 0.90, 0.01, "src"),
           PaperNumber("ch", "c", "acc", 0.70, 0.01, "src")]
KINDS = {("ch", "acc"): "accuracy"}


@pytest.fixture()
def page_inputs(tmp_path):
    store = RunStore(tmp_path)
    for seed, (a, b, c) in enumerate([(0.80, 0.70, 0.50), (0.81, 0.72, 0.52)]):
        for setting, v in zip("abc", (a, b, c)):
            store.run("ch", setting, seed, {}, "paper", lambda v=v: {"metrics": {"acc": v}})
        store.run("ch", "ours only", seed, {}, "paper", lambda: {"metrics": {"acc": 0.6}})
        # smoke records beside them (as if a smoke run had written here): never on the page
        store.run("ch", "smoke only", seed, {}, "smoke", lambda: {"metrics": {"acc": 0.1}})
        store.run("ch", "a", seed, {}, "smoke", lambda: {"metrics": {"acc": 0.1}})
    table = comparison_table("ch", tmp_path, NUMBERS)
    scored = score(table, NUMBERS, KINDS, {"ch": [Explanation("a named cause", settings=("b",))]})
    verdicts = {"ch": verdict_table(store.records("ch"), [Claim("a beats b", "a", "acc", baseline="b")], "paper")}
    return scored, table, verdicts


def test_scoreboard_markdown_counts_links_and_lists_the_unexplained(page_inputs):
    scored, _, verdicts = page_inputs
    glance, sections = scoreboard_markdown(scored, verdicts, {"ch": "A chapter"})
    row = next(line for line in glance.splitlines() if "papers/ch" in line)
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[:3] == ["{doc}`papers/ch`", "3", "1"]
    assert cells[3].startswith("1 of 2 ([what differed](papers/ch.ipynb#what-differed-from-the-paper))")
    assert cells[4] == "1 holds"
    assert "### A chapter" in sections and "a named cause (1;" in sections
    assert re.search(r"- c, `acc`: paper 0\.7 ± 0\.01, ours 0\.51 ± 0\.014", sections)   # no cause named
    assert "**holds**: a beats b" in sections


def test_table_has_paper_rows_first_and_no_other_profile(page_inputs):
    scored, table, _ = page_inputs
    frame = table_frame(scored, table)
    assert list(frame.setting) == ["a", "b", "c", "ours only"]
    assert list(frame.agreement) == ["agrees", "misses (cause named)", "misses", "—"]
    assert frame.profile.str.startswith("paper").all() and "smoke only" not in set(frame.setting)
    assert frame.loc[0, "ours"] == "0.805 ± 0.0071" and frame.loc[0, "n"] == 2


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
    assert [p.name for p in paths] == ["scoreboard.md", "chapters.md", "paper_vs_ours.png", "results_table.html"]
    assert all(p.stat().st_size > 0 for p in paths) and paths[2].read_bytes()[:4] == b"\x89PNG"


def test_summary_prints_one_line_per_chapter(capsys):
    assert main(["--summary"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    with_numbers = sorted({p.chapter for p in chapters.paper_numbers()})
    assert [line.split()[0] for line in lines] == with_numbers
    for line in lines:
        assert re.search(r"compared\s+\d+\s+agree\s+\d+\s+misses\s+\d+ \(explained \d+\)", line), line


def test_summary_of_a_results_folder(tmp_path, capsys):
    store = RunStore(tmp_path)
    for seed in range(2):
        store.run("kd_overview", "teacher 1200-1200", seed, {}, "paper", lambda: {"metrics": {"test_errors": 70.0}})
        store.run("kd_overview", "student 800-800 alone", seed, {}, "smoke", lambda: {"metrics": {"test_errors": 146.0}})
    main(["--summary", "--chapter", "kd_overview", "--root", str(tmp_path)])
    out = capsys.readouterr().out
    not_run = sum(p.chapter == "kd_overview" for p in chapters.paper_numbers()) - 1    # the smoke one too
    assert re.search(rf"^kd_overview\s+compared\s+1\s+agree\s+1\s+misses\s+0 \(explained 0\)\s+not run {not_run}\s",
                     out, re.M), out
