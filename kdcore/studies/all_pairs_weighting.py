"""Can the all-pairs weighting of chapter 4 matter? β chosen where the VID term is felt, then tuned λ against uniform and pairwise.

Chapter 4's all-pairs comparison (Gorpinich, Bakhteev & Strijov, heterogeneous draft; the
book's all-pairs version) trains ConvVeryTiny from a ConvTiny teacher with

    L = (1 - β) CE(y, g(x)) + β Σ_{i,j} λ_ij VID(t_i, s_j)          (4 × 4 = 16 layer pairs)

and ran with β = 1e-4, where the feature term is too small beside cross-entropy for any
weighting λ to change the result (tuned 0.5606, none 0.5603). This study asks the question
where it can be answered:

1. **How large is the feature term?** On a fixed probe batch, at initialisation, the ratio
   ``r = ||∇_w VID_λ|| / ||∇_w CE||`` over the student's weights ``w`` (uniform λ, eval mode).
   With weights ``1 - β`` and ``β`` the two gradients stand at ``ρ = β r / (1 - β)``, so
   ``β(ρ) = ρ / (ρ + r)`` puts the feature term at ρ times cross-entropy.
2. **β on validation.** Uniform λ at ``ρ ∈ cfg.ratios`` (a tenth to ten times by default),
   ``grid_seeds`` seeds each; the ρ with the best mean validation accuracy is kept. Every run
   records, per epoch, both gradient norms on the probe batch (so the ratio during training
   is measured, not assumed).
3. **The weighting at that β**, ``seeds`` seeds each: ``none`` (cross-entropy only),
   ``uniform`` λ over 16 pairs, ``pairwise`` (the 4 pairs i↔i, uniform), and ``tuned``:
   λ on the simplex (softmax of 16 raw values, :class:`kdcore.hyper.SimplexWeights`), started
   uniform and moved by the one-step hypergradient of the validation loss (finite
   differences, Adam 0.01 on the raw values, every step: chapter 4's settings). The tuned
   runs keep their λ trajectory (the teacher × student heatmaps at the start and the end).

Everything else is chapter 4's student training (SGD lr 1.0, halved every 10 epochs, 25
epochs, batch 128) on the ``hinton_lr`` study's split and teacher (12,800 seeded CIFAR-10
training images, ConvTiny trained 15 epochs, its committed weights), so the two studies share
a baseline. Validation: 1,280 further training images that neither network trains on.

The regressors are :class:`kdcore.losses.cross_layer_sampled.PooledRegressor` (each pair
compared at the smaller resolution, the field's practice), every pair evaluated (no
sampling): the exact-size regressors of the chapter cost ~3× more per epoch on this CPU, and
``sampled_vid`` measured that the two train differently, so these runs are compared with one
another, not with the chapter's rows.

``python -m kdcore.studies.all_pairs_weighting [--profile smoke|paper] [--phase probe|grid|main]``
writes a record per run under ``results/all_pairs_weighting/`` (resumable: finished runs are
read, never rerun).
"""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..data import Split, load_cifar10, random_split
from ..hyper import HyperConfig, HyperStep, SimplexWeights
from ..losses import CrossEntropy, all_to_all_pairs, pairwise_pairs
from ..losses.cross_layer_sampled import PooledRegressor, _pool_to
from ..losses.vid import inverse_softplus, vid_nll
from ..models import ConvTiny, ConvVeryTiny
from ..models.regressors import feature_shapes
from ..results import RunFailedBefore, RunStore
from ..training.loop import TrainConfig, cache_features, evaluate, fit, seed_everything

__all__ = ["StudyConfig", "PooledAllPairs", "METHODS", "beta_for_ratio", "gradient_norms", "run"]

STUDY = "all_pairs_weighting"
TEACHER_STUDY = "hinton_lr"          # whose split and committed teacher this study reads
LAYERS = ["conv1", "conv2", "conv3", "fc1"]
METHODS = ("none", "uniform", "pairwise", "tuned")
HEATMAP_POINTS = 40


