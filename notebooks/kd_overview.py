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
# # Knowledge distillation: soft targets, temperature, and Optimal Brain Damage
#
# *Source: the Wikipedia article "Knowledge distillation" (CC BY-SA 4.0), which summarises
# Hinton, Vinyals & Dean {cite}`hinton2015distilling`, model compression by Buciluă et al.
# {cite}`bucilua2006model` and Optimal Brain Damage by LeCun et al. {cite}`lecun1990obd`.*
#
# **The claim.** A small *student* trained to match the softened output distribution of a
# large *teacher* (the *soft targets*, a softmax at temperature $t$) generalises better than
# the same student trained on hard labels alone; on MNIST, Hinton et al. report 146 test
# errors for an 800-800 student alone and 74 when it is distilled at $t = 20$ from a
# 1200-1200 teacher that makes 67. The soft targets even carry a class the student never
# sees. The soft term must be weighted by $t^2$, because its gradient shrinks as $1/t^2$; at
# high temperature, with zero-mean logits, distillation becomes logit matching. A related way
# to shrink a network is to delete the weights whose removal costs least, estimated from the
# Hessian diagonal (OBD).
#
# Every number below comes from a run record (see the [results page](../results.md)). This
# page was executed with the **{glue:text}`profile`** profile (records in
# {glue:text}`results_dir`); the chapter ends with a verdict per claim computed from those
# records. The code of every figure and table is folded under it: unfold it, or open the
# chapter in Colab to run it.

# %% tags=["remove-cell"]
# In Colab or a fresh environment: install kdcore from the book's repository if it is missing.
import importlib.util
import subprocess
import sys

if importlib.util.find_spec("kdcore") is None:
    subprocess.check_call([sys.executable, "-m", "pip", "install", "-q",
                           "git+https://github.com/kd-book/kd-book.git"])

# %% tags=["parameters", "remove-cell"]
# Smoke profile: runs in seconds. The paper profile is notebooks/params/kd_overview.yaml.
profile = "smoke"
dataset = "mnist"
n_train = 2000
teacher_hidden = [1200, 1200]
student_hidden = [800, 800]
teacher_epochs = 2
teacher_dropout = 0.5
teacher_input_dropout = 0.2
teacher_jitter = 2
teacher_max_norm = 0.0
teacher_lr_decay = 1.0
student_epochs = 2
student_lr_decay = 1.0
batch_size = 128
bf16 = False
lr = 1e-3
temperature = 20.0
alpha = 0.9
temperatures = [1.0, 20.0]
seeds = [0]
sweep_seeds = [0]
ensemble_size = 2
omitted_class = 3
bias_shifts = [0.0, 3.5]
dark_knowledge_temperatures = [1.0, 5.0, 20.0]
obd_hidden = 16
obd_epochs = 2
obd_seeds = [0]
obd_hessian_rows = 200
hutchinson_probes = 20
hutchinson_probes_more = 50
prune_fractions = [0.0, 0.5, 0.9]

# %% tags=["remove-cell"]
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
import torch
from scipy import stats as _stats

from kdcore import chapters as book
from kdcore import data as kdata
from kdcore.chapters import kd_overview as ch
from kdcore.results.display import (glue, glue_all, mean_std_table, profile_notice, relative_path, show_comparison,
                                    show_markdown, show_source, show_table)
from kdcore.losses import kd_loss
from kdcore.models import MLP, weight_count
from kdcore.obd import obd_saliency
from kdcore.training.regularization import RandomShift
from kdcore.results import RunStore, comparison_table, format_mean_std
from kdcore.results.verdicts import Claim, verdict_markdown, verdict_table

cfg = ch.KDOverviewConfig.from_namespace(globals())   # validates every parameter first
store = RunStore(profile=cfg.profile)   # a smoke run keeps its records in a scratch folder
sns.set_theme(style="whitegrid", context="notebook")
glue_all(profile=cfg.profile, results_dir=str(relative_path(store.root)))


def records(setting: str) -> list[dict]:
    """This profile's records of one setting (exact name)."""
    return [r for r in store.records(ch.CHAPTER) if r["profile"] == cfg.profile and r["setting"] == setting]


def glue_missing(*names: str) -> None:
    """Glue a dash for numbers this profile does not produce (the paper profile always does)."""
    for name in names:
        glue(name, "—")


# %% tags=["remove-input"]
profile_notice(cfg.profile)


# %% [markdown]
# ## The distillation loss
#
# With student logits $z$, teacher logits $v$ and $p_i(z, t) = e^{z_i/t} / \sum_j e^{z_j/t}$,
#
# $$\mathcal{L} = \alpha\, t^2\, \mathrm{KL}\big(p(v, t)\,\|\,p(z, t)\big) + (1-\alpha)\, \mathrm{CE}\big(y, p(z, 1)\big).$$
#
# The KL divergence differs from the soft cross-entropy only by the teacher's entropy, a
# constant for the student, so both give the same gradients. The implementation the book
# runs everywhere:

# %% tags=["remove-input"]
show_source(kd_loss)

# %% [markdown]
# ## Why $t^2$, and the logit-matching limit
#
# $\partial\, \mathrm{KL} / \partial z_i = \frac{1}{t}\,(p_i(z,t) - p_i(v,t))$. For large $t$,
# $e^{z_i/t} \approx 1 + z_i/t$, and with zero-mean logits
# $p_i(z,t) - p_i(v,t) \approx (z_i - v_i)/(N t)$: the unweighted gradient falls as $1/t^2$,
# and $t^2$ times it tends to $(z_i - v_i)/N$, the gradient of $\frac{1}{2N}\|z - v\|^2$.
# Below: autograd through `kd_loss` on random zero-mean logits ($N = 10$ classes).

