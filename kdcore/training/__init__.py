"""Training: one generic ``fit`` with its config and batching (:mod:`.loop`), the per-epoch
:class:`~kdcore.training.history.History` (:mod:`.history`), input jitter and max-norm
constraints (:mod:`.regularization`), and robustness measures, FGSM and parameter noise
(:mod:`.robustness`)."""
