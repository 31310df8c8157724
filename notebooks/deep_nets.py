# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Distillation in deep networks: Hinton, pairwise and all-to-all variational distillation
#
# *Source: Oleinik, Gorpinich & Bakhteev {cite}`oleinik2023deepnets`, "Дистилляция знаний в
# глубоких сетях" (the paper is in Russian; this chapter is in English), and its authors'
# code and executed notebooks (intsystems/2023-Project-115). It builds on variational
# information distillation (VID) by Ahn et al. {cite}`ahn2019vid` and on Hinton et al.
# {cite}`hinton2015distilling`.*
#
# **The claim.** Small CNN students on CIFAR-10 {cite}`krizhevsky2009cifar` learn more from a
# teacher's intermediate layers (VID: maximise a variational bound on the mutual information
# between a teacher layer and a student layer) than from its logits alone (Hinton), and
# linking *every* student layer with *every* teacher layer, with weights $\lambda_{ij}$
# searched per run ("all-to-all": drawn by an Optuna search, not learned by the student),
# beats linking layer $i$ with layer $i$ ("pairwise"). The paper reports, for ConvTiny →
# ConvVeryTiny, 0.54 alone, 0.56 Hinton, 0.58-0.59 pairwise and 0.58-0.59 all-to-all
# (Table 1: the same range, so "all-to-all beats pairwise" is this chapter's test, not a
# difference the paper shows), and for ResNet10 → ConvTiny 0.58 alone, 0.60 Hinton and 0.63
# all-to-all (Table 2, which has no pairwise row).
#
# The authors' code had bugs that change what was measured (listed below); each comparison
# runs as coded by them (**faithful**) and with the bugs fixed (**corrected**) where the
# profile runs both modes (the sections say what ran).
#
# Every number below comes from a run record (see the [results page](../results.md)). This
# page was executed with the **{glue:text}`profile`** profile (records in
# {glue:text}`results_dir`); each table and figure names it, and the chapter ends with a
# verdict per claim computed from those records. The code of every figure and table is
# folded under it: unfold it, or open the chapter in Colab to run it.

# %% tags=["remove-cell"]
# In Colab or a fresh environment: install kdcore from the book's repository if it is missing.
import importlib.util
import subprocess
import sys

if importlib.util.find_spec("kdcore") is None:
    subprocess.check_call([sys.executable, "-m", "pip", "install", "-q",
                           "git+https://github.com/kd-book/kd-book.git"])

# %% tags=["parameters", "remove-cell"]
# Smoke profile: seconds on a CPU. The paper profile is notebooks/params/deep_nets.yaml;
# on a GPU run the runner first: python -m kdcore run deep_nets --profile paper --workers 12
profile = "smoke"
n_train = 128
val_size = 64
test_rows = 200
batch_size = 64
lr = 1e-3
shuffle = False
device = "auto"
bf16 = True
channels_last = True
resnet_widths = [4, 8, 16, 32]
resnet18_epochs = 1
resnet10_epochs = 1
conv_tiny_teacher_epochs = 1
basic_epochs = 1
epochs = 1
alone_seeds = [0]
hinton_runs = 2
hinton_draw_seed = 0
hinton_variants = ["oleinik2023", "hinton"]
table_hinton_beta = 0.5
table_hinton_temperature = 3.0
pairwise_beta = 0.1
pairwise_trials = 2
a2a_trials = 2
a2a_trials_resnet10_corrected = 1
a2a_beta_range = [0.1, 0.9]
modes = ["faithful", "corrected"]
rerun_seeds = [100]
search_seed = 0
variance = "scalar"
reduction = "sum"
feature_cache_gb = 16.0
tables = ["table1", "table2"]
hinton_sweep = True
cost = True
cost_epochs = 1
cost_rows = 16

# %% tags=["remove-cell"]
import re
from dataclasses import replace

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from kdcore import chapters as book
from kdcore.chapters import deep_nets as ch
from kdcore.chapters.deep_nets import report
from kdcore.chapters.deep_nets.sampled import SampledSearch
from kdcore.results.display import (glue, glue_all, profile_notice, relative_path, show_comparison, show_markdown,
                                    show_source, show_table)
from kdcore.losses import CrossLayerVID, vid_nll
from kdcore.models import ConvTiny, ConvVeryTiny, parameter_count, resnet10, resnet18
from kdcore.results import RunStore, comparison_table
from kdcore.results.verdicts import Claim, verdict_table

CHANCE = 0.10   # ten classes: where a run that learned nothing ends
cfg = ch.DeepNetsConfig.from_namespace(globals())   # validates every parameter first
store = RunStore(profile=cfg.profile)   # a smoke run keeps its records in a scratch folder
lab = ch.Lab(cfg, store)
sns.set_theme(style="whitegrid", context="notebook")
P = f"profile: {cfg.profile}"
glue_all(profile=cfg.profile, results_dir=str(relative_path(store.root)))
# What the chapter shows: the tables and modes this profile runs and, for a table it does not
# run, the modes whose search another parameters file ran into the same records (Table 2's
# CPU part, notebooks/params/deep_nets_table2_cpu.yaml). Those are read, never trained here.
settings = report.by_setting(report.chapter_records(store, cfg.profile))
shown = {t: list(cfg.modes) if t in cfg.tables else
         [m for m in cfg.modes if f"{ch.search.search_name(t, 'all-to-all', m)}: search" in settings]
         for t in ch.experiments.TABLES}
shown = {t: modes for t, modes in shown.items() if modes}
TAG = {"table1": "t1", "table2": "t2"}   # glue names per table


def table_name(table: str) -> str:
    return "Table 1" if table == "table1" else "Table 2"


def glue_missing(*names: str) -> None:
    """Glue a dash for numbers this profile does not produce (a part it did not run)."""
    for name in names:
        glue(name, "—")


def show_verdicts(verdicts: pd.DataFrame, caption: str) -> None:
    """A verdict table (kdcore.results.verdicts) as one row per claim, accuracies signed in the claimed direction."""
    signed = lambda x: "—" if x != x else f"{x:+.4f}"
    plain = lambda x: "—" if x != x else f"{abs(x):.4f}"
    show_table(verdicts.assign(difference=verdicts.difference.map(signed), std=verdicts["std"].map(plain),
                               se=verdicts.se.map(plain))
               [["verdict", "claim", "difference", "std", "se", "n", "failed"]]
               .rename(columns={"difference": "difference (claimed direction)", "std": "sd"}),
               caption=caption)


# %% tags=["remove-input"]
profile_notice(cfg.profile)

# %% [markdown]
# ## The method
#
# For teacher features $t_j$ and student features $s_i$, VID models $t_j$ given $s_i$ as a
# Gaussian $\mathcal N(\mu_{ij}(s_i), \sigma^2_{ij})$; a regressor $\mu_{ij}$ (1×1 convolutions,
# a strided or transposed convolution where the spatial sizes differ, a Linear layer where a
# side is flat) and the variance $\sigma^2 = \mathrm{softplus}(\rho)$ are trained with the
# student. The student minimises (the authors' code; the paper's text puts $\beta$ on the
# task term instead)
#
# $$\mathcal L = (1-\beta)\,\mathrm{CE}(y, g(x)) + \beta \sum_{(i,j)} \lambda_{ij}
#   \underbrace{\frac1B\sum_b \sum_f \Big[\frac{(t_{j,bf} - \mu_{ij}(s_i)_{bf})^2}{2\sigma^2_{ij}}
#   + \tfrac12 \log\sigma^2_{ij}\Big]}_{\text{VID}_{ij}:\ \text{Gaussian negative log-likelihood}}.$$
#
# *Pairwise* sums over $(i, i)$, *all-to-all* over every $(i, j)$; as in the authors' code,
# the all-to-all weights of each student layer sum to $1/S$ for $S$ = 4 student layers (their
# $\tfrac{\beta}{4}$). **Faithful** mode runs the authors' code, which differs in these ways:
# the squared error is *multiplied* by
# $\sigma^2$ (so the optimiser shrinks $\sigma^2$ and the term fades), the log term is counted
# once instead of once per element, and the loop over pairs accumulates
# $\lambda_{ij}\,\text{VID}_{ij}$ into a sum it never uses: only the *last* pair's unweighted
# term enters the loss (scaled by $1/S$ in all-to-all). In the all-to-all code the pair
# (student $i$, teacher $j$) also reads weight number $4i + j$ instead of $9i + j$ (the same
# index when the teacher has 4 tapped layers, as in Table 1; with ResNet10's 9 in Table 2 it
# changes only the λ drawn in the heatmaps, since faithful λ never reach the loss). Their Hinton loss swaps the KL arguments and
# has no $T^2$, and their teachers were left in training mode (BatchNorm on batch
# statistics). **Corrected** mode fixes all of this. The implementations the chapter runs:

# %% tags=["remove-input"]
show_source(vid_nll)
show_source(CrossLayerVID.forward)

# %% [markdown]
# ## Data and models
#
# The paper profile: the first 10,112 CIFAR-10 training images in stored order (the
# authors' `maxsize`), batch 128, no shuffling, Adam with learning rate $10^{-3}$, no
# schedule. Test sets: the full 10,000 test images in a JPEG q75 copy (labelled "10k JPEG";
# the original pickles were not available offline) and the exact first 1,000. The models and
# the paper profile's sizes below do not depend on the profile that runs (this cell's output
# is checked by the test suite):

