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
# # Distillation between heterogeneous models, with every weight tuned by hypergradients
#
# *Sources: M. Gorpinich, O. Bakhteev, V. Strijov, "Knowledge distillation on heterogeneous
# models" (draft) {cite}`gorpinich2023heterogeneous`, and the published paper it builds on,
# "Gradient methods for optimizing metaparameters in the knowledge distillation problem"
# {cite}`gorpinich2022gradient`; the authors' code and logs as collected in the project's notes.*
#
# **The claims.** (2022) The weight $\lambda$ of the hard-label term and the temperature $T$ of
# a distillation loss are *metaparameters*: tuning them by gradient descent on a validation
# loss (a bi-level problem, solved greedily one step at a time) trains better students than
# a hand-set, a random or a searched $(\lambda, T)$, and a cheaper variant that extrapolates
# their trajectory with a straight line does as well. (Draft) Between architectures that
# differ, a ResNet teacher and a small CNN student, distillation works better when the
# weight $\lambda_{ij}$ of *every* (teacher layer $i$, student layer $j$) pair is such a
# metaparameter than with hand-set, random or layer-$i$-to-$i$ weights. The draft stops at a
# non-working version of the all-pairs method; this chapter builds it (`kdcore.hyper`,
# tested) and measures it where its profile runs the CIFAR-10 parts (see the notice below).
#
# Every number below comes from a run record (written by this notebook or, for the paper
# profile, by the same code run through the runner, `python -m kdcore run heterogeneous`; see
# the [results page](../results.md)) or, for the authors' numbers, from
# `kdcore/chapters/heterogeneous/paper.py`; the profile that produced it is printed with it.

# %%
# In Colab or a fresh environment: install kdcore from the book's repository if it is missing.
import importlib.util
import subprocess
import sys

if importlib.util.find_spec("kdcore") is None:
    subprocess.check_call([sys.executable, "-m", "pip", "install", "-q",
                           "git+https://github.com/kd-book/kd-book.git"])

# %% tags=["parameters"]
# Smoke profile: runs in well under a minute on a CPU. The paper profile is
# notebooks/params/heterogeneous.yaml (also runnable as: python -m kdcore run heterogeneous).
profile = "smoke"
datasets = ["synthetic"]
methods = ["none", "naive", "random", "gradient", "hyperopt", "proposed"]
runs = {"synthetic": 2}
epochs = {"synthetic": 300}
n_rows = {"fashion_mnist": 2000, "cifar10_reduced": 640, "cifar10": 2000}
test_rows = 300
batch_size = 128
lr = 1.0
lr_step = 10
teacher = "conv_tiny"
teacher_fmnist = "conv_tiny"
teacher_epochs = 1
teacher_bf16 = False
hyper_method = "finite_difference"
hyper_optimizer = "adam"
hyper_lr = 0.01
hyper_clip = 0.0
mini_epochs_per_epoch = 10
synthetic_mini_epoch = 100
fit_mini_epochs = 10
extrapolate_mini_epochs = 10
hyperopt_startup = 3
draft_sweep = True
sweep_lambdas = [1e-4, 0.5]
all_pairs = True
cross_teachers = ["conv_tiny"]
cross_methods = ["none", "hinton", "pairwise", "uniform", "random", "tuned"]
cross_seeds = [0]
cross_epochs = 1
cross_beta = 1e-4
single_pair = True
device = "auto"

# %%
import warnings

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from kdcore.chapters import heterogeneous as ch
from kdcore.chapters.heterogeneous import report
from kdcore.results.display import (profile_notice, relative_path, show_comparison, show_markdown, show_source, show_table)
from kdcore.hyper import HyperStep, hypergradient
from kdcore.losses import meta_kd_loss
from kdcore.run.profile import ROOT, load_profile
from kdcore.results import RunStore, comparison_table
from kdcore.results.records import is_current
from kdcore.results.verdicts import verdict_markdown, verdict_table

warnings.filterwarnings("ignore", message="IProgress not found")   # tqdm without ipywidgets: no progress bars here

cfg = ch.HeterogeneousConfig.from_namespace(globals())   # validates every parameter first
sgd = ch.pairs._sgd(cfg, 0)     # the student optimiser of the draft's experiments, as pairs.py sets it
draft_sgd = f"SGD at learning rate {sgd.lr:g}, multiplied by {sgd.gamma:g} every {sgd.step_size} epochs"
store = RunStore(profile=cfg.profile)   # smoke runs write to a scratch folder, paper runs to results/
sns.set_theme(style="whitegrid", context="notebook")
print(f"profile: {cfg.profile}; results in {relative_path(store.root)}")
profile_notice(cfg.profile)
# The columns of the 2022 table and the config each was run with. The full CIFAR-10 column ran
# apart, on the CPU with a shorter-trained teacher (notebooks/params/heterogeneous_cifar10_cpu.yaml);
# its records are read here, never trained, and only when every run of the column is there.
col_cfg = {d: cfg for d in cfg.datasets}
SIDE_PARAMS = ROOT / "notebooks" / "params" / "heterogeneous_cifar10_cpu.yaml"
if cfg.profile == "paper" and "cifar10" not in cfg.datasets and SIDE_PARAMS.exists():
    side = load_profile(ch.CHAPTER, ch.HeterogeneousConfig, cfg.profile, params=SIDE_PARAMS)
    have = pd.Series([r["params"].get("method") for r in store.records(ch.CHAPTER)
                      if r["profile"] == side.profile and r["params"].get("dataset") == "cifar10"
                      and r["params"].get("teacher_epochs", side.teacher_epochs) == side.teacher_epochs]).value_counts()
    if all(have.get(m, 0) >= side.runs["cifar10"] for m in side.methods):
        col_cfg["cifar10"] = side
columns = list(col_cfg)
not_run = [ch.LABELS[d] + " column" for d in ch.DATASETS if d not in columns] + [
    name for name, on in (("the fixed-λ sweep", cfg.draft_sweep), ("the single-pair bi-level run", cfg.single_pair),
                          ("the all-pairs comparison", cfg.all_pairs)) if not on]
not_run += [f"the all-pairs VID runs from {t}" for t in ("resnet18", "conv_tiny") if cfg.all_pairs
            and t not in cfg.cross_teachers]
if not_run:
    show_markdown(f"**Not run at profile `{cfg.profile}`:** {', '.join(not_run)} (see the parameters: `datasets`, "
                  "`draft_sweep`, `single_pair`, `all_pairs`, `cross_teachers`). Their sections below say so, and "
                  "why.")

# %% [markdown]
# ## The bi-level problem and the one-step hypergradient
#
# The student's weights $w$ minimise the training loss, the metaparameters $\theta$
# minimise the validation loss of the weights they lead to:
#
# $$\hat\theta = \arg\min_\theta \mathcal{L}_\text{val}\big(\hat w(\theta)\big),\qquad
# \hat w(\theta) = \arg\min_w \mathcal{L}_\text{train}(w, \theta),\qquad
# \mathcal{L}_\text{train} = \lambda\,\mathrm{CE}(y, g(x)) + (1-\lambda)\,\mathrm{KL}\big(p_T(f(x))\,\|\,p_T(g(x))\big).$$
#
# Greedily {cite}`luketina2016scalable`, one optimiser step $w' = U(w, \nabla_w \mathcal{L}_\text{train})$ is unrolled and
# $\theta$ moves against $\frac{d}{d\theta}\mathcal{L}_\text{val}(w'(\theta)) =
# (\partial_\theta \nabla_w \mathcal{L}_\text{train})^\top (\partial U/\partial g)^\top \nabla\mathcal{L}_\text{val}(w')$.
# The library computes it exactly by autograd through a functional SGD or Adam step, or, as
# the authors did after DARTS {cite}`liu2019darts`, with a central finite difference of $\nabla_\theta\mathcal{L}_\text{train}$
# at $w \pm \varepsilon v$, $\varepsilon = 0.01/\|v\|$. The tests check both against central
# differences of the unrolled validation loss. The loss, then the hypergradient:

# %%
show_source(meta_kd_loss)

# %%
show_source(hypergradient)

# %% [markdown]
# The upper-level step is a `fit` callback: before each optimiser step it takes the
# hypergradient through that very step, on the current training batch and a validation
# batch, and updates $\theta$; the training loop knows nothing about it.

# %%
show_source(HyperStep.update)