# %% tags=["hide-input"]
grad_table = ch.gradient_scaling_table([1, 2, 5, 10, 20, 50, 100, 200])
fig, axes = plt.subplots(2, 1, figsize=(6.5, 6.5))
g = grad_table.melt("T", ["grad_norm_without_T2", "grad_norm_with_T2"], var_name="loss", value_name="norm")
g["loss"] = g["loss"].map({"grad_norm_without_T2": "KL alone", "grad_norm_with_T2": r"$t^2\cdot$KL"})
sns.lineplot(g, x="T", y="norm", hue="loss", marker="o", ax=axes[0])
axes[0].set(xscale="log", yscale="log", xlabel="temperature $t$", ylabel="gradient norm",
            title="soft-term gradient vs temperature")
sns.lineplot(grad_table, x="T", y="rel_gap_to_logit_matching", marker="o", ax=axes[1])
axes[1].set(xscale="log", yscale="log", xlabel="temperature $t$", ylabel="relative gap",
            title=r"distance to logit matching: $\|t^2\nabla\mathrm{KL} - (z-v)/N\| \,/\, \|(z-v)/N\|$")
plt.tight_layout()
plt.show()
slope = np.diff(np.log(grad_table.grad_norm_without_T2)) / np.diff(np.log(grad_table["T"]))
gap_slope = np.diff(np.log(grad_table.rel_gap_to_logit_matching)) / np.diff(np.log(grad_table["T"]))
glue_all(slope_kl=float(slope[-1]), slope_gap=float(gap_slope[-1]),
         gap_last=float(grad_table.rel_gap_to_logit_matching.iloc[-1]), t_last=float(grad_table["T"].iloc[-1]))

# %% [markdown]
# The unweighted gradient falls with log-log slope {glue:text}`slope_kl:.3f` at large $t$
# (theory: −2), so $t^2$ keeps the soft term's weight constant; the relative gap to logit
# matching, $\lVert t^2 \nabla \mathrm{KL} - (z - v)/N \rVert / \lVert (z - v)/N \rVert$ ($N$ classes),
# falls with slope {glue:text}`slope_gap:.3f` (theory: −1), down to {glue:text}`gap_last:.1e`
# at $t$ = {glue:text}`t_last:g`.

# %% [markdown]
# ## Data and models
#
# MNIST {cite}`lecun1998mnist`; the teacher and student sizes are those of Hinton et al.
# (2 hidden layers of 1200, resp. 800, ReLU units). The facts below do not depend on the
# profile (this cell's output is checked by the test suite):

# %% tags=["hide-input"]
# NBVAL_CHECK_OUTPUT
train_full, test_full = kdata.load_mnist(True), kdata.load_mnist(False)
big, small = kdata.random_split(train_full, [59000, 1000], seed=1234)
print("MNIST train / test rows:", len(train_full), len(test_full))
print("weights (no biases) of 784-1200-1200-10:", weight_count(MLP([784, 1200, 1200, 10])))
print("weights (no biases) of 784-800-800-10:", weight_count(MLP([784, 800, 800, 10])))
print("59000/1000 split, seed 1234: first Small labels", small.y[:10].tolist())

# %% tags=["remove-cell"]
data = ch.load_data(cfg)
glue_all(train_rows=f"{len(data.train):,}", test_rows=f"{len(data.test):,}")

# %% [markdown]
# ## The teacher: Hinton's regularisers, our optimiser
#
# Hinton et al.'s teacher was "strongly regularised" with dropout and weight constraints and
# saw every training image "jittered by up to two pixels in any direction". This first
# teacher has those regularisers (dropout on the hidden units and the inputs, a max-norm
# bound on each unit's incoming weights, every batch shifted on the device by `RandomShift`:
# each image by its own offset, the border filled with zeros) but trains with Adam for the
# profile's epochs; the teacher in Hinton's own optimisation regime comes after the
# temperature sweep.

# %% tags=["hide-input"]
torch.manual_seed(0)
shift = RandomShift(cfg.teacher_jitter)
fig, axes = plt.subplots(1, 6, figsize=(6.5, 1.4))
first = data.test.subset(torch.arange(1)).inputs()                 # (1, 1, 28, 28)
for ax, img in zip(axes, torch.cat([first, shift(first.repeat(5, 1, 1, 1))])):
    ax.imshow(img[0], cmap="gray_r")
    ax.axis("off")
axes[0].set_title("original", fontsize=9)
plt.show()

# %% [markdown]
# The teachers and students of this page train on {glue:text}`train_rows` images and are
# tested on {glue:text}`test_rows`, with Adam (batch {glue:text}`batch`, learning rate
# {glue:text}`lr:g`, multiplied after every epoch by {glue:text}`teacher_decay:g` for the
# teachers, {glue:text}`teacher_epochs` epochs, and by {glue:text}`student_decay:g` for the
# students, {glue:text}`student_epochs` epochs, alone and distilled alike), in
# {glue:text}`precision`.

# %% tags=["hide-input"]
teachers = ch.ensemble_runs(cfg, data, store)
glue_all(batch=cfg.batch_size, lr=cfg.lr, teacher_decay=cfg.teacher_lr_decay, teacher_epochs=cfg.teacher_epochs,
         student_decay=cfg.student_lr_decay, student_epochs=cfg.student_epochs,
         precision="bf16 autocast" if cfg.bf16 else "fp32")
teacher_rows = teachers[teachers.setting == ch.teacher_name(cfg)]
mean_std_table(teacher_rows, "setting", ["test_errors", "accuracy"],
               caption=f"teachers, seeds {sorted(teacher_rows.seed.tolist())} (profile: {cfg.profile})")

# %% [markdown]
# ### Dark knowledge
#
# What the student learns from is the teacher's whole distribution, most visible at a high
# temperature: for the first test image of a few digits, the probabilities the teacher
# gives to the *wrong* classes (from its record, profile as labelled).

