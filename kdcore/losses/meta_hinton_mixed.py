"""The 2022 paper's loss (:mod:`.meta_hinton`) split for :class:`kdcore.hyper.mixed.MixedHyperStep`
and :class:`kdcore.hyper.tangent.TangentHyperStep`:
the model's outputs are the student logits ``z`` ``(B, C)``, the head is ``meta_kd_loss`` on
them, the only place ``(lambda, T)`` enter."""

from __future__ import annotations

from torch import Tensor

from ..data import Split
from ..hyper import HyperConfig
from ..hyper.mixed import MixedHyperStep
from ..hyper.tangent import TangentHyperStep
from ..hyper.unrolled import Objective
from .meta_hinton import MetaHintonKD, meta_kd_loss

__all__ = ["hinton_hyper_step", "hinton_tangent_step"]


def hinton_hyper_step(objective: MetaHintonKD, val_objective: Objective, val: Split,
                      config: HyperConfig | None = None) -> MixedHyperStep:
    """A :class:`MixedHyperStep` minimising ``objective``'s loss; pass its ``.objective`` to ``fit``."""

    def head(z: Tensor, batch: dict[str, Tensor], v: dict[str, Tensor]) -> dict[str, Tensor]:
        return meta_kd_loss(z, batch[objective.key], batch["y"], v["lambda"], v["temperature"], objective.t_squared)

    return MixedHyperStep(objective.meta, lambda model, batch: model(batch["x"]), head, val_objective, val, config)


def hinton_tangent_step(objective: MetaHintonKD, val_objective: Objective, val: Split,
                        config: HyperConfig | None = None, central: bool = False) -> TangentHyperStep:
    """A :class:`TangentHyperStep` minimising ``objective``'s loss (``config.method``: ``"exact"``,
    the tangent pass, or ``"finite_difference"``, one-sided unless ``central``); pass its
    ``.objective`` to ``fit``."""

    def head(z: Tensor, batch: dict[str, Tensor], v: dict[str, Tensor]) -> dict[str, Tensor]:
        return meta_kd_loss(z, batch[objective.key], batch["y"], v["lambda"], v["temperature"], objective.t_squared)

    return TangentHyperStep(objective.meta, head, val_objective, val, config, central=central)