# %% [markdown]
# ## The 2022 table: six ways to set $(\lambda, T)$
#
# Data: the authors' synthetic problem, Fashion-MNIST {cite}`xiao2017fashion`, CIFAR-10
# {cite}`krizhevsky2009cifar`. *hyperopt* is a TPE search {cite}`bergstra2011tpe` with Optuna
# {cite}`akiba2019optuna`. On the image columns the student is ConvVeryTiny, trained by SGD
# with learning rate `lr` halved every `lr_step` epochs on a 9:1 train/validation split; on
# the synthetic columns it is a linear model trained by full-batch SGD at a constant learning
# rate on the authors' small splits (sizes printed below). Teacher logits are computed once. Run $r$ of
# *random*, *gradient* and *proposed* starts from the same draw $\lambda \sim U(0,1)$,
# $\log_{10} T \sim U(-1, 1)$ and the same initial student, so they compare run by run.
#
# **Two synthetic columns.** The authors' run behind the paper's synthetic column
# (MetaOptDistillation, commit f888a88, whose logs match the table number for number) gave
# the student $(x_1, x_2, \operatorname{sign}(x_1 x_2))$ in the *none*, *gradient*, *hyperopt*
# and *proposed* rows but the teacher's own indicator feature $[x_1 > 0 \wedge x_2 > 0]$ in
# the *naive* and *random* rows, and its upper level and its hyperopt objective read the
# test rows (each hyperopt run is its own small search). *synthetic* runs exactly that
# (faithful); *synthetic (corrected)* gives every row $\operatorname{sign}(x_1 x_2)$ and tunes
# on its separate validation split. Both use the authors' synthetic upper level and
# `epochs["synthetic"]` full-batch steps; the values are printed below.

# %%
from kdcore.chapters.heterogeneous.data import xor_synthetic
from kdcore.chapters.heterogeneous.table import PER_RUN_SEARCH, SYNTHETIC_HYPER

sizes = {k: len(v) for k, v in xor_synthetic().items()}
print(f"synthetic splits (rows): {sizes}; upper level {SYNTHETIC_HYPER}; hyperopt: one search of "
      f"{PER_RUN_SEARCH['synthetic']} trials per run ({cfg.hyperopt_startup} random start-up trials, then TPE)")
for d in columns:
    if d not in PER_RUN_SEARCH and cfg.runs[d] <= cfg.hyperopt_startup:
        print(f"[{cfg.profile}] {ch.LABELS[d]}: the search has {cfg.runs[d]} trials, all of them Optuna's random "
              f"start-up trials (hyperopt_startup = {cfg.hyperopt_startup}): this hyperopt row is a random search")
runs_df = pd.concat([ch.table_runs(col_cfg[d], store, d) for d in columns], ignore_index=True)
summary = report.summary_table(runs_df, cfg.profile).rename(columns={"paper mean (max)": "authors' mean (max)"})
show_table(summary, caption=f"Test accuracy, last epoch, over runs (profile: {cfg.profile}"
           + ("; CIFAR-10 (full): its own parameters file, below" if "cifar10" in columns and col_cfg["cifar10"] is not cfg
              else "") + ")")
teachers = pd.DataFrame([
    {"column": ch.LABELS[d], "teacher": t["params"]["model"], "epochs": t["params"]["epochs"],
     "training rows": t["params"]["n_rows"] - t["params"]["n_rows"] // 10,   # the 9:1 train split
     "test accuracy": t["metrics"]["accuracy"], "device": t["device"], "minutes": t["seconds"] / 60}
    for d in columns if d not in ch.data.SYNTHETIC and set(col_cfg[d].methods) - {"none"}
    for t in [ch.teacher(col_cfg[d], store, d).record]])
if len(teachers):
    show_table(teachers, caption=f"The image columns' teachers, trained here (Adam, learning rate 0.001, batch 128; "
               f"profile: {cfg.profile})", digits=3)
if "cifar10" in columns and col_cfg["cifar10"] is not cfg:
    c10, t10 = col_cfg["cifar10"], teachers.set_index("column").loc[ch.LABELS["cifar10"]]
    show_markdown(
        f"**The full CIFAR-10 column ran apart**, on {', '.join(sorted(set(runs_df[runs_df.dataset == 'cifar10'].device)))}, "
        f"from `{relative_path(SIDE_PARAMS)}`: this profile's values, except that its ResNet18 teacher trained "
        f"{c10.teacher_epochs} epochs instead of {cfg.teacher_epochs} ({t10.minutes / t10.epochs:.0f} min an epoch of "
        f"{t10['training rows']:,} rows there; test accuracy {t10['test accuracy']:.3f}, where the authors distilled from "
        f"a pretrained CIFAR ResNet). Its students ran {c10.runs['cifar10']} runs × {c10.epochs['cifar10']} epochs against "
        f"the authors' {ch.paper.RUNS_EPOCHS_2022['cifar10'][0]} × {ch.paper.RUNS_EPOCHS_2022['cifar10'][1]}. Its rows "
        "measure the methods at that size; they are not a rerun of the paper's column.")

# %%
np.random.seed(0)                      # seaborn's strip jitter draws from numpy: the same figure on every run
fig, axes = plt.subplots(1, len(columns), figsize=(5 * len(columns), 3.6), squeeze=False)
for ax, d in zip(axes[0], columns):
    sub = runs_df[runs_df.dataset == d]
    sns.stripplot(sub, x="method", y="accuracy", ax=ax, size=5, alpha=0.8)
    sns.pointplot(sub, x="method", y="accuracy", ax=ax, errorbar=None, color="k", markers="_", linestyles="none")
    unit = "full-batch steps" if d in ch.data.SYNTHETIC else "epochs"
    ax.set(title=f"{ch.LABELS[d]} ({cfg.runs[d]} runs, {cfg.epochs[d]} {unit})", xlabel="")
    ax.tick_params(axis="x", rotation=30)
plt.suptitle(f"test accuracy per run and mean (profile: {cfg.profile})")
plt.tight_layout()
plt.show()
for d in columns:
    m = runs_df[runs_df.dataset == d].groupby("method").accuracy.mean().round(4)
    print(f"[{cfg.profile}] {ch.LABELS[d]}: best mean accuracy {m.max():.4f} ({', '.join(m.index[m == m.max()])}), "
          f"worst {m.min():.4f} ({', '.join(m.index[m == m.min()])})")

CHANCE = 0.11   # ten classes: a run whose best epoch stays at or below this never learned
dead_runs = runs_df[(runs_df.best_accuracy <= CHANCE) & ~runs_df.dataset.isin(ch.data.SYNTHETIC)]
for (d, run), g in dead_runs.groupby(["dataset", "run"]):
    alive = runs_df[(runs_df.dataset == d) & (runs_df.run != run)]
    n = cfg.runs[d]
    show_markdown(
        f"*{ch.LABELS[d]}, run {run}* never rises above chance (best epoch {g.best_accuracy.max():.3f}) in "
        f"{', '.join(g.method)}, of the rows that start from its draw (random, gradient, proposed: T = "
        f"{g.start_temperature.iloc[0]:.3f}, λ = {g.start_lambda.iloc[0]:.3f}); the same run reaches "
        + ", ".join(f"{m} {a:.3f}" for m, a in runs_df[(runs_df.dataset == d) & (runs_df.run == run)
                                                       & ~runs_df.method.isin(g.method)].set_index("method").accuracy.items())
        + f". Without it, over the other {n - 1} runs: "
        + ", ".join(f"{m} {a:.3f}" for m, a in alive.groupby("method", sort=False).accuracy.mean().items())
        + f". The means of {', '.join(g.method)} on this column and their gap to the authors come from that one "
        f"run (the verdicts at the end leave a run that ended within two points of chance out, and count it); "
        + (f"with n = {n} no claim on this column can be decided. " if n - 1 < 3 else
           "the verdicts at the end give this column's claims with it and without it. ")
        + ("Why it fails is not tested here; the random row keeps the same start fixed and does learn (best epoch "
           f"{runs_df[(runs_df.dataset == d) & (runs_df.run == run) & (runs_df.method == 'random')].best_accuracy.item():.3f}), "
           "so the upper-level steps take part in the failure." if "random" not in set(g.method) else
           ("Why it fails is measured below." if d == "fashion_mnist" else
            "Why a run from this start fails is measured below on Fashion-MNIST; it is not tested on this column.")))

# %% [markdown]
# ### Why a run dies: the soft term's gradient at a small temperature
#
# The paper's soft term has no $T^2$ factor, so its gradient with respect to the student's
# logits is $(1-\lambda)\,(p(z, T) - p(v, T))/T$ per row: ten times the $T = 1$ size at
# $T = 0.1$, on top of a learning rate of 1.0. The study `kdcore.studies.dead_runs` reruns the
# chapter's Fashion-MNIST "random" students (same data, teacher, seeds, schedule and code
# path) with the soft term multiplied by $T^k$: $k = 0$ is the chapter's objective, $k = 1$
# makes the logit gradient's size independent of $T$, $k = 2$ is Hinton's $T^2$. Each run
# records the two terms' gradient norms over its first steps and the spread of its logits
# (zero: the same output for every image).