@dataclass(frozen=True)
class StudyConfig:
    profile: str = "smoke"
    rows: int = 512                    # training images (the hinton_lr split: same seed, same rows)
    val_rows: int = 256                # further training images for β and the hypergradient
    test_rows: int = 10000             # the JPEG test copy is sorted by class: always all of it
    teacher_epochs: int = 1
    epochs: int = 2
    step_size: int = 10
    lr: float = 1.0
    hyper_lr: float = 0.01
    ratios: tuple = (0.1, 1.0, 10.0)   # ρ: the feature term's gradient over cross-entropy's
    grid_seeds: tuple = (0,)
    seeds: tuple = (0,)
    probe_seeds: tuple = (0,)
    probe_rows: int = 256
    batch_size: int = 128

    @classmethod
    def paper(cls) -> "StudyConfig":
        return cls(profile="paper", rows=12800, val_rows=1280, teacher_epochs=15, epochs=25,
                   ratios=(0.1, 0.3, 1.0, 3.0, 10.0), grid_seeds=(0, 1), seeds=(0, 1, 2, 3, 4),
                   probe_seeds=(0, 1, 2), probe_rows=512)


def beta_for_ratio(ratio: float, r: float) -> float:
    """β with ``β r / (1 - β) = ratio``: the feature term's gradient at ``ratio`` times
    cross-entropy's, given ``r`` = their ratio at equal weights."""
    if ratio <= 0 or r <= 0:
        raise ValueError(f"ratio ({ratio}) and r ({r}) must be positive")
    return ratio / (ratio + r)


class PooledAllPairs(nn.Module):
    """``{"ce": (1 - β) CE, "vid": β Σ_p λ_p VID_p}`` over ``pairs``, λ read from ``meta``.

    Each pair's regressor is a :class:`PooledRegressor` (student map ``(B, C_s, H_s, W_s)``
    → teacher map at the smaller resolution ``(B, C_t, h, w)``), each VID term has one
    learned variance σ²_p = softplus(ρ_p) (Ahn et al. 2019, eq. 5 with a scalar σ², summed
    over elements, averaged over the batch: :func:`kdcore.losses.vid.vid_nll`). λ comes from
    ``meta.values()["lambda"]`` (any shape, flattened in the order of ``pairs``), so a
    hypergradient reaches it; ``meta`` is held outside the module tree, so ``fit`` never
    trains it. Teacher maps come from the batch (``"teacher/<layer>"``, cached once).
    """

    def __init__(self, pairs: list[tuple[str, str]], teacher_shapes: dict, student_shapes: dict,
                 meta: SimplexWeights, beta: float, init_variance: float = math.log(2.0)) -> None:
        super().__init__()
        if not 0 <= beta <= 1:
            raise ValueError(f"parameter 'beta' = {beta} is out of range: allowed [0, 1]")
        self.pairs, self.beta = list(pairs), float(beta)
        self.regressors = nn.ModuleList(PooledRegressor(student_shapes[s], teacher_shapes[t]) for t, s in pairs)
        self.rho = nn.Parameter(torch.full((len(pairs),), inverse_softplus(init_variance - 1e-6)))
        self._meta = [meta]

    def lam(self) -> Tensor:
        lam = self._meta[0].values()["lambda"].reshape(-1)
        if lam.numel() != len(self.pairs):
            raise ValueError(f"{lam.numel()} weights for {len(self.pairs)} pairs")
        return lam.to(self.rho.device)

    def vids(self, feats: dict[str, Tensor], batch: dict[str, Tensor]) -> Tensor:
        """``(P,)``: each pair's VID term (unweighted)."""
        variance = F.softplus(self.rho) + 1e-6
        out = []
        for p, ((t, s), reg) in enumerate(zip(self.pairs, self.regressors)):
            target = _pool_to(batch["teacher/" + t].float(), reg.target_shape)
            out.append(vid_nll(reg(feats[s]), target, variance[p:p + 1]))
        return torch.stack(out)

    def forward(self, model: nn.Module, batch: dict[str, Tensor]) -> dict[str, Tensor]:
        feats = model.features(batch["x"])
        ce = F.cross_entropy(feats["logits"].float(), batch["y"])
        return {"ce": (1 - self.beta) * ce, "vid": self.beta * (self.lam() * self.vids(feats, batch)).sum()}


