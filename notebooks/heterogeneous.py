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
# tested) and measures it.
#
# Every number below comes from a run record, written by this notebook or, for the paper
# profile, by the same code run through the runner (`python -m kdcore run heterogeneous`; see
# the [results page](../results.md)); the authors' numbers come from
# `kdcore/chapters/heterogeneous/paper.py`. This page was executed with the
# **{glue:text}`profile`** profile; each table and figure names it. The code of every table
# and figure is folded under it: unfold it, or open the chapter in Colab to run it.

# %% tags=["remove-cell"]
# In Colab or a fresh environment: install kdcore from the book's repository if it is missing.
import importlib.util
import subprocess
import sys

if importlib.util.find_spec("kdcore") is None:
    subprocess.check_call([sys.executable, "-m", "pip", "install", "-q",
                           "git+https://github.com/kd-book/kd-book.git"])

# %% tags=["parameters", "remove-cell"]
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

# %% tags=["remove-cell"]
import warnings
from dataclasses import replace

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from kdcore import chapters as book
from kdcore.chapters import heterogeneous as ch
from kdcore.chapters.heterogeneous import report
from kdcore.chapters.heterogeneous.data import xor_synthetic
from kdcore.chapters.heterogeneous.resumable import teacher_params
from kdcore.chapters.heterogeneous.table import PER_RUN_SEARCH, SYNTHETIC_HYPER
from kdcore.hyper import HyperStep, hypergradient
from kdcore.losses import meta_kd_loss
from kdcore.results import RunStore, comparison_table
from kdcore.results.display import glue, glue_all, profile_notice, relative_path, show_comparison, show_source, show_table
from kdcore.results.interactive import heatmap_pair, show_figure
from kdcore.results.records import is_current
from kdcore.results.verdicts import verdict_table
from kdcore.run.profile import ROOT, load_profile
from kdcore.studies import all_pairs_report as apr, all_pairs_resnet18 as apr18, all_pairs_weighting as apw
from kdcore.studies import hyper_step_cost

warnings.filterwarnings("ignore", message="IProgress not found")   # tqdm without ipywidgets: no progress bars here

cfg = ch.HeterogeneousConfig.from_namespace(globals())   # validates every parameter first
sgd = ch.pairs._sgd(cfg, 0)     # the student optimiser of the draft's experiments, as pairs.py sets it
draft_sgd = f"SGD at learning rate {sgd.lr:g}, multiplied by {sgd.gamma:g} every {sgd.step_size} epochs"
store = RunStore(profile=cfg.profile)   # smoke runs write to a scratch folder, paper runs to results/
studies = RunStore(store.root, profile="paper")   # the studies' records (paper profile only)
sns.set_theme(style="whitegrid", context="notebook", font_scale=0.9)
P = f"profile: {cfg.profile}"
CHANCE = 0.11   # ten classes: a run whose best epoch stays at or below this never learned
glue_all(profile=cfg.profile, draft_sgd=draft_sgd, lr=f"{cfg.lr:g}", cross_beta=f"{cfg.cross_beta:g}",
         cross_epochs=str(cfg.cross_epochs), results_dir=str(relative_path(store.root)))

# The 2022 table's columns and the config each ran with. The full CIFAR-10 column runs apart, on
# the CPU, from its own parameters files: at the paper's teacher epochs and student epochs
# (heterogeneous_cifar10_long.yaml, over several sessions) and, made to fit one session, with a
# 4-epoch teacher and 2 runs x 10 epochs (heterogeneous_cifar10_cpu.yaml). Their records are read
# here, never trained; a file's column is shown once every run of it is there, the long one first.
col_cfg = {d: cfg for d in cfg.datasets}
PARAMS = ROOT / "notebooks" / "params"
SIDE_PARAMS, LONG_PARAMS = PARAMS / "heterogeneous_cifar10_cpu.yaml", PARAMS / "heterogeneous_cifar10_long.yaml"


def column_runs(side: ch.HeterogeneousConfig) -> pd.Series:
    """Finished student runs per method of a side file's CIFAR-10 column (its teacher and epochs)."""
    return pd.Series([r["params"].get("method") for r in store.records(ch.CHAPTER)
                      if r["profile"] == side.profile and r["params"].get("dataset") == "cifar10"
                      and r["params"].get("teacher_epochs", side.teacher_epochs) == side.teacher_epochs
                      and r["params"].get("epochs", side.epochs["cifar10"]) == side.epochs["cifar10"]
                      and "teacher" not in r["setting"]], dtype=object).value_counts()


sides = {path: load_profile(ch.CHAPTER, ch.HeterogeneousConfig, cfg.profile, params=path)
         for path in (LONG_PARAMS, SIDE_PARAMS) if cfg.profile == "paper" and path.exists()}
for path, side in sides.items():
    have = column_runs(side)
    if "cifar10" not in col_cfg and all(have.get(m, 0) >= side.runs["cifar10"] for m in side.methods):
        col_cfg["cifar10"], SIDE_PARAMS = side, path
columns = list(col_cfg)


def glue_missing(*names: str) -> None:
    """Glue a dash for numbers this profile does not produce (the paper profile produces them)."""
    for name in names:
        glue(name, "—")


def listing(values, digits: int = 3, sep: str = ", ") -> str:
    """Numbers as one readable list: ``0.107, 0.182``."""
    return sep.join(f"{v:.{digits}f}" for v in values)


def signed(x: float, digits: int = 3) -> str:
    return "—" if x != x else f"{x:+.{digits}f}"


# %% tags=["remove-input"]
profile_notice(cfg.profile)

# %% [markdown]
# What ran at this profile, and where each part's records come from (a part with no records
# says so in its section):

# %% tags=["hide-input"]
study_names = {"dead_runs": "why runs die (soft term × T^k)", "dead_runs_tuned": "the same fix on tuned students",
               "dead_runs_cifar10": "the same cause on reduced CIFAR-10",
               "hinton_lr": "why Hinton's loss trails (learning rate, T²)",
               "all_pairs_weighting": "all pairs where the term is felt, ConvTiny teacher",
               "all_pairs_resnet18": "all pairs where the term is felt, ResNet18 teacher",
               "all_pairs_resnet18_tuned": "its tuned runs, resumable per epoch",
               "all_pairs_resnet18_random": "its random fixed-λ control",
               "hyper_step_cost": "what one upper-level step costs, alone on a CPU"}
ran = [{"part": f"2022 table: {ch.LABELS[d]} column", "ran": "yes" if d in columns else "no",
        "records from": ("notebooks/params/heterogeneous_cifar10_cpu.yaml" if d in columns and col_cfg[d] is not cfg
                         else f"this profile ({cfg.profile})")} for d in ch.DATASETS]
def draft_ran(teacher: str | None, on: bool) -> str:
    """"yes", "no", or which of a teacher's all-pairs runs have records although the profile leaves them off."""
    if on or teacher is None:
        return "yes" if on else "no"
    have = sorted({r["setting"].split(": ")[-1] for r in store.records(ch.CHAPTER)
                   if r["profile"] == cfg.profile and r["setting"].startswith(ch.cross_setting(teacher, ""))})
    return f"only its {' and '.join(have)} runs" if have else "no"


ran += [{"part": name, "ran": draft_ran(t, on), "records from": f"this profile ({cfg.profile})"}
        for name, t, on in (("draft: the fixed-λ sweep", None, cfg.draft_sweep),
                            ("draft: the single-pair bi-level run", None, cfg.single_pair),
                            *((f"draft: all pairs from {t}", t, cfg.all_pairs and t in cfg.cross_teachers)
                              for t in ("conv_tiny", "resnet18")))]
def side_teacher(side: ch.HeterogeneousConfig) -> str:
    """A side column's teacher: its test accuracy once trained, or that it is not (yet)."""
    params = teacher_params(side, "cifar10", side.teacher)
    rec = next((r for r in store.records(ch.CHAPTER) if r["profile"] == side.profile and r["seed"] == 0
                and "teacher" in r["setting"] and r["params"] == params), None)
    return f"teacher trained (test {rec['metrics']['accuracy']:.3f})" if rec else "teacher not trained"


for path, side in sides.items():
    have, want = column_runs(side), side.runs["cifar10"] * len(side.methods)
    ran.append({"part": f"CIFAR-10 column, teacher {side.teacher_epochs} epochs, students {side.runs['cifar10']} runs × "
                        f"{side.epochs['cifar10']} epochs", "ran": f"{side_teacher(side)}; "
                        f"{int(have.clip(upper=side.runs['cifar10']).sum())} of {want} student runs",
                "records from": str(relative_path(path))})
ran += [{"part": f"study {s}: {what}", "ran": f"{len([r for r in studies.records(s) if r['profile'] == 'paper'])} records",
         "records from": "the study's module, paper profile"} for s, what in study_names.items()]
show_table(pd.DataFrame(ran), caption=f"the chapter's parts ({P})")

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

# %% tags=["remove-input"]
show_source(meta_kd_loss)

# %% tags=["remove-input"]
show_source(hypergradient)

# %% [markdown]
# The upper-level step is a `fit` callback: before each optimiser step it takes the
# hypergradient through that very step, on the current training batch and a validation
# batch, and updates $\theta$; the training loop knows nothing about it.

# %% tags=["remove-input"]
show_source(HyperStep.update)

# %% [markdown]
# ## The 2022 table: six ways to set $(\lambda, T)$
#
# Data: the authors' synthetic problem, Fashion-MNIST {cite}`xiao2017fashion`, CIFAR-10
# {cite}`krizhevsky2009cifar`. *hyperopt* is a TPE search {cite}`bergstra2011tpe` with Optuna
# {cite}`akiba2019optuna`. On the image columns the student is ConvVeryTiny, trained by
# {glue:text}`draft_sgd` on a 9:1 train/validation split; on the synthetic columns it is a
# linear model trained by full-batch SGD at a constant learning rate on the authors' small
# splits ({glue:text}`syn_sizes` rows for the teacher, training, validation and test), with
# the authors' synthetic upper level ({glue:text}`syn_hyper`). Teacher logits are computed
# once. Run $r$ of *random*, *gradient* and *proposed* starts from the same draw
# $\lambda \sim U(0,1)$, $\log_{10} T \sim U(-1, 1)$ and the same initial student, so they
# compare run by run.
#
# **Two synthetic columns.** The authors' run behind the paper's synthetic column
# (MetaOptDistillation, commit f888a88, whose logs match the table number for number) gave
# the student $(x_1, x_2, \operatorname{sign}(x_1 x_2))$ in the *none*, *gradient*, *hyperopt*
# and *proposed* rows but the teacher's own indicator feature $[x_1 > 0 \wedge x_2 > 0]$ in
# the *naive* and *random* rows, and its upper level and its hyperopt objective read the
# test rows (each hyperopt run is its own small search of {glue:text}`syn_search_trials`
# trials). *synthetic* runs exactly that (faithful); *synthetic (corrected)* gives every row
# $\operatorname{sign}(x_1 x_2)$ and tunes on its separate validation split.
#
# How many runs of how many epochs each column ran, against the authors' (where ours are
# fewer, means and maxima are not like for like: a maximum over 3 runs is not one over 10),
# and how each column's *hyperopt* row searched:

# %% tags=["hide-input"]
sizes = xor_synthetic()
glue_all(syn_sizes=" / ".join(f"{len(sizes[k]):,}" for k in ("teacher_train", "train", "val", "test")),
         syn_hyper=f"{SYNTHETIC_HYPER['hyper_optimizer'].upper()}, learning rate {SYNTHETIC_HYPER['hyper_lr']:g}, "
                   f"entries clipped to {SYNTHETIC_HYPER['hyper_clip']:g}",
         syn_search_trials=str(PER_RUN_SEARCH["synthetic"]))


def search_kind(d: str) -> str:
    if d in PER_RUN_SEARCH:
        return f"one search of {PER_RUN_SEARCH[d]} trials per run, its best trial is the run"
    n = col_cfg[d].runs[d]
    if n <= cfg.hyperopt_startup:      # Optuna's start-up trials are random: no TPE step at all
        return f"one search, its {n} trials are the runs: all random start-up trials, so a random search"
    return f"one search, its {n} trials are the runs ({cfg.hyperopt_startup} random, then TPE)"


unit = lambda d: "full-batch steps" if d in ch.data.SYNTHETIC else "epochs"
show_table(pd.DataFrame([{"column": ch.LABELS[d], "ours: runs × epochs": f"{col_cfg[d].runs[d]} × {col_cfg[d].epochs[d]} {unit(d)}",
                          "authors": "{} × {}".format(*ch.paper.RUNS_EPOCHS_2022[d]), "hyperopt": search_kind(d)}
                         for d in columns]), caption=f"the 2022 columns as run ({P})")

# %% tags=["hide-input"]
runs_df = pd.concat([ch.table_runs(col_cfg[d], store, d) for d in columns], ignore_index=True)
summary = report.summary_table(runs_df, cfg.profile).rename(columns={"paper mean (max)": "authors' mean (max)"})
show_table(summary, caption=f"Test accuracy, last epoch, over runs ({P}"
           + ("; CIFAR-10 (full): the paper profile with its own parameters file, below" if "cifar10" in columns
              and col_cfg["cifar10"] is not cfg
              else "") + ")")
teachers = pd.DataFrame([
    {"column": ch.LABELS[d], "teacher": t["params"]["model"], "epochs": t["params"]["epochs"],
     "training rows": t["params"]["n_rows"] - t["params"]["n_rows"] // 10,   # the 9:1 train split
     "test accuracy": t["metrics"]["accuracy"], "device": t["device"], "minutes": t["seconds"] / 60}
    for d in columns if d not in ch.data.SYNTHETIC and set(col_cfg[d].methods) - {"none"}
    for t in [ch.teacher(col_cfg[d], store, d).record]])
if len(teachers):
    show_table(teachers, caption=f"The image columns' teachers, trained here (Adam, learning rate 0.001, batch 128; "
               f"{P})", digits=3)
if "cifar10" in columns and col_cfg["cifar10"] is not cfg:
    c10, t10 = col_cfg["cifar10"], teachers.set_index("column").loc[ch.LABELS["cifar10"]]
    glue_all(c10_device=", ".join(sorted(set(runs_df[runs_df.dataset == "cifar10"].device))),
             c10_params=str(relative_path(SIDE_PARAMS)), c10_teacher_epochs=str(c10.teacher_epochs),
             teacher_epochs=str(cfg.teacher_epochs), c10_epoch_minutes=f"{t10.minutes / t10.epochs:.0f}",
             c10_rows=f"{t10['training rows']:,}", c10_teacher_acc=f"{t10['test accuracy']:.3f}",
             c10_runs=str(c10.runs["cifar10"]), c10_epochs=str(c10.epochs["cifar10"]),
             c10_paper="{} × {}".format(*ch.paper.RUNS_EPOCHS_2022["cifar10"]))
else:
    glue_missing("c10_device", "c10_params", "c10_teacher_epochs", "teacher_epochs", "c10_epoch_minutes", "c10_rows",
                 "c10_teacher_acc", "c10_runs", "c10_epochs", "c10_paper")

# %% [markdown]
# **The full CIFAR-10 column ran apart**, on {glue:text}`c10_device`, from
# {glue:text}`c10_params`: the paper profile's values, except that its ResNet18 teacher
# trained {glue:text}`c10_teacher_epochs` epochs instead of {glue:text}`teacher_epochs`
# ({glue:text}`c10_epoch_minutes` minutes an epoch of {glue:text}`c10_rows` rows there; test
# accuracy {glue:text}`c10_teacher_acc`, where the authors distilled from a pretrained CIFAR
# ResNet), and its students ran {glue:text}`c10_runs` runs × {glue:text}`c10_epochs` epochs
# against the authors' {glue:text}`c10_paper`. Its rows measure the methods at that size;
# they are not a rerun of the paper's column.