# %%
probe_store = RunStore(store.root, profile="paper")
probe_runs = [r for r in probe_store.records("dead_runs") if r["profile"] == "paper"]
probe_failed = [n for n in probe_store.failures("dead_runs") if n["profile"] == "paper"]   # loss became NaN
if probe_runs:
    dead_table = pd.DataFrame([{"run": r["params"]["run"], "start T": r["params"]["temperature"],
                                "start λ": r["params"]["lambda"], "soft term × T^k": r["params"]["power"],
                                "accuracy": r["metrics"]["accuracy"],
                                "max soft / hard gradient": r["metrics"]["max_soft_over_hard"],
                                "final logit spread": r["metrics"]["final_logit_spread"], "diverged": ""}
                               for r in probe_runs]
                              + [{"run": n["params"]["run"], "start T": n["params"]["temperature"],
                                  "start λ": n["params"]["lambda"], "soft term × T^k": n["params"]["power"],
                                  "accuracy": float("nan"), "max soft / hard gradient": float("nan"),
                                  "final logit spread": float("nan"), "diverged": n["message"].split(": ")[1].split(" (")[0]}
                                 for n in probe_failed])
    dead_table = dead_table.sort_values(["start T", "soft term × T^k"]).reset_index(drop=True)
    show_table(dead_table.round({"start T": 3, "start λ": 3, "accuracy": 4, "max soft / hard gradient": 1,
                                 "final logit spread": 3}),
               caption="Fashion-MNIST random students rerun with the soft term scaled by T^k "
                       "(study dead_runs, paper profile, 1 CPU thread)")
    chance = dead_table[dead_table.accuracy <= CHANCE]
    k0 = dead_table[dead_table["soft term × T^k"] == 0]
    lived = dead_table[(dead_table["start T"].isin(chance["start T"])) & (dead_table.accuracy > CHANCE)]
    all_trained = [k for k, g in dead_table.groupby("soft term × T^k") if (g.accuracy > CHANCE).all()]
    show_markdown(
        f"With the chapter's objective ($k = 0$), {len(chance[chance['soft term × T^k'] == 0])} of {len(k0)} runs end at "
        f"chance, those starting at T = {', '.join(f'{t:.3f}' for t in sorted(chance['start T'].unique()))}; in them the "
        f"soft term's gradient reaches {chance['max soft / hard gradient'].max():.0f} times the hard term's and the "
        f"logits collapse (spread {chance['final logit spread'].max():.3f}). The same runs with the soft term scaled by "
        f"$T$ or $T^2$ learn ({', '.join(f'k = {k}: {a:.3f}' for k, a in zip(lived['soft term × T^k'], lived.accuracy))}). "
        f"Changing only the soft term's scale removes the failure, so the cause is measured: the $1/T$ gradient at "
        f"learning rate {cfg.lr:g}. "
        + (f"Hinton's $T^2$ fails at the other end: the run starting at T = "
           f"{', '.join(f'{t:.2f}' for t in dead_table[dead_table.diverged != ''].loc[:, 'start T'])} diverges "
           f"({'; '.join(dead_table[dead_table.diverged != ''].diverged)}), its soft gradient multiplied by T instead. "
           if (dead_table.diverged != "").any() else "")
        + (f"Of the three scales, only $k = {all_trained[0]}$ trains all {dead_table.run.nunique()} draws. "
           if len(all_trained) == 1 else f"The scales that train all {dead_table.run.nunique()} draws: "
           f"{', '.join(f'k = {k}' for k in all_trained) or 'none'}. ")
        +         "The faithful rows above keep the paper's objective; their failed runs are counted by the verdicts' rule.")
else:
    show_markdown(f"(The study `kdcore.studies.dead_runs` runs at the paper profile; this is the {cfg.profile} profile.)")

# %% [markdown]
# The "gradient" and "proposed" students start from the same draws and then move $\lambda$ and
# $T$ by the hypergradient. The study `kdcore.studies.dead_runs_tuned` reruns the chapter's
# three Fashion-MNIST runs of each with the soft term multiplied by $T$ (the correction above);
# their faithful counterparts are the chapter's records.

# %%
tuned_fix = [r for r in RunStore(store.root, profile="paper").records("dead_runs_tuned") if r["profile"] == "paper"]
if tuned_fix and "fashion_mnist" in columns:
    faithful_rows = runs_df[(runs_df.dataset == "fashion_mnist")].set_index(["method", "run"])
    fix_table = pd.DataFrame([{
        "method": r["params"]["method"], "run": r["params"]["run"], "start T": r["params"]["temperature"],
        "faithful accuracy": faithful_rows.loc[(r["params"]["method"], r["params"]["run"]), "accuracy"],
        "faithful final T": faithful_rows.loc[(r["params"]["method"], r["params"]["run"]), "final_temperature"],
        "soft × T: accuracy": r["metrics"]["accuracy"], "soft × T: final T": r["metrics"]["final_temperature"]}
        for r in tuned_fix]).sort_values(["method", "run"])
    show_table(fix_table, caption="Fashion-MNIST gradient and proposed students: the chapter's runs (faithful) and the "
                                  "same runs with the soft term × T (study dead_runs_tuned, paper profile)", digits=3)
    dead_f = int((fix_table["faithful accuracy"] <= CHANCE).sum())
    dead_c = int((fix_table["soft × T: accuracy"] <= CHANCE).sum())
    show_markdown(f"Runs ending at chance: {dead_f} of {len(fix_table)} faithful, {dead_c} of {len(fix_table)} with the "
                  f"soft term × T.")
else:
    show_markdown(f"(The study `kdcore.studies.dead_runs_tuned` runs at the paper profile; no records at "
                  f"{relative_path(store.root)}.)")

# %%
# A search resumed in a new process replays its stored trials to Optuna, whose seeded sampler
# then starts its random stream afresh: a random start-up trial can repeat an earlier point.
for d in columns:
    if d in PER_RUN_SEARCH:
        continue
    h = runs_df[(runs_df.dataset == d) & (runs_df.method == "hyperopt")].sort_values("run")
    rep = h[h.duplicated(["start_lambda", "start_temperature"], keep=False)]
    if rep.empty:
        continue
    show_markdown(
        f"*{ch.LABELS[d]}, hyperopt:* trials {', '.join(str(r) for r in rep.run)} tried the same point "
        f"(λ = {rep.start_lambda.iloc[0]:.3f}, T = {rep.start_temperature.iloc[0]:.3f}), so the search has "
        f"{len(h.drop_duplicates(['start_lambda', 'start_temperature']))} distinct points in {len(h)} trials. Its trials "
        "were made in more than one process (the device calls listed under \"Where the runs ran\"): a resumed search "
        "replays the stored trials, but Optuna's seeded sampler restarts its random stream, and the next random "
        "start-up trial drew the first point again. Seeding the sampler by trial number would avoid it; that "
        "changes the chapter's code, and with it every record's code hash, so it is left for a later change.")

# %% [markdown]
# What the two synthetic columns say together (computed from the runs above; the verdicts at
# the end of the chapter give the spreads):

# %%
if {"synthetic", "synthetic_corrected"} <= set(cfg.datasets):
    m = runs_df.groupby(["dataset", "method"]).accuracy.mean()
    f, c = m["synthetic"], m["synthetic_corrected"]
    show_markdown(
        f"- As the authors ran it, the tuned rows differ from the naive row by {f['gradient'] - f['naive']:+.3f} "
        f"(gradient) and {f['proposed'] - f['naive']:+.3f} (proposed) in mean accuracy; but that naive row "
        f"saw the teacher's indicator feature, and with it the student reaches only {f['naive']:.3f}.\n"
        f"- With one feature set for every row (corrected), the naive distillation setting "
        f"{'beats' if c['naive'] > c['none'] else 'does not beat'} the student alone: none {c['none']:.3f}, "
        f"naive {c['naive']:.3f}. Against the naive setting, tuning (lambda, T) moves the mean by "
        f"{c['gradient'] - c['naive']:+.3f} (gradient) and {c['proposed'] - c['naive']:+.3f} (proposed), and the "
        f"Optuna search by {c['hyperopt'] - c['naive']:+.3f} (profile `{cfg.profile}`).")

# %% [markdown]
# ### Where $\lambda$ and $T$ go
#
# The trajectories of the tuned metaparameters, one line per run (the *proposed* runs
# follow straight segments where they extrapolate).

