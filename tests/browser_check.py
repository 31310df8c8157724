"""Open every page of the built book in headless Chromium and check what a reader sees.

``python tests/browser_check.py [_build/html]`` (``make browser``, part of ``make test``)
loads each chapter, the results page and the front matter from disk with JavaScript on
(MathJax is served by the book itself), waits for the math, and fails a page on

- **overflow**: the page scrolls sideways, or a table, figure or output sticks out of the
  text column (a wide table inside its own scrolling box is fine);
- **raw TeX** in the visible text (``$$``, ``\\frac``, ``\\begin{``, a Greek letter macro):
  MathJax did not render it;
- **stray reprs**: ``Text(``, ``<Figure size``, ``<matplotlib.``, ``<IPython.core.display.``;
- **tracebacks**: ``Traceback (most recent call last)``;
- **shrunken figures**: an image drawn wider than the text column and shown below
  ``SHRINK`` of its width, which shrinks its fonts with it (a figure is drawn at most
  6.8 inches wide at 100 dpi, the column's 680 px, so 9-point text stays 9 points);
- **unrendered interactive figures**: a plotly figure's ``<div>`` with no drawn plot in it
  (plotly.js, which the book serves itself, did not load);
- **visible code**: more than ``CODE_LINES`` visible lines of code on the page, outside
  cells tagged ``lesson`` (code that is the point: a loss's definition, a gradient check).
  Cells tagged ``hide-input`` are folded (``<details>``), so their lines are not visible.

A chapter not yet rewritten for the reader may keep its current count, listed in
``tests/browser_budget.json`` as a ceiling that can only go down (the count may not grow;
when a chapter is rewritten its entry is deleted and the page is held to ``CODE_LINES``).
A screenshot of every page (the top of it, and the full page at half scale) goes to
``<build>/_screenshots/`` for the review. Exit status 1 lists every failed check.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

CODE_LINES = 25
SHRINK = 0.9
BUDGET = Path(__file__).with_name("browser_budget.json")
PAGES = ["book/intro", "book/papers/kd_overview", "book/papers/anti_distillation", "book/papers/multidomain",
         "book/papers/deep_nets", "book/papers/heterogeneous", "book/results", "book/references"]
CHROMIUM = ("/usr/bin/chromium", "/usr/bin/chromium-browser")

# Runs in the page: what a reader sees (offsetParent is None for anything folded or hidden).
MEASURE = r"""
() => {
  // The text column: the article itself (the header bar's buttons and the sidebars are not prose).
  const main = document.querySelector('article.bd-article') || document.querySelector('main') || document.body;
  const column = main.getBoundingClientRect();
  const visible = el => el.offsetParent !== null && el.getClientRects().length > 0;
  const scrolls = el => {
    for (let p = el.parentElement; p && p !== main; p = p.parentElement) {
      const s = getComputedStyle(p).overflowX;
      if ((s === 'auto' || s === 'scroll') && p.getBoundingClientRect().right <= column.right + 2) return true;
    }
    return false;
  };
  const wide = [];
  for (const el of main.querySelectorAll('table, img, svg, figure, .cell_output, .output, pre, .MathJax, mjx-container')) {
    if (!visible(el) || scrolls(el) || el.closest('mjx-container') && el.tagName !== 'MJX-CONTAINER') continue;
    const r = el.getBoundingClientRect();
    // A .full-width block (sphinx-book-theme) may use the margin column: held to the window.
    const limit = el.closest('.full-width') ? document.documentElement.clientWidth : column.right;
    if (r.right > limit + 2 && r.width > 0) {
      wide.push(`${el.tagName.toLowerCase()}${el.className ? '.' + String(el.className).split(' ')[0] : ''}` +
                ` right edge ${Math.round(r.right)} px > ${Math.round(limit)} px: ` +
                (el.innerText || el.getAttribute('alt') || '').slice(0, 60).replace(/\s+/g, ' '));
    }
  }
  let code = 0;
  const cells = [];
  for (const cell of main.querySelectorAll('.cell')) {
    if (cell.classList.contains('tag_lesson')) continue;
    const input = cell.querySelector('.cell_input');
    if (!input || !visible(input)) continue;
    const text = (input.querySelector('pre') || input).innerText.replace(/\n+$/, '');
    const n = text ? text.split('\n').length : 0;
    code += n;
    if (n) cells.push(n);
  }
  // Visible text without the rendered math (MathJax's own nodes) and without code inputs.
  const clone = main.cloneNode(true);
  clone.querySelectorAll('mjx-container, .MathJax, script, style, .cell_input').forEach(e => e.remove());
  return {overflowX: document.documentElement.scrollWidth - document.documentElement.clientWidth,
          wide, code, cells, text: clone.innerText,
          mathjax: !!(window.MathJax && window.MathJax.startup),
          shrunk: [...main.querySelectorAll('img')].filter(i => visible(i) && i.naturalWidth > 0)
                    .map(i => [i.clientWidth / i.naturalWidth, i.naturalWidth, (i.getAttribute('alt') || '').slice(0, 40)]),
          plotly: [...main.querySelectorAll('.plotly-graph-div')].filter(e => !e.querySelector('.main-svg'))
                    .map(e => e.id || 'plotly figure'),
          unrendered: [...main.querySelectorAll('.math')].filter(e => visible(e) && !e.querySelector('mjx-container'))
                        .map(e => e.innerText.slice(0, 60))};
}
"""

RAW_TEX = ("$$", "\\frac", "\\begin{", "\\lambda", "\\beta", "\\alpha", "\\mathrm", "\\sum")
REPRS = ("Text(", "<Figure size", "<matplotlib.", "<IPython.core.display.", "<Axes:")
TRACEBACK = "Traceback (most recent call last)"


def chromium() -> str:
    """The browser to drive: ``$KDCORE_CHROMIUM``, else the system Chromium."""
    import os

    if os.environ.get("KDCORE_CHROMIUM"):
        return os.environ["KDCORE_CHROMIUM"]
    for path in CHROMIUM:
        if Path(path).exists():
            return path
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    raise SystemExit("browser check: no Chromium found (looked for /usr/bin/chromium): install it with "
                     "`apt-get install chromium` (the check drives the system browser through Playwright)")


def problems(page: str, m: dict, budget: dict[str, int]) -> list[str]:
    """Every failed check of one measured page."""
    out = []
    if m["overflowX"] > 1:
        out.append(f"the page scrolls sideways by {m['overflowX']} px")
    out += [f"wider than the column: {w}" for w in m["wide"]]
    text = m["text"]
    tex = [tok for tok in RAW_TEX if tok in text]
    if tex:
        out.append(f"raw TeX in the text: {', '.join(tex)} near {_around(text, tex[0])!r}")
    out += [f"a stray repr in the text: {tok!r} near {_around(text, tok)!r}" for tok in REPRS if tok in text]
    if TRACEBACK in text:
        out.append(f"a Python traceback: {_around(text, TRACEBACK)!r}")
    small = [f"{n} px wide shown at {s:.0%}" for s, n, _ in m.get("shrunk", []) if s < SHRINK]
    if small:
        out.append(f"{len(small)} figure(s) shrunk below {SHRINK:.0%} of their width, fonts with them: {small[:3]}")
    if m.get("plotly"):
        out.append(f"{len(m['plotly'])} interactive figure(s) not drawn (plotly.js did not load): {m['plotly'][:3]}")
    limit = budget.get(page.rsplit("/", 1)[-1], CODE_LINES)
    if m["code"] > limit:
        out.append(f"{m['code']} visible lines of code (limit {limit}; largest cells: "
                   f"{sorted(m['cells'], reverse=True)[:5]})")
    return out


def _around(text: str, token: str, width: int = 40) -> str:
    i = text.index(token)
    return " ".join(text[max(0, i - width):i + len(token) + width].split())


def check(build: Path, shots: bool = True) -> dict[str, list[str]]:
    """``{page: [problems]}`` for every page of :data:`PAGES` (a missing page is a problem)."""
    from playwright.sync_api import sync_playwright

    budget = json.loads(BUDGET.read_text()) if BUDGET.exists() else {}
    out_dir = build / "_screenshots"
    out_dir.mkdir(exist_ok=True)
    result: dict[str, list[str]] = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium(), args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        for name in PAGES:
            html = build / f"{name}.html"
            if not html.exists():
                result[name] = [f"not built: {html}"]
                continue
            page.goto(html.resolve().as_uri(), wait_until="load")
            page.wait_for_function("() => !window.MathJax || !window.MathJax.startup || "
                                   "window.MathJax.startup.promise !== undefined", timeout=20000)
            page.evaluate("() => window.MathJax && window.MathJax.startup ? window.MathJax.startup.promise : null")
            m = page.evaluate(MEASURE)
            found = problems(name, m, budget)
            if m["unrendered"]:
                found.append(f"{len(m['unrendered'])} formula(s) not rendered by MathJax"
                             f"{'' if m['mathjax'] else ' (MathJax did not load)'}: {m['unrendered'][:3]}")
            result[name] = found
            if shots:
                slug = name.replace("/", "_")
                page.screenshot(path=str(out_dir / f"{slug}.png"))
                page.screenshot(path=str(out_dir / f"{slug}_full.png"), full_page=True, scale="css")
            print(f"{name}: {m['code']} visible code lines, {len(found)} problem(s)", flush=True)
        browser.close()
    return result


def main(argv: list[str]) -> int:
    build = Path(argv[0]) if argv else Path("_build/html")
    if not build.is_dir():
        print(f"browser check: no built book at {build} (run `make book` first)", file=sys.stderr)
        return 1
    result = check(build)
    failed = {k: v for k, v in result.items() if v}
    for name, found in failed.items():
        print(f"\nFAILED {name}:")
        for f in found:
            print(f"  - {f}")
    print(f"\nbrowser check: {len(result) - len(failed)} of {len(result)} pages pass; screenshots in "
          f"{build / '_screenshots'}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
