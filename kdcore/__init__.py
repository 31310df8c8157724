"""kdcore: the small library behind the knowledge-distillation book.

Packages in layers, every import pointing down (``lint-imports`` checks the contract in
``pyproject.toml``; ``make test`` runs it):

- entry point: ``python -m kdcore run|status|results`` (:mod:`kdcore.__main__`);
- :mod:`~kdcore.chapters` (what only one paper needs: config, runners, data splits, report
  helpers, its paper numbers in ``paper.py``, its job list in ``graph.py``) and
  :mod:`~kdcore.studies` (single measurements that answer one question);
- :mod:`~kdcore.run`: the job graph, its local and Ray backends, status, notebook configs,
  ``make reproduce`` and ``make bench``; it finds the chapters by name at run time;
- :mod:`~kdcore.results`: run records and their provenance, stored models and weights, the
  paper-vs-ours table, scoreboard, verdicts and display;
- :mod:`~kdcore.losses` (one objective per method) and :mod:`~kdcore.training` (one
  generic ``fit``, its history, regularisers, robustness measures);
- :mod:`~kdcore.hyper` (hypergradients, meta-parameters), :mod:`~kdcore.obd` (Hessian
  diagonal, OBD saliency), :mod:`~kdcore.models` (networks with named features; feature
  regressors, growing a trained model, domain maps and the VAE);
- :mod:`~kdcore.data` (datasets as tensors, their files and checks, the CIFAR mirror);
- :mod:`~kdcore.base` (argument checks, atomic files).
"""

__version__ = "0.1.0"