# %%
recs = [r for r in store.records(ch.CHAPTER) if r["profile"] == cfg.profile]
fig, axes = plt.subplots(len(columns), 2, figsize=(11, 3.2 * len(columns)), squeeze=False)
for row, d in zip(axes, columns):
    tr = report.trajectories(recs, d)
    if tr.empty:
        continue
    for ax, col in zip(row, ["lambda", "temperature"]):
        sns.lineplot(tr, x="step", y=col, hue="method", units="run", estimator=None, ax=ax, lw=0.8)
        ax.set(title=f"{ch.LABELS[d]}: {col}", yscale="log" if col == "temperature" else "linear")
plt.tight_layout()
plt.show()
dead_keys = set(zip(dead_runs.dataset, dead_runs.run))
ends = runs_df.dropna(subset=["final_lambda"])
ends = ends[[k not in dead_keys for k in zip(ends.dataset, ends.run)]]   # runs that never learned say nothing here
print(ends[ends.method.isin(["gradient", "proposed"])].groupby(["dataset", "method"])[
    ["start_lambda", "final_lambda", "start_temperature", "final_temperature"]].mean().round(3))
lines = []
for d in columns:
    g = ends[(ends.dataset == d) & (ends.method == "gradient")]
    r = runs_df[(runs_df.dataset == d) & (runs_df.method == "random")].set_index("run").accuracy
    r = r[[(d, k) not in dead_keys for k in r.index]]
    if g.empty or r.empty:
        continue
    gain = (g.set_index("run").accuracy - r).mean()
    lines.append(f"- {ch.LABELS[d]}: over the training the gradient moves λ by {(g.final_lambda - g.start_lambda).abs().mean():.3f} "
                 f"and T by {(g.final_temperature - g.start_temperature).abs().mean():.2f} on average (|end − start|), "
                 f"and its runs end {gain:+.3f} in accuracy from the random row's runs, which keep the same start fixed"
                 + (" (on this column the random row also saw other features)" if d == "synthetic" else "")
                 + (f"; final T {', '.join(f'{t:.2f}' for t in g.final_temperature)} (its bound is 10) and final λ "
                    f"{', '.join(f'{v:.3f}' for v in g.final_lambda)}" if d not in ch.data.SYNTHETIC else "")
                 + (f" ({sum(k[0] == d for k in dead_keys)} run(s) that never learned left out)"
                    if any(k[0] == d for k in dead_keys) else "") + ".")
show_markdown("\n".join(lines))

# %% [markdown]
# ## The draft's own experiments
#
# ### A fixed weight on one layer pair
#
# $(1-\lambda)\,\mathrm{CE} + \lambda\,\mathrm{VID}$ on the students' `fc1` features (a
# ResNet has none: its last block output stands in), VID {cite}`ahn2019vid` with a learned scalar variance,
# Adam, on CIFAR-10 reduced. $\lambda = 0$ is the student alone.

# %%
if cfg.draft_sweep:
    sweep = pd.DataFrame([{"lambda": lam, **ch.sweep_run(cfg, store, lam)["metrics"]} for lam in [0.0, *cfg.sweep_lambdas]])
    paper_sweep = pd.DataFrame([{"lambda": k, "accuracy": v[0]} for k, v in ch.paper.SWEEP.items()])
    ax = sns.lineplot(sweep[sweep["lambda"] > 0], x="lambda", y="accuracy", marker="o", label="ours, last epoch")
    sns.lineplot(sweep[sweep["lambda"] > 0], x="lambda", y="best_accuracy", marker="o", label="ours, best epoch", ax=ax)
    sns.lineplot(paper_sweep, x="lambda", y="accuracy", marker="s", ls="--", label="authors' log, last epoch", ax=ax)
    ax.axhline(sweep.loc[sweep["lambda"] == 0, "accuracy"].item(), color="grey", ls=":", label="student alone (ours)")
    ax.set(xscale="log", title=f"fixed-lambda sweep, teacher {cfg.teacher} (profile: {cfg.profile})")
    ax.legend()
    plt.show()
    authors = [ch.paper.SWEEP.get(lam, (np.nan, np.nan)) for lam in sweep["lambda"]]
    shown = pd.DataFrame({"λ": [f"{lam:g}" for lam in sweep["lambda"]], "ours, last": sweep.accuracy,
                          "authors, last": [x[0] for x in authors], "ours, best": sweep.best_accuracy,
                          "authors, best": [x[1] for x in authors]})
    show_table(shown, caption=f"fixed-lambda sweep, test accuracy at the last and the "
               f"best epoch, one run per λ (profile: {cfg.profile}; authors: their logged run, — where none)", digits=4)
    on = sweep[sweep["lambda"] > 0].set_index("lambda")
    alone_row = sweep[sweep["lambda"] == 0].iloc[0]
    theirs = paper_sweep.set_index("lambda").accuracy
    a = ch.paper.SWEEP_ALONE
    rec0 = ch.sweep_run(cfg, store, 0.0)
    t_rec = ch.teacher(cfg, store, "cifar10_reduced", cfg.teacher).record
    show_markdown(
        f"Setup as the authors': Adam at learning rate {rec0['params']['lr']:g}, {cfg.cross_epochs} epochs, batch "
        f"{cfg.batch_size}, seed 0, on the {cfg.n_rows['cifar10_reduced'] - cfg.n_rows['cifar10_reduced'] // 10:,} training rows of "
        f"CIFAR-10 reduced; the teacher is a {ch.pairs.NAMES[cfg.teacher]} trained on the same rows (test accuracy "
        f"{t_rec['metrics']['accuracy']:.4f}). One run per λ, as the authors' log: no verdict can rest on a single "
        f"point. Ours peaks at λ = {on.accuracy.idxmax():g} ({on.accuracy.max():.4f}), theirs at λ = "
        f"{theirs.idxmax():g} ({theirs.max():.4f}). Our student alone (λ = 0) ends at {alone_row.accuracy:.4f} "
        f"(best epoch {alone_row.best_accuracy:.4f}); the authors' ended between {a['last_low']} and {a['last_high']} "
        f"(peak about {a['peak']}); ours ended {alone_row.best_accuracy - alone_row.accuracy:.3f} below its own best epoch. Against that best-epoch value "
        f"instead, {int((on.best_accuracy > alone_row.best_accuracy).sum())} of {len(on)} λ are above it "
        f"({int((on.accuracy > alone_row.accuracy).sum())} of {len(on)} at the last epoch). At λ = 0.5 the authors' "
        f"run fell to {theirs[0.5]:.3f}; ours ends at {on.accuracy[0.5]:.4f}.")
else:
    show_markdown(f"*Not run at profile `{cfg.profile}` (`draft_sweep: false`).*")

# %% [markdown]
# ### The same weight tuned by the hypergradient
#
# The authors' bi-level run: one $\lambda$, start $10^{-4}$, Adam $10^{-3}$ on $\lambda$,
# hypergradients clipped to $10^{-2}$, $\lambda$ clamped to $[0, 1]$; ConvTiny teacher. They
# logged it with the regressor $\mu$ in both directions: $\mu$(student) predicting the
# teacher's feature (VID's direction) and $\mu$(teacher) predicting the student's; the code
# runs both (their logged accuracies are printed beside ours).

# %%
if cfg.single_pair:
    singles = {}
    for direction, label in ch.SINGLE_DIRECTIONS.items():
        single = singles[direction] = ch.single_pair_run(cfg, store, direction=direction)
        traj = pd.DataFrame(single["extra"]["trajectory"])
        sns.lineplot(traj, x="step", y="beta", label=label)
        paper_acc = next(n.value for n in ch.NUMBERS if n.setting == ch.single_setting(direction))
        print(f"[{cfg.profile}] single pair, {label}: accuracy {single['metrics']['accuracy']:.4f}, lambda "
              f"{traj.beta.iloc[0]:.2e} -> {single['metrics']['final_lambda']:.2e} (authors: {paper_acc})")
    plt.gca().set(title=f"single-pair lambda during training (profile: {cfg.profile})", ylabel="lambda")
    plt.show()
    if cfg.all_pairs and "conv_tiny" in cfg.cross_teachers and "none" in cfg.cross_methods:
        alone = pd.Series({sd: ch.cross_run(cfg, store, "conv_tiny", "none", sd)["metrics"]["accuracy"] for sd in cfg.cross_seeds})
        lines = []
        for direction, label in ch.SINGLE_DIRECTIONS.items():
            rec = singles[direction]
            a, traj = rec["metrics"]["accuracy"], pd.DataFrame(rec["extra"]["trajectory"])
            alive = traj[traj.beta > 0]
            final = rec["metrics"]["final_lambda"]
            if final <= 0:       # clamped at 0 for good: from the step after its last positive value
                since = int(traj.step[traj.index > alive.index[-1]].iloc[0]) if len(alive) else int(traj.step.iloc[0])
                end = (f", clamped at 0 from step {since} of {int(traj.step.iloc[-1])} on: after that the student "
                       "trains on cross-entropy alone, keeping what the VID term did before")
            else:
                touched = traj[traj.beta <= 0]
                end = (f" (its largest {max(traj.beta.max(), final):.2e}"
                       + (f"; it sat at 0 at step {int(touched.step.iloc[0])} and rose again" if len(touched) else "")
                       + "): the VID term weighs on the student to the end")
            lines.append(
                f"- {label}: {a:.4f}, {a - alone.mean():+.4f} from the mean of the student alone "
                + (f"({(a - alone.mean()) / alone.std():+.1f} of its seed sd) " if len(alone) > 1 else "")
                + f"and {a - alone.get(0, np.nan):+.4f} from its "
                f"seed-0 run; λ ends at {final:.2e}" + end)
        show_markdown(
            f"Both runs train {cfg.cross_epochs} epochs with {draft_sgd}, as the "
            f"all-pairs runs, seed 0. The student alone with the same optimiser, epochs and rows (the all-pairs *none* "
            f"runs, seeds {', '.join(map(str, cfg.cross_seeds))}): {alone.mean():.4f} ± {alone.std():.4f}.\n"
            + "\n".join(lines) + "\n\nOne run each, as the authors': a single run above the alone runs' spread is "
            "suggestive, not a verdict.")
