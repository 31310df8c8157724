"""Hypergradients: metaparameters of a training loss tuned on a validation loss.

Gorpinich, Bakhteev & Strijov, "Gradient methods for optimizing metaparameters in the
knowledge distillation problem", Automation and Remote Control 83(10), 2022; the
heterogeneous cross-layer distillation draft of the same authors.

- :mod:`.meta`       metaparameter parametrisations (``(lambda, T)``, simplex weights, a clamped scalar);
- :mod:`.unrolled`   functional SGD/Adam steps and the one-step unrolled hypergradient
                     (exact by autograd, or the DARTS central finite difference);
- :mod:`.callbacks`  the upper-level step as a ``fit`` callback, and the trajectory-extrapolation variant.
"""

from .callbacks import HyperConfig, HyperStep, TrajectoryExtrapolation, fit_line
from .meta import ClampedScalar, HintonMeta, Metaparameters, SimplexWeights
from .unrolled import METHODS, Lower, adam_step, hypergradient, inner_step, sgd_step, unrolled_val_loss

__all__ = ["Metaparameters", "HintonMeta", "SimplexWeights", "ClampedScalar", "Lower", "sgd_step", "adam_step",
           "inner_step", "hypergradient", "unrolled_val_loss", "METHODS", "HyperConfig", "HyperStep",
           "TrajectoryExtrapolation", "fit_line"]
