"""Chapter "Model distillation on multi-domain datasets" (Orlov & Grabovoy 2022).

:class:`MultidomainConfig` holds every setting (papermill parameters = field names);
:class:`Lab` and the runner functions below train the teachers, the VAE and the image
students and return their run records (written by :class:`kdcore.results.RunStore`, so a
re-run skips finished work); Bike Sharing is in :mod:`.regression`. Setting names equal
those in :mod:`.paper`.

Teachers and the VAE are :class:`kdcore.results.TrainedModel` objects: their records
come at once, their weights only when a run that still has to be computed needs them, so
re-executing the chapter with every record present trains nothing. The config is in
:mod:`.config` (re-exported here).
"""

from __future__ import annotations

import torch

from ...data import Split, first_n
from ...losses import CrossEntropy
from ...losses.multidomain import MultiDomainKD
from ...models.mappings import (Composed, DilatedConv, GaussianNoise, IdentityMap, PairedELBO, PairedVAE, VAEMap, pair_by_label)
from ...models import MLP
from ...results import RunStore
from ...results.records import TrainedModel
from ...training.loop import TrainConfig, cache_outputs, evaluate, fit, seed_everything
from .config import MultidomainConfig
from .data import ImageDomains, generated_mnist, load_image_domains
from .integral import integral_criterion
from .paper import CONTINUED_SUFFIX

CHAPTER = "multidomain"
TEACHER_SIZES = [784, 256, 128, 64, 64, 10]
STUDENT_SIZES = [784, 64, 10]
REG_TEACHER_SIZES = [15, 256, 128, 64, 64, 1]
REG_STUDENT_SIZES = [15, 32, 1]
CONTINUED = CONTINUED_SUFFIX  # setting-name suffix of the thesis code's continued attempts


def _rows(split: Split, n: int) -> Split:
    return first_n(split, n) if n and n < len(split) else split


def _train_cfg(cfg: MultidomainConfig, kind: str, seed: int, metric: str = "accuracy") -> TrainConfig:
    if kind == "long_teacher":
        return TrainConfig(epochs=cfg.long_teacher_epochs, batch_size=cfg.teacher_batch, lr=cfg.teacher_lr,
                           schedule="step", step_size=cfg.long_teacher_step, gamma=0.1, seed=seed,
                           metric=metric, progress=False)
    e, b, lr = {"teacher": (cfg.teacher_epochs, cfg.teacher_batch, cfg.teacher_lr),
                "student": (cfg.student_epochs, cfg.student_batch, cfg.student_lr),
                "vae": (cfg.vae_epochs, cfg.vae_batch, cfg.vae_lr),
                "bike_teacher": (cfg.bike_teacher_epochs, cfg.teacher_batch, cfg.bike_teacher_lr),
                "bike_student": (cfg.bike_student_epochs, cfg.bike_student_batch, cfg.bike_student_lr)}[kind]
    return TrainConfig(epochs=e, batch_size=b, lr=lr, seed=seed, metric=metric, progress=False)