else:
    show_markdown(f"*Not run at profile `{cfg.profile}` (`single_pair: false`).*")

# %% [markdown]
# ## What the book adds: every teacher layer with every student layer
#
# $(1-\beta)\,\mathrm{CE} + \beta \sum_{ij}\lambda_{ij}\,\mathrm{VID}(t_i, s_j)$ with
# $\sum_{ij}\lambda_{ij}=1$ (a softmax of free logits), $\beta$ fixed at `cross_beta`.
# *tuned*: $\lambda$ starts uniform and follows the hypergradient; *uniform* is the same start
# kept fixed (the upper-level learning rate 0), *random* a fixed flat-Dirichlet draw, *pairwise*
# only the $i \leftrightarrow i$ pairs; *hinton* is Hinton's loss on the logits, *none* the
# student alone. Same seeds, same initial students.

# %%
if cfg.all_pairs:
    cross = pd.DataFrame([{"teacher": t, "method": m, "seed": s, **ch.cross_run(cfg, store, t, m, s)["metrics"]}
                          for t in cfg.cross_teachers for m in cfg.cross_methods for s in cfg.cross_seeds])
recs = [r for r in store.records(ch.CHAPTER) if r["profile"] == cfg.profile]   # after any run made above
if cfg.all_pairs:
    show_table(report.cross_summary(recs, cfg.profile),
               caption=f"the draft's experiments (profile: {cfg.profile})")
    tuned_rec = next((r for r in recs if r["setting"] == ch.cross_setting(cfg.cross_teachers[0], "tuned")), None)
    show_markdown(
        f"Every run: {cfg.cross_epochs} epochs, {draft_sgd}, batch {cfg.batch_size}, "
        f"seeds {', '.join(map(str, cfg.cross_seeds))}, β = {cfg.cross_beta:g}, CIFAR-10 reduced. *tuned*: one "
        f"upper-level step per training step ({cfg.hyper_optimizer}, learning rate {cfg.hyper_lr:g}, hypergradient by "
        f"{cfg.hyper_method.replace('_', ' ')}, on a validation batch of {cfg.batch_size})"
        + (f", {tuned_rec['extra']['hyper_steps']:,} upper-level steps per run" if tuned_rec else "") + ".")
    ax = sns.pointplot(cross, x="method", y="accuracy", hue="teacher", errorbar="sd",
                       dodge=0.3 if len(cfg.cross_teachers) > 1 else False)
    ax.set(title=f"all pairs: test accuracy, mean ± sd over {len(cfg.cross_seeds)} seeds (profile: {cfg.profile})")
    plt.show()
else:
    show_markdown(f"*Not run at profile `{cfg.profile}` (`all_pairs: false`).*")
for t in ("resnet18", "conv_tiny"):
    if cfg.all_pairs and t not in cfg.cross_teachers:
        have = sorted({r["setting"].split(": ")[-1] for r in recs if r["setting"].startswith(ch.cross_setting(t, ""))})
        show_markdown(
            f"*The all-pairs comparison from {t} was not run at profile `{cfg.profile}`* (`cross_teachers`): its VID "
            f"runs cache {t}'s {len(ch.pairs.LAYERS[t])} feature maps per training image and take a hypergradient "
            "every step, more GPU time than this profile's runs had (the parameters file says what ran where). "
            + (f"Its {' and '.join(have)} runs exist ({cfg.profile} records, shown in the table above) but decide "
               "nothing about tuned weights, and no verdict below uses them." if have else ""))

# %%
for t in cfg.cross_teachers if cfg.all_pairs else []:
    snaps = report.lambda_snapshots(recs, ch.cross_setting(t, "tuned"))
    if not snaps:
        continue
    rec = next(r for r in recs if r["setting"] == ch.cross_setting(t, "tuned"))
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.4))
    vmax = max(m.max() for m in snaps.values())
    for ax, (name, mat) in zip(axes, snaps.items()):
        sns.heatmap(mat, ax=ax, vmin=0, vmax=vmax, cmap="viridis", annot=mat.size <= 20, fmt=".3f",
                    xticklabels=rec["extra"]["student_layers"], yticklabels=rec["extra"]["teacher_layers"])
        ax.set(title=name, xlabel="student layer", ylabel="teacher layer")
    plt.suptitle(f"lambda_ij, {t} -> ConvVeryTiny, mean over seeds (profile: {cfg.profile})")
    plt.tight_layout()
    plt.show()
    end = list(snaps.values())[-1]
    i, j = np.unravel_index(end.argmax(), end.shape)
    print(f"[{cfg.profile}] {t}: at the end the largest weight is {end.max():.3f} on "
          f"({rec['extra']['teacher_layers'][i]}, {rec['extra']['student_layers'][j]}); uniform is {1 / end.size:.3f}")

# %% [markdown]
# Two measurements that bear on reading the comparison: how large the weighted VID sum is
# against the cross-entropy while training (the `vid` and `ce` parts the records keep per epoch),
# and how Hinton's loss trains under this optimiser.

# %%
if cfg.all_pairs:
    rows = []
    for r in recs:
        for t in cfg.cross_teachers:
            for m in ("pairwise", "uniform", "random", "tuned"):
                if r["setting"] == ch.cross_setting(t, m) and "vid" in r["history"]["train_parts"]:
                    parts = r["history"]["train_parts"]
                    rows.append({"teacher": t, "method": m, "seed": r["seed"],
                                 "vid / ce, first epoch": parts["vid"][0] / parts["ce"][0],
                                 "vid / ce, last epoch": parts["vid"][-1] / parts["ce"][-1]})
    share = pd.DataFrame(rows)
    if not share.empty:
        show_table(share.groupby(["teacher", "method"])[["vid / ce, first epoch", "vid / ce, last epoch"]].mean()
                   .reset_index(), caption=f"ratio of β Σ λ VID to (1 − β) CE in the training loss, mean over seeds "
                   f"(β = {cfg.cross_beta:g}; VID is a negative log-likelihood and can be negative; profile: {cfg.profile})",
                   digits=3)
    for t in cfg.cross_teachers:
        hin = [r for r in recs if r["setting"] == ch.cross_setting(t, "hinton")]
        alone = [r for r in recs if r["setting"] == ch.cross_setting(t, "none")]
        if not hin or not alone:
            continue
        acc = np.array([r["history"]["test_metric"] for r in hin])      # (seeds, epochs)
        halvings = list(range(sgd.step_size, cfg.cross_epochs, sgd.step_size))   # the lr drops after these epochs
        if not halvings:                                                  # too few epochs to see a halving (smoke)
            continue
        jumps = ", ".join(f"epoch {e} → {e + 1}: {(acc[:, e] - acc[:, e - 1]).mean():+.3f}" for e in halvings)
        show_markdown(
            f"*Hinton's loss from {t}* (T = 4, α = 0.9 as `pairs.py` sets them, the T² factor; the same {draft_sgd}) "
            f"ends at {acc[:, -1].mean():.3f} against {np.mean([r['metrics']['accuracy'] for r in alone]):.3f} "
            f"for the student alone. Its mean test accuracy moves by {jumps} when the learning rate drops, and by "
            f"{(acc[:, -1] - acc[:, -2]).mean():+.3f} over the last epoch: a sign that the step is too large for this loss, and the "
            "baseline is untuned"
            + (f" (the 2022 table's naive row on the same rows, T = 1 without the T² factor, ends at "
               f"{runs_df[(runs_df.dataset == 'cifar10_reduced') & (runs_df.method == 'naive')].accuracy.mean():.3f} "
               f"at the same learning rate, though from the ResNet18 teacher and over {cfg.epochs['cifar10_reduced']} "
               "epochs)" if "cifar10_reduced" in cfg.datasets else "")
            + ". The claim below that tuned weights beat Hinton's loss is therefore weak evidence either way.")

