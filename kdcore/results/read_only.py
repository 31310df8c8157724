"""A store that only reads: while ``make reproduce`` executes the notebooks, no run is computed.

``make reproduce`` fills every record with the runner (``python -m kdcore run``) and then
executes the notebooks with ``KDCORE_READ_ONLY=1``: a notebook that would still compute a run
(or retrain a model whose weights are missing) stops with :class:`ReadOnlyError`, naming it,
instead of training for hours inside papermill. It means the chapter's ``graph.py`` misses a job.
"""

from __future__ import annotations

import os

__all__ = ["ReadOnlyError", "refuse_if_read_only"]


class ReadOnlyError(RuntimeError):
    """``KDCORE_READ_ONLY=1`` (set by ``make reproduce`` while the notebooks execute) and a run
    would have to be computed: the job graph (``python -m kdcore run``) left it out."""


def refuse_if_read_only(chapter: str, what: str, why: str) -> None:
    if os.environ.get("KDCORE_READ_ONLY"):
        raise ReadOnlyError(f"{chapter}: {what} {why}, and this store only reads (KDCORE_READ_ONLY=1). "
                            f"Run `python -m kdcore run {chapter}` first; if that does not compute it, "
                            f"the chapter's graph.py misses the job.")