class Lab:
    """Everything one profile of the chapter trains: the VAE, the teachers (one per
    teacher seed), the students. Models are built lazily (see the module docstring)."""

    def __init__(self, cfg: MultidomainConfig, store: RunStore | None = None) -> None:
        self.cfg, self.store = cfg, store or RunStore()
        self.data: ImageDomains = load_image_domains(cfg.n_small, cfg.split_seed, cfg.test_rows)
        self._teachers: dict[tuple[str, int], TrainedModel] = {}
        self._vae: TrainedModel | None = None

    @property
    def teacher_seed_list(self) -> list[int]:
        """The teachers' seeds: the first ``teacher_seeds`` student seeds."""
        return list(self.cfg.seeds[:self.cfg.teacher_seeds])

    def teacher_seed(self, seed: int) -> int:
        """The teacher seed a student seed uses: student ``seeds[i]`` -> ``seeds[i mod k]``."""
        seeds = list(self.cfg.seeds)
        i = seeds.index(seed) if seed in seeds else seed
        return seeds[i % self.cfg.teacher_seeds]

    # -- the VAE phi ---------------------------------------------------------------------
    def vae_params(self) -> dict:
        c = self.cfg
        return {"kind": "vae", "rows": c.vae_rows, "epochs": c.vae_epochs, "batch": c.vae_batch,
                "lr": c.vae_lr, "pair_seed": c.split_seed, "arch": "784-200-64, decoders fmnist/mnist",
                "gallery_noise": c.noise_std}

    def vae(self) -> TrainedModel:
        """The VAE trained on (FMNIST image, same-label random MNIST image) pairs, seed 0.
        Its record's ``extra["gallery"]`` holds what each φ does to six FMNIST-Small
        images (uint8), so the chapter's figure needs no model."""
        if self._vae is None:
            d, c = self.data, self.cfg

            def build():
                seed_everything(0)
                return PairedVAE(("fmnist", "mnist"))

            def train(vae):
                pairs = d.fmnist_train.with_extra("paired", d.mnist_train.x[
                    pair_by_label(d.fmnist_train.y, d.mnist_train.y, c.split_seed)])
                hist = fit(vae, _rows(pairs, c.vae_rows), PairedELBO("fmnist", "mnist"), _train_cfg(c, "vae", 0))
                vae.cpu().eval()
                from .report import phi_gallery  # figure data, stored in the record
                gallery = phi_gallery(d.fmnist_small.inputs()[:6], vae, c.noise_std)
                u8 = {k: (v / max(1.0, float(v.max())) * 255).round().to(torch.uint8).tolist()
                      for k, v in gallery.items()}
                return {"metrics": {"neg_elbo": hist.train_loss[-1]}, "history": hist.to_dict(),
                        "extra": {"gallery": u8}}

            self._vae = self.store.trained_model(CHAPTER, "VAE FMNIST→MNIST", 0, self.vae_params(), c.profile,
                                                 build, train)
        return self._vae

    # -- teachers ------------------------------------------------------------------------
    def teacher_map(self, name: str) -> tuple[torch.nn.Module, int, dict]:
        """(training map φ, input width, extra params) of a teacher."""
        c = self.cfg
        if name == "FMNIST-Big, noise φ":
            return GaussianNoise(c.noise_std), 784, {"noise": c.noise_std}
        if name == "FMNIST-Big, dilation φ":
            return DilatedConv(), 576, {}
        if name == "GeneratedMNIST":
            return IdentityMap(), 784, {"vae": self.vae().record["key"], "per_object": c.generated_per_object}
        if name == "FMNIST-train, trained longer":
            return IdentityMap(), 784, {"epochs": c.long_teacher_epochs, "schedule": "step",
                                        "step": c.long_teacher_step, "gamma": 0.1}
        if name in ("FMNIST-train", "FMNIST-Big", "MNIST-Big"):
            return IdentityMap(), 784, {}
        raise ValueError(f"unknown teacher {name!r}")

    def teacher_data(self, name: str) -> tuple[Split, Split]:
        """(training split, the test split of the teacher's own domain)."""
        d, t = self.data, self.cfg.teacher_rows
        if name.startswith("FMNIST-train"):
            return _rows(d.fmnist_train, t), d.fmnist_test
        if name.startswith("FMNIST-Big"):
            return _rows(d.fmnist_big, t), d.fmnist_test
        if name == "MNIST-Big":
            return _rows(d.mnist_big, t), d.mnist_test
        if name == "GeneratedMNIST":  # held out: other VAE samples of the same 1,000 images
            train, held = generated_mnist(self.vae().model.eval(), d.fmnist_small, self.cfg.generated_per_object)
            return _rows(train, t), held
        raise ValueError(f"unknown teacher {name!r}")

    def teacher_params(self, name: str) -> dict:
        c = self.cfg
        return {"kind": "teacher", "data": name, "rows": c.teacher_rows, "n_small": c.n_small,
                "split_seed": c.split_seed, "test_rows": c.test_rows, "epochs": c.teacher_epochs,
                "batch": c.teacher_batch, "lr": c.teacher_lr, **self.teacher_map(name)[2]}

    def teacher(self, name: str, seed: int = 0) -> TrainedModel:
        """``f o phi_train`` trained with CE (Adam, seed ``seed``); its record holds the
        accuracy on its own domain's test part; the model is built only on ``.model``."""
        if (name, seed) not in self._teachers:
            phi, width, _ = self.teacher_map(name)
            kind = "long_teacher" if name.endswith("trained longer") else "teacher"

            def build():
                seed_everything(seed)
                return Composed(phi, MLP([width] + TEACHER_SIZES[1:]))

            def fit_teacher(model):
                train, test = self.teacher_data(name)
                hist = fit(model, train, CrossEntropy(), _train_cfg(self.cfg, kind, seed), test=test)
                return {"metrics": {"accuracy": hist.last, "ce": hist.test_loss[-1]}, "history": hist.to_dict()}

            self._teachers[(name, seed)] = self.store.trained_model(
                CHAPTER, f"teacher: {name}", seed, self.teacher_params(name), self.cfg.profile, build, fit_teacher)
        return self._teachers[(name, seed)]

    # -- students ------------------------------------------------------------------------
    def distiller(self, teacher: str | None, phi: str | None, seed: int = 0):
        """``(params, make)``: the teacher's description for a run key, and a function that
        builds ``f o phi`` used at student time (``None`` without a teacher) when called."""
        if teacher is None:
            return {"teacher": None}, lambda: None
        t = self.teacher(teacher, seed)

        def make():
            comp = t.model.eval()
            if phi == "vae":  # the teacher's own map is replaced by the VAE translation
                return Composed(VAEMap(self.vae().model.eval(), "mnist"), comp.model).eval()
            return comp       # the teacher's own training map (identity / noise / dilation)

        return {"teacher": t.record["key"], "phi": phi or "identity"}, make

    def student_train_split(self, setting: str) -> Split:
        d = self.data
        return _rows(d.fmnist_train, self.cfg.full_rows) if setting.startswith("full") else d.fmnist_small

    def run_student(self, setting: str, seed: int, teacher: str | None, phi: str | None = None,
                    lam: float | None = None, temperature: float | None = None,
                    scale: float | None = None, t_squared: bool = False) -> dict:
        """One re-initialised student (seed ``seed``, with the teacher of
        :meth:`teacher_seed`): metrics ``accuracy``, ``ce`` (last epoch, test) and
        ``integral`` (area under its test-CE curve)."""
        c = self.cfg
        lam = c.lam if lam is None else lam
        temperature = c.temperature if temperature is None else temperature
        scale = c.loss_scale if scale is None else scale
        train = self.student_train_split(setting)
        tparams, make = self.distiller(teacher, phi, self.teacher_seed(seed))
        params = {"kind": "student", "rows": len(train), "test_rows": c.test_rows, "epochs": c.student_epochs,
                  "batch": c.student_batch, "lr": c.student_lr, "lam": lam, "T": temperature,
                  "scale": scale, "split_seed": c.split_seed, **tparams}
        if t_squared:
            params["t_squared"] = True

        def go():
            data, objective = self._objective(train, make(), lam, temperature, scale, t_squared)
            seed_everything(seed)
            student = MLP(STUDENT_SIZES)
            hist = fit(student, data, objective, _train_cfg(c, "student", seed), test=self.data.fmnist_test)
            return _classification_result(hist)

        return self.store.run(CHAPTER, setting, seed, params, c.profile, go)

    def _objective(self, train: Split, model, lam, temperature, scale, t_squared: bool = False):
        if model is not None and not getattr(model, "random", False) and lam < 1:
            train = cache_outputs(model, train)  # deterministic phi: teacher answers once
            model = None
        return train, MultiDomainKD("classification", lam, temperature, scale, teacher=model, t_squared=t_squared)

    def run_continued(self, setting: str, teacher: str | None, phi: str | None = None) -> list[dict]:
        """The thesis code's "5 attempts": ONE student trained ``len(seeds)`` times in a row
        (a new Adam each attempt, weights kept), as ``continued_chains`` independent chains.

        Chain ``c`` starts from student seed ``seeds[c]`` with that seed's teacher, and is
        one record (seed ``c``): its metrics are the thesis' statistics over its attempts
        (the mean of each attempt's last-epoch accuracy and CE, and of each attempt's
        integral criterion), with their spread over the attempts (``*_attempt_sd``); its
        history runs through all attempts. So the spread over records is the chain-to-chain
        spread that the thesis' one chain carries, which its own ± (over attempts) is not.
        """
        c = self.cfg
        train = self.student_train_split(setting)
        name = setting + CONTINUED
        out = []
        for chain in range(c.continued_chains):
            seed = c.seeds[chain]
            tparams, make = self.distiller(teacher, phi, self.teacher_seed(seed))
            params = {"kind": "continued chain", "rows": len(train), "test_rows": c.test_rows,
                      "epochs": c.student_epochs, "batch": c.student_batch, "lr": c.student_lr, "lam": c.lam,
                      "T": c.temperature, "scale": c.loss_scale, "split_seed": c.split_seed,
                      "attempts": len(c.seeds), "student_seed": seed, **tparams}

            def go(seed=seed, make=make):
                data, objective = self._objective(train, make(), c.lam, c.temperature, c.loss_scale)
                seed_everything(seed)
                student = MLP(STUDENT_SIZES)
                attempts, history = [], {"test_epochs": [], "test_loss": [], "test_metric": []}
                for a in range(len(c.seeds)):
                    hist = fit(student, data, objective, _train_cfg(c, "student", 100 * seed + a),
                               test=self.data.fmnist_test)
                    attempts.append(_classification_result(hist)["metrics"])
                    history["test_epochs"] += [a * c.student_epochs + e for e in hist.test_epochs]
                    history["test_loss"] += list(hist.test_loss)
                    history["test_metric"] += list(hist.test_metric)
                metrics = {}
                for m in ("accuracy", "ce", "integral"):
                    vals = torch.tensor([x[m] for x in attempts], dtype=torch.float64)
                    metrics[m], metrics[m + "_attempt_sd"] = float(vals.mean()), float(vals.std())
                    metrics[m + "_last_attempt"] = float(vals[-1])
                return {"metrics": metrics, "history": history, "extra": {"attempts": attempts}}

            out.append(self.store.run(CHAPTER, name, chain, params, c.profile, go))
        return out

    def teacher_quality(self, setting: str, seed: int) -> dict:
        """The teacher of ``setting`` (teacher seed ``seed``) as the student meets it:
        accuracy and CE of ``f o phi`` on the student's test set (Fashion-MNIST test);
        a random φ draws once per image (seeded)."""
        teacher, phi = SETTINGS[setting]
        tparams, make = self.distiller(teacher, phi, seed)
        params = {"kind": "teacher through phi", "test_rows": self.cfg.test_rows, **tparams}

        def go():
            model = make()
            seed_everything(seed)
            ev = evaluate(model, self.data.fmnist_test)
            return {"metrics": {"accuracy": ev["accuracy"], "ce": ev["loss"]}}

        return self.store.run(CHAPTER, TEACHER_VIA_PHI + setting, seed, params, self.cfg.profile, go)


