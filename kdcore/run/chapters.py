"""A chapter's validated config at a profile, and its job graph.

The graph lives in the chapter, as ``kdcore/chapters/<name>/graph.py`` with ``CONFIG`` (the
config class) and ``jobs(cfg) -> list[Job]``; it is imported by name, so the core depends on
no chapter.
"""

from __future__ import annotations

import dataclasses
import importlib
from pathlib import Path
from types import ModuleType
from typing import Any

from .graph import Job, order

__all__ = ["book", "chapter_names", "graph_module", "notebook_parameters", "load_config", "chapter_jobs"]

ROOT = Path(__file__).resolve().parents[2]


def book() -> ModuleType:
    """``kdcore.chapters``, imported by name: every chapter's paper numbers, metric kinds,
    explained misses and claims, gathered (for ``python -m kdcore results``)."""
    return importlib.import_module("kdcore.chapters")


def chapter_names() -> list[str]:
    """Every chapter package with a ``graph.py``, in name order."""
    import pkgutil

    chapters = importlib.import_module("kdcore.chapters")
    return sorted(m.name for m in pkgutil.iter_modules(chapters.__path__) if m.ispkg
                  and importlib.util.find_spec(f"kdcore.chapters.{m.name}.graph") is not None)


def graph_module(chapter: str) -> ModuleType:
    names = chapter_names()
    if chapter not in names:
        raise ValueError(f"unknown chapter {chapter!r}: choose one of {names} or 'all'")
    return importlib.import_module(f"kdcore.chapters.{chapter}.graph")


def notebook_parameters(chapter: str) -> dict[str, Any]:
    """The values of the notebook's ``parameters`` cell (the smoke profile), as papermill starts from them."""
    import ast

    import jupytext

    path = ROOT / "notebooks" / f"{chapter}.py"
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: the runner takes a chapter's parameters from its notebook")
    for cell in jupytext.read(path).cells:
        if "parameters" in cell.metadata.get("tags", []):
            return {t.id: ast.literal_eval(node.value) for node in ast.parse(cell.source).body
                    if isinstance(node, ast.Assign) for t in node.targets if isinstance(t, ast.Name)}
    raise ValueError(f"{path} has no cell tagged 'parameters'")


def load_config(chapter: str, profile: str, overrides: dict[str, Any] | None = None) -> Any:
    """The chapter's config as papermill runs the notebook: the ``parameters`` cell's values,
    updated for ``paper`` by ``notebooks/params/<chapter>.yaml``, then by ``overrides``.
    A bad name or value fails here, before any work."""
    from .reproduce import _params      # the same reading papermill's run gets (checked names)

    values = notebook_parameters(chapter)
    values.update(_params(ROOT, chapter, profile))
    values.update(overrides or {})
    cls = graph_module(chapter).CONFIG
    unknown = sorted(set(values) - {f.name for f in dataclasses.fields(cls)})
    if unknown:
        raise ValueError(f"unknown parameters {unknown} for {chapter}: see {cls.__name__} for the allowed names")
    return cls(**values)


def chapter_jobs(chapter: str, cfg: Any) -> list[Job]:
    """The chapter's jobs for ``cfg``, checked and in dependency order."""
    return order(graph_module(chapter).jobs(cfg))