# %% [markdown]
# Why Hinton's loss ends below the student alone is measured by the study
# `kdcore.studies.hinton_lr` (its own seeded draw of 12,800 training images, the same teacher
# architecture, schedule and loss; 3 seeds): the loss at lr 1.0, the same loss at lr 0.25,
# the student alone at both, and the loss without its $T^2$ factor. Each record keeps the
# norms of the two terms' gradients (all student weights, a fixed batch of 512 images).

# %%
lr_runs = [r for r in RunStore(store.root, profile="paper").records("hinton_lr")
           if r["profile"] == "paper" and ": " in r["setting"]]
if lr_runs:
    lr_df = pd.DataFrame([{"variant": r["setting"].split(": ")[-1], "seed": r["seed"], "accuracy": r["metrics"]["accuracy"],
                           "soft / hard gradient at init": r["metrics"]["soft_to_hard_at_init"]} for r in lr_runs])
    lr_table = lr_df.groupby("variant", sort=False).agg(accuracy=("accuracy", "mean"), sd=("accuracy", "std"),
                                                         seeds=("seed", "size")).reset_index()
    show_table(lr_table, caption="study hinton_lr: ConvTiny → ConvVeryTiny on 12,800 CIFAR-10 images, 25 epochs, "
                                 "test accuracy (paper profile)")
    acc, sd = lr_table.set_index("variant")["accuracy"], lr_table.set_index("variant")["sd"]
    d1, d2, d3 = acc["hinton"] - acc["alone"], acc["hinton, lr/4"] - acc["alone, lr/4"], acc["hinton, no T²"] - acc["alone"]
    ratio = lr_df["soft / hard gradient at init"]
    show_markdown(
        f"Against the student alone at the same learning rate, Hinton's loss ends {d1:+.3f} at lr 1.0 and {d2:+.3f} at "
        f"lr 0.25; without its $T^2$ factor, at lr 1.0, {d3:+.3f}. At initialisation the soft term's gradient is "
        f"{ratio.min():.0f}-{ratio.max():.0f} times the hard term's. "
        + ("Changing only the step size, or only the soft term's scale, removes the loss to within a seed-sd of "
           "the student alone or better: the cause is measured, the $T^2$-scaled soft gradient at learning rate 1.0."
           if d2 > -max(sd["hinton, lr/4"], sd["alone, lr/4"]) and d3 > 0 else
           "Neither change alone removes the loss: the cause is not settled by these runs."))
else:
    show_markdown(f"(The study `kdcore.studies.hinton_lr` runs at the paper profile; this is the {cfg.profile} profile.)")

# %% [markdown]
# ### Can the weighting matter? β where the feature term is felt
#
# The comparison above fixes $\beta = 10^{-4}$. How large is the feature term at that weight?
# The study `kdcore.studies.all_pairs_weighting` measures, at initialisation, the ratio
# $r = \lVert\nabla_w \sum_{ij}\lambda_{ij}\mathrm{VID}_{ij}\rVert / \lVert\nabla_w \mathrm{CE}\rVert$
# over the student's weights (uniform $\lambda$). With weights $1-\beta$ and $\beta$ the two
# gradients stand at $\rho = \beta r / (1-\beta)$, so $\beta(\rho) = \rho / (\rho + r)$. It then
# chooses $\rho$ on 1,280 held-out training images from a grid of a tenth to ten times (uniform
# $\lambda$, two seeds), and at the chosen $\rho$ runs the student alone, uniform $\lambda$, the
# four $i \leftrightarrow i$ pairs and tuned $\lambda$ over five seeds. It uses the same student
# optimiser and epochs as this section, on the 12,800 images and ConvTiny teacher of
# `hinton_lr`. Its regressors compare each pair at the smaller resolution (the exact-size
# regressors above cost about three times more per epoch on the CPU), so its numbers are
# compared with one another, not with the rows above.

# %%
from kdcore.studies import all_pairs_report as apr, all_pairs_weighting as apw
from kdcore.results.verdicts import verdict_markdown as _verdicts_md

apw_cfg = apw.StudyConfig.paper()
apw_recs, apw_notes = apr.study_records(RunStore(store.root, profile="paper"))
apw_probe = apr.probe_record(apw_recs)
apw_rho = apr.grid_choice(apw_cfg, apw_recs, apw_notes)
beta_small = {t: cross[cross.teacher == t].groupby("method").accuracy.mean()
              for t in (cfg.cross_teachers if cfg.all_pairs else [])}   # the comparison above, per teacher
if apw_probe is None:
    show_markdown(f"(The study `kdcore.studies.all_pairs_weighting` runs at the paper profile; no records at "
                  f"{relative_path(store.root)}.)")
else:
    r0 = apw_probe["metrics"]["vid_to_ce_at_init"]
    show_markdown(
        f"At initialisation $r$ = {r0:.0f} (median of {len(apw_probe['extra']['per_seed'])} initial students, "
        f"{apw_probe['metrics']['vid_to_ce_min']:.0f}-{apw_probe['metrics']['vid_to_ce_max']:.0f}). So β = "
        f"{cfg.cross_beta:g} puts the feature term at about {cfg.cross_beta * r0 / (1 - cfg.cross_beta):.3f} times "
        "cross-entropy's gradient. The regressors' own gradients scale with β as well, so they barely train. "
        "No weighting λ can change much there"
        + "".join(f"; above, from {t}, tuned minus uniform is {acc['tuned'] - acc['uniform']:+.4f} and tuned "
                  f"minus none {acc['tuned'] - acc['none']:+.4f}" for t, acc in beta_small.items())
        + ".")
    show_table(apr.grid_table(apw_cfg, apw_recs, apw_notes),
               caption="study all_pairs_weighting, uniform λ: the grid of ρ (mean over seeds "
                       f"{', '.join(map(str, apw_cfg.grid_seeds))}; 'diverged': runs whose loss became non-finite, "
                       "kept as failure notes; paper profile)", digits=4)
if apw_rho is not None:
    main = apr.main_table(apw_recs, apw_notes, apw_rho)
    show_table(main, caption=f"study all_pairs_weighting at ρ = {apw_rho:g}: test accuracy over seeds "
                             f"{', '.join(map(str, apw_cfg.seeds))} (paper profile)", digits=4)
    apw_verdicts = apr.verdicts(apw_recs, apw_rho)
    show_markdown(_verdicts_md(apw_verdicts, "paper"))
    tuned_vs = apw_verdicts.iloc[0]
    if tuned_vs["verdict"] in ("within noise", "holds", "does not hold"):
        show_markdown(
            f"**Reading.** At ρ = {apw_rho:g} tuned λ against uniform λ: {tuned_vs['verdict']}, difference "
            f"{tuned_vs['difference']:+.4f} over {tuned_vs['n']}. These seeds would detect a true difference of about "
            f"{tuned_vs['detectable (80 %)']:.4f} in accuracy with probability 0.8 (the spread of the per-seed "
            "differences, 95 % t-interval)"
            + ("; a smaller effect of the weighting is not ruled out." if tuned_vs["verdict"] == "within noise"
               else "."))
    maps = apr.lambda_maps(apw_recs, apw_rho)
    if maps:
        fig, axes = plt.subplots(1, 2, figsize=(9, 3.4))
        vmax = max(m.max() for m in maps.values())
        for ax, (name, mat) in zip(axes, maps.items()):
            sns.heatmap(mat, ax=ax, vmin=0, vmax=vmax, cmap="viridis", annot=True, fmt=".3f",
                        xticklabels=apw.LAYERS, yticklabels=apw.LAYERS)
            ax.set(title=f"λ at the {name} of tuning", xlabel="student layer", ylabel="teacher layer")
        plt.suptitle(f"study all_pairs_weighting: tuned λ_ij at ρ = {apw_rho:g}, mean over seeds (paper profile)")
        plt.tight_layout()
        plt.show()
        end = maps["end"]
        i, j = np.unravel_index(end.argmax(), end.shape)
        show_markdown(f"At the end of tuning the largest weight is {end.max():.3f} on (teacher {apw.LAYERS[i]}, "
                      f"student {apw.LAYERS[j]}), the smallest {end.min():.3f}; uniform is {1 / end.size:.4f}.")
elif apw_probe is not None:
    show_markdown("*The grid of ρ is not finished yet: no ρ is chosen and the main comparison has not run.*")

