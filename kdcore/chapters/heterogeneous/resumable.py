"""A column's teacher trained resumably, one epoch at a time (the full CIFAR-10 column's ResNet18).

:func:`.runners.teacher` trains a teacher in one go. On the 2-core CPU the full CIFAR-10
column's ResNet18 (45,000 rows, bf16) takes 11-17 minutes an epoch, so the paper's 15 epochs
outlast a working session. :func:`resumable_teacher` trains the same model with the same
:class:`~kdcore.training.loop.TrainConfig` through
:class:`kdcore.results.model_store.ModelStore`: the state after every finished epoch is kept in
``<results>/heterogeneous/teachers/<name>-<key>.partial.pt`` (committed while unfinished), and
an interrupted training continues from its last epoch with the weights an uninterrupted one
would reach on the CPU. When it ends, it writes the very record :func:`.runners.teacher` would
write (same setting, seed, parameters and profile: a test checks the keys are equal), so every
later :func:`.runners.teacher` call loads it and trains nothing.
"""

from __future__ import annotations

from pathlib import Path

from torch import nn

from ...losses import CrossEntropy
from ...models import build_model
from ...results import RunStore
from ...results.records import TrainedModel
from ...results.model_store import ModelStore
from ...training.loop import TrainConfig, evaluate, fit, seed_everything
from .data import LABELS, SYNTHETIC
from .runners import CHAPTER, HeterogeneousConfig, _teacher_name, data, teacher

__all__ = ["resumable_teacher", "teacher_params"]


def teacher_params(cfg: HeterogeneousConfig, dataset: str, name: str) -> dict:
    """The record parameters of an image column's teacher, as :func:`.runners.teacher` keys it."""
    return {"model": name, "dataset": dataset, "n_rows": cfg.n_rows[dataset], "epochs": cfg.teacher_epochs,
            "lr": 1e-3, "batch_size": 128, "bf16": cfg.teacher_bf16}


def resumable_teacher(cfg: HeterogeneousConfig, store: RunStore, dataset: str, name: str | None = None) -> TrainedModel:
    """:func:`.runners.teacher`'s model and record, trained resumably per epoch when it has no record yet.

    The synthetic columns' logistic regressions train in seconds and go straight to
    :func:`.runners.teacher`.
    """
    name = name or _teacher_name(cfg, dataset)
    params = teacher_params(cfg, dataset, name) if dataset not in SYNTHETIC else None
    setting = f"{LABELS[dataset]}: teacher {name}"
    if params is None or store.usable(store.load(CHAPTER, setting, 0, params, cfg.profile)):
        return teacher(cfg, store, dataset, name)
    tcfg = TrainConfig(epochs=cfg.teacher_epochs, batch_size=128, lr=1e-3, device=cfg.device, progress=False,
                       bf16=cfg.teacher_bf16, channels_last=cfg.teacher_bf16)

    def build() -> nn.Module:   # as runners.teacher builds it
        seed_everything(0)
        return build_model(name, in_channels=1) if dataset == "fashion_mnist" else build_model(name)

    def train(model: nn.Module) -> dict:
        d = data(cfg, dataset)
        models = ModelStore(Path(store.root) / CHAPTER / "teachers")
        stored = models.get({"setting": setting, "profile": cfg.profile, **params}, build,
                            lambda m, resume, on_checkpoint: fit(m, d.teacher_train, CrossEntropy(), tcfg,
                                                                 desc=f"teacher {name}", resume=resume,
                                                                 on_checkpoint=on_checkpoint),
                            name=f"{CHAPTER}-{name}")
        model.load_state_dict(stored.model.state_dict())
        stored.path.unlink(missing_ok=True)    # the record's safetensors keep the weights
        return {"metrics": {"accuracy": evaluate(model, d.teacher_test)["accuracy"]},
                "history": stored.history.to_dict()}

    return store.trained_model(CHAPTER, setting, 0, params, cfg.profile, build, train)