def _classification_result(hist) -> dict:
    return {"metrics": {"accuracy": hist.last, "ce": hist.test_loss[-1],
                        "integral": integral_criterion(hist.test_loss, hist.test_epochs)},
            "history": hist.to_dict()}


TEACHER_VIA_PHI = "teacher through φ: "   # setting-name prefix of the teacher-quality records

# The thesis table: setting -> (teacher, phi at student time). Names = the paper.py names.
SETTINGS: dict[str, tuple[str | None, str | None]] = {
    "full FMNIST, no teacher": (None, None),
    "full FMNIST, teacher": ("FMNIST-train", "identity"),
    "full FMNIST, teacher trained longer": ("FMNIST-train, trained longer", "identity"),  # ours
    "Small, no teacher": (None, None),
    "Small, teacher on FMNIST-Big": ("FMNIST-Big", "identity"),
    "Small, noise φ": ("FMNIST-Big, noise φ", "noise"),
    "Small, dilation φ": ("FMNIST-Big, dilation φ", "dilation"),
    "MNIST teacher + VAE φ": ("MNIST-Big", "vae"),
    "MNIST teacher, no φ": ("MNIST-Big", "identity"),
    "GeneratedMNIST teacher": ("GeneratedMNIST", "vae"),
}
TEACHERS = list(dict.fromkeys(t for t, _ in SETTINGS.values() if t is not None))