# %% tags=["hide-input"]
# NBVAL_CHECK_OUTPUT
for name, model in [("ConvTiny", ConvTiny()), ("ConvVeryTiny", ConvVeryTiny()),
                    ("ResNet10 (authors' layout)", resnet10(authors_layout=True)),
                    ("ResNet18 (authors' layout)", resnet18(authors_layout=True))]:
    print(f"{name:28s} {parameter_count(model):>10,d} parameters")
print("all-to-all layers: student", ch.CONV_LAYERS, "| ResNet10 teacher", ch.RESNET10_LAYERS)
per_image = ch.runners.feature_elements(resnet10(authors_layout=True), ch.RESNET10_LAYERS)
print(f"ResNet10's 9 feature maps: {per_image:,d} values per image, {10112 * per_image * 2 / 1e9:.2f} GB "
      "for the paper profile's 10,112 images in bf16")
print("paper profile, choosing λ on validation: 10,112 rows = 8,960 for the trials + 1,152 held out")

# %% tags=["remove-cell"]
d = lab.data
glue_all(train_rows=f"{len(d.train):,}", trial_rows=f"{len(d.part):,}", val_rows=f"{len(d.val):,}",
         test_desc=d.test.description, test_n=f"{len(d.test):,}", test1k_desc=d.test_1k.description,
         test1k_n=f"{len(d.test_1k):,}")

# %% [markdown]
# The sizes this run uses: {glue:text}`train_rows` training images ({glue:text}`trial_rows`
# for the search trials + {glue:text}`val_rows` for validation); test sets
# {glue:text}`test_desc` ({glue:text}`test_n` rows) and {glue:text}`test1k_desc`
# ({glue:text}`test1k_n` rows).

# %% [markdown]
# ## (a) Teachers
#
# The authors' pre-activation ResNets (BatchNorm + ReLU after the stem, none before the
# pooling) and ConvTiny, trained once and stored under a key of their full training config
# (`kdcore.results.model_store.ModelStore`), then reused by every run. `batch-stat` is the accuracy
# with BatchNorm in training mode, as the authors' `accuracy()` measured their ResNet18 (test
# rows in a fixed shuffled order, as their test loader). The "best epoch" column is shown
# because the authors' tables read best epochs off their curves; it is chosen on the test set,
# so it is a comparison with them, never a result. Their ConvTiny teacher's 0.58 is one
# unseeded run whose ten repeats ended at 0.53-0.565 (sources in `paper.py`). The λ-search
# trials of Table 1 distil from a second ConvTiny, trained on the first 8,960 rows only, so
# the 1,152 rows that choose λ stay unseen by their teacher; the retrained rows use the
# ConvTiny trained on all 10,112 (Table 2 likewise has a second ResNet10). Both are in the
# table. "Training minutes" sums the training epochs only; a record's own time also counts
# its test passes.

# %% tags=["hide-input"]
teachers = [lab.teacher(a) for a, on in (("resnet18", cfg.hinton_sweep or cfg.cost), ("conv_tiny", "table1" in cfg.tables),
                                         ("resnet10", "table2" in cfg.tables or cfg.cost)) if on]
teachers += [lab.teacher("conv_tiny", "part")] if "table1" in cfg.tables else []
teachers += [settings[s][-1] for t in shown if t not in cfg.tables   # read, as the rest of that table
             for s in (lab.teacher_setting(ch.experiments.TABLES[t][0], k) for k in ("full", "part"))
             if s in settings and settings[s][-1]["key"] not in [r["key"] for r in teachers]]
show_table(pd.DataFrame([{"teacher": r["setting"].removeprefix("teacher "), "epochs": r["params"]["epochs"],
                          "10k JPEG": r["metrics"]["accuracy"],
                          "10k JPEG, best epoch": max(r["history"].get("test_metric") or [float("nan")]),
                          "exact 1k": r["metrics"]["accuracy_exact_1k"],
                          "batch-stat": r["metrics"]["accuracy_batch_stats"],
                          "trained on": r["device"],
                          "training minutes": f'{sum(r["history"]["epoch_seconds"]) / 60:.1f}'} for r in teachers]),
           caption=f"teacher test accuracy ({P})")

# %% tags=["remove-cell"]
not_run = [name for name, on in (("(b) the Hinton sweep", cfg.hinton_sweep), ("the cost timing", cfg.cost),
                                 ("Table 1", "table1" in shown), ("Table 2", "table2" in shown)) if not on]
not_run += [f"{table_name(t)} in {', '.join(m for m in cfg.modes if m not in modes)} mode"
            for t, modes in shown.items() if set(cfg.modes) - set(modes)]
sampled_ran = any(r["setting"].startswith("T2 all-to-all (corrected, pooled") and r["profile"] == cfg.profile
                  for r in store.records(ch.CHAPTER))
glue("not_run", ", ".join(not_run) or "none")
glue("not_run_variant", " Table 2's corrected search did run as our variant with a sampled objective (its own "
     "section under Table 2)." if sampled_ran and any("Table 2" in n and "corrected" in n for n in not_run) else "")

# %% [markdown]
# Not run at this profile: **{glue:text}`not_run`** (see the parameters: `hinton_sweep`,
# `cost`, `tables`). Their sections below say so.{glue:text}`not_run_variant`

# %% [markdown]
# ## (b) Hinton's distillation from ResNet18: β and T
#
# As in the authors' basic experiment: ConvTiny and ConvVeryTiny alone (over seeds) and
# distilled from the ResNet18 with $\beta \sim U(0,1)$, $T = 10^{U(-1,1)}$, once with their
# loss and once with Hinton's (labelled "corrected loss"). With their loss, small temperatures make the student's
# softened probabilities underflow to zero, and the loss becomes NaN. Such a run stops there
# and writes no record; the results folder keeps a *failure note* instead (which run, where
# it stopped, on which device), and the chapter counts those runs from the notes. The
# authors' runs of this kind ended at chance (0.10) and were dropped from their figures 4-6;
# the plots here show the runs that finished.

# %% tags=["hide-input"]
if cfg.hinton_sweep:
    stopped = []     # (student, variant, run) whose loss became non-finite: a failure note, no record
    for student in ("conv_tiny", "conv_very_tiny"):
        for seed in cfg.alone_seeds:
            ch.experiments.alone_run(lab, student, seed)
        for variant in cfg.hinton_variants:
            for k in range(cfg.hinton_runs):
                try:
                    ch.experiments.sweep_run(lab, student, variant, k)
                except FloatingPointError:     # NonFiniteLossError, or its note on a re-run
                    stopped.append((student, variant, k))
            if not any(s[:2] == (student, variant) for s in stopped):
                ch.experiments.best_of_sweep(lab, student, variant)   # needs every run's record
    recs = report.chapter_records(store, cfg.profile)
    notes = [n for n in store.failures(ch.CHAPTER) if n["profile"] == cfg.profile]
    note_rows = [{"student": ch.runners.NAMES[s], "loss": label, "run": n["seed"], "beta": n["params"]["beta"],
                  "T": n["params"]["T"], "accuracy": np.nan, "diverged": True,
                  "stopped at epoch": int(re.search(r"epoch (\d+)", n["message"]).group(1)), "device": n["device"]}
                 for s in ("conv_tiny", "conv_very_tiny") for v, label in report.VARIANT_LABEL.items()
                 for n in notes if n["setting"] == ch.experiments.sweep_setting(s, v)]
    sweep = pd.concat([report.sweep_frame(recs), pd.DataFrame(note_rows, columns=[
        "student", "loss", "run", "beta", "T", "accuracy", "diverged", "stopped at epoch", "device"])], ignore_index=True)
    sweep["diverged"] = sweep["diverged"].astype(bool)
    groups = report.by_setting(recs)
    alone = pd.DataFrame([{"student": s, "accuracy": r["metrics"]["accuracy"]} for s in ("ConvTiny", "ConvVeryTiny")
                          for r in groups.get(f"{s} alone, {cfg.basic_epochs} epochs", [])])
    box = pd.concat([alone.assign(run="alone"),
                     sweep.loc[~sweep.diverged, ["student", "accuracy", "loss"]].rename(columns={"loss": "run"})])
    fig, ax = plt.subplots(figsize=(6.6, 4))
    sns.boxplot(box, x="student", y="accuracy", hue="run", ax=ax)
    ax.axhline(lab.teacher("resnet18")["metrics"]["accuracy"], color="k", ls="--", label="ResNet18 teacher")
    ax.set(xlabel="", ylabel="test accuracy (10k JPEG)", title=f"alone vs distilled from ResNet18, finished runs ({P})")
    ax.legend(fontsize=9)
    plt.show()
else:
    show_markdown(f"*Not run at profile `{cfg.profile}` (`hinton_sweep: false`).*")

# %% [markdown]
# Each box spans the runs of one student alone (over seeds) or distilled with one loss (the
# sweep's runs that finished, whatever their β and T); the dashed line is the ResNet18
# teacher. Runs that stopped are not drawn: the table below counts them. Whether the
# distilled runs beat the student alone is decided by the verdicts under that table.

