"""kdcore: the small library behind the knowledge-distillation book.

Modules, each holding one concern:

- :mod:`kdcore.data`     datasets as tensors, deterministic splits, one clear error for missing data
- :mod:`kdcore.models`   MLP, ConvTiny, ConvVeryTiny, pre-activation ResNet10/18 with named features
- :mod:`kdcore.train`    one generic ``fit`` / ``evaluate`` and the ``History`` they return
- :mod:`kdcore.losses`   one paper's losses per file (Hinton KD, ...)
- :mod:`kdcore.obd`      Hessian diagonal (exact and Hutchinson), Optimal Brain Damage pruning
- :mod:`kdcore.results`  run records, paper numbers, the paper-vs-ours table
- :mod:`kdcore.config`   validation helpers shared by the typed configs
"""

__version__ = "0.1.0"
