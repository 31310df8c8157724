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
# Every number below comes from a run record written by this notebook; the profile that
# produced it is printed with it.

# %%
# In Colab or a fresh environment: install kdcore from the book's repository if it is missing.
import importlib.util
import subprocess
import sys

if importlib.util.find_spec("kdcore") is None:
    subprocess.check_call([sys.executable, "-m", "pip", "install", "-q",
                           "git+https://github.com/kd-book/kd-book.git"])

# %% tags=["parameters"]
# Smoke profile: runs in seconds. The paper profile is notebooks/params/multidomain.yaml.
profile = "smoke"
seeds = [0, 1]
split_seed = 1234
n_small = 1000
teacher_rows = 3000
full_rows = 3000
test_rows = 2000
teacher_epochs = 1
teacher_batch = 64
teacher_lr = 1e-3
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
bike_rows = 10000
bike_sizes = [8700, 300, 1000]
bike_teacher_epochs = 2
bike_student_epochs = 10
bike_student_batch = 100
bike_teacher_lr = 1e-3
bike_student_lr = 1e-2

# %%
import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns
import torch

from kdcore.chapters import multidomain as ch
from kdcore.display import show_source, show_table
from kdcore.losses.multidomain import multidomain_ce
from kdcore.mappings import DilatedConv
from kdcore.models import MLP, weight_count
from kdcore.chapters.multidomain.data import BIKE_READINGS, label_histogram, load_bike_splits
from kdcore.chapters.multidomain.report import accuracy_gains, curves, paper_vs_ours, phi_gallery, summary
from kdcore.results import RunStore, comparison_table

torch.set_num_threads(1)
cfg = ch.MultidomainConfig.from_namespace(globals())   # validates every parameter first
store = RunStore(profile=cfg.profile)   # a smoke run keeps its records in a scratch folder
lab = ch.Lab(cfg, store)

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
# scaled by 2 (`lam = 0.5`, `loss_scale = 2`); that is our main setting.

# %%
show_source(multidomain_ce)

# %%
# NBVAL_CHECK_OUTPUT
print("weights (no biases), teacher / student / regression teacher / regression student:",
      [weight_count(MLP(s)) for s in (ch.TEACHER_SIZES, ch.STUDENT_SIZES, ch.REG_TEACHER_SIZES, ch.REG_STUDENT_SIZES)])
print("FMNIST Big / Small:", len(lab.data.fmnist_big), len(lab.data.fmnist_small),
      "| MNIST Big:", len(lab.data.mnist_big))
print("FMNIST-Small labels per class:", label_histogram(lab.data.fmnist_small).tolist())
print("dilation φ: 784 ->", DilatedConv()(torch.zeros(1, 784)).shape[1], "inputs")
print("Bike Sharing Big / Small / test:", [len(s) for s in load_bike_splits("leak-free")])
print("Bike features (leak-free reading):", list(BIKE_READINGS["leak-free"]))

# %% [markdown]
# ## The maps φ
#
# The VAE (shared encoder 784-200-64, one Bernoulli decoder per domain) is trained on pairs
# of a Fashion-MNIST image and a random MNIST image *of the same label*
# {cite}`kingma2014vae`; its MNIST decoder then turns a T-shirt (label 0) into a "0".

# %%
vae_rec, vae = lab.vae()
images = lab.data.fmnist_small.inputs()[:6]
gallery = phi_gallery(images, vae, cfg.noise_std)
fig, axes = plt.subplots(len(gallery), 6, figsize=(7, 6.4))
for r, (name, imgs) in enumerate(gallery.items()):
    for c in range(6):
        axes[r, c].imshow(imgs[c].numpy(), cmap="gray", vmin=0, vmax=max(1.0, float(imgs.max())))
        axes[r, c].set_xticks([]), axes[r, c].set_yticks([])
    axes[r, 0].set_ylabel(name, rotation=0, ha="right", va="center", fontsize=8)
fig.suptitle(f"What each φ does to six FMNIST-Small images (profile: {cfg.profile})", fontsize=10)
plt.tight_layout()
print("VAE −ELBO per epoch (nats per pair):", [round(v, 1) for v in vae_rec["history"]["train_loss"]])

# %% [markdown]
# ## Teachers
#
# Each teacher [784,256,128,64,64,10] is trained once (Adam 1e-3, batch 64) on its
# source domain, with the map applied: the noise and dilation teachers see $\varphi$(FMNIST-Big),
# the MNIST teacher MNIST-Big, the GeneratedMNIST teacher VAE translations of FMNIST-Small.

