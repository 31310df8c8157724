"""Tables and figure data of the multi-domain chapter, built from run records only.

Every number is formatted by :func:`kdcore.results.format_metric` (mean ± std, decimals by
metric); columns carry readable names (:data:`LABELS`), never raw record keys.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from ...models.mappings import DilatedConv, GaussianNoise
from ...results import format_metric
from .paper import NUMBERS

__all__ = ["curves", "summary", "summary_table", "paper_vs_ours", "phi_gallery", "gallery_from_record",
           "gains", "teacher_table", "LABELS", "TEACHER_TEST_SET", "by_seed"]

LABELS = {"accuracy": "accuracy", "ce": "test CE", "integral": "integral criterion", "mse": "test MSE",
          "mse_last_epoch": "test MSE, last epoch", "chosen_epoch": "epochs (chosen on validation)",
          "val_mse": "validation MSE", "neg_elbo": "−ELBO"}

TEACHER_TEST_SET = {
    "FMNIST-train": "FMNIST test",
    "FMNIST-train, trained longer": "FMNIST test",
    "FMNIST-Big": "FMNIST test",
    "FMNIST-Big, noise φ": "FMNIST test + noise φ",
    "FMNIST-Big, dilation φ": "FMNIST test, dilated",
    "MNIST-Big": "MNIST test",
    "GeneratedMNIST": "other VAE samples of the same 1,000 FMNIST-Small images (not independent)",
}


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


def summary_table(records: list[dict], metrics=("accuracy", "ce", "integral")) -> pd.DataFrame:
    """:func:`summary` for readers: one "mean ± std" column per metric, and the runs."""
    s = summary(records)
    out = pd.DataFrame({"setting": s.setting})
    for m in metrics:
        out[LABELS.get(m, m)] = [format_metric(a, b, m) for a, b in zip(s[f"{m}_mean"], s[f"{m}_std"])]
    out["runs"] = s.n_runs.astype(int)
    return out


def by_seed(records: list[dict], setting: str, metric: str) -> dict[int, float]:
    """``{seed: metric}`` of one setting."""
    return {r["seed"]: r["metrics"][metric] for r in records if r["setting"] == setting}


def gains(records: list[dict], base: str, settings: list[str], continued_suffix: str) -> pd.DataFrame:
    """Accuracy of each setting minus that of ``base``, in points, paired by seed: mean ±
    std of the per-seed differences, in how many seeds it is higher, ours with the thesis
    code's continued attempts, and the thesis' difference of means."""
    paper = {p.setting: p.value for p in NUMBERS if p.metric == "accuracy"}
    b = by_seed(records, base, "accuracy")
    means = summary(records).set_index("setting")["accuracy_mean"]
    rows = []
    for k in settings:
        a = by_seed(records, k, "accuracy")
        d = np.array([100 * (a[s] - b[s]) for s in sorted(set(a) & set(b))])
        c1, c0 = k + continued_suffix, base + continued_suffix
        cont = 100 * (means[c1] - means[c0]) if c1 in means.index and c0 in means.index else float("nan")
        rows.append({"setting": k,
                     "gain, points (paired by seed)": format_metric(d.mean(), d.std(ddof=1) if len(d) > 1 else None,
                                                                    "points") if len(d) else "—",
                     "seeds higher": f"{int((d > 0).sum())} of {len(d)}",
                     "ours, thesis code (no re-init)": format_metric(cont, None, "points"),
                     "thesis": format_metric(100 * (paper[k] - paper[base]), None, "points") if k in paper else "—"})
    return pd.DataFrame(rows)


def teacher_table(own: list[dict], via: list[dict], settings: dict, prefix: str) -> pd.DataFrame:
    """Per student setting with a teacher: the teacher, its accuracy on its own domain's
    test part (named), and ``f o phi`` on the student's test set (FMNIST test), each mean ±
    std over the teacher seeds."""
    rows = []
    for k, (teacher, phi) in settings.items():
        if teacher is None:
            continue
        o = [r["metrics"]["accuracy"] for r in own if r["setting"] == f"teacher: {teacher}"]
        v = [r["metrics"]["accuracy"] for r in via if r["setting"] == prefix + k]
        rows.append({"student setting": k, "teacher trained on": teacher,
                     "teacher's own test set": TEACHER_TEST_SET.get(teacher, "?"),
                     "accuracy there": _fmt(o), "φ at student time": phi,
                     "f∘φ accuracy on FMNIST test": _fmt(v), "teachers": len(o)})
    return pd.DataFrame(rows)


def _fmt(vals: list[float], metric: str = "accuracy") -> str:
    s = pd.Series(vals, dtype=float)
    return format_metric(s.mean(), s.std(ddof=1) if len(s) > 1 else None, metric) if len(s) else "—"


def paper_vs_ours(records: list[dict], continued_suffix: str) -> pd.DataFrame:
    """One row per paper number: the paper's mean ± std, ours (re-initialised students,
    mean ± std over seeds), Δ = ours − paper, and, where run, ours with the thesis code's
    continued attempts. Settings the paper did not run (e.g. the leaky Bike reading) have
    no paper number, hence no row and no Δ."""
    by: dict[tuple[str, str], list[float]] = {}
    for r in records:
        for m, v in r["metrics"].items():
            by.setdefault((r["setting"], m), []).append(v)

    def fmt(key):
        vals = pd.Series(by.get(key, []), dtype=float)
        return "—" if vals.empty else format_metric(vals.mean(), vals.std(ddof=1) if len(vals) > 1 else None, key[1])

    rows = []
    for p in NUMBERS:
        if p.setting.endswith(continued_suffix):
            continue  # shown in the "no re-init" column of the base setting's row
        ours = by.get((p.setting, p.metric), [])
        delta = float(np.mean(ours)) - p.value if ours else float("nan")
        rows.append({"setting": p.setting, "metric": LABELS.get(p.metric, p.metric),
                     "paper": format_metric(p.value, p.std, p.metric), "ours (re-init)": fmt((p.setting, p.metric)),
                     "Δ ours − paper": "—" if delta != delta else ("+" if delta >= 0 else "") + format_metric(delta, None, p.metric),
                     "runs": len(ours),
                     "ours, thesis code (no re-init)": fmt((p.setting + continued_suffix, p.metric)),
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


def gallery_from_record(vae_record: dict) -> dict[str, np.ndarray]:
    """The φ gallery stored in the VAE's run record: name -> ``(n, H, W)`` uint8 images."""
    return {k: np.asarray(v, dtype=np.uint8) for k, v in (vae_record.get("extra") or {})["gallery"].items()}
