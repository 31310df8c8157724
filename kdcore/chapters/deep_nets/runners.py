"""Chapter "Distillation of knowledge in deep networks" (Oleinik, Gorpinich & Bakhteev 2023,
in Russian): the typed config, the data, the teachers and their cached outputs.

:class:`DeepNetsConfig` holds every setting (papermill parameters = field names, also the
keys of ``notebooks/params/deep_nets.yaml``). :class:`Lab` loads the data and builds the
teachers *lazily*: a notebook whose run records all exist reads them and trains nothing,
and needs no teacher weights either. Teachers live in :class:`kdcore.results.model_store.ModelStore`
(keyed by their full training config, resumable per epoch); their records (test
accuracy) in :class:`kdcore.results.RunStore`. The authors' setup (PAPERS.md §5,
intsystems/2023-Project-115): the first 10,112 CIFAR-10 training images in their stored
order, batch 128, no shuffling, Adam lr 1e-3, no scheduler.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

import torch
from torch import nn

from ...results.model_store import ModelStore, StoredModel, model_key
from ...run.config import ConfigBase
from ...base.checks import check_choice, check_each, check_int, check_profile, check_range
from ...data import Split, first_n, load_cifar10
from ...losses import CrossEntropy
from ...models import ConvTiny, ConvVeryTiny, PreActResNet
from ...results import RunStore
from ...training.loop import TrainConfig, cache_features, evaluate, fit, predict, resolve_device

CHAPTER = "deep_nets"
ARCHS = ("resnet18", "resnet10", "conv_tiny", "conv_very_tiny")
NAMES = {"resnet18": "ResNet18", "resnet10": "ResNet10", "conv_tiny": "ConvTiny", "conv_very_tiny": "ConvVeryTiny"}
CONV_LAYERS = ["conv1", "conv2", "conv3", "fc1"]                     # student layers s_1..s_4
RESNET10_LAYERS = ["stem"] + [f"b{k}_{w}" for k in range(1, 5) for w in ("conv1", "out")]  # 9 teacher layers
MODES = ("faithful", "corrected")


@dataclass
class DeepNetsConfig(ConfigBase):
    """Parameters of the deep-nets chapter (papermill parameter names equal these fields).

    The defaults are the smoke profile (the notebook's ``parameters`` cell, seconds on a
    CPU); ``notebooks/params/deep_nets.yaml`` holds the paper profile (values in comments).
    """

    profile: str = "smoke"                 # "smoke" or "paper"
    n_train: int = 128                     # first CIFAR-10 training images (paper: 10,112, the authors' maxsize)
    val_size: int = 64                     # last of those held out to choose λ on (paper: 1,152, leaving 8,960)
    test_rows: int = 200                   # evenly spaced rows of each test set (paper: 0 = all)
    batch_size: int = 64                   # paper: 128, the authors' loader
    lr: float = 1e-3                       # Adam, no scheduler, every model
    shuffle: bool = False                  # the authors' train loader did not shuffle
    device: str = "auto"                   # "auto" = CUDA when present
    bf16: bool = True                      # bf16 autocast for every training run
    channels_last: bool = True             # NHWC for the ResNet teachers
    resnet_widths: list[int] = field(default_factory=lambda: [4, 8, 16, 32])  # paper: 64-128-256-512
    resnet18_epochs: int = 1               # paper: 50 (basic_experiment.ipynb)
    resnet10_epochs: int = 1               # paper: 30 (resnet_test.ipynb)
    conv_tiny_teacher_epochs: int = 1      # paper: 30 (test_distill.ipynb)
    basic_epochs: int = 1                  # students of experiment (b) (paper: 50, basic_experiment.ipynb)
    epochs: int = 1                        # students of Tables 1 and 2 (paper: 30)
    alone_seeds: list[int] = field(default_factory=lambda: [0])  # "alone" and Hinton rows (paper: 0-4)
    hinton_runs: int = 2                   # (β, T) draws per student in the Hinton sweep (paper: 20)
    hinton_draw_seed: int = 0              # seeds the β ~ U(0,1), T = 10^U(-1,1) draws
    hinton_variants: list[str] = field(default_factory=lambda: ["oleinik2023", "hinton"])  # authors' / corrected loss
    table_hinton_beta: float = 0.5         # Hinton rows of Tables 1-2 (test_distill.ipynb: β = 0.5 ...)
    table_hinton_temperature: float = 3.0  # ... T = 3)
    pairwise_beta: float = 0.1             # test_distill.ipynb: lam1 = 0.1
    pairwise_trials: int = 2               # Optuna RandomSampler trials (paper: 15)
    a2a_trials: int = 2                    # Optuna TPE trials for all-to-all (paper: 20)
    a2a_trials_resnet10_corrected: int = 1  # the costly Table 2 corrected search (paper profile: see the yaml)
    a2a_beta_range: list[float] = field(default_factory=lambda: [0.1, 0.9])  # β ~ log-uniform (authors)
    modes: list[str] = field(default_factory=lambda: ["faithful", "corrected"])
    rerun_seeds: list[int] = field(default_factory=lambda: [100])  # retrain each chosen trial (paper: 100-102)
    search_seed: int = 0                   # seeds the Optuna samplers
    variance: str = "scalar"               # corrected VID variance: "scalar" (authors) or "channel" (Ahn et al.)
    reduction: str = "sum"                 # corrected VID reduction: "sum" (authors, Ahn eq. 5) or "mean"
    feature_cache_gb: float = 16.0         # teacher feature maps one process may cache (GB, bf16); beyond: forward per batch
    tables: list[str] = field(default_factory=lambda: ["table1", "table2"])
    hinton_sweep: bool = True              # experiment (b), from the ResNet18 teacher
    cost: bool = True                      # the teacher-output cost timing (ResNet18 and ResNet10 teachers)
    cost_epochs: int = 1                   # epochs timed per mode in the teacher-output cost experiment (paper: 3)
    cost_rows: int = 16                    # training rows it times (0 = all n_train)

    def __post_init__(self) -> None:
        check_profile(self.profile)
        check_int("n_train", self.n_train, 16, 50000)
        check_int("val_size", self.val_size, 1, self.n_train - 1)
        check_int("test_rows", self.test_rows, 0, 10000)
        check_int("batch_size", self.batch_size, 1)
        check_range("lr", self.lr, 0, 1, low_open=True)
        for name in ("shuffle", "bf16", "channels_last", "hinton_sweep", "cost"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"parameter {name!r} must be true or false, got {getattr(self, name)!r}")
        check_choice("device", self.device.split(":")[0], ("auto", "cpu", "cuda"))
        check_each("resnet_widths", self.resnet_widths, check_int, 1)
        if len(self.resnet_widths) != 4:
            raise ValueError(f"parameter 'resnet_widths' = {self.resnet_widths} must list 4 widths")
        for name in ("resnet18_epochs", "resnet10_epochs", "conv_tiny_teacher_epochs", "basic_epochs", "epochs",
                     "hinton_runs", "pairwise_trials", "a2a_trials", "a2a_trials_resnet10_corrected", "cost_epochs"):
            check_int(name, getattr(self, name), 1, 1000)
        check_each("alone_seeds", self.alone_seeds, check_int, 0)
        check_int("hinton_draw_seed", self.hinton_draw_seed, 0)
        check_each("hinton_variants", self.hinton_variants, check_choice, ("oleinik2023", "hinton"))
        check_range("table_hinton_beta", self.table_hinton_beta, 0, 1)
        check_range("table_hinton_temperature", self.table_hinton_temperature, 0, 100, low_open=True)
        check_range("pairwise_beta", self.pairwise_beta, 0, 1)
        check_each("a2a_beta_range", self.a2a_beta_range, check_range, 0, 1, low_open=True)
        if len(self.a2a_beta_range) != 2 or self.a2a_beta_range[0] >= self.a2a_beta_range[1]:
            raise ValueError(f"parameter 'a2a_beta_range' = {self.a2a_beta_range} must be [low, high], low < high")
        check_each("modes", self.modes, check_choice, MODES)
        check_each("rerun_seeds", self.rerun_seeds, check_int, 0)
        check_int("search_seed", self.search_seed, 0)
        check_choice("variance", self.variance, ("scalar", "channel"))
        check_choice("reduction", self.reduction, ("sum", "mean"))
        check_range("feature_cache_gb", self.feature_cache_gb, 0)
        check_int("cost_rows", self.cost_rows, 0, self.n_train)
        check_each("tables", self.tables, check_choice, ("table1", "table2"))

    def parts(self) -> tuple[str, ...]:
        """The parts of the chapter this profile runs (the script's ``--only`` choices)."""
        return (("hinton",) if self.hinton_sweep else ()) + tuple(self.tables) + (("cost",) if self.cost else ())


@dataclass
class Data:
    """The chapter's splits. ``train`` is the authors' 10,112 rows; ``part`` + ``val`` carve
    it (first ``n_train - val_size`` rows / the last ``val_size``) for choosing on validation."""

    train: Split
    part: Split
    val: Split
    test: Split          # full 10,000 test images, the JPEG q75 copy (labelled as such)
    test_1k: Split       # the exact first 1,000 test images


def load_data(cfg: DeepNetsConfig) -> Data:
    train = first_n(load_cifar10(True), cfg.n_train)
    n_part = cfg.n_train - cfg.val_size
    part = train.subset(torch.arange(n_part), f"{train.description} [rows 0-{n_part - 1}]")
    val = train.subset(torch.arange(n_part, cfg.n_train), f"{train.description} [rows {n_part}-{cfg.n_train - 1}]")
    tests = [load_cifar10(False, test_set=s) for s in ("jpeg_q75", "exact_1k")]
    return Data(train, part, val, *[_spread(t, cfg.test_rows) for t in tests])


def _spread(split: Split, n: int) -> Split:
    """``n`` evenly spaced rows (all when ``n`` is 0): the JPEG copy is stored class by
    class, so a prefix would hold a single class."""
    if not n or n >= len(split):
        return split
    idx = torch.linspace(0, len(split) - 1, n).round().long()
    return split.subset(idx, f"{split.description} [{n} evenly spaced rows]")


def build(arch: str, cfg: DeepNetsConfig) -> nn.Module:
    """An untrained model; the ResNets in the authors' layout with ``cfg.resnet_widths``."""
    check_choice("arch", arch, ARCHS)
    if arch in ("resnet18", "resnet10"):
        blocks = (2, 2, 2, 2) if arch == "resnet18" else (1, 1, 1, 1)
        return PreActResNet(blocks, widths=tuple(cfg.resnet_widths), authors_layout=True)
    return ConvTiny() if arch == "conv_tiny" else ConvVeryTiny()


def train_config(cfg: DeepNetsConfig, epochs: int, seed: int, channels_last: bool = False,
                 eval_every: int = 1) -> TrainConfig:
    return TrainConfig(epochs=epochs, batch_size=cfg.batch_size, lr=cfg.lr, seed=seed, shuffle=cfg.shuffle,
                       device=cfg.device, bf16=cfg.bf16, channels_last=channels_last, progress=False,
                       eval_every=min(eval_every, epochs))


def batch_stats_accuracy(model: nn.Module, split: Split, batch_size: int = 128, seed: int = 0) -> float:
    """Test accuracy with BatchNorm in *training* mode (statistics of each 128-image batch),
    as the authors' ``accuracy()`` measured the ResNet18 of basic_experiment.ipynb. A copy
    is used, so the model's running statistics are untouched.

    The rows are batched in a fixed random order (``seed``), as the authors' shuffled test
    loader did: the JPEG test copy is stored class by class, and batches of one class would
    normalise every image by that class's own statistics."""
    m = copy.deepcopy(model).train()
    order = torch.randperm(len(split), generator=torch.Generator().manual_seed(seed))
    shuffled = split.subset(order)
    with torch.no_grad():
        logits = predict_batches(m, shuffled, batch_size)
    return float((logits.argmax(1) == shuffled.y).float().mean())


def _with_extras(split: Split, extras: dict[str, torch.Tensor]) -> Split:
    for name, values in extras.items():
        split = split.with_extra(name, values)
    return split


@torch.no_grad()
def batch_mode_outputs(teacher: nn.Module, split: Split, names: list[str] | None, batch_size: int,
                       bf16: bool) -> torch.Tensor | dict[str, torch.Tensor]:
    """Teacher outputs with BatchNorm in training mode over consecutive ``batch_size`` rows.

    The authors left their teachers in training mode, so every teacher output used batch
    statistics of the (unshuffled, hence fixed) training batch; these are those outputs,
    computed once. Logits (``names=None``, float32 on the CPU) or ``{name: bf16 map on the
    device}``. A copy of the teacher is used: its running statistics stay untouched.
    """
    m = copy.deepcopy(teacher).train()
    device = next(m.parameters()).device
    outs: list = []
    for i in range(0, len(split), batch_size):
        x = split.prepare(split.x[i:i + batch_size].to(device))
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
            if names is None:
                outs.append(m(x).float().cpu())
            else:
                f = m.features(x)
                outs.append({n: f[n].to(torch.bfloat16).contiguous() for n in names})
    if names is None:
        return torch.cat(outs)
    return {n: torch.cat([o[n] for o in outs]) for n in names}


def predict_batches(model: nn.Module, split: Split, batch_size: int) -> torch.Tensor:
    """Logits of ``model`` in its current mode over consecutive batches of ``split`` (CPU)."""
    device = next(model.parameters()).device
    out = [model(split.prepare(split.x[i:i + batch_size].to(device))).float().cpu()
           for i in range(0, len(split), batch_size)]
    return torch.cat(out)


class Lab:
    """Data, teachers and their cached outputs for one config, built on first use."""

    def __init__(self, cfg: DeepNetsConfig, store: RunStore | None = None, models: ModelStore | None = None) -> None:
        self.cfg = cfg
        self.store = store or RunStore(profile=cfg.profile)
        self.models = models or ModelStore(self.store.root / ".cache" / "models")
        self._data: Data | None = None
        self._teachers: dict[tuple[str, str], StoredModel] = {}
        self._splits: dict[tuple, tuple[Split, nn.Module | None]] = {}
        self._cached_gb = 0.0          # feature maps this process keeps (at most feature_cache_gb)

    @property
    def data(self) -> Data:
        if self._data is None:
            self._data = load_data(self.cfg)
        return self._data

    @property
    def device(self) -> torch.device:
        return resolve_device(self.cfg.device)

    def train_split(self, kind: str) -> Split:
        """``"full"``: the 10,112 rows; ``"part"``: the rows left after carving the validation split."""
        check_choice("kind", kind, ("full", "part"))
        return self.data.train if kind == "full" else self.data.part

    # -- teachers ---------------------------------------------------------------------------
    def teacher_config(self, arch: str, kind: str = "full") -> dict:
        """Everything that determines a teacher's weights: the :class:`ModelStore` key."""
        c = self.cfg
        epochs = {"resnet18": c.resnet18_epochs, "resnet10": c.resnet10_epochs}.get(arch, c.conv_tiny_teacher_epochs)
        rows = c.n_train if kind == "full" else c.n_train - c.val_size
        return {"arch": arch, "layout": "authors" if arch.startswith("resnet") else "",
                "widths": list(c.resnet_widths) if arch.startswith("resnet") else None,
                "data": f"CIFAR-10 train, first {rows} rows", "epochs": epochs, "lr": c.lr, "optimizer": "adam",
                "batch_size": c.batch_size, "shuffle": c.shuffle, "seed": 0, "bf16": c.bf16,
                "channels_last": c.channels_last and arch.startswith("resnet")}

    def teacher_key(self, arch: str, kind: str = "full") -> str:
        return model_key(self.teacher_config(arch, kind))

    def teacher_setting(self, arch: str, kind: str = "full") -> str:
        rows = "" if kind == "full" else f" (first {self.cfg.n_train - self.cfg.val_size} rows)"
        return f"teacher {NAMES[arch]}{rows}"

    def teacher_model(self, arch: str, kind: str = "full") -> nn.Module:
        """The trained teacher on the device, eval mode (trained once, then loaded)."""
        if (arch, kind) not in self._teachers:
            tc = self.teacher_config(arch, kind)

            def fit_fn(model, resume, on_checkpoint):
                return fit(model, self.train_split(kind), CrossEntropy(),
                           train_config(self.cfg, tc["epochs"], 0, tc["channels_last"]), self.data.test,
                           desc=self.teacher_setting(arch, kind), resume=resume, on_checkpoint=on_checkpoint)

            def make():
                torch.manual_seed(0)
                return build(arch, self.cfg)

            stored = self.models.get(tc, make, fit_fn, name=f"{CHAPTER}-{arch}")
            stored.model.to(self.device).eval()
            self._teachers[(arch, kind)] = stored
        return self._teachers[(arch, kind)].model

    def teacher(self, arch: str, kind: str = "full") -> dict:
        """The teacher's run record (test accuracies, training curve); trains it if needed."""
        tc = self.teacher_config(arch, kind)

        def run() -> dict:
            model = self.teacher_model(arch, kind)
            stored = self._teachers[(arch, kind)]
            d = self.data
            return {"metrics": {"accuracy": evaluate(model, d.test)["accuracy"],
                                "accuracy_exact_1k": evaluate(model, d.test_1k)["accuracy"],
                                "accuracy_batch_stats": batch_stats_accuracy(model, d.test, self.cfg.batch_size)},
                    "history": stored.history.to_dict(), "extra": {"model_key": model_key(tc)}}

        return self.store.run(CHAPTER, self.teacher_setting(arch, kind), 0, tc, self.cfg.profile, run)

    # -- what students read from a teacher ----------------------------------------------------
    def teacher_outputs(self, arch: str, kind: str, names: list[str] | None, bn: str) -> tuple[Split, nn.Module | None]:
        """The training split with the teacher's outputs attached, computed once.

        ``names=None``: logits under ``"teacher_logits"`` (always cached). Otherwise feature
        maps under ``"teacher/<name>"`` while this process's cached maps stay within
        ``feature_cache_gb`` (bf16, on the device); else the plain split and the teacher, run
        per batch without gradients.
        ``bn="eval"`` uses the running statistics; ``bn="batch"`` the statistics of each
        unshuffled 128-row batch, as the authors' teachers, left in training mode, did.
        """
        check_choice("bn", bn, ("eval", "batch"))
        k = (arch, kind, tuple(names) if names else None, bn)
        if k in self._splits:
            return self._splits[k]
        if bn == "batch" and self.cfg.shuffle:
            raise ValueError("teacher outputs with batch statistics are cached per fixed batch: "
                             "they need shuffle = false (the authors' setting)")
        teacher = self.teacher_model(arch, kind)
        split = self.train_split(kind)
        if names is None:
            logits = (batch_mode_outputs(teacher, split, None, self.cfg.batch_size, self.cfg.bf16)
                      if bn == "batch" else predict(teacher, split, bf16=self.cfg.bf16))
            out = (split.with_extra("teacher_logits", logits), None)
        elif self._cached_gb + self.feature_gb(arch, names, kind) <= self.cfg.feature_cache_gb:
            self._cached_gb += self.feature_gb(arch, names, kind)
            if bn == "batch":
                feats = batch_mode_outputs(teacher, split, names, self.cfg.batch_size, self.cfg.bf16)
                out = (_with_extras(split, {f"teacher/{n}": v for n, v in feats.items()}), None)
            else:
                out = (cache_features(teacher, split, names, bf16=self.cfg.bf16, dtype=torch.bfloat16,
                                      on_device=True), None)
        else:  # too large to keep: the objective runs the teacher on every batch
            out = (split, copy.deepcopy(teacher).train() if bn == "batch" else teacher)
        self._splits[k] = out
        return out

    def feature_gb(self, arch: str, names: list[str], kind: str = "full") -> float:
        """Memory the cached bf16 feature maps of ``names`` take for the training split."""
        rows = self.cfg.n_train if kind == "full" else self.cfg.n_train - self.cfg.val_size
        return rows * feature_elements(build(arch, self.cfg), names) * 2 / 1e9


def feature_elements(model: nn.Module, names: list[str]) -> int:
    """Values per image of the features ``names`` of ``model`` (a CIFAR-sized input)."""
    was = model.training
    model.eval()
    with torch.no_grad():
        feats = model.features(torch.zeros(2, 3, 32, 32))
    model.train(was)
    return sum(feats[n][0].numel() for n in names)