# %% [markdown]
# ### What the upper-level step costs
#
# Mean seconds per epoch of the *tuned* runs against the *uniform* runs (same objective,
# no upper-level step), from the records; `make bench` measures the same ratio per step.
# On a GPU shared by ten or more processes, as these runs were, the ratio depends on what ran
# beside each run (the uniform and random runs below have one objective, yet differ); `make bench`
# times one process alone, on the machine it runs on (its line "(f)").

# %%
for t in cfg.cross_teachers if cfg.all_pairs else []:
    sec = cross[cross.teacher == t].groupby("method").epoch_seconds.mean()
    if {"tuned", "uniform"} <= set(sec.index):
        print(f"[{cfg.profile}] {t}: tuned / uniform epoch time = {sec['tuned'] / sec['uniform']:.2f}x "
              f"({sec['tuned']:.2f} s vs {sec['uniform']:.2f} s per epoch)")
    if {"tuned", "none"} <= set(sec.index):
        print(f"[{cfg.profile}] {t}: tuned / none (the student alone, no VID terms) = {sec['tuned'] / sec['none']:.1f}x; "
              f"uniform / random, two runs of one objective = {sec['uniform'] / sec['random']:.2f}x "
              "(what sharing the GPU alone does to these ratios)")
if not cfg.all_pairs:
    show_markdown(f"*Not run at profile `{cfg.profile}` (`all_pairs: false`); `make bench` measures the ratio per step.*")

# %% [markdown]
# ## Paper vs ours

# %%
table = comparison_table(ch.CHAPTER, store.root, paper_numbers=ch.NUMBERS)
table = table[((table.profile == cfg.profile) | (table.n_runs == 0)) & (table.metric == "accuracy")]
show_comparison(table, caption=f"accuracy: the authors vs ours (profile: {cfg.profile}; the 2022 table's means are over "
                                "10 runs, the draft's sweep and single-pair numbers are single logged runs; rows with 0 "
                                "runs were not run at this profile; \"dirty tree\": see below)")
secs = sum(r["seconds"] for r in recs)
devices = sorted({r["device"] for r in recs})
trials = sum("hyperopt trial" in r["setting"] for r in recs)
teachers_n = sum("teacher" in r["setting"] for r in recs)
print(f"[{cfg.profile}] {len(recs)} records ({trials} of them hyperopt trials, {teachers_n} teachers), "
      f"{secs / 60:.1f} min of run time summed over records (parallel processes overlap), on {', '.join(devices)}")


def part_of(setting: str) -> str:
    """The chapter part a record belongs to, for the where-it-ran table."""
    if ": teacher " in setting:
        return setting.replace(": teacher ", ": teacher (") + ")"
    if setting.startswith(("all pairs", "sweep", "single pair")):
        return setting.split(" -> ")[0].replace("all pairs", "all pairs from").replace("single pair bi-level,", "single pair:")
    return setting.split(":")[0]


where = pd.DataFrame([{"part": part_of(r["setting"]), "device": r["device"], "seconds": r["seconds"],
                       "end": pd.Timestamp(r["created"]), "start": pd.Timestamp(r["created"]) - pd.Timedelta(seconds=r["seconds"]),
                       "commit": r["git_commit"][:7] + ("-dirty" if r["git_commit"].endswith("-dirty") else "")}
                      for r in recs])
span = where.groupby(["part", "device"]).agg(records=("seconds", "size"), minutes=("seconds", lambda x: x.sum() / 60),
                                             first_start=("start", "min"), last_end=("end", "max"),
                                             commits=("commit", lambda x: ", ".join(sorted(set(x))))).reset_index()
span["wall clock (UTC)"] = [f"{a:%Y-%m-%d %H:%M} → {b:%H:%M}" if a.date() == b.date() else f"{a:%Y-%m-%d %H:%M} → {b:%Y-%m-%d %H:%M}"
                            for a, b in zip(span.pop("first_start"), span.pop("last_end"))]
show_table(span, caption=f"Where the runs ran: records per part and device, run time summed over records (processes "
                         f"that shared a device overlap), from the first run's start to the last run's end (gaps "
                         f"included), and the commits the records name (profile: {cfg.profile})", digits=1)
dirty = where[where.commit.str.endswith("-dirty")]
if len(dirty):
    show_markdown(
        f"**{len(dirty)} records name a dirty tree** ({', '.join(sorted(set(dirty.commit)))}): the tables above mark "
        "their rows \"dirty tree\". The GPU machine that made them ran a copy of the working tree whose git "
        "metadata still named the commit the session had started from; the one file that differed from it was this "
        "chapter's parameters file, switched on in the next commit to run these parts (which runs exist, not how "
        "they train: every setting a run depends on is in its record's key). "
        f"{sum(is_current(r) for r in recs if r['git_commit'].endswith('-dirty'))} of these {len(dirty)} records "
        "carry the code hash of today's chapter code (the check behind \"stale code\").")
show_markdown("Runs and epochs, ours against the authors': " + "; ".join(
    f"{ch.LABELS[d]} {cfg.runs[d]} × {cfg.epochs[d]} against {ch.paper.RUNS_EPOCHS_2022[d][0]} × "
    f"{ch.paper.RUNS_EPOCHS_2022[d][1]}" for d in columns) + " (runs × epochs; synthetic: full-batch steps). "
    "Where ours are fewer, means and maxima are not like for like: a max over 3 runs is not a max over 10.")

# %% [markdown]
# ## Does the claim hold here?
#
# Per claim: the difference of the means in the claimed direction, its spread over runs
# (paired by run where the runs share their start and seed), and the verdict by the rule of
# `kdcore.results.verdicts` (holds if the 95 % Student-t interval of the difference lies above zero).
# A run that ended within two points of chance (0.5 on the two-class synthetic task, 0.1
# elsewhere) counts as failed: it is left out of both sides and the line counts it.

# %%
from dataclasses import replace

from IPython.display import Markdown, display

claims = report.claims_2022(columns) + (report.cross_claims(cfg.cross_teachers) if cfg.all_pairs else [])
verdicts = verdict_table(recs, claims, cfg.profile)
display(Markdown(verdict_markdown(verdicts, cfg.profile)))
if "synthetic_corrected" in cfg.datasets:
    v = verdicts.set_index("claim")
    lab = ch.LABELS["synthetic_corrected"]
    c = runs_df[runs_df.dataset == "synthetic_corrected"].groupby("method").accuracy.mean()
    vs = lambda base: v.loc[f"{lab}: gradient-tuned (lambda, T) beat {base}"]
    show_markdown(
        f"**Reading.** The corrected synthetic column is the one that tests the method (one feature set for every "
        f"row, tuning on validation rows). There, gradient tuning against no distillation: {vs('no distillation').difference:+.3f} "
        f"(**{vs('no distillation').verdict}**); the fixed naive setting λ = 0.5, T = 1 against no distillation: "
        f"{c['naive'] - c['none']:+.3f}; gradient tuning against that naive setting: "
        f"{vs('lambda = 0.5, T = 1').difference:+.3f} (**{vs('lambda = 0.5, T = 1').verdict}**). "
        f"What beats the student alone there is distillation itself; tuning (λ, T) adds "
        + ("nothing beyond seed noise." if vs("lambda = 0.5, T = 1").verdict != "holds" else "a gain beyond seed noise.")
        + " The faithful column's wins over the naive and random rows compare different inputs (see \"What "
        "differed\"). A run that ended within two points of chance is left out of these verdicts and counted in "
        "their line; for a column with such a run, the table below sets the verdicts with every run beside them.")
# Columns with a run that never learned: the same claims without that run, beside the verdicts with it.
for d in columns:
    dead = sorted(run for dd, run in dead_keys if dd == d)
    if not dead or cfg.runs[d] - len(dead) < 3:
        continue
    col = [c for c in claims if c.text.startswith(ch.LABELS[d] + ":")]
    # run r of every row but hyperopt (whose trials are independent of run numbers), so pairs stay pairs
    drop = {(ch.setting(d, m), run) for m in cfg.methods if m != "hyperopt" for run in dead}
    kept = [r for r in recs if (r["setting"], r["seed"]) not in drop]
    without = f" without run {', '.join(map(str, dead))}"
    cols = ["difference", "n", "verdict"]
    # "every run": the same claims with no failed-run rule, so no run is left out
    every = verdict_table(recs, [replace(c, failure=None) for c in col], cfg.profile).set_index("claim")
    both = every.loc[[c.text for c in col], cols].join(
        verdict_table(kept, col, cfg.profile).set_index("claim")[cols].rename(columns=lambda c: c + without))
    show_table(both.reset_index(), caption=f"{ch.LABELS[d]}: the verdicts with every run, and without the run(s) that "
               f"never learned (profile: {cfg.profile})", digits=4)
    paper_mean = {n.setting: n.value for n in ch.NUMBERS}
    holds = [(both[k] == "holds").sum() for k in ("verdict", "verdict" + without)]
    show_markdown(
        f"**Reading, {ch.LABELS[d]}.** Of its {len(col)} claims, {holds[0]} hold with every run and {holds[1]} "
        f"without run {', '.join(map(str, dead))}. The paper's table has the gradient row "
        f"{paper_mean[ch.setting(d, 'gradient')] - paper_mean[ch.setting(d, 'none')]:+.2f} above no distillation on this "
        f"column; ours, without that run: {both.loc[col[1].text, 'difference' + without]:+.4f} "
        f"(n = {both.loc[col[1].text, 'n' + without]}, {both.loc[col[1].text, 'verdict' + without]}).")
