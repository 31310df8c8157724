"""Run records, paper numbers as data, and the paper-vs-ours table.

- :mod:`.records`  run records on disk (:class:`RunStore`), atomic writes, provenance;
- :mod:`.paper`    :class:`PaperNumber`, one number a paper reports, with its source;
- :mod:`.table`    the paper-vs-ours table and the shared number formats;
- ``python -m kdcore.results`` prints the table of every chapter (:mod:`.__main__`).
"""

from .paper import PaperNumber
from .records import RunStore, results_root
from .table import (TABLE_COLUMNS, comparison_table, format_mean_std, format_metric, markdown_sections,
                    metric_digits, readable_table)

__all__ = ["RunStore", "results_root", "PaperNumber", "comparison_table", "readable_table",
           "format_mean_std", "format_metric", "metric_digits", "markdown_sections", "TABLE_COLUMNS"]