# %% tags=["hide-input"]
dk = records(ch.teacher_name(cfg))[0]["extra"]["dark_knowledge"]
logits = torch.tensor(dk["logits"])
rows = [{"digit": f"a {d}", "T": t, "class": k, "probability": p}
        for d in (2, 3) for t in cfg.dark_knowledge_temperatures
        for k, p in enumerate(torch.softmax(logits[d] / t, -1).tolist())]
grid = sns.catplot(pd.DataFrame(rows), x="class", y="probability", hue="T", col="digit", kind="bar",
                   height=3.0, aspect=1.1, palette="viridis", sharey=True)
grid.set(yscale="log", ylim=(1e-6, 1.5))
grid.figure.suptitle(f"teacher (seed 0) softened outputs, log scale (profile: {cfg.profile})", y=1.05)
plt.show()

# %% [markdown]
# At $t = 1$ the teacher puts nearly all its mass on the right digit; as $t$ rises, the
# ranking of the wrong classes (which digits a 2 resembles) becomes a visible part of the
# target, and that is what a student trained on hard labels never sees.
#
# ## Student alone, student distilled
#
# Both students have the same size, initialisation (per seed), epochs and learning-rate
# schedule; the distilled one reads the teacher's logits, computed once for the training set
# and indexed with the same shuffled rows.

# %% tags=["hide-input"]
runs = ch.distillation_runs(cfg, data, store)
headline = runs[runs.setting.isin([f"{ch.student_name(cfg)} alone", f"{ch.student_name(cfg)} distilled T={cfg.temperature:g}"])]
mean_std_table(headline, "setting", ["test_errors", "accuracy"],
               caption=f"MNIST test errors out of 10,000 (profile: {cfg.profile})")


# %% tags=["hide-input"]
def curves(settings: list[str]) -> pd.DataFrame:
    return pd.DataFrame([{"run": r["setting"], "seed": r["seed"], "epoch": e, "test errors": (1 - a) * len(data.test)}
                         for s in settings for r in records(s)
                         for e, a in zip(r["history"]["test_epochs"], r["history"]["test_metric"])])


shown = [ch.teacher_name(cfg), f"{ch.student_name(cfg)} alone", f"{ch.student_name(cfg)} distilled T={cfg.temperature:g}"]
fig, ax = plt.subplots(figsize=(6.5, 3.8))
sns.lineplot(curves(shown), x="epoch", y="test errors", hue="run", errorbar="sd", ax=ax)
ax.set(yscale="log", title=f"MNIST test errors per epoch (mean ± sd over seeds; profile: {cfg.profile})")
plt.show()

# %% tags=["remove-cell"]
verdicts = verdict_table(store.records(ch.CHAPTER), ch.claims(cfg), cfg.profile)
kd_row = verdicts[verdicts.claim.str.startswith(f"distillation at T={cfg.temperature:g}")].iloc[0]
glue_all(kd_t=cfg.temperature, kd_diff=float(-kd_row.difference), kd_n=str(kd_row.n), kd_sd=float(kd_row["std"]),
         kd_verdict=kd_row.verdict)

# %% [markdown]
# Distilled at $t$ = {glue:text}`kd_t:g`, the student's test errors differ from the student
# alone by {glue:text}`kd_diff:+.1f` (paired over {glue:text}`kd_n`, standard deviation
# {glue:text}`kd_sd:.1f`): **{glue:text}`kd_verdict`**. The rule: the 95 % Student-t interval
# of the paired differences lies wholly on one side of zero. The curves show whether both
# students had reached their plateau when training stopped.

# %% [markdown]
# ### Temperature sweep

# %% tags=["hide-input"]
sweep = runs.dropna(subset=["temperature"])
fig, ax = plt.subplots(figsize=(6.5, 3.5))
sns.lineplot(sweep, x="temperature", y="test_errors", marker="o", errorbar="sd", label="distilled", ax=ax)
base = runs[runs.temperature.isna()].test_errors
ax.axhline(base.mean(), color="grey", ls="--", label="student alone (mean)")
ax.set(xscale="log", xlabel="temperature $t$", ylabel="test errors",
       title=f"student test errors vs temperature (seeds {cfg.sweep_seeds}; profile: {cfg.profile})")
ax.legend()
plt.show()
by_t = sweep.groupby("temperature").test_errors.agg(["mean", "std", "size"])
glue_all(sweep_per_t=", ".join(f"t = {t:g}: {m:.0f} ± {sd:.0f}" for t, m, sd in
                               zip(by_t.index, by_t["mean"], by_t["std"])),
         sweep_seeds=(f"{int(by_t['size'].min())} seeds each" if by_t["size"].nunique() == 1
                      else f"{int(by_t['size'].min())}-{int(by_t['size'].max())} seeds"),
         sweep_base=float(base.mean()), sweep_best=float(by_t["mean"].idxmin()), sweep_worst=float(by_t["mean"].idxmax()),
         sweep_all_below=("every temperature of the sweep, t = 1 included, ends below the student alone"
                          if (by_t["mean"] < base.mean()).all() else "not every temperature ends below the student alone"))

# %% [markdown]
# Mean test errors per temperature: {glue:text}`sweep_per_t` ({glue:text}`sweep_seeds`),
# against {glue:text}`sweep_base:.0f` for the student alone. The fewest errors are at
# $t$ = {glue:text}`sweep_best:g`, the most at $t$ = {glue:text}`sweep_worst:g`;
# {glue:text}`sweep_all_below`. The sweep is read on the test set, so it describes the
# temperature's effect and chooses nothing (the headline uses Hinton's $t$ = {glue:text}`kd_t:g`).

