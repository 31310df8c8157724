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
# # Model distillation on multi-domain datasets
#
# *Source: A. Orlov and A. Grabovoy, "Model distillation on multi-domained datasets"
# (MIPT preprint, 2022) {cite}`orlov2022multidomain`. Its classification experiments are
# only set up in the preprint; their numbers come from the thesis of the same project
# (kbayazitov/distillation, code and printed results), which this chapter follows.*
#
# **The claim.** A teacher $f$ trained on a large *source* dataset (here Fashion-MNIST {cite}`xiao2017fashion` or MNIST {cite}`lecun1998mnist`) can help a small
# student $g$ trained on a *different*, small *target* dataset, if a fixed map
# $\varphi: \mathbb X_t \to \mathbb X_s$ carries target objects into the teacher's domain:
# the student learns from the labels and from the teacher's answers $f(\varphi(x))$.
# Maps studied: identity, Gaussian noise, a fixed dilated convolution, and a VAE that
# turns a Fashion-MNIST image into an MNIST digit of the same label. Students trained on
# 1,000 Fashion-MNIST images with such a teacher should beat students trained alone, in
# accuracy, test cross-entropy and the *integral criterion* (area under the test-loss
# curve, {cite}`grabovoy2022probabilistic`); a regression experiment on Bike Sharing
# {cite}`fanaee2014bike` makes the same point (the paper's Table 5 and Figure 1).
#
# Every number below comes from a run record. This page was executed with the
# **{glue:text}`profile`** profile; each table and figure names it. The code of every figure
# and table is folded under it: unfold it, or open the chapter in Colab to run it.

# %% tags=["remove-cell"]
# In Colab or a fresh environment: install kdcore from the book's repository if it is missing.
import importlib.util
import subprocess
import sys

if importlib.util.find_spec("kdcore") is None:
    subprocess.check_call([sys.executable, "-m", "pip", "install", "-q",
                           "git+https://github.com/kd-book/kd-book.git"])

# %% tags=["parameters", "remove-cell"]
# Smoke profile: runs in seconds. The paper profile is notebooks/params/multidomain.yaml.
profile = "smoke"
seeds = [0, 1]
teacher_seeds = 1
split_seed = 1234
n_small = 1000
teacher_rows = 3000
full_rows = 3000
test_rows = 2000
teacher_epochs = 1
teacher_batch = 64
teacher_lr = 1e-3
long_teacher_epochs = 2
long_teacher_step = 1
student_epochs = 3
student_batch = 100
student_lr = 1e-3
lam = 0.5
loss_scale = 2.0
temperature = 1.0
noise_std = 0.1
vae_epochs = 1
vae_batch = 64
vae_lr = 1e-3
vae_rows = 3000
generated_per_object = 5
lambda_grid = [0.0, 0.5, 1.0]
temperature_grid = [1.0, 4.0]
sweep_seeds = 1
continued = True
continued_chains = 1
bike_rows = 10000
bike_sizes = [8700, 300, 1000]
bike_teacher_epochs = 2
bike_student_epochs = 20
bike_val_rows = 1000
bike_student_batch = 100
bike_teacher_lr = 1e-3
bike_student_lr = 1e-2
bike_long_teacher_epochs = 4
bike_attempts = 5
bike_attempt_epochs = 2
bike_attempt_lr = 1e-3

# %% tags=["remove-cell"]
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
import torch
from scipy import stats
from IPython.display import Markdown, display

from kdcore import chapters as book
from kdcore.chapters import multidomain as ch
from kdcore.chapters.multidomain.data import BIKE_READINGS, BIKE_SUFFIX, label_histogram, load_bike_splits
from kdcore.chapters.multidomain.report import (LABELS, by_seed, curves, gains, gallery_from_record, paper_vs_ours, summary, summary_table, teacher_table)
from kdcore.results.display import glue, glue_all, profile_notice, show_source, show_table, status_column
from kdcore.losses.multidomain import multidomain_ce
from kdcore.models.mappings import DilatedConv
from kdcore.models import MLP, weight_count
from kdcore.results import RunStore, format_metric
from kdcore.results.verdicts import verdict_markdown, verdict_table

torch.set_num_threads(1)
sns.set_theme(style="whitegrid", context="notebook", font_scale=0.9)
cfg = ch.MultidomainConfig.from_namespace(globals())   # validates every parameter first
store = RunStore(profile=cfg.profile)   # a smoke run keeps its records in a scratch folder
lab = ch.Lab(cfg, store)
P = f"profile: {cfg.profile}"
glue("profile", cfg.profile)


def points(x: float) -> str:
    """A difference of accuracies in percentage points, e.g. "0.8 points"."""
    return f"{abs(100 * x):.1f} points"


# %% tags=["remove-input"]
profile_notice(cfg.profile)

# %% [markdown]
# ## The loss
#
# For a student $g$ (logits $z$), a teacher $f$ (logits $v$) and a map $\varphi$,
#
# $$\mathcal L = \lambda\,\mathrm{CE}\big(y, \operatorname{softmax} z\big)
#   + (1-\lambda)\,\mathrm{CE}\big(\operatorname{softmax} v(\varphi(x))/T,\ \operatorname{softmax} z/T\big),
# \qquad
# \mathcal L_{\rm reg} = \lambda\|y-g\|^2 + (1-\lambda)\|g - f\circ\varphi\|^2 .$$
#
# The thesis code minimised $\mathrm{CE} + \text{soft-CE}$ at $T=1$, i.e. $\lambda = 0.5$
# scaled by 2 (`lam = 0.5`, `loss_scale = 2`), with no $T^2$ factor on the soft term;
# that is our main setting (`t_squared` adds the factor, see the T sweep).

