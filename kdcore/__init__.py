"""kdcore: the small library behind the knowledge-distillation book.

Three layers; imports point down only (``tests/test_layout.py`` checks it):

- core, used by every chapter: :mod:`~kdcore.data` (datasets as tensors, splits; the CIFAR
  mirror reader in :mod:`~kdcore.cifar_mirror`), :mod:`~kdcore.models` (models with named
  features), :mod:`~kdcore.train` (one generic ``fit``), :mod:`~kdcore.results` (run
  records, the paper-vs-ours table), :mod:`~kdcore.config`, :mod:`~kdcore.display`,
  :mod:`~kdcore.reproduce`, :mod:`~kdcore.bench`;
- methods, usable without the book: :mod:`~kdcore.losses` (one objective per method),
  :mod:`~kdcore.growth` (growing a trained model), :mod:`~kdcore.mappings` (domain maps,
  the VAE), :mod:`~kdcore.obd` (Hessian diagonal and OBD saliency),
  :mod:`~kdcore.robustness` (FGSM, parameter noise);
- chapters: :mod:`kdcore.chapters.<name>` holds what only one paper needs (config and
  runners, data splits, report helpers, its paper numbers in ``paper.py``).
"""

__version__ = "0.1.0"