# %% [markdown]
# ## The teacher in Hinton's own regime
#
# The teacher above trains with Adam for the profile's epochs. Hinton et al.'s teacher
# followed the dropout nets of Hinton et al. (2012): plain SGD with a momentum rising from
# 0.5 to 0.99 over 500 epochs, a learning rate decaying by 0.998 an epoch, a max-norm bound
# of 15 on each hidden unit's incoming weights, dropout 0.2 on the inputs and 0.5 on the
# hidden units, for thousands of epochs. The study `kdcore.studies.hinton_teacher` trains
# that teacher on the first 50,000 training images, making every choice on the last 10,000
# (its initial learning rate: 3 diverged, 1 and 0.3 were tried, 0.3 kept), and resumes
# across sessions; this chapter reads its weights at a fixed epoch and distils the same
# students from it. Everything but the teacher is as above (seeds, $t$, $\alpha$, the
# students' schedule), so each pair of rows below measures what changing the teacher changes: one
# teacher against one other, which differ in optimiser, length, max-norm (15 against 3.5) and
# training rows (50,000 against 60,000), not in their regime alone.
# The verdict on this pair varies the students' seeds only: one teacher of each kind ran, so
# how much another teacher run would move it is not in its interval.

# %% tags=["hide-input"]
if ch.hinton2012_stored(cfg, store):
    regime = ch.hinton2012_runs(cfg, data, store)
    distilled_2012, transfer_2012 = ch.hinton2012_names(cfg)
    adam_teacher = teacher_rows[teacher_rows.seed == 0].assign(setting=f"{ch.teacher_name(cfg)}, Adam (seed 0)")
    pairs = pd.concat([adam_teacher, regime[regime.setting == ch.hinton2012_name(cfg)],
                       runs[runs.setting == f"{ch.student_name(cfg)} distilled T={cfg.temperature:g}"],
                       regime[regime.setting == distilled_2012]])
    mean_std_table(pairs, "setting", ["test_errors", "accuracy"],
                   caption=f"the two teachers and the students distilled from them (profile: {cfg.profile})")
    t2012 = ch.hinton2012_teacher(cfg, data, store).record
    curve = pd.DataFrame(t2012["history"])
    fig, ax = plt.subplots(figsize=(6.5, 3.2))
    ax.plot(curve["epoch"], curve["val_errors"], lw=1)
    ax.set(yscale="log", xlabel="epoch", ylabel="validation errors (of 10,000)",
           title=f"2012-regime teacher: validation errors per epoch, to epoch {len(curve)}")
    plt.show()
    gain = (runs[runs.setting == f"{ch.student_name(cfg)} distilled T={cfg.temperature:g}"].set_index("seed").test_errors
            - regime[regime.setting == distilled_2012].set_index("seed").test_errors).dropna()
    # The study's milestones before the chosen epoch (its learning-rate trials of 10 epochs left out).
    miles = sorted((r["metrics"]["epochs"], r["metrics"]["test_errors"])
                   for r in RunStore(store.root, profile="paper").records("hinton_teacher")
                   if r["profile"] == "paper" and r["setting"] == "teacher" and 10 < r["metrics"]["epochs"])
    glue("t2012_milestones", ", ".join(f"{e:.0f} test errors at epoch {ep:.0f}" for ep, e in miles))
    glue_all(t2012_errors=t2012["metrics"]["test_errors"], t2012_epoch=t2012["params"]["at_epoch"],
             adam_errors=float(adam_teacher.test_errors.iloc[0]),
             kd2012_mean=float(regime[regime.setting == distilled_2012].test_errors.mean()),
             kd_adam_mean=float(runs[runs.setting == f"{ch.student_name(cfg)} distilled T={cfg.temperature:g}"]
                                .test_errors.mean()),
             regime_gain=float(gain.mean()), regime_pairs=len(gain))
else:
    regime = None
    glue_missing("t2012_errors", "t2012_epoch", "adam_errors", "kd2012_mean", "kd_adam_mean", "regime_gain",
                 "regime_pairs", "t2012_milestones")
    show_markdown(f"(The 2012-regime teacher is stored for the paper profile only, from the study's long run; "
                  f"this is the {cfg.profile} profile.)")

# %% [markdown]
# The 2012-regime teacher makes {glue:text}`t2012_errors:.0f` test errors at epoch
# {glue:text}`t2012_epoch` (Hinton et al.: 67), against {glue:text}`adam_errors:.0f` for the
# Adam teacher of seed 0. Taught by it, the distilled student makes
# {glue:text}`kd2012_mean:.0f` errors on average against {glue:text}`kd_adam_mean:.0f` from
# the Adam teacher ({glue:text}`regime_gain:.1f` fewer, paired over {glue:text}`regime_pairs`
# seeds; the verdict at the end tests it).

# %% [markdown]
# ### The students' schedule, searched on validation
#
# Taught by a teacher within a few errors of Hinton's (one run: {glue:text}`t2012_milestones`),
# the distilled student still ends above their 74; by its last epoch the chapter's schedule
# has decayed the learning rate {glue:text}`student_decay_fold`-fold.
# The study `kdcore.studies.hinton_student` trains the distilled student under longer
# schedules and with a lower weight on the hard labels, on the 50,000 images the teacher was
# trained on, and chooses on the other 10,000 (which the teacher never saw); the test errors
# are reported, never used to choose.