# %% tags=["remove-input"]
show_source(multidomain_ce)

# %% tags=["hide-input"]
# NBVAL_CHECK_OUTPUT
print("weights (no biases), teacher / student / regression teacher / regression student:",
      [weight_count(MLP(s)) for s in (ch.TEACHER_SIZES, ch.STUDENT_SIZES, ch.REG_TEACHER_SIZES, ch.REG_STUDENT_SIZES)])
print("FMNIST Big / Small:", len(lab.data.fmnist_big), len(lab.data.fmnist_small),
      "| MNIST Big:", len(lab.data.mnist_big))
print("FMNIST-Small labels per class:", label_histogram(lab.data.fmnist_small).tolist())
print("dilation φ: 784 ->", DilatedConv()(torch.zeros(1, 784)).shape[1], "inputs")
print("Bike Sharing Big / Small / test:", [len(s) for s in load_bike_splits("leak-free")])
for reading, cols in BIKE_READINGS.items():
    print(f"Bike features, {reading} ({len(cols)}):", list(cols))

# %% [markdown]
# ## The maps φ
#
# The VAE (shared encoder 784-200-64, one Bernoulli decoder per domain) is trained on pairs
# of a Fashion-MNIST image and a random MNIST image *of the same label*
# {cite}`kingma2014vae`; its MNIST decoder then turns a T-shirt (label 0) into a "0".
# The images below are stored in the VAE's run record, so this figure needs no model.

# %% tags=["hide-input"]
vae_rec = lab.vae().record
gallery = gallery_from_record(vae_rec)   # the record stores it by name; show the maps in this order
order = ("x ", "noise", "dilation", "VAE φ", "VAE →")
gallery = {k: gallery[k] for o in order for k in gallery if k.startswith(o)}
fig, axes = plt.subplots(len(gallery), 6, figsize=(6.5, 6.2))
for r, (name, imgs) in enumerate(gallery.items()):
    for c in range(6):
        axes[r, c].imshow(imgs[c], cmap="gray", vmin=0, vmax=255)
        axes[r, c].set_xticks([]), axes[r, c].set_yticks([])
    axes[r, 0].set_ylabel(name, rotation=0, ha="right", va="center", fontsize=8)
fig.suptitle(f"What each φ does to six FMNIST-Small images ({P})", fontsize=10)
plt.tight_layout()
plt.show()
elbo = vae_rec["history"]["train_loss"]
glue_all(elbo_first=elbo[0], elbo_last=elbo[-1], elbo_epochs=len(elbo))

# %% [markdown]
# The VAE's −ELBO (nats per pair) falls from {glue:text}`elbo_first:.1f` after epoch 1 to
# {glue:text}`elbo_last:.1f` after epoch {glue:text}`elbo_epochs`. Rows 2-3 keep the garment recognisable; the VAE row replaces it by a digit of the same
# label drawn from the MNIST decoder, so the MNIST teacher can answer, but only as well as
# the translation carries the class (next section).

# %% [markdown]
# ## Teachers
#
# Each teacher [784,256,128,64,64,10] is trained (Adam 1e-3, batch 64, `teacher_epochs`
# epochs: 10 in the paper profile, as in the thesis) on its source domain with the map applied: the noise and dilation teachers see
# $\varphi$(FMNIST-Big), the MNIST teacher MNIST-Big, the GeneratedMNIST teacher VAE
# translations of FMNIST-Small. The "trained longer" full-FMNIST teacher is ours (below).
# Each teacher is trained with `teacher_seeds` seeds; student seed *i* learns from
# teacher *i* mod `teacher_seeds`, so the students' spread includes the teachers'.
# What matters to a student is the column "f∘φ accuracy on FMNIST test": the teacher's
# accuracy *through the map it is seen by*, on the student's own test set.

# %% tags=["hide-input"]
own, via = ch.run_teachers(lab)
show_table(teacher_table(own, via, ch.SETTINGS, ch.TEACHER_VIA_PHI),
           caption=f"Teachers on their own test set and through φ on FMNIST test, mean ± std over "
                   f"{cfg.teacher_seeds} teacher seed(s) ({P})")

# %% tags=["remove-cell"]
def acc(records, setting, metric="accuracy"):
    vals = [r["metrics"][metric] for r in records if r["setting"] == setting]
    return sum(vals) / len(vals)

mnist_own, mnist_vae = acc(own, "teacher: MNIST-Big"), acc(via, ch.TEACHER_VIA_PHI + "MNIST teacher + VAE φ")
fm_big = acc(via, ch.TEACHER_VIA_PHI + "Small, teacher on FMNIST-Big")
full_t, full_long = acc(own, "teacher: FMNIST-train"), acc(own, "teacher: FMNIST-train, trained longer")
glue_all(mnist_own=100 * mnist_own, mnist_vae=100 * mnist_vae, fm_big=100 * fm_big, full_t=100 * full_t,
         full_long=100 * full_long, long_epochs=cfg.long_teacher_epochs, long_step=cfg.long_teacher_step)

# %% [markdown]
# The MNIST teacher is right on {glue:text}`mnist_own:.1f` % of MNIST test digits, but through
# the VAE φ it labels only {glue:text}`mnist_vae:.1f` % of Fashion-MNIST test images
# correctly, against {glue:text}`fm_big:.1f` % for the FMNIST-Big teacher: the translation
# loses the class of many garments (that its soft labels then carry those errors into the
# student is our reading, not a measurement). The
# thesis' full-FMNIST teacher (10 epochs) reaches {glue:text}`full_t:.1f` %; trained
# {glue:text}`long_epochs` epochs with the learning rate ×0.1 after epoch
# {glue:text}`long_step`, {glue:text}`full_long:.1f` %.

