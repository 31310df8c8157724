"""One runner for every chapter: a job graph per chapter, run here or on a Ray cluster.

- :mod:`.graph`: :class:`Job` (a runner function of a chapter, its arguments, the jobs it
  needs, the CPU threads and GPU fraction it asks for) and the graph's checks and order;
- :mod:`.chapters`: each chapter's config at a profile and its graph (``graph.py`` in the
  chapter package: only the list of jobs, the runner functions stay where they were);
- :mod:`.backends`: ``local`` (this process, or a process pool) and ``ray`` (one Ray task
  per job; workers send the files they wrote back to the driver, which alone writes them);
- :mod:`.status`: per chapter, records done, stale, missing and failed, and the time left;
- ``python -m kdcore run|status``: :mod:`kdcore.__main__`.
"""

from .graph import Job, GraphError, order, select

__all__ = ["Job", "GraphError", "order", "select"]