# %% tags=["hide-input"]
search = [r for r in RunStore(store.root, profile="paper").records("hinton_student") if r["profile"] == "paper"]
if search:
    runs_df_s = pd.DataFrame([{"variant": r["setting"], "seed": r["seed"], "epochs": r["params"]["epochs"],
                               "lr decay": r["params"]["lr_decay"], "alpha": r["params"]["alpha"],
                               "validation errors": r["metrics"]["val_errors"], "test errors": r["metrics"]["test_errors"]}
                              for r in search])
    search_df = (runs_df_s.groupby(["variant", "epochs", "lr decay", "alpha"], dropna=False)
                 .agg(**{"validation errors": ("validation errors", "mean"), "val sd": ("validation errors", "std"),
                         "test errors": ("test errors", "mean"), "test sd": ("test errors", "std"),
                         "seeds": ("seed", "size")})
                 .reset_index().sort_values("validation errors").reset_index(drop=True))
    show_table(search_df, caption="800-800 students (distilled: from the 2012-regime teacher, T = 20; alone: no teacher): mean over "
                                  "seeds, chosen by "
                                  "validation errors (of 10,000), test errors reported (paper profile)", digits=3)
    distilled_search = search_df[search_df.alpha.notna()]
    best = distilled_search.iloc[0]
    base = search_df[search_df.variant == "chapter schedule"].iloc[0]
    runner_up = distilled_search.iloc[1] if len(distilled_search) > 1 else None
    # Welch's t-interval of the two schedules' validation errors over their seeds: is the pick resolved?
    if runner_up is not None:
        va = runs_df_s[runs_df_s.variant == best.variant]["validation errors"]
        vb = runs_df_s[runs_df_s.variant == runner_up.variant]["validation errors"]
        ci = _stats.ttest_ind(vb, va, equal_var=False).confidence_interval(0.95)
        close = ci.low <= 0
    else:
        close = False
    glue("student_decay_fold", f"{1 / cfg.student_lr_decay ** (cfg.student_epochs - 1):.0f}")
    glue_all(search_best=best.variant, search_best_seeds=int(best.seeds), search_best_val=float(best["validation errors"]),
             search_base_val=float(base["validation errors"]), search_base_seeds=int(base.seeds),
             search_close=(f"Its lead over *{runner_up.variant}* ({runner_up['validation errors'] - best['validation errors']:.1f}"
                           f" validation errors; 95 % Welch interval {ci.low:+.1f} to {ci.high:+.1f}) is not resolved by "
                           f"these seeds" + (f", and on the test set the order reverses ({best['test errors']:.1f} against "
                                            f"{runner_up['test errors']:.1f})" if runner_up["test errors"] < best["test errors"]
                                            else "") + "." if close else
                           f"Its lead over the next schedule, *{runner_up.variant}*, is resolved by these seeds (95 % "
                           f"Welch interval {ci.low:+.1f} to {ci.high:+.1f} validation errors)." if runner_up is not None
                           else "No other distilled schedule ran."),
             search_best_test=float(best["test errors"]),
             search_gap=("The longer schedule closes most of the gap to Hinton's number." if best["test errors"] <= 80
                         else f"Every schedule tried stays above Hinton's number (the fewest test errors of any: "
                              f"{distilled_search['test errors'].min():.0f}); what still differs is named below."))
else:
    glue_missing("search_best", "search_best_seeds", "search_best_val", "search_base_val", "search_base_seeds",
                 "search_close", "search_best_test", "search_gap")
    show_markdown(f"(The study `kdcore.studies.hinton_student` runs at the paper profile; this is the "
                  f"{cfg.profile} profile.)")

# %% [markdown]
# On validation the best schedule is *{glue:text}`search_best`* ({glue:text}`search_best_seeds`
# seed(s)): {glue:text}`search_best_val:.0f` errors against {glue:text}`search_base_val:.0f`
# for the chapter's schedule ({glue:text}`search_base_seeds` seed(s)).
# {glue:text}`search_close` Its test errors are {glue:text}`search_best_test:.0f` (Hinton et
# al.: 74, from a student trained on all 60,000 images; these saw 50,000).
# {glue:text}`search_gap`

# %% [markdown]
# ## An ensemble as the teacher
#
# The soft targets are the average of the members' softened distributions; the members
# differ only in their seed. The ensemble's own errors come from the mean of its members'
# probabilities.

# %% tags=["hide-input"]
mean_std_table(teachers, "setting", ["test_errors", "accuracy"],
               caption=f"teachers, their ensemble, and the student distilled from it (profile: {cfg.profile})")
ens_student = teachers[teachers.setting.str.startswith(ch.student_name(cfg))].test_errors
ens_own = teachers[teachers.setting == ch.ensemble_name(cfg)].test_errors
one = runs[runs.setting == f"{ch.student_name(cfg)} distilled T={cfg.temperature:g}"].test_errors
glue_all(ens_own=float(ens_own.mean()), ens_member=float(teacher_rows.test_errors.mean()),
         ens_seed0=float(teacher_rows[teacher_rows.seed == 0].test_errors.iloc[0]),
         ens_student=float(ens_student.mean()), ens_one=float(one.mean()))

# %% [markdown]
# The ensemble makes {glue:text}`ens_own:.0f` errors against {glue:text}`ens_member:.0f` for
# one teacher (mean of its members); the student distilled from it makes
# {glue:text}`ens_student:.0f`, against {glue:text}`ens_one:.0f` from one teacher. That one
# teacher is the member of seed 0 ({glue:text}`ens_seed0:.0f` errors), the one every distilled
# student of this chapter reads; it is not the best member, so the verdict at the end (paired
# by seed) compares the ensemble's student with the student of one particular teacher, not
# with the best single teacher.

# %% [markdown]
# ## A transfer set without one class
#
# Hinton et al. removed every example of the digit 3 from the transfer set. A student on
# hard labels then never predicts 3; the teacher's soft targets on the other digits still
# carry information about 3s (a 3 that looks a little like an 8, say). The distilled student
# still under-predicts the unseen class, whose output bias it never learned, so Hinton et
# al. raised that bias by 3.5 (their numbers, as data: 206 errors, 133 of them on 3s; 109 and
# 14 after the raise).

# %% tags=["hide-input"]
tr = ch.transfer_set_runs(cfg, data, store)
c = cfg.omitted_class
cols = ["test_errors", f"errors_on_{c}", ch.bias_metric("test_errors", c, 3.5), ch.bias_metric(f"errors_on_{c}", c, 3.5)]
mean_std_table(tr, "setting", [k for k in cols if k in tr], caption=f"transfer set without {c}s (profile: {cfg.profile})")

