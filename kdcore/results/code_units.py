"""Code compared statement by statement across files, for a re-stamp over a regrouping.

:mod:`.restamp` carries records over a change that leaves their computing code as it was.
Comparing file by file refuses a pure regrouping: a module moved into a package changes
its relative imports, and a module split in two (to break an import cycle) changes both
halves. This module compares *units* instead: every top-level statement of every covered
file except the imports, as normalised text (comments and docstrings aside, as the hash
reads it), together with the *origin* of every module-level name it uses:

- a name defined by a unit: ``("def", name, sha256 of that unit's text)``;
- a name bound by ``from X import a``: the origin of ``a`` in ``X``, followed through
  re-exports; a submodule ``X.a``: ``("module", X.a)``; outside kdcore: ``("ext", X, a)``;
- a name bound by ``import X``: ``("module", X)``.

Module names of the old tree are mapped to today's through the ``moved`` files map (a
module whose file went to one place; one split over several places keeps its old name, so
a name that still resolves to the whole module is refused). An import *inside* a unit (a
function's lazy import) is written as the origins it binds, so ``from .data import require``
and ``from ..data import require`` compare equal when both reach the same definition.

A new unit is accepted when a unit of the old covered files has the same text and the same
origins for every name it uses: definitions may move between files; their bodies, and what
each name they use refers to, may not change. Blocks under ``if __name__ == "__main__":`` are
left out (they never run when a chapter imports the module), as is ``__all__`` (which
names a module exports, for ``import *``, and computes nothing). The order of top-level
statements is not compared: a module whose meaning depends on it is a rare, reviewed case.
"""

from __future__ import annotations

import ast
import builtins
import hashlib
from collections import Counter
from pathlib import Path

from .provenance import _absolute as _absolute_from, _module_name, module_file as _module_file

__all__ = ["units", "UnitResolver"]

_PACKAGE_NAME = "kdcore"


def _absolute(node: ast.ImportFrom, module: str, is_package: bool) -> str:
    """The absolute module of ``from ... import`` in ``module`` (provenance's rule, given the module)."""
    return _absolute_from(node, module if is_package else module.rpartition(".")[0])


def _is_main_block(node: ast.stmt) -> bool:
    return (isinstance(node, ast.If) and isinstance(node.test, ast.Compare)
            and isinstance(node.test.left, ast.Name) and node.test.left.id == "__name__")


