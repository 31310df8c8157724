"""The browser check (tests/browser_check.py) catches each thing it is meant to catch: one
small page per broken condition, opened in the same headless Chromium, and a clean page."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

_spec = importlib.util.spec_from_file_location("browser_check", Path(__file__).with_name("browser_check.py"))
bc = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bc)

pytest.importorskip("playwright")

CODE = "\n".join(f"x{i} = {i}" for i in range(40))
PAGES = {
    "clean": "<p>Accuracy 0.5606, no code.</p>"
             '<div class="cell tag_lesson"><div class="cell_input"><pre>' + CODE + "</pre></div></div>"
             '<div class="cell"><details><summary>code</summary><div class="cell_input"><pre>' + CODE +
             "</pre></div></details></div>",
    "wide": '<table style="width: 3000px"><tr><td>a very wide table</td></tr></table>',
    "tex": "<p>the loss $$\\frac{1}{2} \\lambda$$ unrendered</p>",
    "repr": "<p>&lt;Figure size 640x480 with 1 Axes&gt;</p>",
    "traceback": "<pre>Traceback (most recent call last):\n  File \"x.py\"</pre>",
    "code": '<div class="cell"><div class="cell_input"><pre>' + CODE + "</pre></div></div>",
    "plotly": '<div id="fig1" class="plotly-graph-div" style="height:300px"></div>'
              "<script>if (window.Plotly) { Plotly.newPlot('fig1', []); }</script>",   # no plotly.js here
    "shrunk": '<img alt="a wide figure" style="width: 100%" src="data:image/svg+xml;utf8,'
              "<svg xmlns='http://www.w3.org/2000/svg' width='1200' height='300'></svg>\">",   # 1200 px in 600
}
try:   # the same figure with plotly.js loaded (as the book loads it) is drawn and passes
    import plotly

    _JS = (Path(plotly.__file__).parent / "package_data" / "plotly.min.js").as_uri()
    PAGES["plotly_drawn"] = (f'<script src="{_JS}"></script>' + PAGES["plotly"].replace("fig1", "fig2"))
except ImportError:   # pragma: no cover - plotly is in requirements.txt
    pass
EXPECT = {"clean": None, "wide": "wider than the column", "tex": "raw TeX", "repr": "stray repr",
          "traceback": "traceback", "code": "40 visible lines of code", "plotly": "not drawn (plotly.js did not load)",
          "plotly_drawn": None, "shrunk": "shrunk below 90%"}
MANY = {"wide": 2}    # the page scrolls sideways and the table sticks out: both said


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    try:
        bc.chromium()
    except SystemExit as err:
        pytest.fail(str(err))      # make test installs it (.ci/run); a missing browser is an error
    build = tmp_path_factory.mktemp("html")
    for name, body in PAGES.items():
        (build / f"{name}.html").write_text(f'<html><body style="margin:0"><main><article class="bd-article" '
                                            f'style="width:600px">{body}</article></main></body></html>')
    old = bc.PAGES
    bc.PAGES = list(PAGES)
    try:
        return bc.check(build, shots=False)
    finally:
        bc.PAGES = old


@pytest.mark.parametrize("name", list(PAGES))
def test_each_broken_condition_is_caught_and_a_clean_page_passes(results, name):
    found = results[name]
    if EXPECT[name] is None:
        assert found == []
    else:
        assert any(EXPECT[name] in f for f in found), found
        assert len(found) == MANY.get(name, 1), found   # nothing else is blamed
