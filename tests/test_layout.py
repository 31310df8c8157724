"""The layout contract of DESIGN.md ("Layout inside kdcore"), checked on the source.

Arrows point down only: notebooks -> chapters -> methods -> core. A chapter package may
import the core and the methods; nothing outside ``kdcore/chapters`` imports a chapter,
except command-line entry points (``__main__.py``), which sit above every chapter.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from kdcore.results.provenance import imported_modules as _imports

ROOT = Path(__file__).resolve().parent.parent
PKG = ROOT / "kdcore"
MAX_LINES = 400


def _library_modules() -> list[Path]:
    return sorted(p for p in PKG.rglob("*.py") if "__pycache__" not in p.parts)


def imported_modules(path: Path, root: Path = ROOT) -> set[str]:
    """Every module ``path`` imports (see :func:`kdcore.results.provenance.imported_modules`)."""
    return _imports(path, root / "kdcore") if path.is_relative_to(root / "kdcore") else _imports_any(path)


def _imports_any(path: Path) -> set[str]:
    """Absolute imports of a file outside the package (a notebook source)."""
    import ast

    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            out.add(node.module)
            out.update(f"{node.module}.{a.name}" for a in node.names)
    return out


def test_import_walker_sees_relative_and_nested_imports(tmp_path):
    pkg = tmp_path / "kdcore" / "losses"
    pkg.mkdir(parents=True)
    src = pkg / "x.py"
    src.write_text("import torch\n\ndef f():\n    from ..chapters.kd_overview import runners\n"
                   "    from kdcore import chapters\n")
    found = imported_modules(src, tmp_path)
    assert {"kdcore.chapters.kd_overview", "kdcore.chapters", "torch"} <= found


@pytest.mark.parametrize("path", [p for p in _library_modules()
                                  if "chapters" not in p.relative_to(PKG).parts and p.name != "__main__.py"],
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_core_and_methods_import_no_chapter(path):
    bad = sorted(m for m in imported_modules(path) if m == "kdcore.chapters" or m.startswith("kdcore.chapters."))
    assert not bad, f"{path.relative_to(ROOT)} imports chapter code {bad}: move the helper down into a method or the core"


def test_chapters_do_not_import_each_other():
    chapters = sorted(p.name for p in (PKG / "chapters").iterdir() if (p / "__init__.py").exists())
    for name in chapters:
        for path in (PKG / "chapters" / name).rglob("*.py"):
            others = {m for m in imported_modules(path) for c in chapters
                      if c != name and (m == f"kdcore.chapters.{c}" or m.startswith(f"kdcore.chapters.{c}."))}
            assert not others, f"{path.relative_to(ROOT)} imports another chapter: {sorted(others)}"


def test_a_chapter_is_a_notebook_a_profile_and_a_package():
    notebooks = {p.stem for p in (ROOT / "notebooks").glob("*.py")}
    packages = {p.name for p in (PKG / "chapters").iterdir() if (p / "__init__.py").exists()}
    assert notebooks == packages
    for name in notebooks:
        assert (ROOT / "notebooks" / "params" / f"{name}.yaml").exists()
        assert (PKG / "chapters" / name / "paper.py").exists(), f"{name}: paper numbers belong in paper.py"
        assert f"kdcore.chapters.{name}" in imported_modules(ROOT / "notebooks" / f"{name}.py") | {
            m.rpartition(".")[0] for m in imported_modules(ROOT / "notebooks" / f"{name}.py")}


@pytest.mark.parametrize("path", _library_modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_module_is_a_god_file(path):
    n = len(path.read_text().splitlines())
    assert n <= MAX_LINES, f"{path.relative_to(ROOT)} has {n} lines (> {MAX_LINES}): split it by concern"