# %% tags=["hide-input"]
if cfg.hinton_sweep:
    ok = sweep[~sweep.diverged]
    fig, axes = plt.subplots(2, 1, figsize=(5.4, 7.2), sharey=True)
    for ax, x in zip(axes, ("beta", "T")):
        sns.scatterplot(ok, x=x, y="accuracy", hue="student", style="loss", s=45, ax=ax, legend=x == "beta")
        ax.set(xlabel="β" if x == "beta" else "T (log scale)", ylabel="test accuracy (10k JPEG)",
               title=f"accuracy vs {'β' if x == 'beta' else 'T'} (figure {5 if x == 'beta' else 6} of the paper; {P})")
    axes[1].set_xscale("log")
    sns.move_legend(axes[0], "upper left", bbox_to_anchor=(1.01, 1), fontsize=9, title=None, frameon=False)
    plt.tight_layout()
    plt.show()

# %% [markdown]
# Every finished run of the sweep at its β (top, the paper's figure 5) and its temperature
# T (bottom, figure 6), by student (colour) and loss (marker): how much of the spread β and T
# explain. The runs that stopped are missing from both panels; their temperatures are listed
# below the table.

# %% [markdown]
# The sweep per student and loss, beside the authors' notebook (`paper.py`; it reports the
# authors' loss only). "Stopped" counts the runs whose loss became non-finite; the best run
# is chosen on the test set, as the authors chose it, so it is a comparison, not a result.

# %% tags=["hide-input"]
if cfg.hinton_sweep:
    def paper_value(setting: str, metric: str) -> float:
        return next((p.value for p in ch.NUMBERS if p.setting == setting and p.metric == metric), np.nan)

    def paren(x: float, fmt: str) -> str:
        return "" if x != x else f" ({x:{fmt}})"

    rows = []
    for (student, loss), g in sweep.groupby(["student", "loss"], sort=False):
        fin = g[~g.diverged]
        best = fin.loc[fin.accuracy.idxmax()]
        paper_setting = f"Hinton sweep {student} ← ResNet18 ({loss}): best run"
        rows.append({"student": student, "loss": loss, "runs": len(g),
                     "stopped": f"{int(g.diverged.sum())}{paren(paper_value(paper_setting, 'diverged_runs'), '.0f')}",
                     "finished: mean ± std": f"{fin.accuracy.mean():.3f} ± {fin.accuracy.std():.3f}"
                                             f"{paren(paper_value(paper_setting, 'accuracy_mean_converged'), '.3f')}",
                     "best run": f"{best.accuracy:.3f}{paren(paper_value(paper_setting, 'accuracy'), '.3f')}",
                     "its β, T": f"{best.beta:.2f}, {best['T']:.2f}"})
    for student, g in alone.groupby("student", sort=False):
        rows.append({"student": student, "loss": "alone", "runs": len(g), "stopped": "0",
                     "finished: mean ± std": f"{g.accuracy.mean():.3f} ± {g.accuracy.std():.3f}"
                     f"{paren(paper_value(f'{student} alone, {cfg.basic_epochs} epochs', 'accuracy'), '.3f')}",
                     "best run": "", "its β, T": ""})
    show_table(pd.DataFrame(rows), caption=f"Hinton sweep from ResNet18, {cfg.basic_epochs} epochs, 10k JPEG test; "
               f"the authors' notebook in parentheses ({P})")

# %% tags=["remove-cell"]
stop_names = {(s, v): f"stop_{s}_{v}" for s in ("conv_tiny", "conv_very_tiny") for v in report.VARIANT_LABEL}
if cfg.hinton_sweep:
    for (s, v), name in stop_names.items():
        g = sweep[(sweep.student == ch.runners.NAMES[s]) & (sweep.loss == report.VARIANT_LABEL[v])]
        bad, fin = g[g.diverged], g[~g.diverged]
        glue(name, "not run" if g.empty else f"{len(bad)} of {len(g)} runs stopped"
             + (f", with T from {bad['T'].min():.2f} to {bad['T'].max():.2f} (epochs "
                f"{', '.join(str(e) for e in sorted(bad['stopped at epoch'].astype(int)))}); the runs that "
                f"finished had T from {fin['T'].min():.2f} to {fin['T'].max():.2f}" if len(bad) else ""))
    sweep_recs = [r for r in recs if r["setting"].startswith("Hinton sweep") and "best run" not in r["setting"]]
    cpu_runs = [r for r in sweep_recs if "cuda" not in r["device"]]
    by_device = sweep[sweep.diverged].groupby("device").size()
    glue_all(sweep_cpu_runs=(
        "; ".join(f"{r['setting'].split(' ← ')[0].removeprefix('Hinton sweep ')} run {r['seed']} "
                  f"(T = {r['params']['T']:.2f}, accuracy {r['metrics']['accuracy']:.3f}"
                  + (", the best run of its sweep" if r["metrics"]["accuracy"] == max(
                      q["metrics"]["accuracy"] for q in recs if q["setting"] == r["setting"]) else "")
                  + ")" for r in cpu_runs)
        # only where the sweep ran on a GPU and was finished on the CPU
        if cpu_runs and len(cpu_runs) < len(sweep_recs) else "none (the sweep's records come from one device)"),
        sweep_stopped_where="; ".join(f"{n} on {dev}" for dev, n in by_device.items()) if len(by_device)
        else "no run stopped")
else:
    glue_missing(*stop_names.values(), "sweep_cpu_runs", "sweep_stopped_where")

# %% [markdown]
# Runs that stopped, per student and loss:
#
# - ConvTiny, authors' loss: {glue:text}`stop_conv_tiny_oleinik2023`;
# - ConvTiny, corrected loss: {glue:text}`stop_conv_tiny_hinton`;
# - ConvVeryTiny, authors' loss: {glue:text}`stop_conv_very_tiny_oleinik2023`;
# - ConvVeryTiny, corrected loss: {glue:text}`stop_conv_very_tiny_hinton`;
# - sweep runs whose record was computed on the CPU (the H100 had stopped them with a
#   non-finite loss; run again on the CPU for their failure notes, they finished):
#   {glue:text}`sweep_cpu_runs`;
# - where the stopped runs last ran: {glue:text}`sweep_stopped_where`.
#
# Then, by the rule of the verdicts at the end: do the sweep's finished runs, whatever their
# β and T, beat the student alone? The runs that stopped are left out of that comparison
# and counted beside it; read again with each of them at chance, {glue:text}`sweep_survivors`.

# %% tags=["hide-input"]
if cfg.hinton_sweep:
    # Does distilling from ResNet18 beat the student alone? Over the sweep's finished runs (any β, T):
    sweep_claims = [Claim(f"{ch.runners.NAMES[st]} distilled from ResNet18 ({report.VARIANT_LABEL[v]}; the sweep's "
                          f"finished runs, any β and T) beats {ch.runners.NAMES[st]} alone",
                          ch.experiments.sweep_setting(st, v), "accuracy",
                          baseline=f"{ch.runners.NAMES[st]} alone, {cfg.basic_epochs} epochs", paired=False)
                    for st in ("conv_tiny", "conv_very_tiny") for v in cfg.hinton_variants]
    sweep_v = verdict_table(store.records(ch.CHAPTER), sweep_claims, cfg.profile)
    # verdict_table sees records only; the runs that stopped left failure notes. Count them, and
    # read each claim again with every stopped run counted at chance (0.10), where the
    # authors' runs of this kind ended: a verdict that only the survivors carry says so.
    n_stop = {(st, v): sum(1 for s in stopped if s[:2] == (st, v)) for st in ("conv_tiny", "conv_very_tiny")
              for v in cfg.hinton_variants}
    at_chance = []
    for c, (st, v) in zip(sweep_claims, n_stop):
        mine = [r for r in store.records(ch.CHAPTER) if r["setting"] == c.setting and r["profile"] == cfg.profile]
        at_chance += [{**r, "setting": c.setting + " | stopped at 0.10"} for r in mine]
        at_chance += [{"setting": c.setting + " | stopped at 0.10", "seed": 10_000 + i, "profile": cfg.profile,
                       "metrics": {"accuracy": CHANCE}, "created": ""} for i in range(n_stop[st, v])]
    with_chance = verdict_table(store.records(ch.CHAPTER) + at_chance,
                                [replace(c, setting=c.setting + " | stopped at 0.10") for c in sweep_claims], cfg.profile)
    sweep_v["failed"] = [f"{n_stop[k]} of {cfg.hinton_runs} stopped" if n_stop[k] else "" for k in n_stop]
    show_verdicts(sweep_v, caption=f"the sweep's finished runs against the student alone, independent runs; 'failed': "
                                   f"runs that stopped, left out ({P})")
    show_table(pd.DataFrame({"claim": sweep_v.claim, "verdict, finished runs": sweep_v.verdict,
                             "verdict, stopped runs at 0.10": with_chance.verdict,
                             "difference, stopped runs at 0.10": with_chance.difference.map(lambda x: f"{x:+.4f}")}),
               caption=f"the same claims with each stopped run counted at chance ({P})")
    carried = [c for c, a, b in zip(sweep_v.claim, sweep_v.verdict, with_chance.verdict) if a != b]
    glue("sweep_survivors", ("the verdicts stand with the stopped runs counted at chance" if not carried else
                             f"{len(carried)} of {len(sweep_v)} verdicts change when the stopped runs count at chance: "
                             "they hold for the runs that finished only"))
else:
    glue("sweep_survivors", "—")

# %% [markdown]
# ## What the teacher's outputs cost
#
# The inputs are not augmented, so the teacher's logits and, where memory allows, its feature
# maps are computed once and read with each batch. The alternative is a frozen teacher
# forward (bf16, no gradients) on every batch. Seconds per epoch of ConvTiny and the ratio
# to training it alone, on the device that ran the timing (named in the caption):