# %% [markdown]
# ## The thesis table: students on Fashion-MNIST
#
# One freshly initialised student [784,64,10] per seed, `student_epochs` epochs (20 in the
# paper profile, as the thesis), Adam, batch 100; test
# on the Fashion-MNIST test set. The thesis code did *not* re-initialise its student
# between its 5 "attempts", so its later attempts continued training one network; we run
# that procedure too, labelled "thesis code: no re-init", as `continued_chains`
# independent chains (5 in the paper profile): chain *c* starts from student seed *c* with
# that seed's teacher, and reports the thesis' statistics over its 5 attempts. The thesis'
# numbers are *one* such chain, so they are compared with the spread of ours from chain to
# chain, not with their own ± (which is the spread over attempts within the chain).

# %% tags=["hide-input"]
cls = ch.run_classification(lab)
main = [r for r in cls if ch.CONTINUED not in r["setting"]]
show_table(summary_table(main),
           caption=f"Students, mean ± std over {len(cfg.seeds)} seeds, teachers from {cfg.teacher_seeds} seed(s) ({P})")

# %% tags=["hide-input"]
small_settings = [k for k in ch.SETTINGS if k.startswith(("Small", "MNIST", "Generated")) and k != "Small, no teacher"]
show_table(gains(cls, "Small, no teacher", small_settings, ch.CONTINUED),
           caption=f"Accuracy gain over 'Small, no teacher', percentage points ({P})")

# %% tags=["remove-cell"]
def gain(setting, base="Small, no teacher"):
    """Paired gain over seeds: (mean, standard error, seeds in the mean's direction, n)."""
    a, b = by_seed(main, setting, "accuracy"), by_seed(main, base, "accuracy")
    d = np.array([a[s] - b[s] for s in sorted(set(a) & set(b))])
    se = d.std(ddof=1) / np.sqrt(len(d)) if len(d) > 1 else float("inf")
    return d.mean(), se, int(((d > 0) if d.mean() > 0 else (d < 0)).sum()), len(d)


def gain_words(setting, base="Small, no teacher"):
    """Words for a gain, by the verdicts' rule: its 95 % Student-t interval excludes zero, or within noise."""
    mean, se, n_dir, n = gain(setting, base)
    if n < 2 or abs(mean) <= stats.t.ppf(0.975, n - 1) * se:
        return f"changes it by {100 * mean:+.1f} points, within noise ({n_dir} of {n} seeds in that direction)"
    return f"{'helps' if mean > 0 else 'hurts'} by {points(mean)} ({n_dir} of {n} seeds)"

glue_all(g_big=gain_words("Small, teacher on FMNIST-Big"), g_noise=gain_words("Small, noise φ"),
         g_dilation=gain_words("Small, dilation φ"), g_generated=gain_words("GeneratedMNIST teacher"),
         g_vae=gain_words("MNIST teacher + VAE φ"), g_no_phi=gain_words("MNIST teacher, no φ"),
         g_full=gain_words("full FMNIST, teacher", "full FMNIST, no teacher"),
         g_full_long=gain_words("full FMNIST, teacher trained longer", "full FMNIST, no teacher"),
         alone_acc=100 * acc(main, "Small, no teacher"),
         vae_reading=("It is right on fewer of the student's test images than the student alone. Our hypothesis, "
                      "not tested here: a teacher less accurate than its student has little to add"
                      + (" and its soft labels pull the student below that."
                         if gain("MNIST teacher + VAE φ")[0] < -2 * gain("MNIST teacher + VAE φ")[1]
                         else ".")
                      if mnist_vae < acc(main, "Small, no teacher") else
                      "It is right on more of the student's test images than the student alone."))


def paired_words(setting: str, metric: str, base: str = "Small, no teacher") -> str:
    """The paired difference setting - base of ``metric`` with its 95 % t-interval, in words."""
    a, b = by_seed(main, setting, metric), by_seed(main, base, metric)
    d = np.array([a[k] - b[k] for k in sorted(set(a) & set(b))])
    if len(d) < 2:
        return "—"
    lo, hi = stats.t.interval(0.95, len(d) - 1, loc=d.mean(), scale=d.std(ddof=1) / np.sqrt(len(d)))
    side = "above" if lo > 0 else "below" if hi < 0 else "level with"
    return f"{side} the student alone ({d.mean():+.3f}, 95 % interval {lo:+.3f} to {hi:+.3f}, {len(d)} seeds)"


glue_all(ce_vae=paired_words("MNIST teacher + VAE φ", "ce"), ce_big=paired_words("Small, teacher on FMNIST-Big", "ce"),
         ce_noise=paired_words("Small, noise φ", "ce"), ce_dilation=paired_words("Small, dilation φ", "ce"))

# %% [markdown]
# Against the student alone ({glue:text}`alone_acc:.1f` %), by the verdicts' rule (the 95 %
# Student-t interval of the paired gains):
#
# - the FMNIST-Big teacher {glue:text}`g_big`;
# - the noise-φ teacher {glue:text}`g_noise`;
# - the dilation-φ teacher {glue:text}`g_dilation`;
# - the GeneratedMNIST teacher {glue:text}`g_generated`;
# - the MNIST teacher through the VAE φ {glue:text}`g_vae`;
# - the MNIST teacher without φ {glue:text}`g_no_phi`;
# - on the full training set, the thesis' teacher {glue:text}`g_full`, the longer-trained one
#   {glue:text}`g_full_long`.
#
# Through the VAE φ the MNIST teacher is right on {glue:text}`mnist_vae:.1f` % of the student's
# test images. {glue:text}`vae_reading`