def run_classification(lab: Lab, settings=None) -> list[dict]:
    """Every setting of the thesis table, one re-initialised student per seed, and (if
    ``continued``) the thesis code's continued attempts for the Small settings."""
    out = []
    for name in settings or SETTINGS:
        teacher, phi = SETTINGS[name]
        out += [lab.run_student(name, s, teacher, phi) for s in lab.cfg.seeds]
        if lab.cfg.continued and not name.startswith("full"):
            out += lab.run_continued(name, teacher, phi)
    return out


def run_teachers(lab: Lab) -> tuple[list[dict], list[dict]]:
    """Every teacher's records (one per teacher seed; quality on its own test part) and
    every teacher-quality record (``f o phi`` on the student's test set, per setting)."""
    own = [lab.teacher(t, s).record for t in TEACHERS for s in lab.teacher_seed_list]
    via = [lab.teacher_quality(k, s) for k, (t, _) in SETTINGS.items() if t is not None
           for s in lab.teacher_seed_list]
    return own, via


def run_sweeps(lab: Lab, setting: str = "Small, teacher on FMNIST-Big") -> dict[str, list[dict]]:
    """Sweeps of one setting on the first ``sweep_seeds`` seeds: ``"λ"`` (loss
    ``λ CE + (1-λ) softCE``, scale 1, T from the config), ``"T"`` (the thesis loss, no
    ``T^2``) and ``"T, ×T²"`` (the thesis loss with the soft term times ``T^2``)."""
    c = lab.cfg
    teacher, phi = SETTINGS[setting]
    seeds = c.seeds[:c.sweep_seeds]
    return {
        "λ": [lab.run_student(f"λ sweep: {setting}, λ={v:g}", s, teacher, phi, lam=v, scale=1.0)
              for v in c.lambda_grid for s in seeds],
        "T": [lab.run_student(f"T sweep: {setting}, T={v:g}", s, teacher, phi, temperature=v)
              for v in c.temperature_grid for s in seeds],
        "T, ×T²": [lab.run_student(f"T sweep ×T²: {setting}, T={v:g}", s, teacher, phi, temperature=v,
                                   t_squared=True) for v in c.temperature_grid for s in seeds],
    }