# %% tags=["hide-input"]
if cfg.cost:
    ch.feature_cost(lab, cfg.cost_rows)
    recs = report.chapter_records(store, cfg.profile)
    timing = report.by_setting(recs)["cost of teacher outputs (ConvTiny student)"][-1]
    show_table(report.cost_frame(recs), caption=f"epoch cost on {timing['extra']['device']}, {timing['params']['rows']} rows "
               f"({P})")
else:
    show_markdown(f"*Not run at profile `{cfg.profile}` (`cost: false`; the parameters file says why).*")

# %% tags=["remove-cell"]
cost_names = ("cost_images", "cost_gb", "cost_mb", "cost_rows", "cost_cache_s", "cost_logits_s", "cost_device",
              "cost_hinton_cached", "cost_hinton_forward", "cost_pairs", "cost_a2a_cached", "cost_a2a_forward",
              "cost_a2a_faithful")
if cfg.cost:
    x, r = timing["extra"], timing["metrics"]
    glue_all(cost_images=f"{cfg.n_train:,}", cost_gb=f"{x['cache_gb_full_train']:.2f}",
             cost_mb=f"{x['bytes_per_image'] / 1e6:.2f}", cost_rows=f"{timing['params']['rows']:,}",
             cost_cache_s=f"{x['cache_features_s']:.1f}", cost_logits_s=f"{x['cache_logits_s']:.1f}",
             cost_device=x["device"], cost_hinton_cached=f"{r['ratio_hinton_cached']:.3g}",
             cost_hinton_forward=f"{r['ratio_hinton_forward']:.3g}",
             cost_pairs=len(ch.runners.RESNET10_LAYERS) * len(ch.runners.CONV_LAYERS),
             cost_a2a_cached=f"{r['ratio_a2a_cached']:.3g}", cost_a2a_forward=f"{r['ratio_a2a_forward']:.3g}",
             cost_a2a_faithful=f"{r['ratio_a2a_faithful_cached']:.3g}")
else:
    glue_missing(*cost_names)

# %% [markdown]
# ResNet10's nine feature maps for {glue:text}`cost_images` images take
# {glue:text}`cost_gb` GB in bf16 ({glue:text}`cost_mb` MB per image); caching them for the
# {glue:text}`cost_rows` timed rows took {glue:text}`cost_cache_s` s, ResNet18's logits for
# those rows {glue:text}`cost_logits_s` s.
#
# On {glue:text}`cost_device`, relative to an epoch of ConvTiny alone: Hinton with cached
# ResNet18 logits {glue:text}`cost_hinton_cached`×, with a ResNet18 forward per batch
# {glue:text}`cost_hinton_forward`×; all-to-all VID over {glue:text}`cost_pairs` pairs with
# cached ResNet10 features {glue:text}`cost_a2a_cached`×, with a ResNet10 forward per batch
# {glue:text}`cost_a2a_forward`×; the authors' loss, which computes only the last pair,
# {glue:text}`cost_a2a_faithful`×. These are this device's ratios: where a small student's
# epoch is mostly kernel launches (a GPU), they differ.

# %% [markdown]
# ## (c) Table 1: ConvTiny → ConvVeryTiny, and (d) Table 2: ResNet10 → ConvTiny
#
# For each table: the student alone and Hinton's distillation over seeds, then the λ searches
# of the authors (pairwise: 15 random trials, β = 0.1; all-to-all: 20 TPE trials, β
# log-uniform in [0.1, 0.9]). Our trials train on the first 8,960 rows and are measured on
# the held-out 1,152 and on the test sets; the sampler sees the validation accuracy only.
# The trial with the best *test* accuracy is the authors' choice (optimistic by
# construction); the trial with the best *validation* accuracy is a clean choice. Both are
# retrained on all 10,112 rows, from the seeds `rerun_seeds` (in the paper profile the first
# seeds of the student-alone runs, so the initial student is the same). "Carved rows" are
# the first 8,960. Where both choices give the same run (the same λ and β, or λ unused as in
# faithful pairwise), the second row is a copy of the first, not a second confirmation.

# %% tags=["hide-input"]
for table in cfg.tables:
    ch.table_baselines(lab, table)
ch.searches(lab)
recs = report.chapter_records(store, cfg.profile)
for table in shown:
    partly = "" if table in cfg.tables else f"; its {', '.join(shown[table])} search only, run from deep_nets_table2_cpu.yaml"
    show_table(report.table_frame(recs, table), caption=f"{'Table 1: ConvTiny → ConvVeryTiny' if table == 'table1' else 'Table 2: ResNet10 → ConvTiny'}"
               f", test accuracy at the last epoch, mean ± std over runs ({P}{partly})")

# %% tags=["remove-cell"]
missing = {m for m in cfg.modes if m not in shown.get("table2", [])}
glue("t2_status", "ran in full" if not missing else
     "not run (tables; the parameters file says why)" if "table2" not in shown else
     f"ran in part, from notebooks/params/deep_nets_table2_cpu.yaml (this profile's values, its "
     f"{', '.join(shown['table2'])} mode only): its {', '.join(sorted(missing))} all-to-all search did not run, and "
     "its rows in the table above are empty")
timed = report.by_setting(recs).get("cost of teacher outputs (ConvTiny student)")
if missing and timed:   # what it would take where the cost timing ran: its all-to-all epochs, scaled by rows
    t = timed[-1]
    # The faithful loss computes only the last pair; the corrected one every pair.
    per_row = {m: t["extra"]["epoch_seconds"]["a2a_faithful_cached" if m == "faithful" else "a2a_cached"]
               / t["params"]["rows"] for m in missing}
    n_trials = {m: ch.search.n_trials(lab, "table2", "all-to-all", m) for m in missing}
    n_retrain = 2 * len(cfg.rerun_seeds)     # per mode: chosen on test and on val, per seed
    hours = {m: cfg.epochs * per_row[m] * (n_trials[m] * len(lab.data.part) + n_retrain * len(lab.data.train))
             / 3600 for m in missing}
    glue_all(t2_est_device=t["extra"]["device"],
             t2_est_what=(f"{'its searches' if len(missing) > 1 else 'that search'} "
                          f"({', '.join(f'{n_trials[m]} {m} trials' for m in missing)})"),
             t2_est_retrain=n_retrain, t2_est_epochs=cfg.epochs,
             t2_est_hours=", ".join(f"{hours[m]:.1f} hours ({m})" for m in missing),
             t2_tpe=ch.search.Search.TPE_STARTUP)
else:
    glue_missing("t2_est_device", "t2_est_what", "t2_est_retrain", "t2_est_epochs", "t2_est_hours", "t2_tpe")
for table, k in TAG.items():
    if table not in shown:
        glue_missing(f"{k}_teacher", f"{k}_teacher_acc", f"{k}_teacher_best", f"{k}_alone", f"{k}_alone_n", f"{k}_vs")
        continue
    teacher, student, tag = ch.experiments.TABLES[table]
    # (a table this profile does not run is only read: its teacher's record, never a training)
    t = lab.teacher(teacher, "part") if table in cfg.tables else settings[lab.teacher_setting(teacher, "part")][-1]
    alone_acc = [r["metrics"]["accuracy"] for r in report.by_setting(recs).get(f"{tag} {ch.runners.NAMES[student]} alone", [])]
    glue_all(**{f"{k}_teacher": t["setting"].removeprefix("teacher "), f"{k}_teacher_acc": f"{t['metrics']['accuracy']:.3f}",
                f"{k}_teacher_best": f"{max(t['history']['test_metric']):.3f}",
                f"{k}_alone": report.mean_std(alone_acc, 3), f"{k}_alone_n": len(alone_acc),
                f"{k}_vs": "weaker than" if t["metrics"]["accuracy"] < np.mean(alone_acc) else "stronger than"})

# %% [markdown]
# Table 2 at this profile: {glue:text}`t2_status`. Where a search of it did not run, the cost
# timing's all-to-all epochs ({glue:text}`t2_est_device`, cached features) say what it would
# take: {glue:text}`t2_est_what` and up to {glue:text}`t2_est_retrain` retrainings per mode,
# {glue:text}`t2_est_epochs` epochs each, about {glue:text}`t2_est_hours` of one process
# there; the TPE trials after the first {glue:text}`t2_tpe` run one after another.
#
# The teachers of the search trials against the student alone:
#
# - Table 1: the trials' teacher, {glue:text}`t1_teacher`, ends at
#   {glue:text}`t1_teacher_acc` (best epoch {glue:text}`t1_teacher_best`); the student alone
#   ends at {glue:text}`t1_alone` ({glue:text}`t1_alone_n` runs), so the teacher is
#   {glue:text}`t1_vs` the student that its λ and β were chosen for.
# - Table 2: the trials' teacher, {glue:text}`t2_teacher`, ends at
#   {glue:text}`t2_teacher_acc` (best epoch {glue:text}`t2_teacher_best`); the student alone
#   ends at {glue:text}`t2_alone` ({glue:text}`t2_alone_n` runs), so the teacher is
#   {glue:text}`t2_vs` the student that its λ and β were chosen for.

# %% [markdown]
# **Table 2's corrected all-to-all search, our variant.** The exact corrected objective (36
# pairs, exact-size regressors) is about 300 student steps per step on this CPU, so the
# corrected search runs with the pooled objective that evaluates $k = 4$ of the 36 pairs per
# step, drawn ∝ λ and reweighted so the sum is unbiased (`kdcore.chapters.deep_nets.sampled`;
# runner part `table2_sampled`). The study `sampled_vid` found that pooled objective trains
# differently from the exact one, so its rows are our variant, set beside the paper's number
# only as such. At this build: {glue:text}`t2s_status`.