# %% tags=["hide-input"]
cv = curves(main)
fig, axes = plt.subplots(2, 1, figsize=(7, 7.5))
small = cv[~cv.setting.str.startswith("full")]
sns.lineplot(small, x="epoch", y="test_loss", hue="setting", errorbar="sd", ax=axes[0])
axes[0].set(title=f"Students on FMNIST-Small ({P})", ylabel="test cross-entropy")
axes[0].legend(fontsize=7, ncol=2)
sns.lineplot(cv[cv.setting.str.startswith("full")], x="epoch", y="test_loss", hue="setting", errorbar="sd", ax=axes[1])
axes[1].set(title=f"Students on the full FMNIST training set ({P})", ylabel="test cross-entropy")
axes[1].legend(fontsize=7)
plt.tight_layout()
plt.show()

# %% [markdown]
# Upper panel: all curves fall fastest in the first epochs. The "MNIST teacher, no φ"
# curve sits far above the rest: without φ the digit classifier is right on fewer garments
# than chance, so its answers are wrong in a systematic way, not at random. At the last epoch
# (test cross-entropy, paired by seed) the VAE-φ curve ends {glue:text}`ce_vae`; the
# Fashion-MNIST teachers': FMNIST-Big {glue:text}`ce_big`, noise φ {glue:text}`ce_noise`,
# dilation φ {glue:text}`ce_dilation`. The integral criterion is the area under each curve. Lower panel: on the full
# training set the three curves overlap within their spread.

# %% tags=["hide-input"]
cont = curves(cls).assign(variant=lambda d: d.setting.str.contains("no re-init", regex=False).map(
    {True: "thesis code: no re-init", False: "re-initialised"}), base=lambda d: d.setting.str.replace(ch.CONTINUED, ""))
cont = cont[cont.base.isin(["Small, no teacher", "Small, teacher on FMNIST-Big"])]
g = sns.relplot(cont, x="epoch", y="test_loss", hue="seed", col="base", row="variant", kind="line",
                height=2.5, aspect=1.3, palette="viridis")
g.set_titles("{row_name}:\n{col_name}", size=8).set(ylabel="test CE")
g.legend.set_title("seed / chain")
g.figure.suptitle(f"Re-initialised students vs the thesis' continued attempts ({P})", y=1.03, fontsize=10)
plt.show()

# %% [markdown]
# In the lower row each chain runs through its 5 attempts (epochs 1-20 the first, 21-40 the
# second, ...): attempts 2-5 begin at a low loss, so their integral criterion is small, and
# without a teacher the later ones drift up (over-fitting 1,000 images). That is why the
# thesis' integrals are small with a large spread.

# %% tags=["hide-input"]
chains = [r for r in cls if ch.CONTINUED in r["setting"]]
if chains:
    thesis = {(n.paper_row, n.metric): (n.value, n.std) for n in ch.NUMBERS if n.setting.endswith(ch.CONTINUED)}
    rows = []
    for setting in dict.fromkeys(r["setting"] for r in chains):
        base = setting.replace(ch.CONTINUED, "")
        for m in ("accuracy", "integral"):
            v = np.array([r["metrics"][m] for r in chains if r["setting"] == setting])
            within = np.array([r["metrics"][m + "_attempt_sd"] for r in chains if r["setting"] == setting])
            tv, ts = thesis.get((base, m), (float("nan"), float("nan")))
            rows.append({"setting": base, "metric": m, "chains": len(v),
                         "ours: mean over chains": format_metric(v.mean(), None, m),
                         "ours: sd between chains": format_metric(v.std(ddof=1), None, m) if len(v) > 1 else "—",
                         "ours: sd within a chain (mean)": format_metric(within.mean(), None, m),
                         "thesis (one chain)": format_metric(tv, None, m),
                         "thesis ± (within its chain)": format_metric(ts, None, m),
                         "thesis inside our chains' span": "—" if len(v) < 2 else
                         ("yes" if v.min() <= tv <= v.max() else "no")})
    show_table(pd.DataFrame(rows), caption=f"The thesis' continued attempts as {cfg.continued_chains} independent "
               f"chains: the spread between chains beside the spread within one ({P})")
    ct = pd.DataFrame(rows)
    between = ct[ct.metric == "accuracy"]["ours: sd between chains"]
    glue_all(chains_n=cfg.continued_chains, chains_between=", ".join(between),
             chains_inside=int((ct.iloc[:, -1] == "yes").sum()), chains_numbers=len(ct))
else:
    glue_all(chains_n="—", chains_between="—", chains_inside="—", chains_numbers="—")

# %% [markdown]
# Over {glue:text}`chains_n` chains, the between-chain spread of the accuracy is
# {glue:text}`chains_between` (one per setting, in the table's order), and the thesis' value
# lies inside the span of our chains for {glue:text}`chains_inside` of
# {glue:text}`chains_numbers` numbers. The scoreboard judges each thesis number as one more
# chain drawn from the spread ours show.