def gradient_norms(model: nn.Module, objective: PooledAllPairs, batch: dict[str, Tensor]) -> dict[str, float]:
    """``||∇_w CE||`` and ``||∇_w Σ λ_p VID_p||`` (unweighted by β) over the student's weights
    ``w``, on ``batch``, model and regressors in eval mode."""
    modes = (model.training, objective.training)
    model.eval()
    objective.eval()
    params = [p for p in model.parameters() if p.requires_grad]
    feats = model.features(batch["x"])
    ce = F.cross_entropy(feats["logits"].float(), batch["y"])
    vid = (objective.lam().detach() * objective.vids(feats, batch)).sum()
    norms = {}
    for name, term in (("ce", ce), ("vid", vid)):
        grads = torch.autograd.grad(term, params, retain_graph=True, allow_unused=True)
        norms[name] = float(torch.sqrt(sum((g.float() ** 2).sum() for g in grads if g is not None)))
    model.train(modes[0])
    objective.train(modes[1])
    return norms


class _Probe:
    """``fit`` callback: both gradient norms on the probe batch after every epoch."""

    def __init__(self, objective: PooledAllPairs, batch: dict[str, Tensor]) -> None:
        self.objective, self.batch, self.rows = objective, batch, []

    def on_epoch_end(self, epoch: int, model: nn.Module, history) -> None:
        self.rows.append(gradient_norms(model, self.objective, self.batch))


class _Data:
    """Train / validation / test splits, the teacher (hinton_lr's) and its cached maps."""

    def __init__(self, cfg: StudyConfig, store: RunStore) -> None:
        full = load_cifar10(True)
        train, rest = random_split(full, [cfg.rows, len(full) - cfg.rows], seed=0)   # hinton_lr's rows
        self.val = random_split(rest, [cfg.val_rows, len(rest) - cfg.val_rows], seed=1)[0]
        test_full = load_cifar10(False)
        self.test = test_full if cfg.test_rows >= len(test_full) else random_split(
            test_full, [cfg.test_rows, len(test_full) - cfg.test_rows], seed=0)[0]
        base = {"rows": cfg.rows, "test_rows": cfg.test_rows, "batch": cfg.batch_size}

        def build() -> nn.Module:
            seed_everything(0)
            return ConvTiny()

        def fit_teacher(model: nn.Module) -> dict:   # hinton_lr's teacher training, for a new profile
            tc = TrainConfig(epochs=cfg.teacher_epochs, batch_size=128, lr=1e-3, seed=0, progress=False)
            hist = fit(model, train, CrossEntropy(), tc, test=self.test)
            return {"metrics": {"accuracy": hist.last}, "history": hist.to_dict()}

        self.teacher = store.trained_model(TEACHER_STUDY, "teacher ConvTiny", 0,
                                           {**base, "epochs": cfg.teacher_epochs}, cfg.profile, build, fit_teacher)
        self.plain = train
        self._cached: Split | None = None
        self.t_shapes = feature_shapes(ConvTiny(), LAYERS)
        self.s_shapes = feature_shapes(ConvVeryTiny(), LAYERS)

    @property
    def train(self) -> Split:
        if self._cached is None:
            self._cached = cache_features(self.teacher.model.eval(), self.plain, LAYERS, dtype=torch.bfloat16)
        return self._cached

    def probe_batch(self, n: int) -> dict[str, Tensor]:
        idx = torch.arange(min(n, len(self.train)))
        batch = {"x": self.train.inputs()[idx], "y": self.train.y[idx]}
        batch.update({k: v[idx] for k, v in self.train.extras.items()})
        return batch


def _objective(data: _Data, method: str, beta: float) -> tuple[PooledAllPairs, SimplexWeights]:
    if method == "pairwise":
        pairs, shape = pairwise_pairs(LAYERS, LAYERS), (len(LAYERS),)
    else:
        pairs, shape = all_to_all_pairs(LAYERS, LAYERS), (len(LAYERS), len(LAYERS))   # teacher rows, student columns
    meta = SimplexWeights(shape)
    return PooledAllPairs(pairs, data.t_shapes, data.s_shapes, meta, beta), meta