# %%
teachers = [lab.teacher(name)[0] for name in
            ("FMNIST-train", "FMNIST-Big", "FMNIST-Big, noise φ", "FMNIST-Big, dilation φ", "MNIST-Big", "GeneratedMNIST")]
show_table(summary(teachers)[["setting", "accuracy_mean", "ce_mean"]],
           caption=f"Teachers: accuracy and CE on their own domain's test part (profile: {cfg.profile})")

# %% [markdown]
# ## The thesis table: students on Fashion-MNIST
#
# One freshly initialised student [784,64,10] per seed, 20 epochs, Adam, batch 100; test
# on the Fashion-MNIST test set. The thesis code did *not* re-initialise its student
# between its 5 "attempts", so its later attempts continued training one network; we run
# that variant too, labelled "thesis code: no re-init".

# %%
cls = ch.run_classification(lab)
main = [r for r in cls if ch.CONTINUED not in r["setting"]]
show_table(summary(main), caption=f"Students, mean and std over {len(cfg.seeds)} seeds (profile: {cfg.profile})")

# %%
small_settings = [k for k in ch.SETTINGS if k.startswith(("Small", "MNIST", "Generated")) and k != "Small, no teacher"]
show_table(accuracy_gains(cls, "Small, no teacher", small_settings, ch.CONTINUED), digits=2,
           caption=f"Accuracy gain over 'Small, no teacher', in points (profile: {cfg.profile})")

# %%
cv = curves(main)
small = cv[~cv.setting.str.startswith("full")]
fig, axes = plt.subplots(1, 2, figsize=(12, 4.2))
sns.lineplot(small, x="epoch", y="test_loss", hue="setting", errorbar="sd", ax=axes[0])
axes[0].set(title=f"test CE per epoch, students on FMNIST-Small (profile: {cfg.profile})", ylabel="test cross-entropy")
axes[0].legend(fontsize=7)
sns.lineplot(cv[cv.setting.str.startswith("full")], x="epoch", y="test_loss", hue="setting", errorbar="sd", ax=axes[1])
axes[1].set(title=f"test CE per epoch, full FMNIST (profile: {cfg.profile})", ylabel="test cross-entropy")
plt.tight_layout()

# %%
cont = curves(cls).assign(variant=lambda d: d.setting.str.contains("no re-init", regex=False).map(
    {True: "thesis code: no re-init", False: "re-initialised"}), base=lambda d: d.setting.str.replace(ch.CONTINUED, ""))
cont = cont[cont.base.isin(["Small, no teacher", "Small, teacher on FMNIST-Big"])]
g = sns.relplot(cont, x="epoch", y="test_loss", hue="seed", col="base", row="variant", kind="line",
                height=2.6, aspect=1.6, palette="viridis")
g.set_titles("{row_name}: {col_name}", size=9).set(ylabel="test CE")
g.legend.set_title("seed / attempt")
g.figure.suptitle(f"Re-initialised students vs the thesis' continued attempts (profile: {cfg.profile})", y=1.02)

# %% [markdown]
# ## λ and T
#
# The λ sweep uses $\lambda\,\mathrm{CE} + (1-\lambda)\,\text{soft-CE}$ (no factor 2) with the
# FMNIST-Big teacher; λ = 1 is the student alone, λ = 0 learns from the teacher only.
# The T sweep keeps the thesis loss and changes T on both softmaxes of the soft term.

# %%
lam_recs, t_recs = ch.run_sweeps(lab)
sw = pd.concat([pd.DataFrame([{"value": float(r["setting"].rsplit("=", 1)[1]), "sweep": sweep, **r["metrics"]}
                              for r in recs]) for recs, sweep in ((lam_recs, "λ"), (t_recs, "T"))])
fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
for ax, sweep in zip(axes, ("λ", "T")):
    sns.lineplot(sw[sw.sweep == sweep], x="value", y="accuracy", marker="o", errorbar="sd", ax=ax)
    ax.set(title=f"student accuracy vs {sweep} (FMNIST-Big teacher; profile: {cfg.profile})", xlabel=sweep)
axes[1].set_xscale("log", base=2)
plt.tight_layout()