# %% tags=["hide-input"]
bias = pd.DataFrame([{"run": r["setting"].split(", ")[-1], "seed": r["seed"], **p}
                     for name in ch.transfer_names(cfg) for r in records(name) for p in r["extra"]["bias_curve"]])
long = bias.melt(["run", "seed", "bias_shift"], ["test_errors", f"errors_on_{c}"], var_name="errors", value_name="count")
grid = sns.relplot(long, x="bias_shift", y="count", hue="run", col="errors", kind="line", errorbar="sd",
                   height=3, aspect=1.0, facet_kws={"sharey": False})
grid.set_axis_labels(f"raise of the {c}'s output bias", "test errors")
for ax in grid.axes.flat:
    ax.axvline(3.5, color="grey", ls=":")
grid.figure.suptitle(f"errors vs the bias raise (dotted: Hinton's 3.5; profile: {cfg.profile})", y=1.04)
plt.show()

# %% tags=["remove-cell"]
kd_tr = tr[tr.setting == ch.transfer_names(cfg)[1]]
kd_curve = bias[bias.run == ch.transfer_names(cfg)[1].split(", ")[-1]].groupby("bias_shift")["test_errors"].mean()
raised = kd_tr[ch.bias_metric("test_errors", c, 3.5)].mean()
glue_all(omitted=c, tr_errors=float(kd_tr.test_errors.mean()), tr_errors_c=float(kd_tr[f"errors_on_{c}"].mean()),
         tr_acc_c=float(100 * kd_tr[f"accuracy_on_{c}"].mean()),
         tr_bias_effect="over-corrects" if raised > kd_tr.test_errors.mean() else "lowers them",
         tr_raised=float(raised), tr_raised_c=float(kd_tr[ch.bias_metric(f"errors_on_{c}", c, 3.5)].mean()),
         tr_curve_min=float(kd_curve.min()), tr_curve_at=float(kd_curve.idxmin()))

# %% [markdown]
# Without a single {glue:text}`omitted` in its transfer set, the distilled student makes
# {glue:text}`tr_errors:.0f` test errors, {glue:text}`tr_errors_c:.0f` of them on the 1010
# {glue:text}`omitted`s (Hinton et al.: 206 and 133): it already recognises
# {glue:text}`tr_acc_c:.1f` % of them, where a student on hard labels cannot recognise any.
# Raising the bias of the {glue:text}`omitted` by Hinton's 3.5 then
# {glue:text}`tr_bias_effect`: {glue:text}`tr_raised:.0f` errors, {glue:text}`tr_raised_c:.0f`
# of them on {glue:text}`omitted`s (Hinton: 109 and 14). The curve's lowest point,
# {glue:text}`tr_curve_min:.0f` errors at a raise of {glue:text}`tr_curve_at:g`, is read off
# the test set, so it describes the trade-off and picks nothing.

# %% tags=["hide-input"]
if regime is not None:   # the same transfer set, taught by the 2012-regime teacher (Hinton's numbers are set against it)
    t12 = regime[regime.setting == ch.hinton2012_names(cfg)[1]]
    mean_std_table(t12, "setting", [k for k in cols if k in t12],
                   caption=f"transfer set without {c}s, 2012-regime teacher (profile: {cfg.profile})")
    raised12 = t12[ch.bias_metric("test_errors", c, 3.5)].mean()
    glue_all(t12_errors=float(t12.test_errors.mean()), t12_errors_c=float(t12[f"errors_on_{c}"].mean()),
             t12_acc_c=float(100 * t12[f"accuracy_on_{c}"].mean()),
             t12_direction="lowers that to" if raised12 < t12.test_errors.mean() else "raises that to",
             t12_raised=float(raised12), t12_raised_c=float(t12[ch.bias_metric(f"errors_on_{c}", c, 3.5)].mean()))
else:
    glue_missing("t12_errors", "t12_errors_c", "t12_acc_c", "t12_direction", "t12_raised", "t12_raised_c")

# %% [markdown]
# Taught by the 2012-regime teacher, the student without {glue:text}`omitted`s makes
# {glue:text}`t12_errors:.0f` test errors, {glue:text}`t12_errors_c:.0f` of them on
# {glue:text}`omitted`s ({glue:text}`t12_acc_c:.1f` % of them recognised; Hinton et al.: 206
# and 133, that is 86.8 %); Hinton's raise of 3.5 {glue:text}`t12_direction`
# {glue:text}`t12_raised:.0f`, {glue:text}`t12_raised_c:.0f` on {glue:text}`omitted`s (Hinton:
# 109 and 14). The verdicts at the end use this student.

# %% [markdown]
# ## Optimal Brain Damage
#
# Near an optimum the loss increase from deleting weight $i$ is about
# $s_i = \tfrac12 h_{ii} \theta_i^2$ (off-diagonal Hessian terms dropped). We train a
# 784-h-10 MLP, compute $h_{ii}$ exactly (one Hessian-vector product per weight,
# `torch.func`) and by Hutchinson's estimator $\mathbb{E}[v \odot Hv]$, and delete the
# lowest-saliency weights in one shot, against deleting the smallest weights.

# %% tags=["remove-input"]
show_source(obd_saliency)

# %% tags=["hide-input"]
obd = [ch.obd_experiment(cfg, data, store, seed) for seed in cfg.obd_seeds]
curve = pd.DataFrame([{**p, "seed": r["seed"]} for r in obd for p in r["extra"]["curve"]])
fig, axes = plt.subplots(2, 1, figsize=(6.5, 7.5))
sns.lineplot(curve, x="fraction", y="accuracy", hue="method", hue_order=ch.obd_methods(cfg), marker="o",
             errorbar="sd", ax=axes[0])
axes[0].set(xlabel="fraction of weights removed", ylabel="test accuracy",
            title=f"one-shot pruning, {obd[0]['extra']['n_weights']} weights, seeds {cfg.obd_seeds} ({cfg.profile})")
