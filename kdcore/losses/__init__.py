"""Losses, one paper per file, and the objective interface the training loop calls.

An *objective* is any callable ``objective(model, batch) -> dict[str, Tensor]`` that
returns named, already-weighted scalar losses; :func:`kdcore.training.loop.fit` sums them and
logs each name. A ``batch`` is a dict with ``"x"`` (model inputs on the device), ``"y"``,
``"index"`` (row numbers in the training split) and every per-sample extra of the split
(e.g. ``"teacher_logits"``). If the objective is an ``nn.Module``, its trainable
parameters (e.g. a VID regressor) are optimised together with the model's.
"""

from .basic import CrossEntropy, MSE, Objective
from .cross_layer import CrossLayerVID, all_to_all_pairs, authors_lambda, neg_log_weights, pairwise_pairs
from .hinton import (HintonKD, ensemble_log_probs, ensemble_probs, kd_loss, kd_loss_oleinik2023, soft_cross_entropy)
from .meta_cross_layer import MetaCrossLayer
from .meta_hinton import MetaHintonKD, meta_kd_loss
from .vid import VIDTerm, vid_nll

__all__ = ["Objective", "CrossEntropy", "MSE", "HintonKD", "kd_loss", "kd_loss_oleinik2023",
           "soft_cross_entropy", "ensemble_probs", "ensemble_log_probs", "vid_nll", "VIDTerm",
           "CrossLayerVID", "pairwise_pairs", "all_to_all_pairs", "authors_lambda", "neg_log_weights",
           "MetaHintonKD", "meta_kd_loss", "MetaCrossLayer"]