def _strip(node: ast.AST) -> ast.AST:
    """``node`` without docstrings (a copy), for a text that ignores them, as the hash does."""
    node = ast.parse(ast.unparse(node)).body[0] if isinstance(node, ast.stmt) else node
    for sub in ast.walk(node):
        body = getattr(sub, "body", None)
        if (isinstance(sub, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and body
                and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
                and isinstance(body[0].value.value, str)):
            sub.body = body[1:] or [ast.Pass()]
    return node


class UnitResolver:
    """Module bindings and name origins of one package tree (``package`` = its ``kdcore/``).

    ``rename`` maps this tree's module names to today's (identity for today's tree)."""

    def __init__(self, package: Path, rename: dict[str, str] | None = None):
        self.package, self.rename = Path(package), rename or {}
        self._bindings: dict[str, dict[str, tuple]] = {}

    def new_name(self, module: str) -> str:
        """Today's name of a module of this tree (longest renamed prefix)."""
        parts = module.split(".")
        for k in range(len(parts), 0, -1):
            head = ".".join(parts[:k])
            if head in self.rename:
                return ".".join([self.rename[head], *parts[k:]])
        return module

    def _tree(self, module: str) -> tuple[ast.Module, bool] | None:
        f = _module_file(module, self.package)
        return (ast.parse(f.read_text(), filename=str(f)), f.name == "__init__.py") if f else None

    def bindings(self, module: str) -> dict[str, tuple]:
        """What each module-level name of ``module`` is bound to: ``("def", text)``,
        ``("from", X, a)`` or ``("import", X)`` (the last binding wins)."""
        if module in self._bindings:
            return self._bindings[module]
        self._bindings[module] = out = {}            # a cycle of re-exports ends here
        found = self._tree(module)
        if found is None:
            return out
        tree, is_package = found
        for node in tree.body:
            if isinstance(node, ast.ImportFrom):
                src = _absolute(node, module, is_package)
                out.update({(a.asname or a.name): ("from", src, a.name) for a in node.names})
            elif isinstance(node, ast.Import):
                for a in node.names:
                    out[a.asname or a.name.split(".")[0]] = ("import", a.name if a.asname else a.name.split(".")[0])
            elif not _is_main_block(node):
                for name in _defined(node):
                    out[name] = ("def", self._plain(node, module, is_package))
        return out

    def origin(self, module: str, name: str, depth: int = 0) -> tuple | None:
        """Where ``module.name`` comes from, in today's module names (see the module docstring)."""
        if depth > 50:
            return ("cycle", module, name)
        if not module.startswith(_PACKAGE_NAME):
            return ("ext", module, name)
        bound = self.bindings(module).get(name)
        if bound is None:
            sub = f"{module}.{name}"
            return ("module", self.new_name(sub)) if _module_file(sub, self.package) else None
        if bound[0] == "def":
            return ("def", name, hashlib.sha256(bound[1].encode()).hexdigest()[:16])
        if bound[0] == "import":
            return ("module", self.new_name(bound[1]) if bound[1].startswith(_PACKAGE_NAME) else bound[1])
        _, src, attr = bound
        if _module_file(f"{src}.{attr}", self.package) and self.bindings(src).get(attr, bound) == ("from", src, attr):
            # the submodule itself (``from . import x`` in a package's ``__init__`` binds x to it)
            return ("module", self.new_name(f"{src}.{attr}"))
        return self.origin(src, attr, depth + 1)

    def text(self, node: ast.stmt, module: str, is_package: bool) -> str:
        """The unit's text: docstrings removed, every import inside it written as the origins it binds."""
        return self._rewrite(node, module, is_package, origins=True)

    def _plain(self, node: ast.stmt, module: str, is_package: bool) -> str:
        """A definition's identity: its text with inner imports as today's absolute module names
        (not origins, so that two lazily importing functions do not recurse into each other)."""
        return self._rewrite(node, module, is_package, origins=False)

    def _rewrite(self, node: ast.stmt, module: str, is_package: bool, origins: bool) -> str:
        node = _strip(node)
        for sub in ast.walk(node):
            for field in ("body", "orelse", "finalbody"):
                stmts = getattr(sub, field, None)
                if isinstance(stmts, list):
                    setattr(sub, field, [self._canonical_import(s, module, is_package, origins) for s in stmts])
        return ast.unparse(node)

    def _canonical_import(self, stmt, module: str, is_package: bool, origins: bool):
        if isinstance(stmt, ast.ImportFrom):
            src = _absolute(stmt, module, is_package)
            names = [f"{a.asname or a.name}=" + (str(self.origin(src, a.name)) if origins else
                                                  f"{self.new_name(src)}.{a.name}") for a in stmt.names]
            return ast.Expr(ast.Constant("import " + ", ".join(names)))
        if isinstance(stmt, ast.Import):
            names = [f"{a.asname or a.name}={self.new_name(a.name)}" for a in stmt.names]
            return ast.Expr(ast.Constant("import " + ", ".join(names)))
        return stmt


def _defined(node: ast.stmt) -> list[str]:
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return [node.name]
    targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
    return [n.id for t in targets if t is not None for n in ast.walk(t) if isinstance(n, ast.Name)]


def units(files: list[Path], resolver: UnitResolver) -> Counter:
    """The multiset of ``(text, origins)`` of every top-level non-import statement of ``files``."""
    out: Counter = Counter()
    for path in files:
        module = _module_name(path, resolver.package)
        is_package = path.name == "__init__.py"
        known = resolver.bindings(module)
        for node in ast.parse(path.read_text(), filename=str(path)).body:
            if isinstance(node, (ast.Import, ast.ImportFrom)) or _is_main_block(node):
                continue
            if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
                continue                                              # the module's docstring
            if _defined(node) == ["__all__"]:
                continue                                              # the export list: names, no computation
            used = sorted({n.id for n in ast.walk(node) if isinstance(n, ast.Name)} & set(known))
            origins = tuple((n, resolver.origin(module, n)) for n in used if not hasattr(builtins, n) or n in known)
            out[(resolver.text(node, module, is_package), origins)] += 1
    return out