axes[0].legend(fontsize=8)
d = pd.DataFrame(obd[0]["extra"]["diag"])
sns.scatterplot(d, x="exact", y="hutchinson", s=8, ax=axes[1])
axes[1].axline((0, 0), slope=1, color="grey", ls=":")
axes[1].set(xlabel="exact $h_{ii}$",
            ylabel=f"Hutchinson, {cfg.hutchinson_probes} probes",
            title="Hessian diagonal entries (2,000 sampled, seed 0)")
plt.tight_layout()
plt.show()
stats = pd.DataFrame([r["metrics"] for r in obd])
glue_all(obd_seeds=len(obd),
         obd_pearson=format_mean_std(stats.pearson_exact_hutchinson.mean(), stats.pearson_exact_hutchinson.std()),
         obd_spearman=format_mean_std(stats.spearman_exact_hutchinson.mean(), stats.spearman_exact_hutchinson.std()),
         obd_neg_h=float(100 * stats.share_negative_hutchinson.mean()),
         obd_neg_exact=float(100 * stats.share_negative_exact.mean()), obd_zero=float(stats.zero_exact_diagonal.mean()),
         obd_probes=cfg.hutchinson_probes, obd_probes_more=cfg.hutchinson_probes_more)
# Which zeros are structural: a weight leaving an input pixel that is 0 in every row the Hessian
# is computed on has h_ii = 0 exactly (its input is 0 in every row).
h_rows = data.train.subset(torch.arange(min(cfg.obd_hessian_rows, len(data.train)))).inputs()
zero_px = int((h_rows.reshape(len(h_rows), -1) == 0).all(0).sum())
px_weights = zero_px * cfg.obd_hidden
zeros = stats.zero_exact_diagonal.astype(int)
glue_all(obd_zero_seeds=" / ".join(str(z) for z in zeros), obd_hrows=len(h_rows), obd_zero_px=zero_px,
         obd_zero_pxw=px_weights,
         obd_zero_rest=("so these account for all of them" if zeros.max() <= px_weights else
                        f"the other {zeros.min() - px_weights}-{zeros.max() - px_weights} zeros are not explained here "
                        "(hidden units that never fire on those rows would give whole rows and columns of zeros: a "
                        "hypothesis, not tested)" if zeros.min() >= px_weights else
                        "fewer zeros than such weights: some of those pixels' weights have non-zero entries"))

# %% [markdown]
# Over {glue:text}`obd_seeds` seed(s), exact and Hutchinson diagonals correlate at Pearson
# {glue:text}`obd_pearson` and Spearman (rank, what pruning uses) {glue:text}`obd_spearman`.
# {glue:text}`obd_neg_h:.1f` % of the Hutchinson estimates are negative (exact:
# {glue:text}`obd_neg_exact:.1f` %), and {glue:text}`obd_zero_seeds` entries (per seed) are
# exactly zero. {glue:text}`obd_zero_px` input pixels are 0 in all {glue:text}`obd_hrows`
# training rows the Hessian is computed on, so the {glue:text}`obd_zero_pxw` weights leaving
# them have $h_{ii} = 0$ by construction; {glue:text}`obd_zero_rest`. Weights with
# $h_{ii} = 0$ get saliency 0 under every OBD variant and go first, which costs nothing for the
# pixels' weights while those pixels stay 0; a negative estimate sends a live weight ahead of
# them. Clamping the estimate at 0, and
# {glue:text}`obd_probes_more` probes instead of {glue:text}`obd_probes`, are the two
# candidate fixes in the figure; the verdicts at the end test each of them at the grid's first
# fraction above zero.

# %% [markdown]
# ## Paper vs ours
#
# Hinton et al.'s MNIST error counts as data; ours are means over seeds from the run
# records of this profile.

# %% tags=["hide-input"]
table = comparison_table(ch.CHAPTER, store.root, ch.NUMBERS)
table = table[((table.profile == cfg.profile) | (table.n_runs == 0)) & table.paper.notna()]
show_comparison(table, caption=f"MNIST test errors out of 10,000: Hinton et al. vs ours (profile: {cfg.profile}; status: the "
                                "results page's rule)", scored=book.scored(ch.CHAPTER, store.root, cfg.profile))


def last_gain(setting: str, last: int = 10) -> float:
    """Mean over seeds of the test errors removed over the last ``last`` epochs (negative: errors added)."""
    curves = [r["history"]["test_metric"] for r in records(setting) if "test_metric" in r["history"]]
    per = [(c[-1] - c[-min(last, len(c))]) * len(data.test) for c in curves]
    return sum(per) / len(per) if per else float("nan")


if regime is not None:   # Hinton's numbers are set against the 2012-regime teacher and its students
    shown = [ch.hinton2012_name(cfg), f"{ch.student_name(cfg)} alone", ch.hinton2012_names(cfg)[0]]
rows = {s: table[(table.setting == s) & (table.metric == "test_errors")] for s in shown}
if any(r.empty for r in rows.values()):
    glue_missing("vs_teacher", "vs_teacher_curve", "vs_alone", "vs_kd", "vs_kd_gain", "vs_reading")
    show_markdown(f"(Hinton's numbers are set against the paper profile only; this is the {cfg.profile} profile.)")
else:
    row = {s: r.iloc[0] for s, r in rows.items()}
    glue_all(vs_teacher=float(row[shown[0]].delta),
             vs_teacher_curve=(f"its errors fell by {last_gain(shown[0]):.1f} over its last 10 epochs" if regime is None
                               else "its validation errors per epoch are drawn above"),
             vs_alone=float(row[shown[1]].delta), vs_kd=float(row[shown[2]].delta), vs_kd_gain=float(last_gain(shown[2])),
             vs_reading=(
                 "Its teacher is within a few errors of theirs (one run). Our hypothesis, not measured: the gap is "
                 "then mostly the student's (a teacher's test errors do not measure its soft targets). The "
                 "schedule search above (longer, chosen on validation) narrows it without closing it, and the "
                 "student's schedule and loss weighting, which the paper does not give, remain (What differed)."
                 if regime is not None and row[shown[0]].delta <= 5 else
                 "So a longer run would not close that gap: the weaker teacher and the unknown loss weighting are "
                 "the candidates." if last_gain(shown[2]) < 0.1 * abs(row[shown[2]].delta) else
                 "So it had not reached its plateau; its teacher is also weaker than theirs (the first gap)."))