# %% tags=["hide-input"]
sampled = SampledSearch(lab, "table2")
trials_s = sorted(settings.get(f"{sampled.name}: trial", []), key=lambda r: r["seed"])
reruns_s = {p: settings.get(f"{sampled.name}, chosen on {p}", []) for p in ("test", "val")}
if trials_s:
    show_table(pd.DataFrame([{"trial": r["seed"], "β": r["params"]["beta"], "validation": r["metrics"]["val_accuracy"],
                              "test (10k JPEG)": r["metrics"]["accuracy"], "exact 1k": r["metrics"]["accuracy_exact_1k"]}
                             for r in trials_s]),
               caption=f"{sampled.name}: its trials{' so far' if len(trials_s) < sampled.n else ''}, on the first "
                       f"{len(lab.data.part):,} rows ({P})", digits=4)
done_reruns = {p: v for p, v in reruns_s.items() if v}
for p, rs in done_reruns.items():
    glue(f"t2s_rerun_{p}", report.mean_std([r["metrics"]["accuracy"] for r in rs], 3) + f" over {len(rs)} seeds")
for p in ("test", "val"):
    if p not in done_reruns:
        glue(f"t2s_rerun_{p}", "not run yet")
best = max(trials_s, key=lambda r: r["metrics"]["val_accuracy"]) if trials_s else None
best_test = max(trials_s, key=lambda r: r["metrics"]["accuracy"]) if trials_s else None
glue("t2s_same_trial", f" Both choices are the same trial (trial {best['seed']}), so the two rows are one retraining "
     "read twice." if best is not None and best["seed"] == best_test["seed"] else "")


def rerun_state(done: int, total: int, reruns: int, reruns_total: int) -> str:
    """Where the retrainings of the chosen trials stand (trials first, then the all-rows teacher)."""
    if reruns >= reruns_total:
        return f"have run ({reruns} of {reruns_total})"
    if done < total:
        return "wait for the rest of the trials and for the ResNet10 trained on all rows"
    return f"have run {reruns} of {reruns_total} so far" if reruns else "wait for the ResNet10 trained on all rows"


so_far = " so far" if len(trials_s) < sampled.n else ""
glue("t2s_status", "not run at this profile" if not trials_s else
     f"{len(trials_s)} of its {sampled.n} trials ran (the best on validation{so_far}: trial {best['seed']}, "
     f"validation {best['metrics']['val_accuracy']:.3f}, test {best['metrics']['accuracy']:.3f}); the retrainings of "
     f"the chosen trials {rerun_state(len(trials_s), sampled.n, sum(map(len, reruns_s.values())), 2 * len(cfg.rerun_seeds))}")

# %% [markdown]
# Retrained from the rerun seeds on all 10,112 rows, the trial chosen on test reaches
# {glue:text}`t2s_rerun_test`, the one chosen on validation {glue:text}`t2s_rerun_val`.{glue:text}`t2s_same_trial`

# %% [markdown]
# The table 2 claims for this variant, decided by the same rule as the claims at the end
# (shown here only: the variant is not the paper's objective, so the results page does not
# count these lines):

# %% tags=["hide-input"]
variant_rows = {p: f"{sampled.name}, chosen on {p}" for p in ("val",)}
variant_claims = [Claim(f"T2: all-to-all VID (our pooled, sampled variant of the corrected loss) beats {what}",
                        variant_rows["val"], "accuracy", baseline=base, failure=ch.paper.FAILURE[0])
                  for what, base in (("ConvTiny alone", "T2 ConvTiny alone"),
                                     ("Hinton (corrected loss)", "T2 ConvTiny Hinton ← ResNet10 (corrected loss)"))]
if reruns_s.get("val"):
    show_verdicts(verdict_table(store.records(ch.CHAPTER), variant_claims, cfg.profile),
                  caption=f"Table 2, the sampled corrected variant chosen on validation ({P})")
else:
    show_markdown("*The variant's retrainings have not run at this profile.*")

# %% [markdown]
# Two comparisons the paper does not make but the table invites, decided by the same rule as
# the claims at the end (difference in accuracy on the 10k JPEG test copy, its spread over
# seeds): each method as the authors coded it against the same method corrected. Keep in
# mind what the two modes train: a faithful row counts one VID term (the last pair's:
# conv3 ↔ conv3 for pairwise, the students' fc1 ↔ the teacher's last tapped layer for
# all-to-all), so its searched λ never mattered; a corrected row counts every pair, weighted
# by λ. Why the corrected sum of pairs ends where it does was not tested here.

# %% tags=["hide-input"]
readings = [Claim(f"{ch.experiments.TABLES[t][2]}: {m} as coded (faithful) beats {m} corrected",
                  f"{ch.experiments.TABLES[t][2]} {m} (faithful), chosen on val", "accuracy",
                  baseline=f"{ch.experiments.TABLES[t][2]} {m} (corrected), chosen on val")
            for t in shown for tt, m in ch.search.SEARCHES if tt == t and set(shown[t]) >= {"faithful", "corrected"}]
if readings:
    show_verdicts(verdict_table(store.records(ch.CHAPTER), readings, cfg.profile),
                  caption=f"each method as coded against the same method corrected ({P})")
else:
    show_markdown(f"*No table ran in both modes at profile `{cfg.profile}`.*")

# %% [markdown]
# Every trial of every search, test against validation accuracy: the distance of the best
# test point above the cloud is what choosing on the test set adds (measured below the
# figure).

# %% tags=["hide-input"]
trials = report.trials_frame(recs)
trials["search"] = trials["table"] + " " + trials["method"]
points = trials.assign(trial=trials["chosen on test"].map({True: "best on test", False: "other"}))
grid = sns.relplot(points, x="validation accuracy", y="test accuracy", hue="mode", style="trial",
                   style_order=["other", "best on test"], s=45, col="search", col_wrap=2, height=2.8, aspect=1.05,
                   facet_kws={"sharex": False, "sharey": False})
grid.set_titles("{col_name}")
grid.figure.suptitle(f"search trials ({P})", y=1.02)
plt.show()

# %% tags=["remove-cell"]
adds = {(table, method, mode): f"adds_{TAG[table]}_{method.replace('-', '')}_{mode}"
        for table, method in ch.search.SEARCHES for mode in ("faithful", "corrected")}
for (table, method, mode), name in adds.items():
    g = trials[(trials.table == ch.experiments.TABLES[table][2]) & (trials.method == method) & (trials["mode"] == mode)]
    text = "not run" if g.empty else (
        f"{g['test accuracy'].max() - g.loc[g['chosen on validation'], 'test accuracy'].iloc[0]:+.3f} "
        f"(best of {len(g)} trials; their test accuracy {g['test accuracy'].mean():.3f} ± {g['test accuracy'].std():.3f})")
    if g.empty and (table, method, mode) == ("table2", "all-to-all", "corrected") and len(trials_s) > 1:
        acc = pd.Series([r["metrics"]["accuracy"] for r in trials_s])
        text = (f"not run with the exact objective; our sampled variant's search: "
                f"{acc.max() - best['metrics']['accuracy']:+.3f} (best of {len(acc)} trials; their test accuracy "
                f"{acc.mean():.3f} ± {acc.std():.3f})")
    glue(name, text)

# %% [markdown]
# Each panel is one search; a point is one trial, coloured by mode, and a cross marks the
# trial with the best test accuracy (the authors' choice). In a faithful pairwise
# search λ is unused and β fixed, so its trials differ only in their seed: that cloud is
# seed spread, and its "best trial" is a maximum over seeds.
#
# What choosing on the test set adds, on the carved-rows trials: the test accuracy of the
# best of the search's trials on test against that of the trial chosen on validation, and
# the trials' test accuracy (mean ± sd):
#
# - Table 1, pairwise (faithful): {glue:text}`adds_t1_pairwise_faithful`;
# - Table 1, pairwise (corrected): {glue:text}`adds_t1_pairwise_corrected`;
# - Table 1, all-to-all (faithful): {glue:text}`adds_t1_alltoall_faithful`;
# - Table 1, all-to-all (corrected): {glue:text}`adds_t1_alltoall_corrected`;
# - Table 2, all-to-all (faithful): {glue:text}`adds_t2_alltoall_faithful`;
# - Table 2, all-to-all (corrected): {glue:text}`adds_t2_alltoall_corrected`.

# %% [markdown]
# The weights $\lambda_{ij}$ of the four trials with the best test accuracy (the paper's
# figure 7), one figure per all-to-all search.

# %% tags=["hide-input"]
for table in shown:
    for mode in shown[table]:
        mats = report.lambda_matrices(recs, table, mode)
        if not mats:
            continue
        fig, axes = plt.subplots(2, 2, figsize=(6.8, 5.2), squeeze=False)
        top = max(m.values.max() for _, m in mats)
        for ax, (t, m) in zip(axes.flat, mats):
            sns.heatmap(m, ax=ax, vmin=0, vmax=top, cmap="Blues", cbar=False, annot=m.shape[1] <= 4, fmt=".2f")
            ax.set_title(f"trial {t['number']}: β={t['beta']:.2f}, test {t['accuracy']:.3f}", fontsize=11)
        for ax in axes.flat[len(mats):]:
            ax.axis("off")
        fig.suptitle(f"{table_name(table)}, all-to-all ({mode}), {P}")
        plt.tight_layout()
        plt.show()

