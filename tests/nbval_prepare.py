"""Build the notebooks that nbval executes: ``python tests/nbval_prepare.py OUT_DIR``.

Each ``notebooks/<name>.py`` source becomes ``OUT_DIR/<name>.ipynb`` with its smoke
defaults. A code cell whose first line is ``# NBVAL_CHECK_OUTPUT`` gets the outputs of the
same cell (same source) in the committed, paper-profile ``book/papers/<name>.ipynb``: such
cells print facts that must not depend on the profile (parameter counts, split sizes), so
nbval checks the smoke run against the committed run. Other cells are only executed.
"""

from __future__ import annotations

import sys
from pathlib import Path

import jupytext
import nbformat

ROOT = Path(__file__).resolve().parent.parent
MARK = "# NBVAL_CHECK_OUTPUT"


def prepare(name: str, out_dir: Path) -> int:
    nb = jupytext.read(ROOT / "notebooks" / f"{name}.py")
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    executed = ROOT / "book" / "papers" / f"{name}.ipynb"
    reference = {}
    if executed.exists():
        for cell in nbformat.read(executed, as_version=4).cells:
            if cell.cell_type == "code" and cell.source.startswith(MARK):
                reference[cell.source] = cell
    checked = 0
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        cell.outputs, cell.execution_count = [], None
        if cell.source.startswith(MARK):
            ref = reference.get(cell.source)
            if ref is None:
                # No committed run of this cell yet: execute it without comparing.
                cell.source = cell.source.replace(MARK, "# (not yet in book/papers: not compared)", 1)
                continue
            cell.outputs = [o for o in ref.outputs if not (o.get("name") == "stderr")]
            cell.execution_count = ref.execution_count
            checked += 1
    nbformat.write(nb, out_dir / f"{name}.ipynb")
    return checked


def main() -> None:
    out_dir = Path(sys.argv[1])
    out_dir.mkdir(parents=True, exist_ok=True)
    for src in sorted((ROOT / "notebooks").glob("*.py")):
        n = prepare(src.stem, out_dir)
        print(f"{src.stem}: {n} output-checked cell(s)")


if __name__ == "__main__":
    main()