# %% [markdown]
# The status column's margin for an error count is 10 errors (0.1 % of the 10,000 test
# images) whatever the count, so it is loose for the small counts: on the 3s after the bias
# raise (the paper's 14 errors) an "agrees" allows a difference of most of the count itself.
#
# Against Hinton et al.: the teacher ends {glue:text}`vs_teacher:+.1f` errors from their 67
# ({glue:text}`vs_teacher_curve`); the student alone ends {glue:text}`vs_alone:+.1f` from
# their 146; the distilled student ends {glue:text}`vs_kd:+.1f` from their 74, and its errors
# fell by {glue:text}`vs_kd_gain:.1f` over its last 10 epochs. {glue:text}`vs_reading`

# %% [markdown]
# ## What differed from the paper
#
# - **The teacher's regime.** Hinton et al. give no schedule; their teacher follows the
#   dropout nets of Hinton et al. (2012). The chapter has two teachers: one trained with Adam
#   and a decaying learning rate for the profile's epochs (printed above the teachers'
#   table), and one in the 2012 regime (SGD, momentum rising to 0.99, max-norm 15; the study
#   `kdcore.studies.hinton_teacher`, on 50,000 training images, its choices made on the other
#   10,000), stopped at epoch 750 of the 3,000 planned, for time. Hinton's numbers are set
#   against the second one and its students; each pair of rows in "The teacher in Hinton's
#   own regime" measures what the regime changes. The students keep the Adam schedule
#   (the paper gives none for them either).
# - **The transfer set.** With the Adam teacher Hinton's bias raise of 3.5 over-corrects,
#   with the 2012-regime teacher it lowers the errors, as in the paper. That how much of the
#   unseen class a student learns from the soft targets decides which raise suits it is our
#   hypothesis from these two teachers (one run each), not a measurement. What
#   is left of the gap to their 109 is in the other nine digits (the tables above).
# - **Loss weighting.** The paper used "a considerably lower weight" on the hard-label
#   term without giving it; we use $\alpha = 0.9$ on the soft term (configurable).
# - **Jitter.** Our shifts are integer pixels with zero fill, drawn per image and batch.
# - **OBD** is applied one-shot with no retraining between deletions, as a demonstration
#   of the saliency; LeCun et al. retrained after each deletion round.
# - The smoke profile trains on a small subset for one or two epochs: its numbers only
#   check that the pipeline runs and are never the paper-scale result.
#
# For distillation from a *small* model into a *larger* one ("reverse" or
# anti-distillation) see the anti-distillation chapter.
#
# ## Does the claim hold here?
#
# One line per claim, computed from this profile's run records by `kdcore.results.verdicts`:
# the difference in the claimed direction (positive: as claimed; errors are counted so that
# fewer is positive), its spread over seeds (paired by seed where the runs share a seed), and
# the verdict of the 95 % Student-t interval rule. The OBD lines read
# the pruning curves stored in the OBD records at two fractions of the grid: the smallest
# one above zero (where the ordering of the dead and the negatively estimated weights
# matters) and 0.9.

# %% tags=["hide-input"]
methods = ch.obd_methods(cfg)
low = min(f for f in cfg.prune_fractions if f > 0)
high = 0.9 if 0.9 in cfg.prune_fractions else max(cfg.prune_fractions)
at = lambda method, f: f"accuracy at {f:g} pruned: {method}"
# the curve points of each OBD record as metrics, so that kdcore.results.verdicts can pair them by seed
obd_records = [{**r, "metrics": {**r["metrics"], **{at(p["method"], p["fraction"]): p["accuracy"]
                                                    for p in r["extra"]["curve"]}}}
               for r in store.records(ch.CHAPTER) if r["setting"] == ch.obd_setting(cfg)]
setting = ch.obd_setting(cfg)
obd_claims = [
    Claim(f"OBD (exact Hessian diagonal) keeps more accuracy than deleting the smallest weights ({high:g} removed)",
          setting, at(methods[0], high), baseline=setting, baseline_metric=at(methods[-1], high)),
    Claim(f"fix 1: clamping the {cfg.hutchinson_probes}-probe Hutchinson estimate at 0 keeps more accuracy "
          f"({low:g} removed)", setting, at(methods[2], low), baseline=setting, baseline_metric=at(methods[1], low)),
    Claim(f"fix 2: {cfg.hutchinson_probes_more} Hutchinson probes keep more accuracy than {cfg.hutchinson_probes} "
          f"({low:g} removed)", setting, at(methods[3], low), baseline=setting, baseline_metric=at(methods[1], low)),
]
other = [r for r in store.records(ch.CHAPTER) if r["setting"] != setting]
verdicts = verdict_table(other + obd_records, ch.claims(cfg) + obd_claims, cfg.profile)
signed = lambda x: "—" if x != x else f"{x:+.1f}" if abs(x) >= 1 else f"{x:+.4f}"   # errors / accuracies
show_table(verdicts.assign(difference=verdicts.difference.map(signed), std=verdicts["std"].abs().map(signed).str[1:],
                           failed=verdicts.failed.replace("", "none"))
           [["verdict", "claim", "difference", "std", "n", "failed"]]
           .rename(columns={"difference": "difference (claimed direction)", "std": "sd"}),
           caption=f"one line per claim, from the run records (profile: {cfg.profile})")