if cfg.all_pairs:
    for t in cfg.cross_teachers:
        v = verdicts[verdicts.setting == ch.cross_setting(t, "tuned")]
        if v.empty:
            continue
        counts = v.verdict.value_counts()
        vid = v[v.baseline.str.contains("pairwise|uniform|random")]
        beyond = vid[vid.verdict != "within noise"]
        sh = share[share.teacher == t].groupby("method")[["vid / ce, first epoch", "vid / ce, last epoch"]].mean()
        none_acc = cross[(cross.teacher == t) & (cross.method == "none")].accuracy
        vid_means = cross[(cross.teacher == t) & cross.method.isin(["pairwise", "uniform", "random", "tuned"])
                          ].groupby("method").accuracy.mean()
        quiet = (vid_means - none_acc.mean()).abs().max() < none_acc.std()
        show_markdown(
            f"**Reading, all pairs from {t}.** Of {len(v)} comparisons of tuned λ_ij: "
            + "; ".join(f"{k}: {', '.join(b.split(': ')[-1] for b in v[v.verdict == k].baseline)}" for k in counts.index)
            + f". Against the fixed VID weightings (pairwise, uniform, random) the tuned runs differ by at most "
            f"{vid.difference.abs().max():.4f} in mean accuracy; "
            + ("none of these differences exceeds the seed noise." if beyond.empty else
               "beyond the seed noise: " + "; ".join(f"{b} ({d:+.4f}, {x})" for b, d, x in
                                                    zip(beyond.baseline, beyond.difference, beyond.verdict)) + ".")
            + f" The weighted VID sum goes from {sh.loc['uniform'].iloc[0]:.1%} to {sh.loc['uniform'].iloc[1]:.1%} of the "
            f"cross-entropy term over the uniform runs and from {sh.loc['tuned'].iloc[0]:.1%} to {sh.loc['tuned'].iloc[1]:.1%} "
            f"over the tuned runs (table above), whose weight gathers on one pair (the heatmap). The student alone "
            f"ends at {none_acc.mean():.4f} ± {none_acc.std():.4f}, the VID weightings' means between "
            f"{vid_means.min():.4f} and {vid_means.max():.4f}"
            + (f": at β = {cfg.cross_beta:g} no weighting moves the student's mean by more than one seed sd of the "
               "student alone, so this comparison cannot tell weightings apart; a larger β would be the next experiment."
               if quiet else ".")
            + ("" if t != "conv_tiny" else " ConvTiny and ConvVeryTiny are one CNN design at two widths: the claim "
               "about architectures that differ (a ResNet teacher) is not tested by these runs."))

# %% [markdown]
# ## What differed from the paper
#
# - **Runs and epochs** are those of the profile; the line under the paper-vs-ours table
#   sets them against the authors' per column.
# - **The upper level.** The 2022 paper gives the hypergradient but not every setting of
#   its optimiser. On the synthetic columns we use the authors' synthetic code's SGD
#   (learning rate 0.1, entries clipped to 0.01); on the image columns Adam on the raw
#   metaparameters with learning rate `hyper_lr` (a guess), $\lambda = \sigma(a)$, $T = 0.1 + 9.9\,\sigma(b)$ as in the authors' CIFAR code,
#   and the authors' finite difference by default (`hyper_method`). The authors' code
#   (MetaOptDistillation, `code/hyperparams.py`) computed $(p - n)/2 \cdot \varepsilon$ where
#   $(p - n)/(2\varepsilon)$ was meant, $\varepsilon^2$ times the intended value, a scale
#   error that their upper-level learning rate of $10^5$ may have absorbed; ours uses the
#   intended formula (tested against the exact hypergradient).
# - **The loss as coded.** The authors' CIFAR code (`code/funcs.py`) passed the teacher's
#   log-probabilities as the input of `KLDivLoss` and the student's probabilities as the
#   target, i.e. $\mathrm{KL}(p_\text{student}\,\|\,p_\text{teacher})$, and trained the student
#   with Adam; their synthetic code has the usual order. We use
#   $\mathrm{KL}(p_\text{teacher}\,\|\,p_\text{student})$ (the paper's soft cross-entropy, up to a
#   constant) and SGD with learning rate 1.0 halved every 10 epochs, as the published paper
#   describes.
# - **Synthetic data as run.** The notebook's history has two student features: $x_1 x_2$
#   until commit f888a88 and $\operatorname{sign}(x_1 x_2)$ from it on; only the latter, with
#   the naive and random rows on the teacher's indicator feature, gives the paper's column.
#   The faithful column therefore compares rows that saw *different inputs*: its tuned rows
#   (gradient, proposed) against the naive and random rows measure the features as much as
#   the tuning ("none" and the tuned rows share theirs). The corrected column removes that,
#   and its verdicts are the ones that speak to the method.
# - **Validation data.** In the authors' synthetic notebook the upper level read the *test*
#   set (the faithful column does too); the corrected column and the image columns read a
#   separate validation split, and Optuna scores trials on it.
# - **hyperopt** is Optuna's TPE with `hyperopt_startup` random trials (the authors used the
#   hyperopt package). On the synthetic columns each run is its own 5-trial search whose
#   best trial (on the upper level's rows) is the run, as the authors' code; on the image
#   columns one search whose trials are the runs. The *max* column of the paper is a best-of-runs on the test set; we show it for
#   comparison only.
# - **λ's side.** The authors' synthetic gradient code put λ on the soft term and 1 − λ on
#   the cross-entropy; ours puts λ on the cross-entropy everywhere. The random starts
#   $\lambda \sim U(0, 1)$ have the same distribution either way, but run $r$ starts elsewhere.
# - **Mini-epochs** of the trajectory extrapolation: 100 full-batch steps on the synthetic
#   data (authors), a tenth of an epoch on the image data (a guess).
# - **Teachers.** Synthetic: the authors' logistic regression on the indicator feature (its
#   test accuracy is printed with the records; a student can beat it). CIFAR (where run): a
#   ResNet trained here on the training split (the paper used "a pretrained CIFAR ResNet");
#   Fashion-MNIST: ConvTiny (the paper names none); the CIFAR-10 test set is the offline
#   mirror's copy named in the records.
# - **The draft's experiments**: a ResNet has no `fc1`, so its last block output is paired
#   with the student's `fc1`; the single-pair run is done in both directions of $\mu$. The
#   all-pairs weight $\beta$ of the VID sum is fixed at `cross_beta` ($10^{-4}$ in the paper
#   profile, the best *last-epoch* $\lambda$ of the authors' logged sweep; by best epoch
#   $10^{-5}$ ranks first), and the teacher layers of a ResNet are its stem and the last block
#   of each stage.
# - **Where the CIFAR-10 runs ran.** CIFAR-10 reduced, the sweep, the single-pair runs and the
#   all-pairs runs were made on one H100 in three calls, ten to twelve processes sharing it
#   (the parameters file gives the commands). The CIFAR-10 reduced ResNet18 teacher was trained
#   again at the start of each call, with deterministic GPU kernels, and its weights had the same
#   SHA-256 each time, so every record of these parts distils from one teacher; the ConvTiny
#   teacher was trained once on the CPU and carried. The all-pairs comparison from ResNet18 ran
#   only its *none* and *hinton* runs (see that section).
# - **Full CIFAR-10** ran apart, on the 2-core CPU, from its own parameters file: its 45,000
#   training images are more than one call to the lent GPU can carry. To fit the CPU its ResNet18
#   teacher trained fewer epochs, and its students 2 runs × 10 epochs (the paper: 10 × 100); the
#   line under the 2022 table gives the numbers. Its verdicts rest on a spread estimated from
#   two runs per row (their n says so).
# - **Hinton's baseline** in the all-pairs comparison is the textbook loss at T = 4, α = 0.9,
#   untuned; under this SGD it trains worse than the student alone (measured above).