def probe(cfg: StudyConfig, store: RunStore, data: _Data) -> dict:
    """Record ``r`` at initialisation (uniform λ over 16 pairs, fresh regressors) per seed."""
    params = {"rows": cfg.rows, "probe_rows": cfg.probe_rows, "teacher": data.teacher.record["key"],
              "seeds": list(cfg.probe_seeds), "regressor": "pooled"}

    def go() -> dict:
        batch = data.probe_batch(cfg.probe_rows)
        rows = []
        for seed in cfg.probe_seeds:
            seed_everything(seed)
            model = ConvVeryTiny()
            objective, _ = _objective(data, "uniform", 0.5)
            rows.append({"seed": seed, **gradient_norms(model, objective, batch)})
        ratios = [r["vid"] / r["ce"] for r in rows]
        return {"metrics": {"vid_to_ce_at_init": float(torch.tensor(ratios).median()),
                            "vid_to_ce_min": min(ratios), "vid_to_ce_max": max(ratios)},
                "extra": {"per_seed": rows}}

    return store.run(STUDY, "gradient ratio at initialisation", 0, params, cfg.profile, go)


def setting(method: str, ratio: float) -> str:
    """Run-record setting (``none`` has no feature term, so no ratio)."""
    if method == "none":
        return "ConvVeryTiny <- ConvTiny: none"
    return f"ConvVeryTiny <- ConvTiny: {method}, VID at {ratio:g}x CE"


def student_run(cfg: StudyConfig, store: RunStore, data: _Data, method: str, ratio: float, r: float,
                seed: int) -> dict:
    """One student: ``method`` with β = :func:`beta_for_ratio` ``(ratio, r)`` (β unused by ``none``)."""
    beta = beta_for_ratio(ratio, r)
    hcfg = HyperConfig(lr=cfg.hyper_lr, optimizer="adam", method="finite_difference", val_batch_size=cfg.batch_size,
                       seed=seed, record_every=10)
    params = {"rows": cfg.rows, "val_rows": cfg.val_rows, "test_rows": cfg.test_rows, "epochs": cfg.epochs,
              "lr": cfg.lr, "step_size": cfg.step_size, "batch": cfg.batch_size, "method": method,
              "teacher": data.teacher.record["key"], "regressor": "pooled",
              **({} if method == "none" else {"ratio": ratio, "r": r, "beta": beta}),
              **({"hyper": hcfg.__dict__} if method == "tuned" else {})}

    def go() -> dict:
        seed_everything(seed)
        model = ConvVeryTiny()
        callbacks, cb, probe_cb = [], None, None
        if method == "none":
            objective, split = CrossEntropy(), data.plain
        else:
            objective, meta = _objective(data, method, beta)
            split = data.train
            probe_cb = _Probe(objective, data.probe_batch(cfg.probe_rows))
            probe_cb.on_epoch_end(0, model, None)          # at initialisation
            callbacks.append(probe_cb)
            if method == "tuned":
                cb = HyperStep(meta, objective, CrossEntropy(), data.val, hcfg)
                callbacks.append(cb)
        tc = TrainConfig(epochs=cfg.epochs, batch_size=cfg.batch_size, lr=cfg.lr, optimizer="sgd", schedule="step",
                         step_size=cfg.step_size, gamma=0.5, seed=seed, progress=False)
        hist = fit(model, split, objective, tc, test=data.test, callbacks=callbacks)
        metrics = {"accuracy": hist.last, "best_accuracy": max(hist.test_metric),
                   "val_accuracy": evaluate(model, data.val)["accuracy"],
                   "diverged": float(not all(math.isfinite(v) for v in hist.train_loss))}
        history = hist.to_dict()
        extra: dict = {}
        if probe_cb is not None:
            history["grad_norm_ce"] = [p["ce"] for p in probe_cb.rows]
            history["grad_norm_vid"] = [p["vid"] for p in probe_cb.rows]
            metrics["weighted_ratio_at_init"] = beta * probe_cb.rows[0]["vid"] / ((1 - beta) * probe_cb.rows[0]["ce"])
            metrics["weighted_ratio_last"] = beta * probe_cb.rows[-1]["vid"] / ((1 - beta) * probe_cb.rows[-1]["ce"])
        if cb is not None:
            traj = cb.trajectory
            extra = {"trajectory": traj[::max(1, math.ceil(len(traj) / HEATMAP_POINTS))] + [traj[-1]],
                     "teacher_layers": LAYERS, "student_layers": LAYERS, "hyper_steps": cb.hyper_steps}
        return {"metrics": metrics, "history": history, "extra": extra}

    return store.run(STUDY, setting(method, ratio), seed, params, cfg.profile, go)