# %% tags=["hide-input"]
np.random.seed(0)                      # seaborn's strip jitter draws from numpy: the same figure on every run
ncol = min(2, len(columns))
nrow = -(-len(columns) // ncol)
fig, axes = plt.subplots(nrow, ncol, figsize=(3.4 * ncol, 2.8 * nrow), squeeze=False)
for ax, d in zip(axes.flat, columns):
    sub = runs_df[runs_df.dataset == d]
    sns.stripplot(sub, x="method", y="accuracy", ax=ax, size=5, alpha=0.8)
    sns.pointplot(sub, x="method", y="accuracy", ax=ax, errorbar=None, color="k", markers="_", linestyles="none")
    ax.set(title=f"{ch.LABELS[d]} ({col_cfg[d].runs[d]} runs, {col_cfg[d].epochs[d]} {unit(d)})", xlabel="")
    ax.tick_params(axis="x", rotation=30)
for ax in axes.flat[len(columns):]:
    ax.remove()
fig.suptitle(f"test accuracy per run (dots) and mean (bar), {P}")
fig.tight_layout()
plt.show()

# %% [markdown]
# *Each dot is a run; a dot at 0.1 on an image column is a run that never learned.* Those
# runs are listed below with the draw they started from and what the other rows of the same
# run reached. A run counts as never learned when its best epoch stays at or below 0.11
# (chance on ten classes is 0.1).

# %% tags=["hide-input"]
dead_runs = runs_df[(runs_df.best_accuracy <= CHANCE) & ~runs_df.dataset.isin(ch.data.SYNTHETIC)]
dead_keys = set(zip(dead_runs.dataset, dead_runs.run))
rows, without = [], []
for (d, run), g in dead_runs.groupby(["dataset", "run"]):
    same = runs_df[(runs_df.dataset == d) & (runs_df.run == run) & ~runs_df.method.isin(g.method)]
    rows.append({"column": ch.LABELS[d], "run": run, "start T": g.start_temperature.iloc[0],
                 "start λ": g.start_lambda.iloc[0], "never learned in": ", ".join(g.method),
                 "same run, other rows": ", ".join(f"{m} {a:.3f}" for m, a in same.set_index("method").accuracy.items())})
    alive = runs_df[(runs_df.dataset == d) & ~runs_df.run.isin([k for dd, k in dead_keys if dd == d])]
    without.append({"column": ch.LABELS[d], "runs left": alive.run.nunique(),
                    **alive.groupby("method", sort=False).accuracy.mean().round(3).to_dict()})
if rows:
    show_table(pd.DataFrame(rows), caption=f"runs that never learned on the image columns ({P})", digits=3)
    show_table(pd.DataFrame(without).drop_duplicates("column"),
               caption=f"mean test accuracy without those runs ({P})", digits=3)
# A run whose random row (the same start, held fixed) learns while its tuned rows do not:
# do the upper-level steps take part in that failure? The reduced CIFAR-10 study below reruns
# such a random row (study dead_runs_cifar10, another teacher): if it dies there too, they need not.
upper_keys = [(d, run) for (d, run), g in dead_runs.groupby(["dataset", "run"])
              if "random" not in set(g.method) and (runs_df[(runs_df.dataset == d) & (runs_df.run == run)
                                                             & (runs_df.method == "random")].best_accuracy > CHANCE).all()]
upper = [f"{ch.LABELS[d]} run {run}" for d, run in upper_keys]
rerun = {(r["params"]["method"], r["params"]["run"], r["params"]["power"]): r
         for r in studies.records("dead_runs_cifar10") if r["profile"] == "paper"}
upper_notes = []
for d, run in upper_keys:
    r = rerun.get(("random", run, 0)) if d == "cifar10_reduced" else None
    if r is None:
        upper_notes.append(f"{ch.LABELS[d]} run {run}'s random row has not been rerun, so whether the upper-level "
                           "steps take part is untested")
        continue
    acc, spread = r["metrics"]["accuracy"], r["metrics"].get("final_logit_spread", float("nan"))
    upper_notes.append(f"rerun with another teacher (the study below), {ch.LABELS[d]} run {run}'s random row ends at "
                       f"{acc:.3f} (logit spread {spread:.3g}): "
                       + ("it dies too, so the upper-level steps are not needed for this failure; that it learned "
                          "with the chapter's teacher is left unexplained" if acc <= CHANCE else
                          "it learns there as well, so the upper-level steps may take part (not tested further)"))
# Runs that learned but ended short: below the lowest no-distillation run of their column.
img = runs_df[~runs_df.dataset.isin(ch.data.SYNTHETIC)]
low_none = img[img.method == "none"].groupby("dataset").accuracy.min()
short_runs = img[(img.method != "none") & (img.best_accuracy > CHANCE) & (img.accuracy < img.dataset.map(low_none))]
if len(short_runs):
    show_table(pd.DataFrame([{"column": ch.LABELS[r.dataset], "method": r.method, "run": r.run,
                              "start T": r.start_temperature, "start λ": r.start_lambda, "test accuracy": r.accuracy,
                              "lowest no-distillation run": low_none[r.dataset]} for r in short_runs.itertuples()]),
               caption=f"runs that learned but ended below every no-distillation run of their column ({P}; hyperopt: "
                       "the trial's drawn values)", digits=3)
# Every image row whose spread is wide: how many of its runs never learned or ended short, and their start T.
wide = []
for (d, m), g in img.groupby(["dataset", "method"], sort=False):
    if len(g) > 1 and g.accuracy.std() > 0.2:
        bad = g[(g.best_accuracy <= CHANCE) | g.index.isin(short_runs.index)]
        wide.append((f"{ch.LABELS[d]} {m} (sd {g.accuracy.std():.2f}: {int((bad.best_accuracy <= CHANCE).sum())} "
                     f"never learned, {int((bad.best_accuracy > CHANCE).sum())} short of {len(g)}, from T = "
                     f"{listing(sorted(bad.start_temperature.round(3).unique()))})", len(bad) > 0
                     and bool((bad.start_temperature < 0.2).all())))
glue_all(n_dead=str(len(dead_keys)), dead_temps=listing(sorted(dead_runs.start_temperature.unique())),
         upper_dead=", ".join(upper) or "none", upper_reading="; ".join(upper_notes) or "no such run",
         n_short=str(len(short_runs)),
         short_small_t=str(int((short_runs.start_temperature < 0.2).sum())),
         wide_rows="; ".join(w for w, _ in wide) or "none",
         wide_verdict=("every one of them comes from such runs, all started below T = 0.2, the start whose cause the "
                       "studies below measure" if wide and all(ok for _, ok in wide) else
                       "not every one is explained by a small start temperature" if wide else "no row is that wide"))

# %% [markdown]
# {glue:text}`n_dead` runs never learned, all from a small start temperature (T =
# {glue:text}`dead_temps`). The means of their rows, and their gaps to the authors in the
# first table, come from those runs; the verdicts at the end leave such a run out of both
# sides of a comparison and count it. Another {glue:text}`n_short` runs learned but ended
# below every no-distillation run of their column ({glue:text}`short_small_t` of them from a
# start below T = 0.2): they are kept in the means and verdicts. The rows whose spread
# exceeds 0.2 are {glue:text}`wide_rows`: {glue:text}`wide_verdict`.
#
# Where the random row from the same start learns while the tuned rows do not
# ({glue:text}`upper_dead`), the upper-level steps might take part in the failure:
# {glue:text}`upper_reading`. The Fashion-MNIST case is measured next.
#
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

# %% tags=["hide-input"]
probe_runs = [r for r in studies.records("dead_runs") if r["profile"] == "paper"]
probe_failed = [n for n in studies.failures("dead_runs") if n["profile"] == "paper"]   # loss became NaN
DEAD_GLUE = ("k0_dead", "k0_runs", "k0_temps", "k0_ratio", "k0_spread", "k1_fixed", "k2_fixed", "k2_diverged_T",
             "k2_diverged", "k_all", "dead_cause")
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
    k0 = dead_table[dead_table["soft term × T^k"] == 0]
    chance = k0[k0.accuracy <= CHANCE]
    revived = lambda k: dead_table[dead_table["start T"].isin(chance["start T"]) & (dead_table["soft term × T^k"] == k)]
    diverged = dead_table[dead_table.diverged != ""]
    all_trained = [k for k, g in dead_table.groupby("soft term × T^k") if (g.accuracy > CHANCE).all()]
    glue_all(k0_dead=str(len(chance)), k0_runs=str(len(k0)), k0_temps=listing(sorted(chance["start T"])),
             k0_ratio=f"{chance['max soft / hard gradient'].max():,.0f}", k0_spread=f"{chance['final logit spread'].max():.3f}",
             k1_fixed=listing(revived(1).accuracy), k2_fixed=listing(revived(2).accuracy),
             k2_diverged_T=listing(diverged["start T"], 2) or "none",
             k2_diverged="; ".join(diverged.diverged) or "none",
             k_all=", ".join(f"k = {k}" for k in all_trained) or "none",
             dead_cause="removes the failure: the cause is measured" if (revived(1).accuracy > CHANCE).all()
             else "does not remove the failure: the cause is not settled")
else:
    glue_missing(*DEAD_GLUE)

# %% [markdown]
# With the chapter's objective ($k = 0$), {glue:text}`k0_dead` of {glue:text}`k0_runs` runs
# end at chance, those starting at T = {glue:text}`k0_temps`. In them the soft term's
# gradient reaches {glue:text}`k0_ratio` times the hard term's and the logits collapse
# (spread {glue:text}`k0_spread`). The same runs with the soft term scaled by $T$ reach
# {glue:text}`k1_fixed`, and by $T^2$ {glue:text}`k2_fixed`. Changing only the soft term's
# scale {glue:text}`dead_cause`, the $1/T$ gradient at learning rate {glue:text}`lr`.
# Hinton's $T^2$ fails at the other end: the run starting at T = {glue:text}`k2_diverged_T`
# diverges ({glue:text}`k2_diverged`), its soft gradient multiplied by $T$ instead. The
# scales that train every draw: {glue:text}`k_all`. The faithful rows above keep the paper's
# objective; their failed runs are counted by the verdicts' rule.
#
# The "gradient" and "proposed" students start from the same draws and then move $\lambda$
# and $T$ by the hypergradient. The study `kdcore.studies.dead_runs_tuned` reruns the
# chapter's three Fashion-MNIST runs of each with the soft term multiplied by $T$ (the
# correction above); their faithful counterparts are the chapter's records.

# %% tags=["hide-input"]
tuned_fix = [r for r in studies.records("dead_runs_tuned") if r["profile"] == "paper"]
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
    glue_all(fix_dead_f=str(int((fix_table["faithful accuracy"] <= CHANCE).sum())),
             fix_dead_c=str(int((fix_table["soft × T: accuracy"] <= CHANCE).sum())), fix_n=str(len(fix_table)))
else:
    glue_missing("fix_dead_f", "fix_dead_c", "fix_n")

# %% [markdown]
# Runs ending at chance: {glue:text}`fix_dead_f` of {glue:text}`fix_n` faithful,
# {glue:text}`fix_dead_c` of {glue:text}`fix_n` with the soft term × $T$.
#
# ### The same cause on reduced CIFAR-10
#
# The reduced CIFAR-10 column has the same signature: its students from the draws T = 0.107
# and T = 0.182 end far below the others, and run 4's "gradient" and "proposed" students at
# chance. The study `kdcore.studies.dead_runs_cifar10` reruns them, with run 0 (T = 1.61) as
# a control, with the soft term × $T^k$ for $k$ = 0 (the paper's objective) and 1, and the
# same probe as on Fashion-MNIST. One thing differs from the chapter's runs: the teacher. The
# chapter's ResNet18 was trained on a lent GPU and its weights were not kept, so the study uses
# the ResNet18 of the all-pairs study below (the chapter's recipe, on 12,800 randomly drawn
# training images instead of the first 12,800). Its $k = 0$ runs are therefore the control
# for $k = 1$, and the chapter's own accuracy is shown beside them. A run counts as
# *short* when it ends below the lowest of the column's no-distillation students
# ({glue:text}`cifar_none_low`).

# %% tags=["hide-input"]
cifar_fix = [r for r in studies.records("dead_runs_cifar10") if r["profile"] == "paper"]
cifar_failed = [n for n in studies.failures("dead_runs_cifar10") if n["profile"] == "paper"]
reduced = runs_df[runs_df.dataset == "cifar10_reduced"]
none_low = reduced[reduced.method == "none"].accuracy.min() if not reduced.empty else float("nan")
glue("cifar_none_low", f"{none_low:.3f}" if reduced.size else "not run at this profile")
CIFAR_GLUE = ("cifar_k0_dead", "cifar_k1_dead", "cifar_k0_short", "cifar_k1_short", "cifar_small_n", "cifar_k0_ratio",
              "cifar_k1_short_list", "cifar_k1_note", "cifar_cause", "cifar_control")
if cifar_fix and not reduced.empty:
    chapter_acc = reduced.set_index(["method", "run"]).accuracy
    by = {(r["params"]["method"], r["params"]["run"], r["params"]["power"]): r for r in cifar_fix}
    rows = []
    for method, run_no in sorted({(m, n) for m, n, _ in by}, key=lambda k: (k[1], k[0])):
        first = by.get((method, run_no, 0), by.get((method, run_no, 1)))["params"]
        row = {"method": method, "run": run_no, "start T": first["temperature"], "start λ": first["lambda"],
               "chapter (its teacher)": chapter_acc.get((method, run_no), float("nan"))}
        for k in (0, 1):
            r = by.get((method, run_no, k))
            row[f"k = {k}: accuracy"] = r["metrics"]["accuracy"] if r else float("nan")
            row[f"k = {k}: max soft / hard"] = r["metrics"]["max_soft_over_hard"] if r else float("nan")
            row[f"k = {k}: final T"] = r["metrics"]["final_temperature"] if r else float("nan")
            row[f"k = {k}: logit spread"] = r["metrics"].get("final_logit_spread", float("nan")) if r else float("nan")
        rows.append(row)
    cifar_table = pd.DataFrame(rows)
    show_table(cifar_table, caption="reduced CIFAR-10 students rerun with the soft term × T^k, k = 0 (the paper's) and "
                                    "1 (study dead_runs_cifar10, paper profile, 1 CPU thread; teacher: the all-pairs "
                                    "study's ResNet18)", digits=3)
    if cifar_failed:
        show_markdown("*Runs of this study that stopped (loss not finite): " + "; ".join(
            f"{n['params']['method']} run {n['params']['run']}, k = {n['params']['power']}" for n in cifar_failed) + ".*")
    small = cifar_table[cifar_table["start T"] < 0.2]
    control = cifar_table[cifar_table["start T"] >= 1.0]
    dead = lambda k: small[f"k = {k}: accuracy"] <= CHANCE
    short = lambda k: small[f"k = {k}: accuracy"] < none_low
    complete = small[["k = 0: accuracy", "k = 1: accuracy"]].notna().all().all() and len(small) > 0
    k1_short = small[short(1)]
    glue_all(cifar_k0_dead=str(int(dead(0).sum())), cifar_k1_dead=str(int(dead(1).sum())),
             cifar_k0_short=str(int(short(0).sum())), cifar_k1_short=str(int(short(1).sum())),
             cifar_small_n=str(len(small)),
             cifar_k0_ratio=f"{small['k = 0: max soft / hard'].max():,.0f}" if small['k = 0: max soft / hard'].notna().any() else "—",
             cifar_k1_short_list="; ".join(f"{r.method} run {r.run} (T = {r['start T']:.3g}, λ = "
                                           f"{r['start λ']:.3g}) at {r['k = 1: accuracy']:.3f}"
                                           for _, r in k1_short.iterrows()) or "none",
             cifar_k1_note=("That run has learned, not collapsed; why it ends lower was not tested." if len(k1_short) == 1
                            else "Those runs have learned, not collapsed; why they end lower was not tested."
                            if len(k1_short) else ""),
             cifar_control=listing(control["k = 0: accuracy"]) + " (k = 0) and " + listing(control["k = 1: accuracy"])
             + " (k = 1)" if not control.empty else "not run",
             cifar_cause=("is still running: the verdict waits for every run" if not complete else
                          "removes every collapse: the cause of the dead runs is measured on this column too"
                          if dead(0).any() and not dead(1).any() else
                          "removes some of the collapses, not all: on this column the cause is only partly measured"
                          if dead(0).any() and dead(1).sum() < dead(0).sum() else
                          "does not remove the collapse: it has another cause here" if dead(0).any() else
                          "cannot be judged: with this teacher the paper's objective does not collapse"))
else:
    glue_missing(*CIFAR_GLUE)

# %% [markdown]
# With the paper's objective, {glue:text}`cifar_k0_dead` of the {glue:text}`cifar_small_n`
# small-temperature runs end at chance with collapsed logits, and
# {glue:text}`cifar_k0_short` end below the lowest no-distillation student; the soft term's
# gradient reaches up to {glue:text}`cifar_k0_ratio` times the hard term's. With the soft
# term × $T$, {glue:text}`cifar_k1_dead` end at chance and {glue:text}`cifar_k1_short` below
# that student ({glue:text}`cifar_k1_short_list`). The control run ends at
# {glue:text}`cifar_control`. Scaling the soft term by $T$ {glue:text}`cifar_cause`.
# {glue:text}`cifar_k1_note`

# %% tags=["hide-input"]
# A search resumed in a new process replays its stored trials to Optuna, whose seeded sampler
# then starts its random stream afresh: a random start-up trial can repeat an earlier point.
dups = []
for d in columns:
    if d in PER_RUN_SEARCH:
        continue
    h = runs_df[(runs_df.dataset == d) & (runs_df.method == "hyperopt")].sort_values("run")
    rep = h[h.duplicated(["start_lambda", "start_temperature"], keep=False)]
    if not rep.empty:
        dups.append({"column": ch.LABELS[d], "trials": ", ".join(map(str, rep.run)),
                     "point": f"λ = {rep.start_lambda.iloc[0]:.3f}, T = {rep.start_temperature.iloc[0]:.3f}",
                     "distinct": len(h.drop_duplicates(["start_lambda", "start_temperature"])), "of": len(h)})
if dups:
    first = dups[0]
    glue_all(dup_column=first["column"], dup_trials=first["trials"], dup_point=first["point"],
             dup_distinct=str(first["distinct"]), dup_total=str(first["of"]))
else:
    glue_missing("dup_column", "dup_trials", "dup_point", "dup_distinct", "dup_total")

# %% [markdown]
# *A repeated hyperopt trial.* On {glue:text}`dup_column`, trials {glue:text}`dup_trials`
# tried the same point ({glue:text}`dup_point`), so that search has {glue:text}`dup_distinct`
# distinct points in {glue:text}`dup_total` trials. Its trials were made in more than one
# process (the device calls listed under "Where the runs ran"): a resumed search replays the
# stored trials, but Optuna's seeded sampler restarts its random stream, and the next random
# start-up trial drew the first point again. Seeding the sampler by trial number would avoid
# it; that changes the chapter's code, and with it every record's code hash, so it is left
# for a later change.
#
# What the two synthetic columns say together (the verdicts at the end give the spreads):

# %% tags=["remove-cell"]
if {"synthetic", "synthetic_corrected"} <= set(columns):
    m = runs_df.groupby(["dataset", "method"]).accuracy.mean()
    f, c = m["synthetic"], m["synthetic_corrected"]
    glue_all(f_grad_naive=signed(f["gradient"] - f["naive"]), f_prop_naive=signed(f["proposed"] - f["naive"]),
             f_naive=f"{f['naive']:.3f}", c_none=f"{c['none']:.3f}", c_naive=f"{c['naive']:.3f}",
             c_beats="beats" if c["naive"] > c["none"] else "does not beat",
             c_grad_naive=signed(c["gradient"] - c["naive"]), c_prop_naive=signed(c["proposed"] - c["naive"]),
             c_hyp_naive=signed(c["hyperopt"] - c["naive"]))
else:
    glue_missing("f_grad_naive", "f_prop_naive", "f_naive", "c_none", "c_naive", "c_beats", "c_grad_naive",
                 "c_prop_naive", "c_hyp_naive")

# %% [markdown]
# - As the authors ran it, the tuned rows differ from the naive row by
#   {glue:text}`f_grad_naive` (gradient) and {glue:text}`f_prop_naive` (proposed) in mean
#   accuracy; but that naive row saw the teacher's indicator feature, and with it the student
#   reaches only {glue:text}`f_naive`.
# - With one feature set for every row (corrected), the naive distillation setting
#   {glue:text}`c_beats` the student alone: none {glue:text}`c_none`, naive
#   {glue:text}`c_naive`. Against the naive setting, tuning $(\lambda, T)$ moves the mean by
#   {glue:text}`c_grad_naive` (gradient) and {glue:text}`c_prop_naive` (proposed), and the
#   Optuna search by {glue:text}`c_hyp_naive`.
#
# ### Where $\lambda$ and $T$ go
#
# The trajectories of the tuned metaparameters, one line per run (the *proposed* runs follow
# straight segments where they extrapolate); runs that never learned are left out of the
# table under the figure.

# %% tags=["hide-input"]
recs = [r for r in store.records(ch.CHAPTER) if r["profile"] == cfg.profile]
fig, axes = plt.subplots(len(columns), 2, figsize=(6.8, 2.3 * len(columns)), squeeze=False)
for row, d in zip(axes, columns):
    tr = report.trajectories(recs, d)
    if tr.empty:
        continue
    for ax, col in zip(row, ["lambda", "temperature"]):
        sns.lineplot(tr, x="step", y=col, hue="method", units="run", estimator=None, ax=ax, lw=0.8,
                     legend=ax is axes[0][0])
        ax.set(title=f"{ch.LABELS[d]}: {'λ' if col == 'lambda' else 'T'}", ylabel="",
               yscale="log" if col == "temperature" else "linear")
fig.tight_layout()
plt.show()
ends = runs_df.dropna(subset=["final_lambda"])
ends = ends[[k not in dead_keys for k in zip(ends.dataset, ends.run)]]   # runs that never learned say nothing here
moves = []
for d in columns:
    g = ends[(ends.dataset == d) & (ends.method == "gradient")]
    r = runs_df[(runs_df.dataset == d) & (runs_df.method == "random")].set_index("run").accuracy
    r = r[[(d, k) not in dead_keys for k in r.index]]
    if g.empty or r.empty:
        continue
    moves.append({"column": ch.LABELS[d], "runs": len(g), "mean |Δλ|": (g.final_lambda - g.start_lambda).abs().mean(),
                  "mean |ΔT|": (g.final_temperature - g.start_temperature).abs().mean(),
                  "final λ": f"{g.final_lambda.min():.3f}–{g.final_lambda.max():.3f}",
                  "final T (bound 10)": f"{g.final_temperature.min():.2f}–{g.final_temperature.max():.2f}",
                  "gradient − random, same start": (g.set_index("run").accuracy - r).mean()})
if moves:
    show_table(pd.DataFrame(moves), caption=f"the gradient rows' metaparameters, start to end, and their accuracy against "
               f"the random row's runs, which keep the same start fixed ({P}; the faithful synthetic random row also "
               "saw other features)", digits=3)

# %% [markdown]
# *The figure: one row of panels per column, λ (left) and T (right, log scale) of every
# gradient and proposed run over the training steps; the table: where the gradient rows'
# metaparameters start and end.*
#
# ## The draft's own experiments
#
# ### A fixed weight on one layer pair
#
# $(1-\lambda)\,\mathrm{CE} + \lambda\,\mathrm{VID}$ on the students' `fc1` features (a
# ResNet has none: its last block output stands in), VID {cite}`ahn2019vid` with a learned
# scalar variance, on CIFAR-10 reduced. $\lambda = 0$ is the student alone. The setup is the
# authors': Adam at learning rate {glue:text}`sweep_lr`, {glue:text}`cross_epochs` epochs,
# batch {glue:text}`sweep_batch`, seed 0, on the {glue:text}`sweep_rows` training rows; the
# teacher is a {glue:text}`sweep_teacher` trained on the same rows (test accuracy
# {glue:text}`sweep_teacher_acc`). One run per λ, as the authors' log: no verdict can rest on
# a single point.

# %% tags=["hide-input"]
SWEEP_GLUE = ("sweep_lr", "sweep_batch", "sweep_rows", "sweep_teacher", "sweep_teacher_acc", "ours_peak_lam", "ours_peak",
              "theirs_peak_lam", "theirs_peak", "alone_last", "alone_best", "alone_drop", "authors_alone", "authors_alone_peak",
              "n_above_best", "n_above_last", "n_lams", "theirs_05", "ours_05")
if cfg.draft_sweep:
    sweep = pd.DataFrame([{"lambda": lam, **ch.sweep_run(cfg, store, lam)["metrics"]} for lam in [0.0, *cfg.sweep_lambdas]])
    paper_sweep = pd.DataFrame([{"lambda": k, "accuracy": v[0]} for k, v in ch.paper.SWEEP.items()])
    fig, ax = plt.subplots(figsize=(6.8, 3.6))
    sns.lineplot(sweep[sweep["lambda"] > 0], x="lambda", y="accuracy", marker="o", label="ours, last epoch", ax=ax)
    sns.lineplot(sweep[sweep["lambda"] > 0], x="lambda", y="best_accuracy", marker="o", label="ours, best epoch", ax=ax)
    sns.lineplot(paper_sweep, x="lambda", y="accuracy", marker="s", ls="--", label="authors' log, last epoch", ax=ax)
    ax.axhline(sweep.loc[sweep["lambda"] == 0, "accuracy"].item(), color="grey", ls=":", label="student alone (ours)")
    ax.set(xscale="log", xlabel="λ", ylabel="test accuracy", title=f"fixed-λ sweep, teacher {cfg.teacher} ({P})")
    ax.legend(fontsize=8)
    plt.show()
    authors = [ch.paper.SWEEP.get(lam, (np.nan, np.nan)) for lam in sweep["lambda"]]
    show_table(pd.DataFrame({"λ": [f"{lam:g}" for lam in sweep["lambda"]], "ours, last": sweep.accuracy,
                             "authors, last": [x[0] for x in authors], "ours, best": sweep.best_accuracy,
                             "authors, best": [x[1] for x in authors]}),
               caption=f"fixed-λ sweep, test accuracy at the last and the best epoch, one run per λ ({P}; authors: their "
                       "logged run, — where none)", digits=4)
    on = sweep[sweep["lambda"] > 0].set_index("lambda")
    alone_row = sweep[sweep["lambda"] == 0].iloc[0]
    theirs = paper_sweep.set_index("lambda").accuracy
    a = ch.paper.SWEEP_ALONE
    rec0 = ch.sweep_run(cfg, store, 0.0)
    t_rec = ch.teacher(cfg, store, "cifar10_reduced", cfg.teacher).record
    glue_all(sweep_lr=f"{rec0['params']['lr']:g}", sweep_batch=str(cfg.batch_size),
             sweep_rows=f"{cfg.n_rows['cifar10_reduced'] - cfg.n_rows['cifar10_reduced'] // 10:,}",
             sweep_teacher=ch.pairs.NAMES[cfg.teacher], sweep_teacher_acc=f"{t_rec['metrics']['accuracy']:.4f}",
             ours_peak_lam=f"{on.accuracy.idxmax():g}", ours_peak=f"{on.accuracy.max():.4f}",
             theirs_peak_lam=f"{theirs.idxmax():g}", theirs_peak=f"{theirs.max():.4f}",
             alone_last=f"{alone_row.accuracy:.4f}", alone_best=f"{alone_row.best_accuracy:.4f}",
             alone_drop=f"{alone_row.best_accuracy - alone_row.accuracy:.3f}",
             authors_alone=f"{a['last_low']}–{a['last_high']}", authors_alone_peak=str(a["peak"]),
             n_above_best=str(int((on.best_accuracy > alone_row.best_accuracy).sum())),
             n_above_last=str(int((on.accuracy > alone_row.accuracy).sum())), n_lams=str(len(on)),
             theirs_05=f"{theirs.get(0.5, np.nan):.3f}", ours_05=f"{on.accuracy.get(0.5, np.nan):.4f}")
else:
    glue_missing(*SWEEP_GLUE)

# %% [markdown]
# Ours peaks at λ = {glue:text}`ours_peak_lam` ({glue:text}`ours_peak`), theirs at λ =
# {glue:text}`theirs_peak_lam` ({glue:text}`theirs_peak`). Our student alone (λ = 0) ends at
# {glue:text}`alone_last`, {glue:text}`alone_drop` below its own best epoch
# ({glue:text}`alone_best`); the authors' ended between {glue:text}`authors_alone` (peak
# about {glue:text}`authors_alone_peak`). {glue:text}`n_above_last` of {glue:text}`n_lams`
# values of λ end above our student alone at the last epoch, {glue:text}`n_above_best` of
# {glue:text}`n_lams` against its best epoch. At λ = 0.5 the authors' run fell to
# {glue:text}`theirs_05`; ours ends at {glue:text}`ours_05`.
#
# ### The same weight tuned by the hypergradient
#
# The authors' bi-level run: one $\lambda$, start $10^{-4}$, Adam $10^{-3}$ on $\lambda$,
# hypergradients clipped to $10^{-2}$, $\lambda$ clamped to $[0, 1]$; ConvTiny teacher. They
# logged it with the regressor $\mu$ in both directions: $\mu$(student) predicting the
# teacher's feature (VID's direction) and $\mu$(teacher) predicting the student's; the code
# runs both. Both runs train {glue:text}`cross_epochs` epochs with {glue:text}`draft_sgd`, as
# the all-pairs runs below, seed 0, and are set against the student alone with the same
# optimiser, epochs and rows (the all-pairs *none* runs: {glue:text}`single_alone`).

# %% tags=["hide-input"]
if cfg.single_pair:
    have_alone = cfg.all_pairs and "conv_tiny" in cfg.cross_teachers and "none" in cfg.cross_methods
    alone = pd.Series({sd: ch.cross_run(cfg, store, "conv_tiny", "none", sd)["metrics"]["accuracy"]
                       for sd in cfg.cross_seeds}) if have_alone else pd.Series(dtype=float)
    singles, rows = {}, []
    fig, ax = plt.subplots(figsize=(6.8, 3.2))
    for direction, label in ch.SINGLE_DIRECTIONS.items():
        rec = singles[direction] = ch.single_pair_run(cfg, store, direction=direction)
        traj = pd.DataFrame(rec["extra"]["trajectory"])
        sns.lineplot(traj, x="step", y="beta", label=label, ax=ax)
        a, final = rec["metrics"]["accuracy"], rec["metrics"]["final_lambda"]
        alive = traj[traj.beta > 0]
        if final <= 0:       # clamped at 0 for good: from the step after its last positive value
            since = int(traj.step[traj.index > alive.index[-1]].iloc[0]) if len(alive) else int(traj.step.iloc[0])
            course = f"clamped at 0 from step {since} of {int(traj.step.iloc[-1])}: cross-entropy alone after that"
        else:
            touched = traj[traj.beta <= 0]
            course = (f"largest {max(traj.beta.max(), final):.2e}"
                      + (f"; at 0 at step {int(touched.step.iloc[0])}, then rose again" if len(touched) else "")
                      + ": the VID term weighs on the student to the end")
        rows.append({"μ direction": label, "accuracy": a,
                     "authors": next(n.value for n in ch.NUMBERS if n.setting == ch.single_setting(direction)),
                     "− alone, mean": a - alone.mean() if len(alone) else np.nan,
                     "in alone's sds": (a - alone.mean()) / alone.std() if len(alone) > 1 else np.nan,
                     "− alone, seed 0": a - alone.get(0, np.nan), "λ start → end": f"{traj.beta.iloc[0]:.0e} → {final:.2e}",
                     "λ's course": course})
    ax.set(title=f"single-pair λ during training ({P})", ylabel="λ")
    plt.show()
    show_table(pd.DataFrame(rows), caption=f"single pair, tuned λ: one run per direction, seed 0 ({P})", digits=4)
    glue("single_alone", f"{alone.mean():.4f} ± {alone.std():.4f} over seeds {', '.join(map(str, cfg.cross_seeds))}"
         if len(alone) > 1 else "—")
else:
    glue("single_alone", "—")

# %% [markdown]
# *The figure: λ over the training steps of the two runs.* One run each, as the authors': a
# single run above the alone runs' spread is suggestive, not a verdict.
#
# ## What the book adds: every teacher layer with every student layer
#
# $(1-\beta)\,\mathrm{CE} + \beta \sum_{ij}\lambda_{ij}\,\mathrm{VID}(t_i, s_j)$ with
# $\sum_{ij}\lambda_{ij}=1$ (a softmax of free logits), $\beta$ fixed at
# {glue:text}`cross_beta`. *tuned*: $\lambda$ starts uniform and follows the hypergradient;
# *uniform* is the same start kept fixed (the upper-level learning rate 0), *random* a fixed
# flat-Dirichlet draw, *pairwise* only the $i \leftrightarrow i$ pairs; *hinton* is Hinton's
# loss on the logits, *none* the student alone. Same seeds, same initial students. Every run:
# {glue:text}`cross_epochs` epochs, {glue:text}`draft_sgd`, CIFAR-10 reduced, seeds
# {glue:text}`cross_seeds`; *tuned* takes {glue:text}`cross_hyper`.

# %% tags=["hide-input"]
recs = [r for r in store.records(ch.CHAPTER) if r["profile"] == cfg.profile]   # after any run made above
cross = pd.DataFrame([{"teacher": t, "method": m, "seed": s, **ch.cross_run(cfg, store, t, m, s)["metrics"]}
                      for t in (cfg.cross_teachers if cfg.all_pairs else []) for m in cfg.cross_methods
                      for s in cfg.cross_seeds])
recs = [r for r in store.records(ch.CHAPTER) if r["profile"] == cfg.profile]
tuned_rec = next((r for r in recs if cfg.all_pairs and r["setting"] == ch.cross_setting(cfg.cross_teachers[0], "tuned")), None)
glue_all(cross_seeds=", ".join(map(str, cfg.cross_seeds)),
         cross_hyper=f"one upper-level step per training step ({cfg.hyper_optimizer}, learning rate {cfg.hyper_lr:g}, "
                     f"hypergradient by {cfg.hyper_method.replace('_', ' ')}, on a validation batch of {cfg.batch_size})"
                     + (f", {tuned_rec['extra']['hyper_steps']:,} upper-level steps per run" if tuned_rec else ""))
if cfg.all_pairs:
    show_table(report.cross_summary(recs, cfg.profile), caption=f"the draft's experiments ({P})")
    fig, ax = plt.subplots(figsize=(6.8, 3.4))
    sns.pointplot(cross, x="method", y="accuracy", hue="teacher", errorbar="sd", ax=ax,
                  dodge=0.3 if len(cfg.cross_teachers) > 1 else False)
    ax.set(title=f"all pairs: test accuracy, mean ± sd over {len(cfg.cross_seeds)} seeds ({P})", xlabel="")
    plt.show()
r18_have = sorted({r["setting"].split(": ")[-1] for r in recs if r["setting"].startswith(ch.cross_setting("resnet18", ""))})
glue("r18_chapter_runs", " and ".join(r18_have) if r18_have and "resnet18" not in cfg.cross_teachers else "no")

# %% [markdown]
# *The figure: each method's mean test accuracy, ± one sd over the seeds.*
#
# From the ResNet18 teacher this section ran only its {glue:text}`r18_chapter_runs` runs:
# its VID runs cache ResNet18's five feature maps per training image and take a
# hypergradient every step, more device time than this profile had. They decide nothing
# about tuned weights and no verdict below uses them; the study `all_pairs_resnet18` at the
# end of this section runs the ResNet18 comparison on the CPU instead (at this build it
# {glue:text}`r18_status`).
#
# Where the tuned weights go: $\lambda_{ij}$ at the start and the end of tuning (mean over
# seeds; uniform is one over the number of pairs). Hover a cell for its pair.

# %% tags=["hide-input"]
snap_teachers = [t for t in (cfg.cross_teachers if cfg.all_pairs else [])
                 if report.lambda_snapshots(recs, ch.cross_setting(t, "tuned"))]
for t in snap_teachers:
    snaps = report.lambda_snapshots(recs, ch.cross_setting(t, "tuned"))
    rec = next(r for r in recs if r["setting"] == ch.cross_setting(t, "tuned"))
    first, last = list(snaps.items())[0], list(snaps.items())[-1]
    show_figure(heatmap_pair({f"λ, {first[0]}": first[1], f"λ, {last[0]}": last[1]}, rec["extra"]["teacher_layers"],
                             rec["extra"]["student_layers"], "teacher layer",
                             title=f"λ_ij, {t} → ConvVeryTiny, mean over seeds ({P})"))
if snap_teachers:
    t = snap_teachers[0]
    end = list(report.lambda_snapshots(recs, ch.cross_setting(t, "tuned")).values())[-1]
    rec = next(r for r in recs if r["setting"] == ch.cross_setting(t, "tuned"))
    i, j = np.unravel_index(end.argmax(), end.shape)
    glue_all(snap_teacher=t, snap_max=f"{end.max():.3f}",
             snap_pair=f"teacher {rec['extra']['teacher_layers'][i]}, student {rec['extra']['student_layers'][j]}",
             snap_uniform=f"{1 / end.size:.4f}")
else:
    glue_missing("snap_teacher", "snap_max", "snap_pair", "snap_uniform")

# %% [markdown]
# From {glue:text}`snap_teacher`, at the end the largest weight is {glue:text}`snap_max` on
# ({glue:text}`snap_pair`); uniform is {glue:text}`snap_uniform`.
#
# Two measurements that bear on reading the comparison: how large the weighted VID sum is
# against the cross-entropy while training (the `vid` and `ce` parts the records keep per
# epoch), and how Hinton's loss trains under this optimiser.

# %% tags=["hide-input"]
rows = []
for r in recs:
    for t in (cfg.cross_teachers if cfg.all_pairs else []):
        for m in ("pairwise", "uniform", "random", "tuned"):
            if r["setting"] == ch.cross_setting(t, m) and "vid" in r["history"]["train_parts"]:
                parts = r["history"]["train_parts"]
                rows.append({"teacher": t, "method": m, "seed": r["seed"],
                             "vid / ce, first epoch": parts["vid"][0] / parts["ce"][0],
                             "vid / ce, last epoch": parts["vid"][-1] / parts["ce"][-1]})
share = pd.DataFrame(rows, columns=["teacher", "method", "seed", "vid / ce, first epoch", "vid / ce, last epoch"])
if not share.empty:
    show_table(share.groupby(["teacher", "method"])[["vid / ce, first epoch", "vid / ce, last epoch"]].mean()
               .reset_index(), caption=f"ratio of β Σ λ VID to (1 − β) CE in the training loss, mean over seeds "
               f"(β = {cfg.cross_beta:g}; VID is a negative log-likelihood and can be negative; {P})", digits=3)
HIN_GLUE = ("hin_teacher", "hin_acc", "hin_alone", "hin_jumps", "hin_last", "hin_naive")
hin_t = next((t for t in (cfg.cross_teachers if cfg.all_pairs else [])
              if any(r["setting"] == ch.cross_setting(t, "hinton") for r in recs)
              and any(r["setting"] == ch.cross_setting(t, "none") for r in recs)), None)
halvings = list(range(sgd.step_size, cfg.cross_epochs, sgd.step_size))   # the lr drops after these epochs
if hin_t is not None and halvings:                                       # (too few epochs to see one: smoke)
    acc = np.array([r["history"]["test_metric"] for r in recs if r["setting"] == ch.cross_setting(hin_t, "hinton")])
    alone_acc = [r["metrics"]["accuracy"] for r in recs if r["setting"] == ch.cross_setting(hin_t, "none")]
    naive = runs_df[(runs_df.dataset == "cifar10_reduced") & (runs_df.method == "naive")].accuracy
    glue_all(hin_teacher=hin_t, hin_acc=f"{acc[:, -1].mean():.3f}", hin_alone=f"{np.mean(alone_acc):.3f}",
             hin_jumps=", ".join(f"epoch {e} → {e + 1}: {(acc[:, e] - acc[:, e - 1]).mean():+.3f}" for e in halvings),
             hin_last=signed((acc[:, -1] - acc[:, -2]).mean()),
             hin_naive=f"{naive.mean():.3f}" if len(naive) else "—")
else:
    glue_missing(*HIN_GLUE)

# %% [markdown]
# *Hinton's loss from {glue:text}`hin_teacher`* (T = 4, α = 0.9 as `pairs.py` sets them,
# with the $T^2$ factor; the same {glue:text}`draft_sgd`) ends at {glue:text}`hin_acc`
# against {glue:text}`hin_alone` for the student alone. Its mean test accuracy moves by
# {glue:text}`hin_jumps` when the learning rate drops, and by {glue:text}`hin_last` over the
# last epoch: a sign that the step is too large for this loss, and the baseline is untuned.
# The 2022 table's naive row on the same rows (T = 1 without the $T^2$ factor, the ResNet18
# teacher, 50 epochs) ends at {glue:text}`hin_naive` at the same learning rate. The claim
# below that tuned weights beat Hinton's loss is therefore weak evidence either way.
#
# Why Hinton's loss ends below the student alone is measured by the study
# `kdcore.studies.hinton_lr` (its own seeded draw of 12,800 training images, the same teacher
# architecture, schedule and loss; 3 seeds): the loss at lr 1.0, the same loss at lr 0.25,
# the student alone at both, and the loss without its $T^2$ factor. Each record keeps the
# norms of the two terms' gradients (all student weights, a fixed batch of 512 images).

# %% tags=["hide-input"]
lr_runs = [r for r in studies.records("hinton_lr") if r["profile"] == "paper" and ": " in r["setting"]]
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
    settled = d2 > -max(sd["hinton, lr/4"], sd["alone, lr/4"]) and d3 > 0
    glue_all(lr_d1=signed(d1), lr_d2=signed(d2), lr_d3=signed(d3), lr_ratio=f"{ratio.min():.0f}–{ratio.max():.0f}",
             lr_reading="removes the loss to within a seed sd of the student alone or better: the cause is measured, "
                        "the T²-scaled soft gradient at learning rate 1.0" if settled else
                        "does not remove the loss: the cause is not settled by these runs")
else:
    glue_missing("lr_d1", "lr_d2", "lr_d3", "lr_ratio", "lr_reading")

# %% [markdown]
# Against the student alone at the same learning rate, Hinton's loss ends {glue:text}`lr_d1`
# at lr 1.0 and {glue:text}`lr_d2` at lr 0.25; without its $T^2$ factor, at lr 1.0,
# {glue:text}`lr_d3`. At initialisation the soft term's gradient is {glue:text}`lr_ratio`
# times the hard term's. Changing only the step size, or only the soft term's scale,
# {glue:text}`lr_reading`.
#
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

# %% tags=["remove-cell"]
beta_small = {t: cross[cross.teacher == t].groupby("method").accuracy.mean()
              for t in (cfg.cross_teachers if cfg.all_pairs else [])}   # the comparison above, per teacher
acc_small = beta_small.get("conv_tiny")
glue_all(small_tuned_uniform=signed(acc_small["tuned"] - acc_small["uniform"], 4) if acc_small is not None
         and {"tuned", "uniform"} <= set(acc_small.index) else "—",
         small_tuned_none=signed(acc_small["tuned"] - acc_small["none"], 4) if acc_small is not None
         and {"tuned", "none"} <= set(acc_small.index) else "—")


def study_section(study, prefix: str, teacher_name: str) -> dict[str, str]:
    """One all-pairs study's tables, verdicts and λ maps, and the numbers its prose glues
    (names ``<prefix>_...``; dashes while the study's records are missing). Returns what it glued."""
    vals: dict[str, str] = {}

    def put(**kw: str) -> None:
        glue_all(**kw)
        vals.update(kw)

    names = ("r0", "r0_n", "r0_range", "beta_share", "rho", "beta", "tuned_uniform", "verdict", "n", "detectable",
             "max", "max_pair", "min", "uniform", "status")
    scfg = study.StudyConfig.paper()
    s_recs, s_notes = apr.study_records(studies, study=study)
    probe = apr.probe_record(s_recs)
    if probe is None:
        glue_missing(*(f"{prefix}_{n}" for n in names[:-1]))
        put(**{f"{prefix}_status": "has no records yet"})
        return vals
    r0 = probe["metrics"]["vid_to_ce_at_init"]
    put(**{f"{prefix}_r0": f"{r0:.0f}", f"{prefix}_r0_n": str(len(probe["extra"]["per_seed"])),
                f"{prefix}_r0_range": f"{probe['metrics']['vid_to_ce_min']:.0f}–{probe['metrics']['vid_to_ce_max']:.0f}",
                f"{prefix}_beta_share": f"{cfg.cross_beta * r0 / (1 - cfg.cross_beta):.3f}"})
    show_table(apr.grid_table(scfg, s_recs, s_notes, study=study),
               caption=f"study {study.STUDY}, uniform λ: the grid of ρ (mean over the finished runs, column "
                       f"'runs', of seeds {', '.join(map(str, scfg.grid_seeds))}; 'diverged': runs whose loss became "
                       "non-finite, kept as failure notes; paper profile)", digits=4)
    rho = apr.grid_choice(scfg, s_recs, s_notes, study=study)
    grid = apr.grid_table(scfg, s_recs, s_notes, study=study)
    grid_done, grid_want = int(grid.runs.sum() + grid.diverged.sum()), len(scfg.ratios) * len(scfg.grid_seeds)
    if rho is None:
        glue_missing(*(f"{prefix}_{n}" for n in names[4:-1]))
        put(**{f"{prefix}_status": f"has its probe and {grid_done} of {grid_want} grid runs: no ρ is chosen yet, "
                                   "and its main comparison has not run"})
        return vals
    show_table(apr.main_table(s_recs, s_notes, rho, study=study),
               caption=f"study {study.STUDY} at ρ = {rho:g}: test accuracy over seeds {', '.join(map(str, scfg.seeds))} "
                       "(paper profile)", digits=4)
    v = apr.verdicts(s_recs, rho, study=study)
    show_table(v.assign(difference=v.difference.map(lambda x: signed(x, 4)))[
        ["verdict", "claim", "difference", "n", "detectable (80 %)"]].rename(
        columns={"difference": "difference (claimed direction)"}),
        caption=f"study {study.STUDY}: verdicts paired by seed, and the difference the seeds could detect with "
                "probability 0.8 (paper profile)", digits=4)
    first = v.iloc[0]
    put(**{f"{prefix}_rho": f"{rho:g}", f"{prefix}_beta": f"{rho / (rho + r0):.2g}",
                f"{prefix}_tuned_uniform": signed(first["difference"], 4), f"{prefix}_verdict": first["verdict"],
                f"{prefix}_n": str(first["n"]), f"{prefix}_detectable": f"{first['detectable (80 %)']:.4f}"})
    rnd = v[v.claim.str.contains("random")]     # only a study with a random-λ control has this claim
    if len(rnd):
        put(**{f"{prefix}_random_verdict": rnd.iloc[0]["verdict"], f"{prefix}_random_n": str(rnd.iloc[0]["n"]),
               f"{prefix}_tuned_random": signed(rnd.iloc[0]["difference"], 4),
               f"{prefix}_random_detectable": f"{rnd.iloc[0]['detectable (80 %)']:.4f}"})
    main_done = sum(r["setting"] in {study.setting(m, rho) for m in apr.methods(study)} and r["seed"] in scfg.seeds
                    for r in s_recs)
    main_want = len(scfg.seeds) * len(apr.methods(study))
    status = ("is complete" if main_done >= main_want else
              f"has chosen ρ = {rho:g} and has {main_done} of {main_want} runs of its main comparison (its verdicts "
              "are over the seeds that have run)")
    maps = apr.lambda_maps(s_recs, rho, study=study)
    if not maps:
        glue_missing(*(f"{prefix}_{n}" for n in names[10:-1]))
        put(**{f"{prefix}_status": status + "; no tuned run has finished, so there is no λ map yet"})
        return vals
    t_layers, s_layers = apr.layers(study)
    show_figure(heatmap_pair({f"λ at the {name} of tuning": mat for name, mat in maps.items()}, t_layers, s_layers,
                             f"{teacher_name} layer",
                             title=f"study {study.STUDY}: tuned λ_ij at ρ = {rho:g}, mean over seeds (paper profile)"))
    end = maps["end"]
    i, j = np.unravel_index(end.argmax(), end.shape)
    put(**{f"{prefix}_max": f"{end.max():.3f}", f"{prefix}_max_pair": f"{t_layers[i]} → student {s_layers[j]}",
           f"{prefix}_min": f"{end.min():.3f}", f"{prefix}_uniform": f"{1 / end.size:.4f}",
           f"{prefix}_status": status})
    return vals


# %% tags=["hide-input"]
apw_vals = study_section(apw, "apw", "ConvTiny")   # assigned: a bare call would print its dict

# %% [markdown]
# At initialisation $r$ = {glue:text}`apw_r0` (median of {glue:text}`apw_r0_n` initial
# students, {glue:text}`apw_r0_range`). So $\beta = 10^{-4}$ puts the feature term at about
# {glue:text}`apw_beta_share` times cross-entropy's gradient. The regressors' own gradients
# scale with $\beta$ as well, so they may barely train, and then no weighting $\lambda$ could
# change much there (a hypothesis: how far the regressors train was not measured; above, from
# ConvTiny, tuned minus uniform is
# {glue:text}`small_tuned_uniform` and tuned minus none {glue:text}`small_tuned_none`).
#
# **Reading.** Validation chose $\rho$ = {glue:text}`apw_rho` ($\beta$ =
# {glue:text}`apw_beta`). There, tuned $\lambda$ against uniform $\lambda$:
# **{glue:text}`apw_verdict`**, difference {glue:text}`apw_tuned_uniform` over
# {glue:text}`apw_n`. These seeds would detect a true difference of about
# {glue:text}`apw_detectable` in accuracy with probability 0.8 (the spread of the per-seed
# differences, 95 % t-interval), so a smaller effect of the weighting is not ruled out by a
# "within noise". At the end of tuning the largest weight is {glue:text}`apw_max` on (teacher
# {glue:text}`apw_max_pair`), the smallest {glue:text}`apw_min`; uniform is
# {glue:text}`apw_uniform`.
#
# ### The same from a ResNet18 teacher
#
# The chapter's point is *heterogeneous* models. The study `kdcore.studies.all_pairs_resnet18`
# runs the same design from a ResNet18 teacher (its stem and the last block of each stage:
# 5 teacher layers × 4 student layers = 20 pairs), trained once on the same 12,800 images by
# this chapter's teacher recipe (Adam $10^{-3}$, 15 epochs) and committed with its record.
# At this build the study {glue:text}`r18_status`.

# %% tags=["hide-input"]
r18v = study_section(apr18, "r18", "ResNet18")
glue("r18_reading", "Nothing is read from it yet." if "r18_verdict" not in r18v else (
    f"Validation chose ρ = {r18v['r18_rho']} (β = {r18v['r18_beta']}). Tuned against uniform λ is not judged yet "
    f"({r18v['r18_verdict']}: {r18v['r18_n']} runs); the verdicts table above holds what the finished runs "
    "decide." if r18v["r18_verdict"] in ("no runs", "too few runs") else
    f"Validation chose ρ = {r18v['r18_rho']} (β = {r18v['r18_beta']}); there, tuned against uniform λ over all 20 "
    f"pairs: {r18v['r18_verdict']}, difference {r18v['r18_tuned_uniform']} over {r18v['r18_n']} (detectable with "
    f"probability 0.8: {r18v['r18_detectable']})."
    + (f" At the end of tuning the largest weight is {r18v['r18_max']} on (ResNet18 {r18v['r18_max_pair']}); "
       f"uniform is {r18v['r18_uniform']}." if "r18_max" in r18v else "")
    + ("" if "r18_random_verdict" not in r18v else
       f" Against a random fixed λ (the study `all_pairs_resnet18_random`, one flat Dirichlet draw per seed): not "
       + ("judged yet, no random run has finished." if r18v["r18_random_verdict"] == "no runs" else
          f"judged yet ({r18v['r18_random_verdict']}: {r18v['r18_random_n']} runs).")
       if r18v["r18_random_verdict"] in ("no runs", "too few runs") else
       f" Against a random fixed λ (the study `all_pairs_resnet18_random`, one flat Dirichlet draw per seed): "
       f"{r18v['r18_random_verdict']}, difference {r18v['r18_tuned_random']} over {r18v['r18_random_n']} "
       f"(detectable: {r18v['r18_random_detectable']}).")))
r18_teacher = next((r for r in apr.study_records(studies, study=apr18)[0] if r["setting"] == "teacher ResNet18"), None)
glue("r18_teacher_acc", f"{r18_teacher['metrics']['accuracy']:.4f}" if r18_teacher else "—")

# %% [markdown]
# Its teacher reaches {glue:text}`r18_teacher_acc` test accuracy. At initialisation $r$ =
# {glue:text}`r18_r0` (median of {glue:text}`r18_r0_n` initial students,
# {glue:text}`r18_r0_range`), so the chapter's $\beta = 10^{-4}$ puts the feature term at
# about {glue:text}`r18_beta_share` times cross-entropy's gradient. {glue:text}`r18_reading`
#
# ### What the upper-level step costs
#
# Mean seconds per epoch of the *tuned* runs against the *uniform* runs (same objective, no
# upper-level step), from the records; `make bench` measures the same ratio per step, one
# process alone on the machine it runs on (its row "(f)"). On a GPU shared by ten or more
# processes, as these runs were, the ratio depends on what ran beside each run: from
# ConvTiny, tuned / uniform is {glue:text}`cost_tuned_uniform` per epoch, tuned / none (the
# student alone, no VID terms) {glue:text}`cost_tuned_none`, and uniform / random, two runs
# of one objective, {glue:text}`cost_uniform_random`: that last ratio is what sharing the GPU
# alone does.

# %% tags=["remove-cell"]
sec = cross[cross.teacher == "conv_tiny"].groupby("method").epoch_seconds.mean() if len(cross) else pd.Series(dtype=float)
ratio_of = lambda a, b: f"{sec[a] / sec[b]:.2f}× ({sec[a]:.2f} s against {sec[b]:.2f} s)" if {a, b} <= set(sec.index) else "—"
glue_all(cost_tuned_uniform=ratio_of("tuned", "uniform"), cost_tuned_none=ratio_of("tuned", "none"),
         cost_uniform_random=ratio_of("uniform", "random"))

# %% [markdown]
# Measured alone instead, the study `kdcore.studies.hyper_step_cost` times one step of the
# 2022 paper's student (ConvVeryTiny, batch 128) with fixed $(\lambda, T)$ and with each way
# of taking the upper-level step after it, all methods timed in turn over interleaved rounds,
# beside the FLOPs of one step ({glue:text}`step_cost_where`). The chapter's runs used the
# DARTS finite difference, {glue:text}`step_cost_darts` a plain step there. The exact
# hypergradient taken by one tangent pass over the training forward's own activations
# (`kdcore.hyper.tangent`, written after these records: $J v$ layer by layer, then
# $\partial_\theta \langle \partial \ell / \partial z, J v \rangle$ on the logits) costs
# {glue:text}`step_cost_tangent`, so it is **{glue:text}`step_cost_verdict`** the finite
# difference, with no difference step to choose. The other exact methods cost
# {glue:text}`step_cost_others`: a second backward per scalar (mixed Jacobian), the primal
# again (forward-over-reverse), a backward through the backward.

# %% tags=["hide-input"]
step_costs = [r for r in studies.records(hyper_step_cost.STUDY) if r["profile"] == "paper"]
step_cost = max(step_costs, key=lambda r: r["created"]) if step_costs else None
if step_cost is None:
    glue_all(step_cost_where="no record at this build", step_cost_darts="—", step_cost_tangent="—",
             step_cost_verdict="not measured", step_cost_others="—")
else:
    mc, labels_cost = step_cost["metrics"], {
        "plain": "plain step, fixed (λ, T)", "tangent": "exact: one tangent pass",
        "tangent_fd": "one-sided difference of the outputs", "finite_difference": "DARTS finite difference (these runs)",
        "mixed": "exact: mixed Jacobian", "forward": "exact: forward-over-reverse", "exact": "exact: double backward"}
    show_table(pd.DataFrame([{"step": lab, "ms": f"{mc[f'{k}_ms']:.1f}", "time ×": f"{mc[f'{k}_time_ratio']:.2f}",
                              "GFLOP": f"{mc[f'{k}_gflop']:.2f}", "FLOPs ×": f"{mc[f'{k}_flop_ratio']:.2f}"}
                             for k, lab in labels_cost.items()]),
               caption=f"one training step with and without the upper-level step; ×: against the plain step (study "
                       f"hyper_step_cost, paper profile, "
                       f"{step_cost['device']}, {step_cost['params']['threads']} threads)")
    t_tan, t_fd = mc["tangent_time_ratio"], mc["finite_difference_time_ratio"]
    glue_all(step_cost_where=f"{step_cost['device']}, {step_cost['params']['threads']} threads, the minimum over "
                             f"{step_cost['params']['rounds']} rounds of 2 × {step_cost['params']['steps']} steps",
             step_cost_darts=f"{t_fd:.2f}×", step_cost_tangent=f"{t_tan:.2f}× ({mc['tangent_flop_ratio']:.2f}× in FLOPs)",
             step_cost_verdict="cheaper than" if t_tan < t_fd else "no cheaper than",
             step_cost_others=", ".join(f"{mc[f'{k}_time_ratio']:.2f}× ({labels_cost[k].split(': ')[1]})"
                                        for k in ("mixed", "forward", "exact")))

# %% [markdown]
# ## Paper vs ours
#
# The authors' numbers beside ours, one row per setting (the 2022 table's means are over 10
# runs, the draft's sweep and single-pair numbers are single logged runs; rows with 0 runs
# were not run at this profile):

# %% tags=["hide-input"]
table = comparison_table(ch.CHAPTER, store.root, paper_numbers=ch.NUMBERS)
table = table[((table.profile == cfg.profile) | (table.n_runs == 0)) & (table.metric == "accuracy")]
show_comparison(table, caption=f"accuracy: the authors vs ours ({P}; status: the results page's rule; \"dirty tree\": see "
                                "below)", scored=book.scored(ch.CHAPTER, store.root, cfg.profile))


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
dirty = where[where.commit.str.endswith("-dirty")]
glue_all(n_records=f"{len(recs):,}", n_trials=str(sum("hyperopt trial" in r["setting"] for r in recs)),
         n_teachers=str(sum(": teacher " in r["setting"] for r in recs)), run_minutes=f"{where.seconds.sum() / 60:,.0f}",
         devices=", ".join(sorted(set(where.device))), n_dirty=str(len(dirty)),
         dirty_commits=", ".join(sorted(set(dirty.commit))) or "none",
         n_dirty_current=str(sum(is_current(r) for r in recs if r["git_commit"].endswith("-dirty"))))

# %% [markdown]
# ### Where the runs ran
#
# This profile has {glue:text}`n_records` records ({glue:text}`n_trials` of them hyperopt
# trials, {glue:text}`n_teachers` teachers): {glue:text}`run_minutes` minutes of run time
# summed over records (parallel processes overlap), on {glue:text}`devices`. Per part and
# device, from the first run's start to the last run's end (gaps included), with the commits
# the records name:

# %% tags=["hide-input"]
span = where.groupby(["part", "device"]).agg(records=("seconds", "size"), minutes=("seconds", lambda x: x.sum() / 60),
                                             first_start=("start", "min"), last_end=("end", "max"),
                                             commits=("commit", lambda x: ", ".join(sorted(set(x))))).reset_index()
span["wall clock (UTC)"] = [f"{a:%Y-%m-%d %H:%M} → {b:%H:%M}" if a.date() == b.date() else f"{a:%Y-%m-%d %H:%M} → {b:%Y-%m-%d %H:%M}"
                            for a, b in zip(span.pop("first_start"), span.pop("last_end"))]
show_table(span, caption=f"where the runs ran: records per part and device ({P})", digits=1)

# %% [markdown]
# **{glue:text}`n_dirty` records name a dirty tree** ({glue:text}`dirty_commits`): the
# tables above mark their rows "dirty tree". The GPU machine that made them ran a copy of the
# working tree whose git metadata still named the commit the session had started from; the
# one file that differed from it was this chapter's parameters file, switched on in the next
# commit to run these parts (which runs exist, not how they train: every setting a run
# depends on is in its record's key). {glue:text}`n_dirty_current` of these records carry the
# code hash of today's chapter code (the check behind "stale code").
#
# ## Does the claim hold here?
#
# Per claim: the difference of the means in the claimed direction, its spread over runs
# (paired by run where the runs share their start and seed), and the verdict by the rule of
# `kdcore.results.verdicts`: **holds** if the 95 % Student-t interval of the difference lies
# above zero, **does not hold** if below, else **within noise**. A run that ended within two
# points of chance (0.5 on the two-class synthetic task, 0.1 elsewhere) counts as failed: it
# is left out of both sides, and the "failed" column counts it.

# %% tags=["hide-input"]
claims = report.claims_2022(columns) + (report.cross_claims(cfg.cross_teachers) if cfg.all_pairs else [])
verdicts = verdict_table(recs, claims, cfg.profile)
show_table(verdicts.assign(difference=verdicts.difference.map(lambda x: signed(x, 4)),
                           std=verdicts["std"].abs().map(lambda x: "—" if x != x else f"{x:.4f}"))
           [["verdict", "claim", "difference", "std", "n", "failed"]]
           .rename(columns={"difference": "difference (claimed direction)", "std": "sd"}),
           caption=f"one line per claim, from the run records ({P})")
SYN_GLUE = ("vc_grad_none", "vc_grad_none_v", "vc_naive_none", "vc_grad_naive", "vc_grad_naive_v", "vc_tuning_adds")
if "synthetic_corrected" in columns:
    v = verdicts.set_index("claim")
    lab = ch.LABELS["synthetic_corrected"]
    c = runs_df[runs_df.dataset == "synthetic_corrected"].groupby("method").accuracy.mean()
    vs = lambda base: v.loc[f"{lab}: gradient-tuned (lambda, T) beat {base}"]
    glue_all(vc_grad_none=signed(vs("no distillation").difference), vc_grad_none_v=vs("no distillation").verdict,
             vc_naive_none=signed(c["naive"] - c["none"]), vc_grad_naive=signed(vs("lambda = 0.5, T = 1").difference),
             vc_grad_naive_v=vs("lambda = 0.5, T = 1").verdict,
             vc_tuning_adds="a gain beyond seed noise" if vs("lambda = 0.5, T = 1").verdict == "holds"
             else "nothing beyond seed noise")
else:
    glue_missing(*SYN_GLUE)

# %% [markdown]
# **Reading, the 2022 table.** The corrected synthetic column is the one that tests the
# method (one feature set for every row, tuning on validation rows). There, gradient tuning
# against no distillation: {glue:text}`vc_grad_none` (**{glue:text}`vc_grad_none_v`**); the
# fixed naive setting λ = 0.5, T = 1 against no distillation: {glue:text}`vc_naive_none`;
# gradient tuning against that naive setting: {glue:text}`vc_grad_naive`
# (**{glue:text}`vc_grad_naive_v`**). What beats the student alone there is distillation
# itself; tuning $(\lambda, T)$ adds {glue:text}`vc_tuning_adds`. The faithful column's wins
# over the naive and random rows compare different inputs (see "What differed").
#
# A column with a run that never learned and at least three runs left is judged twice, with
# every run and without that run:

# %% tags=["hide-input"]
paper_mean = {n.setting: n.value for n in ch.NUMBERS}
twice = []
for d in columns:
    dead = sorted(run for dd, run in dead_keys if dd == d)
    if not dead or col_cfg[d].runs[d] - len(dead) < 3:
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
    show_table(both.reset_index(), caption=f"{ch.LABELS[d]}: the verdicts with every run, and{without} ({P})", digits=4)
    holds = [(both[k] == "holds").sum() for k in ("verdict", "verdict" + without)]
    twice.append({"column": ch.LABELS[d], "claims": str(len(col)), "holds_all": str(holds[0]), "holds_without": str(holds[1]),
                  "dead": ", ".join(map(str, dead)),
                  "paper_gain": signed(paper_mean[ch.setting(d, "gradient")] - paper_mean[ch.setting(d, "none")], 2),
                  "ours_gain": signed(both.loc[col[1].text, "difference" + without], 4),
                  "ours_n": str(both.loc[col[1].text, "n" + without]),
                  "ours_verdict": both.loc[col[1].text, "verdict" + without]})
if twice:
    glue_all(**{f"tw_{k}": v for k, v in twice[0].items()})
else:
    glue_missing(*(f"tw_{k}" for k in ("column", "claims", "holds_all", "holds_without", "dead", "paper_gain", "ours_gain",
                                       "ours_n", "ours_verdict")))

# %% [markdown]
# **Reading, {glue:text}`tw_column`.** Of its {glue:text}`tw_claims` claims,
# {glue:text}`tw_holds_all` hold with every run and {glue:text}`tw_holds_without` without
# run {glue:text}`tw_dead`. The paper's table has the gradient row {glue:text}`tw_paper_gain`
# above no distillation on this column; ours, without that run: {glue:text}`tw_ours_gain`
# ({glue:text}`tw_ours_n`, {glue:text}`tw_ours_verdict`).

# %% tags=["remove-cell"]
AP_GLUE = ("ap_counts", "ap_max_diff", "ap_beyond", "ap_share_u", "ap_share_t", "ap_alone", "ap_vid_range", "ap_reading")
v = verdicts[verdicts.setting == ch.cross_setting("conv_tiny", "tuned")] if cfg.all_pairs else verdicts.iloc[:0]
if len(v) and not share.empty:
    vid = v[v.baseline.str.contains("pairwise|uniform|random")]
    beyond = vid[vid.verdict != "within noise"]
    sh = share[share.teacher == "conv_tiny"].groupby("method")[["vid / ce, first epoch", "vid / ce, last epoch"]].mean()
    none_acc = cross[(cross.teacher == "conv_tiny") & (cross.method == "none")].accuracy
    vid_means = cross[(cross.teacher == "conv_tiny") & cross.method.isin(["pairwise", "uniform", "random", "tuned"])
                      ].groupby("method").accuracy.mean()
    quiet = (vid_means - none_acc.mean()).abs().max() < none_acc.std()
    glue_all(ap_counts="; ".join(f"{k}: {', '.join(b.split(': ')[-1] for b in v[v.verdict == k].baseline)}"
                                 for k in v.verdict.value_counts().index),
             ap_max_diff=f"{vid.difference.abs().max():.4f}",
             ap_beyond="none of these differences exceeds the seed noise" if beyond.empty else
             "beyond the seed noise: " + "; ".join(f"{b} ({d:+.4f}, {x})" for b, d, x in
                                                   zip(beyond.baseline, beyond.difference, beyond.verdict)),
             ap_share_u=f"{sh.loc['uniform'].iloc[0]:.1%} to {sh.loc['uniform'].iloc[1]:.1%}",
             ap_share_t=f"{sh.loc['tuned'].iloc[0]:.1%} to {sh.loc['tuned'].iloc[1]:.1%}",
             ap_alone=f"{none_acc.mean():.4f} ± {none_acc.std():.4f}",
             ap_vid_range=f"{vid_means.min():.4f} and {vid_means.max():.4f}",
             ap_reading="no weighting moves the student's mean by more than one seed sd of the student alone, so this "
                        "comparison cannot tell weightings apart (the studies above measure where it can)" if quiet else
                        "some weighting moves the student's mean by more than one seed sd of the student alone")
else:
    glue_missing(*AP_GLUE)

# %% [markdown]
# **Reading, all pairs from ConvTiny at β = {glue:text}`cross_beta`.** Tuned $\lambda_{ij}$
# against each baseline: {glue:text}`ap_counts`. Against the fixed VID weightings (pairwise,
# uniform, random) the tuned runs differ by at most {glue:text}`ap_max_diff` in mean
# accuracy; {glue:text}`ap_beyond`. The weighted VID sum goes from {glue:text}`ap_share_u` of
# the cross-entropy term over the uniform runs and from {glue:text}`ap_share_t` over the
# tuned runs, whose weight gathers on one pair (the heatmap). The student alone ends at
# {glue:text}`ap_alone`, the VID weightings' means between {glue:text}`ap_vid_range`:
# {glue:text}`ap_reading`. ConvTiny and ConvVeryTiny are one CNN design at two widths: the
# claim about architectures that differ is the ResNet18 study's to test (above; at this build
# it {glue:text}`r18_status`), not these runs'.
#
# ## What differed from the paper
#
# - **Runs and epochs** are those of the profile; the table under "The 2022 table" sets them
#   against the authors' per column.
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
#   hyperopt package). On the synthetic columns each run is its own small search whose best
#   trial (on the upper level's rows) is the run, as the authors' code; on the image columns
#   one search whose trials are the runs. The *max* column of the paper is a best-of-runs on
#   the test set; we show it for comparison only.
# - **λ's side.** The authors' synthetic gradient code put λ on the soft term and 1 − λ on
#   the cross-entropy; ours puts λ on the cross-entropy everywhere. The random starts
#   $\lambda \sim U(0, 1)$ have the same distribution either way, but run $r$ starts elsewhere.
# - **Mini-epochs** of the trajectory extrapolation: 100 full-batch steps on the synthetic
#   data (authors), a tenth of an epoch on the image data (a guess).
# - **Teachers.** Synthetic: the authors' logistic regression on the indicator feature (a
#   student can beat it). CIFAR: a ResNet trained here on the training split (the paper used
#   "a pretrained CIFAR ResNet"); Fashion-MNIST: ConvTiny (the paper names none); the
#   CIFAR-10 test set is the offline mirror's copy named in the records.
# - **The draft's experiments**: a ResNet has no `fc1`, so its last block output is paired
#   with the student's `fc1`; the single-pair run is done in both directions of $\mu$. The
#   all-pairs weight $\beta$ of the VID sum is fixed at `cross_beta` (the best *last-epoch*
#   $\lambda$ of the authors' logged sweep; by best epoch $10^{-5}$ ranks first), and the
#   teacher layers of a ResNet are its stem and the last block of each stage. The two
#   all-pairs studies choose $\beta$ on validation instead, and pool each pair to the smaller
#   resolution (a labelled variant of the exact-size regressors).
# - **Where the CIFAR-10 runs ran.** CIFAR-10 reduced, the sweep, the single-pair runs and the
#   all-pairs runs were made on one H100 in three calls, ten to twelve processes sharing it
#   (the parameters file gives the commands). The CIFAR-10 reduced ResNet18 teacher was trained
#   again at the start of each call, with deterministic GPU kernels, and its weights had the same
#   SHA-256 each time, so every record of these parts distils from one teacher; the ConvTiny
#   teacher was trained once on the CPU and carried. The studies ran on the 2-core CPU.
# - **Full CIFAR-10** ran apart, on the 2-core CPU, from its own parameters file: its 45,000
#   training images are more than one call to the lent GPU can carry. To fit the CPU its
#   ResNet18 teacher trained {glue:text}`c10_teacher_epochs` epochs instead of
#   {glue:text}`teacher_epochs`, and its students {glue:text}`c10_runs` runs ×
#   {glue:text}`c10_epochs` epochs (the paper: {glue:text}`c10_paper`). Its verdicts rest on
#   a spread estimated from that many runs per row (their n says so).
# - **Hinton's baseline** in the all-pairs comparison is the textbook loss at T = 4, α = 0.9,
#   untuned; under this SGD it trains worse than the student alone (measured above).