# %% [markdown]
# ## Regression: Bike Sharing (Table 5, Figure 1)
#
# 10,000 random rows of `hour.csv` split 8,700 / 300 / 1,000; teacher [15,256,128,64,64,1]
# on Big, student [15,32,1] on Small, target `cnt`. The paper does not list its 15 features.
# **Main reading (leak-free):** the 13 columns other than `dteday`, `cnt`, `casual` and
# `registered`, plus the hour on the circle (sin, cos), standardised. **Leaky reading:** all
# 15 columns other than `dteday` and `cnt`, which includes `casual` and `registered`,
# whose sum *is* `cnt`: any model can read the answer off the inputs.

# %%
reg = ch.run_regression(cfg, store)
show_table(summary(reg), caption=f"Bike Sharing test MSE (profile: {cfg.profile})", digits=1)
rc = curves([r for r in reg if not r["setting"].startswith("teacher")])
rc["reading"] = rc.setting.str.contains("leaky").map({True: "leaky (casual+registered)", False: "leak-free"})
rc["student"] = rc.setting.str.contains("teacher on").map({True: "with teacher", False: "alone"})
g = sns.relplot(rc, x="epoch", y="test_loss", hue="student", col="reading", kind="line", errorbar="sd",
                height=3.2, aspect=1.5, facet_kws={"sharey": False})
g.set(yscale="log", ylabel="test MSE").set_titles("{col_name}")
g.figure.suptitle(f"Figure 1 redone: student test MSE per epoch, {len(cfg.seeds)} seeds (profile: {cfg.profile})", y=1.03)

# %% [markdown]
# ## Paper vs ours

# %%
table = paper_vs_ours(cls + reg, ch.CONTINUED)
show_table(table, caption=f"Thesis table and the paper's Table 5 beside ours (profile: {cfg.profile})")

# %%
full = comparison_table(ch.CHAPTER, store.root, ch.NUMBERS)
full = full[(full.profile == cfg.profile) | (full.n_runs == 0)]
print(f"{len(full)} rows in `python -m kdcore.results --chapter {ch.CHAPTER}` for profile {cfg.profile!r}")

# %% [markdown]
# ## What differed from the paper
#
# - **Re-initialisation.** The thesis' "5 attempts" continued training one student, so its
#   attempts 2-5 start from a trained network: its means and spreads mix seeds with extra
#   epochs, and its integral criterion is small with a large std (the later attempts'
#   curves start low, see the re-init figure). Our main numbers re-initialise the student
#   per seed; with the thesis code's continued attempts we land close to the thesis table
#   (last column of the table above), which suggests the rest of the setup matches. In the
#   paper-profile run, re-initialised students gain less from a teacher than the thesis
#   reports (gains table): the Fashion-MNIST teachers (identity, noise, dilation φ) help by
#   about the same amount. The MNIST teacher with the VAE φ does not help in our runs, with
#   either variant, unlike in the thesis (our VAE, trained as described, may differ from
#   theirs); it still beats the MNIST teacher without φ by a wide margin.
# - **Unstated details, our readings (guesses):** the "full FMNIST" settings train teacher
#   and student on the whole 60,000-image training set; the noise and dilation teachers are
#   trained on φ(FMNIST-Big); the GeneratedMNIST teacher is trained on 60/70 of 70 VAE
#   translations of each FMNIST-Small image (one version of the thesis code repeats *one*
#   translation 70 times; we draw 70) and labels the student's images through the VAE φ.
#   The noise σ is 0.1 (one code version uses 0.08). The VAE keeps the thesis' loss, one
#   ELBO per decoder, i.e. the KL term counted twice.
# - **Regression.** The paper gives neither features, preprocessing, λ nor the student's
#   training length. With the classification student's schedule (20 epochs of 3 steps,
#   Adam 1e-3) the regression student is still near its initial output (see the first 20
#   epochs of the Figure 1 curves), so we train it 200 epochs with Adam 1e-2 (our choice;
#   teacher: 20 epochs, Adam 1e-3, as in the thesis) with the thesis loss (λ = 0.5, ×2).
#   Features are standardised over all rows of `hour.csv` (label-free). The paper's Table 5
#   labels both student and teacher data "Reg-Train"; we follow its text (teacher on the
#   8,700 Big rows, student on the 300 Small rows).
# - **Leak.** With `casual` and `registered` among the inputs the target is their sum; we
#   report that reading only to show what it gives. Its MSE is far below the paper's, which
#   suggests (but does not prove) that the paper did not use those two columns.
# - **Sweeps** (λ, T) are ours; the paper fixes neither beyond the thesis' defaults.
# - **Smoke profile** numbers (small subsets, 1-3 epochs) only check that the pipeline runs.
