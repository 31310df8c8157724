"""Statement-by-statement comparison of two package trees (kdcore.results.code_units): a pure
regrouping is accepted, any change to what runs is not."""

from __future__ import annotations

import textwrap
from pathlib import Path

from kdcore.results.code_units import UnitResolver, units
from kdcore.results.restamp import renames

OLD = {
    "__init__.py": "",
    "config.py": '''
        """Checks and the config base."""
        def check_choice(name, value, allowed):
            if value not in allowed:
                raise ValueError(name)

        class ConfigBase:
            def preflight(self):
                from .data import require   # lazy: data imports this module
                require("mnist")
    ''',
    "data.py": '''
        from .config import check_choice
        SOURCES = ("mnist",)

        def require(*names):
            for n in names:
                check_choice("dataset", n, SOURCES)

        if __name__ == "__main__":
            from kdcore.data_cli import main
    ''',
    "train.py": '''
        from .data import require
        from .config import ConfigBase

        class TrainConfig(ConfigBase):
            pass
    ''',
}

# The same code regrouped: config.py split into base/checks.py and run/config.py, data.py a package.
NEW = {
    "__init__.py": "",
    "base/__init__.py": "",
    "base/checks.py": '''
        def check_choice(name, value, allowed):
            if value not in allowed:
                raise ValueError(name)  # a comment changes nothing
    ''',
    "run/__init__.py": "",
    "run/config.py": '''
        class ConfigBase:
            def preflight(self):
                from ..data import require
                require("mnist")
    ''',
    "data/__init__.py": '''
        from ..base.checks import check_choice
        SOURCES = ("mnist",)

        def require(*names):
            for n in names:
                check_choice("dataset", n, SOURCES)

        if __name__ == "__main__":
            from kdcore.data.cli import main
    ''',
    "training/__init__.py": "",
    "training/train.py": '''
        from ..data import require
        from ..run.config import ConfigBase

        class TrainConfig(ConfigBase):
            pass
    ''',
}
MOVED = {"base/checks.py": "config.py", "run/config.py": "config.py", "data/__init__.py": "data.py",
         "training/train.py": "train.py"}


def _tree(root: Path, files: dict[str, str]) -> Path:
    pkg = root / "kdcore"
    for rel, text in files.items():
        (pkg / rel).parent.mkdir(parents=True, exist_ok=True)
        (pkg / rel).write_text(textwrap.dedent(text))
    return pkg


def _missing(tmp_path: Path, new: dict[str, str]) -> list[str]:
    old = _tree(tmp_path / "old", OLD)
    pkg = _tree(tmp_path / "new", new)
    have = units(sorted(old.rglob("*.py")), UnitResolver(old, renames(MOVED)))
    today = units(sorted(pkg.rglob("*.py")), UnitResolver(pkg))
    return [text.splitlines()[0] for text, _ in today if (text, _) not in have]


def test_a_split_and_moved_tree_has_the_same_units(tmp_path):
    assert _missing(tmp_path, NEW) == []


def test_renames_keep_a_split_module_under_its_old_name():
    assert renames(MOVED) == {"kdcore.data": "kdcore.data", "kdcore.train": "kdcore.training.train"}


def test_a_changed_body_is_refused(tmp_path):
    changed = dict(NEW, **{"base/checks.py": NEW["base/checks.py"].replace("raise ValueError(name)",
                                                                           "raise KeyError(name)")})
    # and so is every statement that uses it (its origin's text changed)
    assert _missing(tmp_path, changed) == ["def check_choice(name, value, allowed):", "def require(*names):"]


def test_a_name_bound_to_another_definition_is_refused(tmp_path):
    # data's check_choice now comes from a different function with the same name: require's
    # text is unchanged, but what one of its names means is not.
    other = dict(NEW, **{"data/__init__.py": NEW["data/__init__.py"].replace(
        "from ..base.checks import check_choice", "from ..base.other import check_choice")},
        **{"base/other.py": "def check_choice(name, value, allowed):\n    return None\n"})
    missing = _missing(tmp_path, other)
    assert "def require(*names):" in missing


def test_a_lazy_import_reaching_another_definition_is_refused(tmp_path):
    other = dict(NEW, **{"run/config.py": NEW["run/config.py"].replace("from ..data import require",
                                                                       "from ..base.checks import check_choice as require")})
    assert _missing(tmp_path, other) == ["class ConfigBase:", "class TrainConfig(ConfigBase):"]


def test_a_new_definition_that_no_old_statement_uses_is_an_addition(tmp_path):
    from kdcore.results.restamp import _addition

    added = dict(NEW, **{"data/__init__.py": textwrap.dedent(NEW["data/__init__.py"]) + "\nLIMIT = 3\n\ndef extra(n):\n    return require(n)\n"})
    missing = _missing(tmp_path, added)
    assert missing == ["LIMIT = 3", "def extra(n):"]
    assert all(_addition(m if m != "def extra(n):" else "def extra(n):\n    return require(n)") for m in missing)
    assert not _addition("print('side effect')") and not _addition("X = compute()")


def test_redefining_a_used_name_is_not_an_addition(tmp_path):
    # a second check_choice after the first rebinds the name: require (which uses it) now
    # means something else, so require itself has no twin and is refused (not an addition)
    shadow = dict(NEW, **{"data/__init__.py": textwrap.dedent(NEW["data/__init__.py"]) + "\ndef check_choice(*a):\n    return None\n"})
    assert "def require(*names):" in _missing(tmp_path, shadow)