# %% [markdown]
# ## λ and T
#
# The λ sweep uses $\lambda\,\mathrm{CE} + (1-\lambda)\,\text{soft-CE}$ (no factor 2) with the
# FMNIST-Big teacher; λ = 1 is the student alone, λ = 0 learns from the teacher only.
# The T sweeps keep the thesis loss and change T on both softmaxes of the soft term, once
# as in the thesis code (no $T^2$) and once with the soft term multiplied by $T^2$, as
# Hinton et al. advise {cite}`hinton2015distilling`: the soft term's gradient shrinks like
# $1/T^2$, so without the factor a large T leaves only the hard term, i.e. λ = 1.

# %% tags=["hide-input"]
sweeps = ch.run_sweeps(lab)
sw = pd.concat([pd.DataFrame([{"value": float(r["setting"].rsplit("=", 1)[1]), "sweep": name, "seed": r["seed"], **r["metrics"]}
                              for r in recs]) for name, recs in sweeps.items()])
alone = sw[(sw.sweep == "λ") & (sw.value == 1.0)].accuracy
fig, axes = plt.subplots(2, 1, figsize=(6.5, 6.5))
sns.lineplot(sw[sw.sweep == "λ"], x="value", y="accuracy", marker="o", errorbar="sd", ax=axes[0])
axes[0].set(title=f"Student accuracy vs λ (FMNIST-Big teacher; {P})", xlabel="λ (weight of the true labels)")
t = sw[sw.sweep != "λ"].replace({"sweep": {"T": "no T² (thesis code)", "T, ×T²": "soft term × T²"}})
sns.lineplot(t, x="value", y="accuracy", hue="sweep", marker="o", errorbar="sd", ax=axes[1])
if len(alone):
    axes[1].axhline(alone.mean(), color="grey", ls="--", lw=1, label="λ = 1 (student alone, same seeds)")
axes[1].set_xscale("log", base=2)
axes[1].set(title=f"Student accuracy vs T (thesis loss; {P})", xlabel="temperature T")
axes[1].legend(fontsize=8)
plt.tight_layout()
plt.show()

# %% tags=["remove-cell"]
tmax = max(cfg.temperature_grid)
at = lambda name, v: sw[(sw.sweep == name) & (sw.value == v)].accuracy.mean()
lam = sw[sw.sweep == "λ"].groupby("value").accuracy.mean()
glue_all(tmax=tmax, t_plain=at("T", tmax), t_alone=alone.mean(), t_sq=at("T, ×T²", tmax), sweep_seeds=cfg.sweep_seeds,
         t_sq_gap=abs(at("T, ×T²", tmax) - alone.mean()) * 100,
         t_sq_side="below" if at("T, ×T²", tmax) < alone.mean() else "above",
         lam_best=lam.max(), lam_at=lam.idxmax(), lam_one=lam.get(1.0, float("nan")), lam_first=lam.iloc[0],
         lam_first_at=lam.index[0],
         lam_ends_seeds=" and ".join(
             f"λ = {v:g}: " + ", ".join(f"{a:.3f}" for a in sw[(sw.sweep == "λ") & (sw.value == v)].sort_values("seed").accuracy)
             for v in dict.fromkeys([lam.index[0], 1.0]) if v in lam.index))

# %% [markdown]
# At T = {glue:text}`tmax:g` the student without the $T^2$ factor reaches
# {glue:text}`t_plain:.3f`, the student alone (λ = 1) {glue:text}`t_alone:.3f` and the student
# with the factor {glue:text}`t_sq:.3f` (means over {glue:text}`sweep_seeds` seeds): without
# the factor a large T switches the teacher off; with it the student ends
# {glue:text}`t_sq_gap:.1f` points {glue:text}`t_sq_side` the student alone.
#
# Over λ, the best mean accuracy is {glue:text}`lam_best:.3f` at λ = {glue:text}`lam_at:g`,
# against {glue:text}`lam_one:.3f` at λ = 1 (no teacher) and {glue:text}`lam_first:.3f` at
# λ = {glue:text}`lam_first_at:g` (teacher only); seed by seed, {glue:text}`lam_ends_seeds`.

# %% [markdown]
# ## Regression: Bike Sharing (Table 5, Figure 1)
#
# 10,000 random rows of `hour.csv` split 9,000 training rows ("Reg-Train"; 8,700 "Big" and
# 300 "Small") and 1,000 test rows; target `cnt`. The paper's Table 5 labels both student
# and teacher "Reg-Train": a teacher [d,256,128,64,64,1] and a student [d,32,1] trained on
# the same 9,000 rows. We run that layout as the thesis code trained it (teacher 20 epochs,
# Adam 1e-3, batch 64; student 5 "attempts" of 20 epochs continuing one network, a fresh
# Adam each, batch 100; reported: the mean over the attempts of each one's last test MSE),
# 5 chains, with the mean predictor and ordinary least squares on the same rows beside them.
#
# The paper does not list its 15 features. **Faithful reading (d = 13):** the 13 columns
# other than `dteday`, `cnt`, `casual` and `registered`, standardised. **Our variant
# (d = 15):** the same plus the hour on the circle (sin, cos). A **leaky reading** (all 15
# columns but `dteday` and `cnt`, which include `casual` and `registered`, whose sum *is*
# `cnt`) is shown only in our Reg-Small reading, never compared.
#
# Two more variants, labelled: a teacher trained to its **validation plateau** (200
# epochs; 1,000 rows of `hour.csv` outside the 10,000 chose that length), since the thesis'
# 20 epochs leave it far from converged; and the thesis code's loss **as written**:
# `MSELoss()` of a `(B, 1)` prediction against a `(B,)` target broadcasts to the `B × B`
# matrix of every prediction against every target, whose minimiser predicts the batch's
# mean target for every row.

