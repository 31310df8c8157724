"""A chapter's config from its notebook: papermill's injected names, and the base class
whose ``from_namespace`` validates a notebook's parameters before any work.

Above the data layer: :meth:`ConfigBase.preflight` checks the files the runs will read
(:func:`kdcore.data.require`). The checks every config uses live below, in
:mod:`kdcore.base.checks`.
"""

from __future__ import annotations

import ast
from typing import Any

from ..base.checks import ConfigError, unknown_names_message

__all__ = ["ConfigBase", "injected_parameters", "PAPERMILL_HEADER"]


PAPERMILL_HEADER = "# Parameters"   # the first line of the cell papermill injects (Python kernels)


def injected_parameters(namespace: dict[str, Any]) -> list[str]:
    """Names that papermill injected into a running notebook, in order.

    papermill executes its parameters as a code cell starting with ``# Parameters``
    right after the cell tagged ``parameters``; IPython keeps every executed cell's source
    in ``In``. Outside papermill (nbval, a plain kernel, a script) the list is empty.
    """
    names: list[str] = []
    for source in namespace.get("In") or []:
        if isinstance(source, str) and source.lstrip().startswith(PAPERMILL_HEADER):
            for node in ast.parse(source).body:
                if isinstance(node, ast.Assign):
                    names += [t.id for t in node.targets if isinstance(t, ast.Name)]
    return names


class ConfigBase:
    """Mixin for the chapters' config classes (decorated with :func:`config_dataclass`).

    ``Config.from_namespace(globals())`` picks the fields from a notebook's namespace
    (the ``parameters`` cell plus what papermill injected), so papermill parameter names
    equal the field names and validation runs before any work. A parameter papermill
    injected that is not a field (``-p temprature 5``) is refused, never ignored; then
    :meth:`preflight` checks the data the runs will read.
    """

    @classmethod
    def from_namespace(cls, namespace: dict[str, Any]):
        import dataclasses

        names = [f.name for f in dataclasses.fields(cls)]  # type: ignore[arg-type]
        unknown = [n for n in injected_parameters(namespace) if n not in names]
        if unknown:
            raise ConfigError(unknown_names_message(unknown, names, "the papermill parameters"))
        missing = [n for n in names if n not in namespace]
        if missing:
            raise ConfigError(f"parameters {missing} are missing from the notebook's parameters cell")
        cfg = cls(**{n: namespace[n] for n in names})
        cfg.preflight()
        return cfg

    def required_data(self) -> tuple[str, ...]:
        """The datasets (names of :data:`kdcore.data_files.SOURCES`) this config's runs read."""
        return ()

    def preflight(self) -> None:
        """Check every file of :meth:`required_data` up front (sha256, extracted files included),
        so a missing or corrupt file stops the notebook before its first run."""
        from ..data import require   # lazily: reading a config needs no dataset code

        require(*self.required_data())

    def asdict(self) -> dict[str, Any]:
        import dataclasses

        return dataclasses.asdict(self)  # type: ignore[arg-type]
