"""The layout of kdcore, checked on the source.

The layers between packages are import-linter's contract (``pyproject.toml``, run by
``make lint``); here: no two modules import each other, a dozen top-level names, each
chapter a notebook, a profile and a package, and no module longer than it should be.
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


def _import_graph() -> dict[str, set[str]]:
    """kdcore's modules and the kdcore modules each imports at run time (grimp, as lint-imports sees them)."""
    import grimp

    graph = grimp.build_graph("kdcore", exclude_type_checking_imports=True, cache_dir=None)
    return {m: {i for i in graph.find_modules_directly_imported_by(m) if i in graph.modules} for m in graph.modules}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter[0]; counter[0] += 1; stack.append(root); on.add(root)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter[0]; counter[0] += 1; stack.append(child); on.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                    break
                if child in on:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    comp = []
                    while True:
                        w = stack.pop(); on.discard(w); comp.append(w)
                        if w == node:
                            break
                    if len(comp) > 1:
                        out.append(sorted(comp))
    return out


def test_the_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_no_two_modules_import_each_other():
    # lint-imports (make lint) checks the layers between packages and the siblings of kdcore;
    # this checks every module of every package, lazy imports inside functions included.
    assert _cycles(_import_graph()) == []


def test_the_core_names_about_a_dozen_things():
    names = sorted(p.name for p in PKG.iterdir() if p.name != "__pycache__" and not p.name.endswith(".egg-info"))
    assert len(names) <= 13, f"kdcore/ has {len(names)} top-level names {names}: group them into packages"


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
