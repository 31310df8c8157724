"""Which code computed a run record: a hash of the chapter package and every kdcore module it uses.

A record is *current* when the code that would compute it today hashes to the value it
stores; otherwise it is *stale* and ``make reproduce`` recomputes it. The hash covers

- every file of ``kdcore/chapters/<chapter>/``, or for a study the file
  ``kdcore/studies/<chapter>.py`` (for any other name, every kdcore module outside
  ``kdcore/chapters``), and
- every kdcore module those files import, transitively (found statically with ``ast``,
  imports inside functions included), with the ``__init__`` of each enclosing package;
  through an ``__init__`` that only re-exports, just the submodules whose names are taken
  (see :func:`code_files`).

Record keeping, stored models, display and verdicts (the package ``kdcore.results``), the
runner and the notebook configs it builds (``kdcore.run``: which jobs run, with which config,
whose values are the records' keys; its ``bench`` module excepted, whose timings a study keeps
as its metric), each chapter's ``paper.py`` (the paper's numbers and claims, as
data) and its ``graph.py`` (the list of jobs for :mod:`kdcore.run`: which runner functions
run with which config, all of which the records' keys and hashed code already cover) store, show or judge what a run returned without computing it, so they are left out,
as is ``kdcore/chapters/__init__.py``, which only gathers the chapters' data:
a new table format or a corrected paper number does not make every record stale. Each file enters as its syntax tree with docstrings removed (``ast.dump``), so editing a
comment or a docstring leaves records current, while any change to code they run does
not. The source is read from disk, never imported: the core learns a chapter's code
without depending on it.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import io
import tokenize
from pathlib import Path

__all__ = ["code_hash", "code_files", "imported_modules", "module_file", "PACKAGE"]

PACKAGE = Path(__file__).resolve().parent.parent   # .../kdcore
_NAME = PACKAGE.name
NOT_COMPUTING = ("results", "run")   # top-level kdcore packages that never compute a metric
# ... except these modules of them: kdcore.run.bench times steps, and a study that keeps those
# timings as a record (kdcore.studies.hyper_step_cost) computes its metric there.
COMPUTING = (("run", "bench"),)


def _module_name(path: Path, package: Path) -> str:
    parts = [_NAME, *path.relative_to(package).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path, package: Path = PACKAGE) -> set[str]:
    """Absolute dotted names of everything ``path`` (a file inside ``package``) imports,
    relative imports resolved; ``from a import b`` yields both ``a`` and ``a.b``."""
    tree = ast.parse(path.read_text(), filename=str(path))
    name = _module_name(path, package)
    here = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = here.split(".")
                base = base[:len(base) - (node.level - 1)]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            out.add(mod)
            out.update(f"{mod}.{alias.name}" for alias in node.names)
    return out


def module_file(name: str, package: Path = PACKAGE) -> Path | None:
    """The file of a dotted kdcore module name, or ``None`` (not kdcore, or not a module)."""
    parts = name.split(".")
    if parts[0] != _NAME:
        return None
    base = package.joinpath(*parts[1:])
    for candidate in (base / "__init__.py", base.with_suffix(".py")):
        if candidate.is_file():
            return candidate
    return None


def _absolute(node: ast.ImportFrom, here: str) -> str:
    if not node.level:
        return node.module or ""
    base = here.split(".")
    base = base[:len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _imports(path: Path, package: Path) -> list[tuple[str, tuple[str, ...]]]:
    """``(module, names)`` for every import in ``path``: ``names`` are what ``from module
    import ...`` takes (empty for a plain ``import module``)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    name = _module_name(path, package)
    here = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out: list[tuple[str, tuple[str, ...]]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.extend((alias.name, ()) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            out.append((_absolute(node, here), tuple(alias.name for alias in node.names)))
    return out


def _reexports(init: Path, package: Path) -> dict[str, str] | None:
    """For a package ``__init__.py`` that only re-exports (imports, ``__all__`` and constant
    assignments besides its docstring): which module each name it binds comes from.
    ``None`` when it runs anything else, so that the whole file is followed."""
    tree = ast.parse(init.read_text(), filename=str(init))
    here = _module_name(init, package)
    found: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.ImportFrom):
            mod = _absolute(node, here)
            found.update((a.asname or a.name, mod) for a in node.names)
        elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            continue                                             # the docstring
        elif isinstance(node, (ast.Assign, ast.AnnAssign)) and isinstance(
                node.value, (ast.Constant, ast.List, ast.Tuple)) and all(
                isinstance(e, ast.Constant) for e in getattr(node.value, "elts", [node.value])):
            continue                                             # __all__, __version__
        elif not (isinstance(node, ast.Import) and node.names[0].name == "__future__"):
            return None
    return found


def code_files(chapter: str, package: Path = PACKAGE) -> list[Path]:
    """The files whose code computes a record of ``chapter`` (see the module docstring).

    Importing ``a.b.c`` runs the ``__init__`` of ``a`` and ``a.b``: those files enter the
    hash. When such an ``__init__`` only re-exports names from its submodules, the
    submodules it re-exports are followed only where a name is actually taken from it
    (``from kdcore.losses import HintonKD`` follows ``losses/hinton.py``, not
    ``losses/vid.py``): a re-export defines names and computes nothing, so a change in a
    method a chapter never calls leaves that chapter's records current.
    """
    own = package / "chapters" / chapter
    study = package / "studies" / f"{chapter}.py"
    if own.is_dir():
        todo = sorted(p for p in own.rglob("*.py") if p.name not in ("paper.py", "graph.py"))
    elif study.is_file():
        todo = [study]                        # a study: its module and what it imports
    else:
        todo = sorted(p for p in package.rglob("*.py") if "chapters" not in p.relative_to(package).parts)
    followed: set[Path] = set()      # files whose imports were walked
    hashed: set[Path] = set()        # files in the hash

    def skipped(path: Path) -> bool:
        rel = path.relative_to(package).with_suffix("").parts
        return ("__pycache__" in path.parts or (rel[0] in NOT_COMPUTING and rel not in COMPUTING)
                or (rel[0] == "chapters" and (rel[-1] in ("paper", "graph") or rel == ("chapters", "__init__"))))

    def shell(name: str) -> None:
        """Hash the ``__init__`` files that importing ``name`` runs, without following them."""
        for k in range(1, name.count(".") + 1):
            f = module_file(".".join(name.split(".")[:k]), package)
            if f is not None and not skipped(f):
                if _reexports(f, package) is None:
                    todo.append(f)
                hashed.add(f)

    while todo:
        path = todo.pop()
        if path in followed or skipped(path):
            continue
        followed.add(path)
        hashed.add(path)
        for mod, names in _imports(path, package):
            file = module_file(mod, package)
            shell(mod)
            if file is None:
                continue
            reexports = _reexports(file, package) if file.name == "__init__.py" else None
            if reexports is None or not names:
                todo.append(file)                              # a module, or a package used whole
                continue
            hashed.add(file) if not skipped(file) else None
            for n in names:
                sub = module_file(f"{mod}.{n}", package)
                source = sub or module_file(reexports.get(n, ""), package)
                if source is None:
                    todo.append(file)                          # a name we cannot place: follow it all
                else:
                    shell(_module_name(source, package))
                    todo.append(source)
    return sorted(p for p in hashed if not skipped(p))


def _normalised(path: Path) -> str:
    """The source without docstrings, comments, blank lines and trailing spaces.

    Plain text, not ``ast.dump``: the syntax tree's fields change between Python versions
    (3.12 added ``type_params``), and a record computed under one must match under another.
    """
    text = path.read_text()
    lines = text.splitlines()
    drop: set[int] = set()                       # 0-based lines of docstrings
    for node in ast.walk(ast.parse(text, filename=str(path))):
        body = getattr(node, "body", None)
        if (isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
                and body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
                and isinstance(body[0].value.value, str)):
            drop.update(range(body[0].lineno - 1, body[0].end_lineno))
    for tok in tokenize.generate_tokens(io.StringIO(text).readline):
        if tok.type == tokenize.COMMENT:         # cut the comment off its line
            row, col = tok.start
            lines[row - 1] = lines[row - 1][:col]
    kept = (line.rstrip() for i, line in enumerate(lines) if i not in drop)
    return "\n".join(line for line in kept if line.strip())


@functools.lru_cache(maxsize=None)
def _hash(chapter: str, package: Path, stamp: tuple) -> str:
    h = hashlib.sha256()
    for path in code_files(chapter, package):
        h.update(path.relative_to(package).as_posix().encode())
        h.update(_normalised(path).encode())
    return h.hexdigest()[:16]


def code_hash(chapter: str, package: Path = PACKAGE) -> str:
    """16 hex digits identifying the code that computes ``chapter``'s records today."""
    # Keyed on every file's mtime, so an edit during a long session is seen.
    stamp = tuple((str(p), p.stat().st_mtime_ns) for p in sorted(package.rglob("*.py")))
    return _hash(chapter, package, stamp)
