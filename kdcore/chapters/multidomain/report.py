"""Tables and figure data of the multi-domain chapter, built from run records only."""

from __future__ import annotations

import pandas as pd
import torch

from ...mappings import DilatedConv, GaussianNoise
from .paper import NUMBERS
from ...results import format_mean_std

__all__ = ["curves", "summary", "paper_vs_ours", "phi_gallery"]


def curves(records: list[dict]) -> pd.DataFrame:
    """Long table of test curves: setting, seed, epoch, test_loss, test_metric."""
    rows = []
    for r in records:
        h = r.get("history") or {}
        for e, l, m in zip(h.get("test_epochs", []), h.get("test_loss", []), h.get("test_metric", [])):
            rows.append({"setting": r["setting"], "seed": r["seed"], "epoch": e, "test_loss": l, "test_metric": m})
    return pd.DataFrame(rows)


def summary(records: list[dict]) -> pd.DataFrame:
    """Mean and sample std over seeds of every metric, per setting (first-seen order)."""
    df = pd.DataFrame([{"setting": r["setting"], **r["metrics"]} for r in records])
    order = list(dict.fromkeys(df.setting))
    g = df.groupby("setting", sort=False)
    out = g.mean().add_suffix("_mean").join(g.std(ddof=1).add_suffix("_std")).join(g.size().rename("n_runs"))
    return out.loc[order].reset_index()


def paper_vs_ours(records: list[dict], continued_suffix: str, digits: int = 3) -> pd.DataFrame:
    """One row per paper number: the paper's mean ± std, ours (re-initialised students,
    mean ± std over seeds) and, where run, ours with the thesis code's continued attempts."""
    by: dict[tuple[str, str], list[float]] = {}
    for r in records:
        for m, v in r["metrics"].items():
            by.setdefault((r["setting"], m), []).append(v)

    def fmt(key, d):
        vals = pd.Series(by.get(key, []), dtype=float)
        if vals.empty:
            return "—"
        return format_mean_std(vals.mean(), vals.std(ddof=1) if len(vals) > 1 else None, d)

    rows = []
    for p in NUMBERS:
        if p.setting.endswith(continued_suffix):
            continue  # shown in the "no re-init" column of the base setting's row
        d = 1 if p.metric == "mse" else digits
        rows.append({"setting": p.setting, "metric": p.metric, "paper": format_mean_std(p.value, p.std, d),
                     "ours (re-init)": fmt((p.setting, p.metric), d),
                     "runs": len(by.get((p.setting, p.metric), [])),
                     "ours (thesis code: no re-init)": fmt((p.setting + continued_suffix, p.metric), d),
                     "source": p.source.split(",")[0]})
    return pd.DataFrame(rows)


@torch.no_grad()
def phi_gallery(images: torch.Tensor, vae, noise_std: float = 0.1, seed: int = 0) -> dict[str, torch.Tensor]:
    """What each map does to ``images`` ``(n, 1, 28, 28)`` in [0, 1]: name -> ``(n, H, W)``."""
    torch.manual_seed(seed)
    n = len(images)
    flat = images.flatten(1)
    return {"x (FMNIST-Small)": images[:, 0],
            f"noise φ (σ={noise_std:g})": GaussianNoise(noise_std)(images)[:, 0],
            "dilation φ (24×24)": DilatedConv()(images).view(n, 24, 24),
            "VAE φ → MNIST": vae.translate(flat, "mnist").view(n, 28, 28),
            "VAE → FMNIST (reconstruction)": vae.translate(flat, "fmnist").view(n, 28, 28)}


def accuracy_gains(records: list[dict], base: str, settings: list[str], continued_suffix: str) -> pd.DataFrame:
    """Accuracy of each setting minus that of ``base``, in points (x100): ours with
    re-initialised students, ours with the thesis code's continued attempts, the thesis."""
    s = summary(records).set_index("setting")["accuracy_mean"]
    paper = {p.setting: p.value for p in NUMBERS if p.metric == "accuracy"}

    def gain(table, name, suffix=""):
        a, b = table.get(name + suffix), table.get(base + suffix)
        return float("nan") if a is None or b is None else 100 * (a - b)

    return pd.DataFrame([{"setting": k, "ours (re-init)": gain(s, k), "ours (thesis code: no re-init)":
                          gain(s, k, continued_suffix), "thesis": gain(paper, k)} for k in settings])