# %% [markdown]
# Each heatmap is student layer (rows) × teacher layer (columns), multiplied by $S$ so that
# a row sums to 1 where the index is right; darker is a heavier weight. In faithful mode
# these weights never reached the loss (see the method); with Table 1's 4 teacher layers the
# authors' $4i + j$ index is the right one, while with Table 2's 9 it reads across the
# groups, so those rows do not sum to 1.

# %% [markdown]
# Test accuracy after every epoch (the paper's figure 8) of the student alone, Hinton with
# the authors' loss, and each search's trial chosen on validation and retrained, mean ± sd
# over their seeds, one figure per table.

# %% tags=["hide-input"]
for table in shown:
    teacher, student, tag = ch.experiments.TABLES[table]
    names = {f"{tag} {ch.runners.NAMES[student]} alone": "alone",
             f"{tag} {ch.runners.NAMES[student]} Hinton ← {ch.runners.NAMES[teacher]} (authors' loss)": "Hinton"}
    for t, method in ch.search.SEARCHES:
        if t == table:
            names.update({f"{ch.search.search_name(table, method, m)}, chosen on val": f"{method} ({m})" for m in shown[table]})
    fig, ax = plt.subplots(figsize=(6.8, 4.2))
    sns.lineplot(report.curves(recs, names), x="epoch", y="test accuracy", hue="run", errorbar="sd", marker="o", ax=ax)
    ax.set_title(f"{table_name(table)}: test accuracy per epoch, 10k JPEG (mean ± sd over seeds; {P})")
    ax.legend(fontsize=9)
    plt.show()

# %% [markdown]
# Read each row's last epoch against the earlier ones: whether a row's lead at the last epoch
# was there all along or is the luck of where training stopped.

# %% [markdown]
# ## Paper vs ours
#
# The paper's numbers and the authors' notebooks' numbers (`kdcore/chapters/deep_nets/paper.py`)
# beside ours, mean ± std over runs of this profile. `accuracy` is on the 10k JPEG test copy.

# %% tags=["hide-input"]
table = comparison_table(ch.CHAPTER, store.root, ch.NUMBERS)
table = table[((table.profile == cfg.profile) & (table.metric.isin(
    ["accuracy", "accuracy_best_trial_on_test", "accuracy_batch_stats", "accuracy_mean_converged", "diverged_runs"])
    | ((table.metric == "best_accuracy") & table.paper.notna())))   # the paper's best-epoch numbers, ours likewise
    | (table.n_runs == 0)]
show_comparison(table, caption=f"paper vs ours ({P}; status: the results page's rule)",
                scored=book.scored(ch.CHAPTER, store.root, cfg.profile))

# %% tags=["remove-cell"]
best_rows = table[(table.n_runs > 0) & table.paper.notna() & (table.metric == "best_accuracy")]
glue_all(bestp_n=str(len(best_rows)), bestp_rows="; ".join(f"{r.setting} {r.ours:.3f} (paper {r.paper:.2f}, "
                                                           f"{r.delta:+.3f})" for r in best_rows.itertuples()) or "none")
ran = table[(table.n_runs > 0) & table.paper.notna() & (table.metric == "accuracy")
            & ~table.setting.str.contains("corrected", regex=False)]   # the paper ran the authors' code
both = comparison_table(ch.CHAPTER, store.root)
both = both[(both.profile == cfg.profile) & both.setting.isin(ran.setting)].pivot_table(
    index="setting", columns="metric", values="ours")
f3 = lambda x: "—" if x != x else f"{x:.3f}"
glue_all(gap_n=len(ran), gap_lower=int((ran.delta < 0).sum()), gap_min=f3((-ran.delta).min()),
         gap_max=f3((-ran.delta).max()), gap_median=f3((-ran.delta).median()),
         exact_higher=int((both["accuracy_exact_1k"] > both["accuracy"]).sum()), exact_n=len(both),
         exact_median="—" if both.empty else f"{(both.accuracy_exact_1k - both.accuracy).median():+.3f}")
# Each run's best epoch instead of its last: picked on the test set, so a comparison, never a result.
paper_acc = ran.set_index("setting").paper
gap = (both["best_accuracy"] - paper_acc).dropna() if "best_accuracy" in both else pd.Series(dtype=float)
if len(gap):
    last_gap = (both["accuracy"] - paper_acc)[gap.index]
    glue_all(best_lower=int((gap < 0).sum()), best_n=len(gap), best_median=f3((-gap).median()),
             last_median=f3((-last_gap).median()),
             best_movers="; ".join(f"{s} {both.accuracy[s]:.3f} → {both.best_accuracy[s]:.3f} (paper {paper_acc[s]:.2f})"
                                   for s in (gap - last_gap).sort_values(ascending=False).index[:3]))
else:
    glue_missing("best_lower", "best_n", "best_median", "last_median", "best_movers")

# %% [markdown]
# The authors'-loss sweep's best-run rows have no run here: such a record needs a record of
# every run of the sweep, and a stopped run has only a failure note; the sweep table in (b)
# sets those numbers beside the authors'.
#
# How far ours sits from the paper, over the numbers of the authors' code that have runs here
# (corrected rows, and our sampled variant of the corrected Table 2 search, left out), and how the exact
# first 1,000 test images compare with the 10k JPEG copy on the same runs (a lossy copy is
# one suspect for a gap; the two sets also differ in which images they hold):

# %% [markdown]
# - {glue:text}`gap_n` accuracies of the paper have runs here; ours is lower in
#   {glue:text}`gap_lower` of them, by {glue:text}`gap_min` to {glue:text}`gap_max` (median
#   {glue:text}`gap_median`).
# - On those rows, the exact first 1,000 score higher than the 10k JPEG copy in
#   {glue:text}`exact_higher` of {glue:text}`exact_n`, by {glue:text}`exact_median` at the
#   median.
# - At each run's best epoch (mean over runs of the highest test accuracy any epoch reached;
#   picked on the test set, so a comparison, never a result), ours is lower in
#   {glue:text}`best_lower` of these {glue:text}`best_n` rows, by {glue:text}`best_median` at
#   the median against {glue:text}`last_median` at the last epoch. The rows that move most:
#   {glue:text}`best_movers`. The authors' Optuna objective returned the last epoch's
#   accuracy; their Table 2 student-alone and Hinton runs were kept as per-epoch curves and
#   plotted (`resnet_test.ipynb`), where a number can be read anywhere along the curve.
# - The paper's {glue:text}`bestp_n` numbers that `paper.py` records as best-epoch values (the
#   peaks of the authors' per-epoch curves, read off their plots) are set against ours at the best
#   epoch, in the table above (metric `best_accuracy`): {glue:text}`bestp_rows`.

# %% [markdown]
# ### The rest of the gap: the authors' training step, measured
#
# Read beside our code, the authors' notebooks train on the same images in the same order,
# normalise them the same way, and use the same batch, optimiser, learning rate and epochs.
# Three things differ in how a step and a test are run:
#
# - **Two forward passes per step.** Their loops compute `out = model(x)` and then
#   `loss = crit(model(x), y)` (`code/test_distill.ipynb`, the ConvTiny teacher's loop), so
#   every step moves BatchNorm's running statistics twice, and an eval-mode test reads
#   statistics that forget faster.
# - **BatchNorm at test time.** Their `accuracy()` never calls `eval()` in
#   `basic_experiment.ipynb`: those numbers use each test batch's own statistics (our
#   "batch-stat" column).
# - **Precision**: fp32 there, bf16 autocast here.
#
# The study `kdcore.studies.deep_nets_gap` trains the ConvTiny teacher's recipe (the first
# 10,112 images, 30 epochs) as ours, with the authors' two passes, and in fp32, from the same
# initial weights per seed, and tests each run in eval mode and with batch statistics. Each
# difference below is paired by seed; **higher** or **lower** when its 95 % Student-t interval
# excludes zero, else **within noise**.

# %% tags=["hide-input"]
from scipy import stats as _stats

from kdcore.results.verdicts import detectable_difference

gap_recs = [r for r in RunStore(store.root, profile="paper").records("deep_nets_gap") if r["profile"] == "paper"]
GAP_GLUE = ("gap_bn_same", "gap_paper", "gap_ten", "gap_two_inside", "gap_two_share", "gap_runs", "gap_ours", "gap_two", "gap_fp32", "gap_two_d", "gap_two_v", "gap_fp32_d", "gap_fp32_v",
            "gap_bn_d", "gap_bn_v", "gap_detect")
