"""Chapter 1's Optimal Brain Damage experiment (LeCun, Denker & Solla 1990).

A 784-h-10 MLP is trained, the Hessian diagonal of its training loss computed exactly
(one Hessian-vector product per weight) and by Hutchinson's estimator, and its weights
pruned one-shot by saliency ``s_i = h_ii theta_i^2 / 2`` against magnitude ``theta_i^2``.

Two things make the Hutchinson saliency misbehave, and both are measured:

- *dead inputs*: MNIST border pixels are 0 in every training image, so the weights
  leaving them get no gradient and ``h_ii = 0`` exactly (in both estimates); OBD ranks them
  first for deletion, which is harmless only while those pixels stay 0 at test time;
- *negative estimates*: with ``K`` Rademacher probes the estimate of a small positive
  ``h_ii`` is often negative, which gives a negative saliency and sends a useful weight to
  the front of the deletion queue. Fixes shown: clamping the estimate at 0, and more probes.
"""

from __future__ import annotations

import pandas as pd
import torch

from ...data import Split
from ...losses import CrossEntropy
from ...models import MLP
from ...obd import hessian, saliency as obd
from ...results import RunStore
from ...training.loop import evaluate, fit, seed_everything
from .config import KDOverviewConfig
from .runners import CHAPTER, Data, train_config

__all__ = ["obd_setting", "obd_experiment", "obd_methods"]


def obd_setting(cfg: KDOverviewConfig) -> str:
    return f"OBD 784-{cfg.obd_hidden}-10"


def obd_methods(cfg: KDOverviewConfig) -> list[str]:
    """Names of the saliencies compared, in plotting order."""
    k, more = cfg.hutchinson_probes, cfg.hutchinson_probes_more
    return ["OBD (exact diagonal)", f"OBD (Hutchinson, {k} probes)", f"OBD (Hutchinson, {k} probes, clamped at 0)",
            f"OBD (Hutchinson, {more} probes)", "magnitude"]


def _curve(model, test: Split, saliencies: dict, fractions: list[float]) -> list[dict]:
    weights = obd.weight_names(model)
    return [{"method": method, "fraction": frac,
             "accuracy": evaluate(obd.apply_masks(model, obd.prune_masks(sal, frac, weights)), test)["accuracy"]}
            for method, sal in saliencies.items() for frac in fractions]


def obd_experiment(cfg: KDOverviewConfig, data: Data, store: RunStore, seed: int = 0) -> dict:
    """Train a 784-h-10 MLP, compute ``diag(H)`` exactly and by Hutchinson, prune by each saliency.

    Metrics: unpruned accuracy, accuracy of every method at the largest fraction, Pearson and
    Spearman (rank) correlation of exact and Hutchinson diagonals, the share of negative
    Hutchinson estimates, and the number of exactly-zero diagonal entries (dead inputs).
    ``extra["curve"]``: accuracy per method and fraction; ``extra["diag"]``: a sample of
    (exact, Hutchinson) pairs.
    """
    params = {"sizes": [784, cfg.obd_hidden, 10], "epochs": cfg.obd_epochs, "n_train": len(data.train),
              "hessian_rows": cfg.obd_hessian_rows, "probes": cfg.hutchinson_probes,
              "probes_more": cfg.hutchinson_probes_more, "fractions": cfg.prune_fractions, "dataset": cfg.dataset,
              # every training setting is in the key, so that a changed one retrains instead of reusing
              "lr": cfg.lr, "batch_size": cfg.batch_size, "bf16": cfg.bf16}

    def run() -> dict:
        seed_everything(seed)
        model = MLP(params["sizes"])
        fit(model, data.train, CrossEntropy(), train_config(cfg, cfg.obd_epochs, seed), desc="OBD model")
        model.eval()                    # on the training device: the Hessian-vector products run there too
        device = next(model.parameters()).device
        rows = data.train.subset(torch.arange(min(cfg.obd_hessian_rows, len(data.train))))
        loss_fn = hessian.loss_of_params(model, rows.inputs(device), rows.y.to(device))
        named = {k: v.detach() for k, v in model.named_parameters()}
        exact = hessian.hessian_diagonal(loss_fn, named)
        hutch = hessian.hutchinson_diagonal(loss_fn, named, cfg.hutchinson_probes, seed=seed)
        more = hessian.hutchinson_diagonal(loss_fn, named, cfg.hutchinson_probes_more, seed=seed + 10_000)
        clamped = {k: v.clamp(min=0) for k, v in hutch.items()}
        names = obd_methods(cfg)
        saliencies = dict(zip(names, [obd.obd_saliency(named, exact), obd.obd_saliency(named, hutch),
                                      obd.obd_saliency(named, clamped), obd.obd_saliency(named, more),
                                      obd.magnitude_saliency(named)]))
        curve = _curve(model, data.test, saliencies, cfg.prune_fractions)
        weights = obd.weight_names(model)
        e = torch.cat([exact[k].reshape(-1) for k in weights]).cpu()
        h = torch.cat([hutch[k].reshape(-1) for k in weights]).cpu()
        pair = pd.DataFrame({"exact": e.numpy(), "hutchinson": h.numpy()})
        top = max(cfg.prune_fractions)
        at = {c["method"]: c["accuracy"] for c in curve if c["fraction"] == top}
        pick = torch.randperm(len(e), generator=torch.Generator().manual_seed(seed))[:2000]
        return {"metrics": {"accuracy_unpruned": evaluate(model, data.test)["accuracy"],
                            **{f"accuracy at {top:g} pruned: {m}": a for m, a in at.items()},
                            "pearson_exact_hutchinson": float(pair.corr("pearson").iloc[0, 1]),
                            "spearman_exact_hutchinson": float(pair.corr("spearman").iloc[0, 1]),
                            "share_negative_hutchinson": float((h < 0).float().mean()),
                            "share_negative_exact": float((e < 0).float().mean()),
                            "zero_exact_diagonal": int((e == 0).sum())},
                "extra": {"curve": curve, "diag": {"exact": e[pick].tolist(), "hutchinson": h[pick].tolist()},
                          "n_weights": int(len(e))}}

    return store.run(CHAPTER, obd_setting(cfg), seed, params, cfg.profile, run)