# %% tags=["hide-input"]
rt = ch.run_reg_train(cfg, store)
rt_students = [r for r in rt if not r["setting"].startswith("teacher")]
show_table(summary_table(rt_students, ("mse", "mse_attempt_sd")).rename(columns=lambda c: c.replace(
               "mse_attempt_sd", "sd over one chain's attempts")),
           caption=f"Table 5's layout (student and teacher on Reg-Train): test MSE, the mean over each chain's "
                   f"{cfg.bike_attempts} attempts, mean ± std over chains; 'sd over one chain's attempts': the spread "
                   f"the paper's ± gives ({P})")
rt_teachers = [r for r in rt if r["setting"].startswith("teacher")]
show_table(summary_table(rt_teachers, ("mse", "val_mse")),
           caption=f"Reg-Train teachers: test and validation MSE after {cfg.bike_teacher_epochs} epochs (the thesis) and "
                   f"{cfg.bike_long_teacher_epochs} (its validation plateau), {cfg.teacher_seeds} seeds ({P})")

# %% tags=["hide-input"]
tc = pd.DataFrame([{"teacher": r["setting"].replace("teacher: ", ""), "seed": r["seed"], "epoch": e, "validation MSE": v}
                   for r in rt_teachers for e, v in zip(r["extra"]["val_epochs"], r["extra"]["val_mse"])])
if not tc.empty:
    ax = sns.lineplot(tc, x="epoch", y="validation MSE", hue="teacher", errorbar="sd")
    ax.set(yscale="log", title=f"Bike teachers on Reg-Train: validation MSE per epoch ({P})")
    ax.legend(fontsize=7)
    plt.show()

# %% [markdown]
# The validation curve of a teacher trained longer (figure) keeps falling well past the
# thesis' 20 epochs and flattens after roughly 75 epochs; the 200 epochs of the "trained to its
# plateau" teacher lie on that plateau in the figure.

# %% tags=["remove-cell"]
def rt_mean(setting, metric="mse"):
    v = [r["metrics"][metric] for r in rt if r["setting"] == setting]
    return float(np.mean(v)) if v else float("nan")

raw = BIKE_SUFFIX["leak-free, 13 raw"]
p5 = {n.paper_row: n.value for n in ch.NUMBERS if n.metric == "mse" and n.counted}
alone, taught = rt_mean("Reg-Train, no teacher" + raw), rt_mean("Reg-Train, teacher on Reg-Train" + raw)
ols, mean_pred = rt_mean("Reg-Train, OLS" + raw), rt_mean("Reg-Train, mean predictor" + raw)
bcast = rt_mean("Reg-Train, no teacher, thesis loss (B×B broadcast)" + raw)
plateau = rt_mean("Reg-Train, teacher on Reg-Train trained to its plateau" + raw)
t20, t_long = rt_mean("teacher: Reg-Train" + raw), rt_mean("teacher: Reg-Train, trained to its plateau" + raw)
near = abs(bcast / mean_pred - 1) < 0.1
t5_sd = [(n.paper_row, n.std) for n in ch.NUMBERS if n.metric == "mse" and n.counted and n.paper_row.startswith("Reg-Train")]
glue_all(rt_alone=f"{alone:,.0f}", rt_taught=f"{taught:,.0f}", rt_t_epochs=cfg.bike_teacher_epochs,
         rt_p_alone=f"{p5['Reg-Train, no teacher']:,.1f}", rt_p_taught=f"{p5['Reg-Train, teacher on Reg-Train']:,.1f}",
         rt_ols=f"{ols:,.0f}", rt_mean=f"{mean_pred:,.0f}",
         rt_vs_ols=("the student trained on the thesis' schedule is no better than a linear fit" if alone >= 0.95 * ols
                    else f"the student beats the linear fit by {1 - alone / ols:.0%}"),
         rt_t20=f"{t20:,.0f}", rt_t_long=f"{t_long:,.0f}", rt_long_epochs=cfg.bike_long_teacher_epochs,
         rt_t_reading=("so the data hold far more than a linear model finds" if t_long < 0.5 * ols
                       else "not far from the linear fit"),
         rt_plateau=f"{plateau:,.0f}", rt_bcast=f"{bcast:,.0f}",
         rt_bcast_reading=(f"within {abs(bcast / mean_pred - 1):.0%} of it, as its formula predicts (its minimiser "
                           "predicts the batch's mean target for every row)" if near else
                           "not the mean predictor's error, so this run does not show where that loss leads"),
         rt_within="; ".join(
             f"{row.split(', ')[1]}: ours {rt_mean(row + raw, 'mse_attempt_sd'):,.0f} against the paper's ± {sd:,.1f} "
             f"({rt_mean(row + raw, 'mse_attempt_sd') / sd:.1f}×)" for row, sd in t5_sd),
         rt_within_word=("wider in ours" if all(rt_mean(row + raw, "mse_attempt_sd") > sd for row, sd in t5_sd) else
                         "narrower in ours" if all(rt_mean(row + raw, "mse_attempt_sd") < sd for row, sd in t5_sd)
                         else "wider in ours for one row, narrower for the other"),
         rt_table5=("Both of Table 5's numbers lie below the mean predictor's error, so the code behind Table 5 cannot "
                    "have used that loss." if max(p5.values()) < mean_pred else
                    "Table 5's numbers do not rule out that loss."))