if gap_recs:
    g = pd.DataFrame([{"variant": r["params"]["variant"], "seed": r["seed"], "eval": r["metrics"]["accuracy"],
                       "batch-stat": r["metrics"]["accuracy_batch_stats"], "exact 1k": r["metrics"]["accuracy_exact_1k"],
                       "best epoch": max(r["history"]["test_metric"])} for r in gap_recs])
    summary_gap = g.groupby("variant", sort=False).agg(
        runs=("seed", "size"), **{k: (k, lambda x: f"{x.mean():.4f} ± {x.std():.4f}" if len(x) > 1 else f"{x.mean():.4f}")
                                  for k in ("eval", "batch-stat", "exact 1k", "best epoch")}).reset_index()
    show_table(summary_gap, caption="study deep_nets_gap: ConvTiny teacher recipe, 30 epochs, test accuracy, mean ± sd "
                                    "over seeds (10k JPEG unless named; paper profile)")
    wide = g.pivot_table(index="seed", columns="variant", values=["eval", "batch-stat"])

    def paired(a: pd.Series, b: pd.Series) -> tuple[str, str, float]:
        d = (a - b).dropna()
        if len(d) < 2:
            return "—", "not enough runs", float("nan")
        lo, hi = _stats.t.interval(0.95, len(d) - 1, loc=d.mean(), scale=d.std(ddof=1) / np.sqrt(len(d)))
        word = "higher" if lo > 0 else "lower" if hi < 0 else "within noise"
        return f"{d.mean():+.4f} (95 % interval {lo:+.4f} to {hi:+.4f}, {len(d)} seeds)", word, d.std(ddof=1)

    ours_eval = wide[("eval", "ours")]
    two = paired(wide[("eval", "two passes")], ours_eval) if ("eval", "two passes") in wide else ("—", "not run", np.nan)
    f32 = paired(wide[("eval", "fp32")], ours_eval) if ("eval", "fp32") in wide else ("—", "not run", np.nan)
    bn = paired(wide[("batch-stat", "ours")], ours_eval)
    means = g.groupby("variant")["eval"].mean()
    sd_pairs = np.nanmax([two[2], f32[2], bn[2]])
    lo, hi = ch.paper.CONV_TINY_TEN_RUNS
    paper_teacher = next(n.value for n in ch.NUMBERS if n.setting == "teacher ConvTiny" and n.metric == "accuracy")
    glue_all(gap_paper=f"{paper_teacher - means.get('ours', np.nan):.3f}", gap_ten=f"{lo:.2f}-{hi:.3f}",
             gap_two_inside="inside" if lo <= means.get("two passes", np.nan) <= hi else "outside",
             gap_two_share=f"{two[0].split(' ')[0]}" if two[1] == "higher" else "none measurable")
    same_bn = ("two passes" in g.variant.values and
               np.allclose(wide[("batch-stat", "two passes")], wide[("batch-stat", "ours")], rtol=0, atol=1e-9))
    glue("gap_bn_same", "With batch statistics, ours and the two-pass runs score the same, seed by seed. This is "
         "expected: the second train-mode forward changes only the running statistics, which a batch-statistics "
         "test does not read, and the weights follow the same gradients." if same_bn else "")
    glue_all(gap_runs=str(len(g)), gap_ours=f"{means.get('ours', np.nan):.4f}",
             gap_two=f"{means.get('two passes', np.nan):.4f}", gap_fp32=f"{means.get('fp32', np.nan):.4f}",
             gap_two_d=two[0], gap_two_v=two[1], gap_fp32_d=f32[0], gap_fp32_v=f32[1], gap_bn_d=bn[0], gap_bn_v=bn[1],
             gap_detect=f"{detectable_difference(sd_pairs, len(ours_eval)):.3f}" if sd_pairs == sd_pairs else "—")
else:
    glue_missing(*GAP_GLUE)

# %% [markdown]
# Over {glue:text}`gap_runs` runs, eval-mode accuracy on the 10k JPEG copy: ours
# {glue:text}`gap_ours`, with the authors' two passes {glue:text}`gap_two`, in fp32
# {glue:text}`gap_fp32`. {glue:text}`gap_bn_same` Paired by seed:
#
# - the authors' two passes against ours: {glue:text}`gap_two_d`, **{glue:text}`gap_two_v`**;
# - fp32 against bf16: {glue:text}`gap_fp32_d`, **{glue:text}`gap_fp32_v`**;
# - the same runs of ours tested with batch statistics against eval mode:
#   {glue:text}`gap_bn_d`, **{glue:text}`gap_bn_v`**.
#
# These seeds would detect a true difference of about {glue:text}`gap_detect` with
# probability 0.8 (from the largest spread of the paired differences above).
#
# **Reading.** The paper's 0.58 is {glue:text}`gap_paper` above our mean. Of that, the
# authors' two passes account for {glue:text}`gap_two_share` (measured); fp32 and batch
# statistics for amounts these seeds cannot tell from zero. The authors' own ten runs of
# this recipe (`resnet_test.ipynb` cell 7, kept as a plot) end at about
# {glue:text}`gap_ten`, and ours with their two passes, {glue:text}`gap_two`, lies
# {glue:text}`gap_two_inside` that range. The paper's 0.58 is one run at the top of its own
# spread; what remains between the authors' ten runs and ours is within that spread. The two
# passes are the one cause measured here; the lossy test copy (above) stays a suspect. One
# difference is not measured here: the authors' ResNet (`code/resnet.py`) adds
# `relu(bn1(x))` to an identity block's output where ours adds `x`, which touches the
# ResNet18 and ResNet10 teachers only; its effect is a hypothesis until a ResNet pair is
# trained both ways (a GPU's work).

# %% [markdown]
# ### The students alone, like with like
#
# The 50-epoch students alone of experiment (b) are numbers the authors measured with batch
# statistics (`basic_experiment.ipynb` cells 12 and 14 never call `eval()`), while the
# chapter's records of them hold eval-mode accuracy only, so the table of results compares
# unlike numbers there. The study `kdcore.studies.deep_nets_students_bn` retrains those
# students on the CPU exactly as the chapter does (seeds 0-4) and tests each run both ways.
# The difference from the paper is judged by the 95 % Welch interval (5 runs each side):
# **agrees** when it contains zero, else **higher** or **lower**.

# %% tags=["hide-input"]
bn_recs = [r for r in RunStore(store.root, profile="paper").records("deep_nets_students_bn") if r["profile"] == "paper"]
BN_GLUE = ("bn_ct_ours", "bn_ct_paper", "bn_ct_v", "bn_cvt_ours", "bn_cvt_paper", "bn_cvt_v", "bn_shift", "bn_exact", "bn_half")


def welch(a: np.ndarray, mean: float, sd: float, n: int) -> tuple[float, float, float]:
    """Difference ``mean(a) - mean`` and its 95 % Welch interval (the paper's side as mean, sd, n)."""
    va, vb = a.var(ddof=1) / len(a), sd ** 2 / n
    df = (va + vb) ** 2 / (va ** 2 / (len(a) - 1) + vb ** 2 / (n - 1))
    half = _stats.t.ppf(0.975, df) * np.sqrt(va + vb)
    d = a.mean() - mean
    return d, d - half, d + half


if bn_recs:
    b = pd.DataFrame([{"student": r["setting"].split(" alone")[0], "seed": r["seed"], "eval": r["metrics"]["accuracy"],
                       "batch-stat": r["metrics"]["accuracy_batch_stats"],
                       "exact 1k": r["metrics"]["accuracy_exact_1k"]} for r in bn_recs])
    rows, words, shifts, exact_d, halves = [], {}, [], [], []
    for student, grp in b.groupby("student", sort=False):
        setting = f"{student} alone, 50 epochs"
        pn = next(n for n in ch.NUMBERS if n.setting == setting and n.metric == "accuracy")
        chapter_eval = np.array([r["metrics"]["accuracy"] for r in settings.get(setting, [])])
        d, lo, hi = welch(grp["batch-stat"].to_numpy(), pn.value, pn.std, pn.n) if len(grp) > 1 else (np.nan,) * 3
        word = "not enough runs" if d != d else "agrees" if lo <= 0 <= hi else "higher" if lo > 0 else "lower"
        halves.append((hi - lo) / 2)
        words[student] = (f"{grp['batch-stat'].mean():.4f} ± {grp['batch-stat'].std():.4f}",
                          f"{pn.value:.4f} ± {pn.std:.4f}", f"{d:+.4f} (95 % interval {lo:+.4f} to {hi:+.4f}): {word}",
                          f"{d:+.4f} ({lo:+.4f} to {hi:+.4f})", word)
        shifts += list(grp["batch-stat"] - grp["eval"])
        exact_d += list(grp["exact 1k"] - grp["eval"])
        rows.append({"student": student, "runs": len(grp), "paper (batch statistics)": f"{pn.value:.4f} ± {pn.std:.4f}",
                     "ours, batch statistics": f"{grp['batch-stat'].mean():.4f} ± {grp['batch-stat'].std():.4f}",
                     "ours, eval mode": f"{grp['eval'].mean():.4f} ± {grp['eval'].std():.4f}",
                     "chapter, eval mode (GPU)": (f"{chapter_eval.mean():.4f} ± {chapter_eval.std(ddof=1):.4f}"
                                                            if len(chapter_eval) > 1 else "—"),
                     "batch statistics − paper (95 %)": words[student][3], "verdict": words[student][4]})
    # one column per student: the rows' long texts stay inside the text column
    show_table(pd.DataFrame(rows).set_index("student").T.rename_axis("").reset_index(),
               caption="the 50-epoch students alone, tested both ways (study deep_nets_students_bn, "
                                           "CPU, paper profile; 10k JPEG test copy)")
    ct, cvt = words.get("ConvTiny", ("—",) * 5), words.get("ConvVeryTiny", ("—",) * 5)
    glue_all(bn_ct_ours=ct[0], bn_ct_paper=ct[1], bn_ct_v=ct[2], bn_cvt_ours=cvt[0], bn_cvt_paper=cvt[1],
             bn_cvt_v=cvt[2], bn_shift=f"{np.mean(shifts):+.4f} (from {min(shifts):+.4f} to {max(shifts):+.4f})",
             bn_half=f"{max(halves):.3f}" if halves else "—",
             bn_exact=f"{np.mean(exact_d):+.4f} on average (from {min(exact_d):+.4f} to {max(exact_d):+.4f})")