def attempt(fn, *args) -> dict:
    """``fn(*args)``'s record, or ``{"failed": message}`` when the run's loss became non-finite
    (now or before: the store keeps a failure note, which the chapter counts)."""
    try:
        return fn(*args)
    except (FloatingPointError, RunFailedBefore) as err:
        return {"failed": str(err), "args": [a for a in args if isinstance(a, (str, int, float))]}


def chosen_ratio(grid: list[dict]) -> float:
    """The ρ whose uniform runs have the best mean validation accuracy, among the ρ whose runs
    all finished (a ρ with a diverged seed is not chosen; ties: the smaller ρ)."""
    by: dict[float, list[float]] = {}
    bad = set()
    for rec in grid:
        if "failed" in rec:
            bad.add(rec["args"][-3])       # (method, ratio, r, seed): the ratio
        else:
            by.setdefault(rec["params"]["ratio"], []).append(rec["metrics"]["val_accuracy"])
    ok = sorted(k for k in by if k not in bad)
    if not ok:
        raise RuntimeError("every ratio of the grid had a diverged run: no β to choose")
    return max(ok, key=lambda k: sum(by[k]) / len(by[k]))


def run(cfg: StudyConfig, store: RunStore | None = None, phases: tuple = ("probe", "grid", "main"),
        methods: tuple = METHODS) -> list[dict]:
    """The three phases in order (each reads what the earlier ones recorded)."""
    store = store or RunStore(profile=cfg.profile)
    data = _Data(cfg, store)
    out = [probe(cfg, store, data)]
    r = out[0]["metrics"]["vid_to_ce_at_init"]
    if "grid" not in phases and "main" not in phases:
        return out
    grid = [attempt(student_run, cfg, store, data, "uniform", rho, r, s) for rho in cfg.ratios for s in cfg.grid_seeds]
    out += grid
    if "main" in phases:
        rho = chosen_ratio(grid)
        out += [attempt(student_run, cfg, store, data, m, rho, r, s) for s in cfg.seeds for m in methods]   # seed by seed: balanced if cut short
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kdcore.studies.all_pairs_weighting",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--profile", choices=("smoke", "paper"), default="smoke")
    parser.add_argument("--phase", choices=("probe", "grid", "main"), default="main",
                        help="run up to and including this phase")
    parser.add_argument("--methods", nargs="+", choices=METHODS, default=list(METHODS))
    args = parser.parse_args(argv)
    cfg = StudyConfig.paper() if args.profile == "paper" else StudyConfig()
    phases = ("probe", "grid", "main")[:("probe", "grid", "main").index(args.phase) + 1]
    for rec in run(cfg, phases=phases, methods=tuple(args.methods)):
        if "failed" in rec:
            print(f"failed: {rec['args']}: {rec['failed'][:120]}", flush=True)
            continue
        m = rec["metrics"]
        if "accuracy" in m:
            print(f"{rec['setting']:52s} seed {rec['seed']}  test {m['accuracy']:.4f}  val {m['val_accuracy']:.4f}",
                  flush=True)
        else:
            print(f"{rec['setting']}: r = {m['vid_to_ce_at_init']:.3g} (seeds: {m['vid_to_ce_min']:.3g}-"
                  f"{m['vid_to_ce_max']:.3g})", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