# %% [markdown]
# On the 13 raw columns, the Reg-Train student trained as the thesis trained it reaches a test
# MSE of {glue:text}`rt_alone` alone and {glue:text}`rt_taught` distilled from the thesis'
# {glue:text}`rt_t_epochs`-epoch teacher; the paper reports {glue:text}`rt_p_alone` and
# {glue:text}`rt_p_taught`. On the same rows, ordinary least squares reaches
# {glue:text}`rt_ols` and the mean predictor {glue:text}`rt_mean`: {glue:text}`rt_vs_ols`.
# The teachers reach {glue:text}`rt_t20` after {glue:text}`rt_t_epochs` epochs and
# {glue:text}`rt_t_long` after {glue:text}`rt_long_epochs`, {glue:text}`rt_t_reading`.
# Distilled from the longer-trained teacher, the student reaches {glue:text}`rt_plateau`.
#
# The spread over one chain's attempts, the paper's ±, is {glue:text}`rt_within_word` (mean
# over chains): {glue:text}`rt_within`. Why is not known: the paper's features and
# preprocessing are not given.
#
# The thesis code's loss as written (B×B broadcast) gives {glue:text}`rt_bcast` against the
# mean predictor's {glue:text}`rt_mean`: {glue:text}`rt_bcast_reading`.
# {glue:text}`rt_table5`

# %% [markdown]
# ### Our Reg-Small reading
#
# The paper's text describes a teacher on the 8,700 "Big" rows and a student on the 300
# "Small" rows, the layout of the thesis' Reg-Small table, for which the paper prints no
# number. We keep it as our reading: each student is trained up to `bike_student_epochs`
# epochs (Adam 1e-2, our choice) and reports the test MSE at the epoch of lowest MSE on the
# validation rows (so the test set chooses nothing). Alone and with the teacher, students
# get the same budget and rule.

# %% tags=["hide-input"]
reg = ch.run_regression(cfg, store)
students = [r for r in reg if not r["setting"].startswith("teacher")]
show_table(summary_table(students, ("mse", "mse_last_epoch", "chosen_epoch")),
           caption=f"Bike Sharing students: test MSE at the epoch chosen on validation, {len(cfg.seeds)} seeds, "
                   f"teachers from {cfg.teacher_seeds} seed(s) ({P})")
show_table(summary_table([r for r in reg if r["setting"].startswith("teacher")], ("mse",)),
           caption=f"Bike Sharing teachers: test MSE after {cfg.bike_teacher_epochs} epochs ({P})")

# %% tags=["hide-input"]
rc = curves(students)
rc["reading"] = rc.setting.map(lambda s: next(k for k, v in BIKE_SUFFIX.items() if v and v in s) if any(
    v and v in s for v in BIKE_SUFFIX.values()) else "leak-free")
rc["student"] = rc.setting.str.contains("teacher on").map({True: "with teacher", False: "alone"})
g = sns.relplot(rc, x="epoch", y="test_loss", hue="student", row="reading", kind="line", errorbar="sd",
                height=2.3, aspect=2.6, facet_kws={"sharey": False})
g.set(yscale="log", ylabel="test MSE").set_titles("{row_name}", size=9)
g.figure.suptitle(f"Figure 1 redone: student test MSE per epoch, {len(cfg.seeds)} seeds ({P})", y=1.02, fontsize=10)
plt.show()

# %% tags=["remove-cell"]
def reg_words(suffix):
    a = by_seed(students, "Reg-Small, teacher on Reg-Big" + suffix, "mse")
    b = by_seed(students, "Reg-Small, no teacher" + suffix, "mse")
    d = [a[s] - b[s] for s in sorted(set(a) & set(b))]
    ep = [r["metrics"]["chosen_epoch"] for r in students if r["setting"].startswith("Reg-Small")
          and r["setting"].endswith(suffix) and (suffix or "(" not in r["setting"])]
    capped = sum(e == cfg.bike_student_epochs for e in ep)
    span = f"{min(ep):.0f}" if min(ep) == max(ep) else f"{min(ep):.0f}-{max(ep):.0f}"
    cap = (f"; {capped} of {len(ep)} students still improving at the {cfg.bike_student_epochs}-epoch cap"
           if capped else "")
    # Runs that stopped within a tenth of the longest one's epochs: a separate mode of the spread.
    early = [r for r in students if r["setting"].startswith("Reg-Small") and r["setting"].endswith(suffix)
             and (suffix or "(" not in r["setting"]) and r["metrics"]["chosen_epoch"] < 0.1 * max(ep)]
    cap += ("; stopped early, within a tenth of the longest run's epochs, and ending higher: " + ", ".join(
        f"{'teacher' if 'teacher on' in r['setting'] else 'alone'} seed {r['seed']} at epoch "
        f"{r['metrics']['chosen_epoch']:.0f} ({format_metric(r['metrics']['mse'], None, 'mse')})" for r in early)
        if early else "")
    return (f"{format_metric(sum(b.values()) / len(b), None, 'mse')} alone and "
            f"{format_metric(sum(a.values()) / len(a), None, 'mse')} "
            f"with the teacher, lower in {sum(x < 0 for x in d)} of {len(d)} seeds (stopped after {span} "
            f"epochs{cap})")

glue_all(rs_15=reg_words(""), rs_13=reg_words(BIKE_SUFFIX["leak-free, 13 raw"]), rs_leak=reg_words(BIKE_SUFFIX["leaky"]))

# %% [markdown]
# Stopped at their lowest validation MSE, the Reg-Small students reach a test MSE of
#
# - with 15 inputs: {glue:text}`rs_15`;
# - with the 13 raw columns: {glue:text}`rs_13`;
# - with the leak: {glue:text}`rs_leak`, because the inputs contain the answer.
#
# The paper prints no number for this layout.