else:
    glue_missing(*BN_GLUE)

# %% [markdown]
# Tested as the authors tested them, ConvTiny alone ends at {glue:text}`bn_ct_ours` against
# the paper's {glue:text}`bn_ct_paper`, a difference of {glue:text}`bn_ct_v`; ConvVeryTiny at
# {glue:text}`bn_cvt_ours` against {glue:text}`bn_cvt_paper`, {glue:text}`bn_cvt_v`. With
# five runs a side, an "agrees" only rules out differences beyond the interval's half-width
# (up to {glue:text}`bn_half` here): a smaller gap would read as agreement too. Batch
# statistics move a run's accuracy by {glue:text}`bn_shift` against eval mode. Our side of
# both comparisons is still tested on the lossy JPEG copy; the exact first 1,000 images of
# these runs score {glue:text}`bn_exact` against eval mode on that copy.

# %% [markdown]
# ## Does the claim hold here?
#
# One line per claim, computed from this profile's run records by `kdcore.results.verdicts`. The
# distilled rows are the trials chosen on validation and retrained; the difference is in
# accuracy on the 10k JPEG test copy, with its spread over seeds, and the verdict of the
# 95 % Student-t interval rule. Runs pair by seed only where both sides ran exactly the same
# seeds ("n" reads "5 pairs"); a 3-seed row against a 5-seed row is compared as independent
# runs ("3 vs 5").

# %% tags=["hide-input"]
verdicts = verdict_table(store.records(ch.CHAPTER), [c for t, modes in shown.items()
                                                      for c in ch.paper.claims((t,), tuple(modes))], cfg.profile)
show_verdicts(verdicts, caption=f"one line per claim, from the run records ({P})")

# %% [markdown]
# The same verdicts side by side, the authors' code (faithful) against the corrected code,
# with the difference in accuracy:

# %% tags=["hide-input"]
v = verdicts.assign(mode=verdicts.claim.str.extract(r"\((faithful|corrected)\)")[0].fillna("no VID"),
                    comparison=verdicts.claim.str.replace(r" \((faithful|corrected)\)", "", regex=True),
                    result=[f"{r.verdict} ({r.difference:+.3f})" if r.difference == r.difference else r.verdict
                            for r in verdicts.itertuples()])
show_table(v.pivot_table(index="comparison", columns="mode", values="result", aggfunc="first", sort=False)
           .reset_index().fillna(""), caption=f"verdicts by mode ({P})")

# %% tags=["remove-cell"]
not_decided = [f"{table_name(t)}" + ("" if t not in shown else f" in {m} mode")
               for t in ch.experiments.TABLES for m in ([None] if t not in shown else
                                                         [m for m in cfg.modes if m not in shown[t]])]
glue("not_decided", f"the claims of {' and '.join(not_decided)}, which did not run (see the parameters)"
     + ("; the sampled variant of Table 2's corrected search has its own claims, decided in its section"
        if sampled_ran and any("Table 2" in n for n in not_decided) else "") if not_decided else "none")

# %% [markdown]
# Not decided at this profile: {glue:text}`not_decided`.

# %% tags=["remove-cell"]
recs = report.chapter_records(store, cfg.profile)
notes = [n for n in store.failures(ch.CHAPTER) if n["profile"] == cfg.profile]
glue_all(n_records=len(recs), n_notes=len(notes), compute_min=f"{sum(r['seconds'] for r in recs + notes) / 60:.1f}")

# %% [markdown]
# How long this profile took, from its run records (each record's own compute time; the
# script runs many of them side by side, so the wall time was shorter): the chapter has
# {glue:text}`n_records` run records and {glue:text}`n_notes` failure notes,
# {glue:text}`compute_min` min of compute, by part and device:

# %% tags=["hide-input"]
def part(setting: str) -> str:
    for prefix, name in (("teacher", "(a) teachers"), ("T1 ", "(c) Table 1"), ("T2 ", "(d) Table 2"), ("cost", "cost")):
        if setting.startswith(prefix):
            return name
    return "(b) Hinton sweep"


where = pd.DataFrame([{"part": part(r["setting"]), "kind": kind, "device": r["device"],
                       "minutes": r["seconds"] / 60} for kind, rs in (("record", recs), ("failure note", notes)) for r in rs])
show_table(where.groupby(["part", "kind", "device"]).agg(runs=("minutes", "size"), minutes=("minutes", "sum"))
           .round(1).reset_index(), caption=f"where this profile's records were computed ({P})", digits=1)

# %% [markdown]
# ## What differed from the paper
#
# - **Bugs, shown both ways.** Faithful rows run the authors' code: σ² multiplied in the VID
#   term, its log σ² term counted once instead of once per element, only the last pair's loss
#   counted (so "pairwise" is VID on conv3 ↔ conv3 alone and all-to-all is VID on fc1 ↔ the
#   teacher's last layer alone, and the searched λ never mattered), the $4i+j$ λ index,
#   Hinton's loss with swapped KL arguments and no $T^2$, and teachers in training mode.
#   Corrected rows fix all of them. Both modes keep the authors' $1/S$ on the all-to-all
#   feature term (their $\beta/4$), which is a choice of scale, not a bug.
# - **Precision.** Every run here trains under bf16 autocast (the authors' notebooks show no
#   autocast, so fp32). Whether a run of the authors' Hinton loss at low T diverges depends
#   on the device and precision: the sweep section names the runs that stopped on one device
#   and finished on another.
# - **Choosing λ.** The authors picked the best of their trials on the test set. Ours train
#   the trials on the first 8,960 of the 10,112 images (so they can be judged on the last
#   1,152), tell the sampler the validation accuracy, and retrain the chosen (λ, β) on all
#   10,112 images from seeds shared with the student-alone runs. The authors' "best trial on
#   test" row is shown for comparison; it was trained on 8,960 images here, 10,112 there.
# - **Teachers are one run each.** The paper's ResNet10 teacher (0.68) is the top of its
#   authors' five runs, which a plot in `resnet_test.ipynb` shows ending at about 0.64-0.68
#   (their ConvTiny's 0.58 is likewise the top of its spread; sources in `paper.py`); ours is
#   one run from seed 0.
# - **Hinton rows of the tables.** The paper does not give β and T of its Table 1-2 Hinton
#   rows; we use β = 0.5, T = 3, the values in the authors' ConvTiny → ConvVeryTiny notebook
#   (a guess for Table 2).
# - **All-to-all layers.** The paper's figure 7 shows 4 student and 4 teacher layers for
#   Table 1; we take conv1-conv3 and fc1 of both (a guess: that notebook is not in the
#   repository). For ResNet10 the authors' code used the stem and each block's first
#   convolution and output (9 layers), as here.
# - **Test set.** The full 10,000 test images come from a JPEG q75 copy (the originals were
#   not available offline); the exact first 1,000 are reported beside them.
# - **Normalisation** uses the usual CIFAR-10 channel means and stds, a hair from the
#   authors' (125.3, 123.0, 113.9)/255 and (63.0, 62.1, 66.7)/255.
# - **Regressors.** Ours change the spatial size in one exact strided (or transposed)
#   convolution between two 1×1 convolutions; the authors spread it over three convolutions.
# - **Budget and devices.** The paper profile is sized for a GPU. Its records come from one
#   H100 lent for 30 minutes and from the book's 2-core CPU (the table above gives the device
#   of every record). The H100 trained the ResNet18 and ConvTiny teachers and ran the Hinton sweep and Table 1; the
#   CPU finished what the lease did not (the retraining of the corrected all-to-all search's
#   validation choice) and ran again the authors'-loss sweep runs that had stopped on the H100,
#   so that each leaves a failure note (the results folder did not keep such notes then); two
#   of them finished there instead (named under the sweep table). Every student record uses
#   the same teacher weights wherever it ran: the H100's teachers were brought back for the
#   CPU.
#   Table 2 (ResNet10 → ConvTiny) did not fit the lease and is switched off in the parameters
#   (`tables`). Its two ResNet10 teachers and the cost timing ran later on the CPU, and so did
#   the part of Table 2 whose cost the CPU can carry: the student alone, both Hinton rows and
#   the faithful all-to-all search with its retrainings, from
#   `notebooks/params/deep_nets_table2_cpu.yaml` (the paper profile's values, only Table 2,
#   only faithful mode; the tables above name the device of each record). Its exact corrected
#   all-to-all search did not run (section (d) estimates its cost), so Table 2's claims in
#   corrected mode are not decided here. The corrected search ran instead, on the CPU, as our
#   labelled variant with the pooled objective that samples 4 of the 36 pairs per step
#   (runner part `table2_sampled`, with a ResNet10 teacher trained on all 10,112 rows); its
#   claims are decided in its own section and kept apart from the paper's. For when it runs, that search is set to fewer trials
#   than the authors' 20 (`a2a_trials_resnet10_corrected`); the TPE sampler's first 10 trials
#   are random, so a search of 10 or fewer is a random search, and a faithful-against-corrected
#   reading of Table 2 would compare a 20-trial TPE search with a random one.
# - The smoke profile trains tiny models on a few hundred images for one epoch: its numbers
#   only check that the pipeline runs and are never the paper-scale result.