# %% [markdown]
# ## Paper vs ours

# %% tags=["hide-input"]
table = paper_vs_ours(cls + reg + rt, ch.CONTINUED)
shown = [p for p in ch.NUMBERS if not p.setting.endswith(ch.CONTINUED)]   # paper_vs_ours' rows, in its order
scored_md = book.scored(ch.CHAPTER, store.root, cfg.profile)
table.insert(0, "status", status_column([p.setting for p in shown], [p.metric for p in shown], scored_md))
# Where the thesis ran continued attempts, the counted comparison is the no-re-init chains' row:
# its status stands beside that column ("—" where the number has no such row).
table.insert(table.columns.get_loc("ours, thesis code (no re-init)") + 1, "status (no re-init)",
             status_column([p.setting + ch.CONTINUED for p in shown], [p.metric for p in shown], scored_md))
show_table(table, caption=f"Thesis table and the paper's Table 5 beside ours ({P}; 'status': the results page's rule; "
                          "'(variant)': judged, not counted)")

# %% [markdown]
# ## What differed from the paper
#
# - **Re-initialisation.** The thesis' "5 attempts" continued training one student, so its
#   attempts 2-5 start from a trained network: its means and spreads mix seeds with extra
#   epochs, and its integral criterion is small with a large std (figure above). Our main
#   numbers re-initialise the student per seed; the thesis code's variant is the column
#   "ours, thesis code (no re-init)" of the table above.
# - **Teachers.** The thesis trained each teacher once; ours are trained with
#   `teacher_seeds` seeds (3 in the paper profile) and student seed *i* uses teacher
#   *i* mod 3, so the spreads include teacher variance. The VAE is trained once (seed 0).
#   The thesis' full-FMNIST teacher (10 epochs) is hardly better than the student alone;
#   the "trained longer" teacher (20 epochs, learning rate ×0.1 after 10) is ours.
# - **Unstated details, our readings (guesses):** the "full FMNIST" settings train teacher
#   and student on the whole 60,000-image training set; the noise and dilation teachers are
#   trained on φ(FMNIST-Big); the GeneratedMNIST teacher is trained on 60/70 of 70 VAE
#   translations of each FMNIST-Small image (one version of the thesis code repeats *one*
#   translation 70 times; we draw 70) and labels the student's images through the VAE φ.
#   Its "test" accuracy is measured on the other 10/70 translations *of the same 1,000
#   images*, so it says little about new images. The noise σ is 0.1 (one code version
#   uses 0.08). The VAE keeps the thesis' loss, one ELBO per decoder, i.e. the KL term
#   counted twice.
# - **Regression.** Table 5 is compared in its own layout (student and teacher on
#   Reg-Train), trained with the thesis code's schedule; the paper names neither its 15
#   features nor their preprocessing, so the 13 raw leak-free columns (standardised over
#   all rows of `hour.csv`, label-free) are the faithful reading and the hour as sin/cos
#   our variant. The thesis' own regression code differs from the paper twice: it trains
#   on synthetic data (10,000 rows of 100 standard-normal features, the target one more
#   normal column, `generate_regression`), not on Bike Sharing; and its `MSELoss` compares a
#   `(B, 1)` prediction with a `(B,)` target, a `B × B` broadcast whose minimiser is the
#   batch mean (its printed MSEs of ≈ 1.06 are the variance of that noise target plus a
#   little). The broadcast run above measures what that loss does on Bike Sharing; since
#   Table 5 lies below the mean predictor's error, Table 5 did not come from that code as
#   written. Our Reg-Small reading (students on the 300 Small rows, epochs chosen on a
#   validation part outside the paper's 10,000 rows, Adam 1e-2) has no paper number.
# - **Sweeps** (λ, T with and without $T^2$) are ours; the paper fixes neither beyond the
#   thesis' defaults.
# - **Gaps we have not explained.** Run as the thesis ran them (continued chains, the
#   gains table's "thesis code" column), the FMNIST-Big, noise and dilation teachers' gains
#   lie nearer the thesis' than the VAE-φ teacher's, which stays near zero against the
#   thesis' +1.2 points (the table's "status (no re-init)" column judges each). Through our VAE φ the MNIST teacher labels fewer of the student's
#   test images correctly than the student reaches alone (teachers table), which would
#   leave it no room to help; whether the thesis' VAE translated better, and what the
#   thesis' KL term counted twice does, is untested: a hypothesis, graded so on the
#   results page.
# - **Smoke profile** numbers (small subsets, few epochs) only check that the pipeline runs.

# %% [markdown]
# ## Does the claim hold here?
#
# One line per claim, computed from the run records of this profile: the difference in
# the claimed direction (accuracy, or lower integral / MSE), paired by seed, with its
# spread; **holds** when its 95 % Student-t interval lies above zero, **does not hold**
# when it lies below, else **within noise**.

# %% tags=["hide-input"]
verdicts = verdict_table(store.records(ch.CHAPTER), ch.CLAIMS, cfg.profile)
signed = lambda x: "—" if x != x else f"{x:+,.1f}" if abs(x) >= 10 else f"{x:+.4f}"   # MSE / accuracy
show_table(verdicts.assign(difference=verdicts.difference.map(signed), std=verdicts["std"].abs().map(signed).str[1:],
                           failed=verdicts.failed.replace("", "none"))
           [["verdict", "claim", "difference", "std", "n", "failed"]]
           .rename(columns={"difference": "difference (claimed direction)", "std": "sd"}),
           caption=f"one line per claim, from the run records ({P})")
