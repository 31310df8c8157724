"""Why does Hinton distillation hurt in chapter 4's all-pairs comparison? A run per candidate cause.

Chapter 4 trains every student of its all-pairs comparison (ConvTiny teacher -> ConvVeryTiny
student on 12,800 CIFAR-10 images, 25 epochs) with SGD at lr 1.0, halved every 10 epochs,
as the 2022 draft's students are trained; its "hinton" runs use Hinton's loss with T = 4,
alpha = 0.9 (:func:`kdcore.losses.kd_loss`: ``alpha T^2 KL + (1 - alpha) CE``) and end far
below the student alone (0.424 against 0.56). The candidate cause: the soft term's
gradient. With respect to the student's logits it is ``alpha T (p_T - q_T)``, so at T = 4
it can be several times cross-entropy's ``p - y``, which makes lr 1.0 an effective step a
few times larger on a loss where 1.0 is already large.

This study measures it and tests it, 3 seeds each, same split, teacher and schedule:

- ``alone``: cross-entropy, lr 1.0 (the chapter's "none");
- ``hinton``: the chapter's loss at lr 1.0;
- ``hinton, lr/4``: the same loss at lr 0.25 (the step scaled by about 1/(alpha T));
- ``alone, lr/4``: cross-entropy at lr 0.25 (is lr 1.0 simply too large for everyone?);
- ``hinton, no T²``: ``alpha KL + (1 - alpha) CE`` at lr 1.0 (the soft gradient scaled by 1/T^2).

Every record holds, per epoch, the norms of the two terms' gradients (with respect to all
student weights, on a fixed batch of 512 training images) so the cause is measured, not
assumed. The split is this study's (a seeded draw of 12,800 training images; the chapter
draws its own), so its numbers are compared with each other, not with the chapter's.

``python -m kdcore.studies.hinton_lr [--profile smoke|paper]``
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ..data import load_cifar10, random_split
from ..losses import CrossEntropy, HintonKD
from ..models import ConvTiny, ConvVeryTiny
from ..results import RunStore
from ..training.loop import TrainConfig, fit, predict, seed_everything

__all__ = ["StudyConfig", "VARIANTS", "run", "term_gradient_norms"]

STUDY = "hinton_lr"
# variant -> (loss, lr, keep T^2)
VARIANTS = {"alone": ("ce", 1.0, True), "hinton": ("kd", 1.0, True), "hinton, lr/4": ("kd", 0.25, True),
            "alone, lr/4": ("ce", 0.25, True), "hinton, no T²": ("kd", 1.0, False)}


@dataclass(frozen=True)
class StudyConfig:
    profile: str = "smoke"
    rows: int = 512
    test_rows: int = 10000           # the JPEG test copy is sorted by class: always all of it
    teacher_epochs: int = 1
    epochs: int = 2
    step_size: int = 10
    temperature: float = 4.0
    alpha: float = 0.9
    seeds: tuple = (0,)
    batch_size: int = 128
    probe_rows: int = 256

    @classmethod
    def paper(cls) -> "StudyConfig":
        return cls(profile="paper", rows=12800, teacher_epochs=15, epochs=25, seeds=(0, 1, 2), probe_rows=512)


class _NoSquare(HintonKD):
    """Hinton's loss with the soft term times ``alpha`` only (``T^2`` dropped)."""

    def __call__(self, model, batch):
        out = super().__call__(model, batch)
        out["soft"] = out["soft"] / self.temperature ** 2
        return out


def term_gradient_norms(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, teacher_logits: torch.Tensor,
                        temperature: float, alpha: float) -> dict[str, float]:
    """``||grad (1-alpha) CE||`` and ``||grad alpha T^2 KL||`` over all weights, on one batch (eval mode)."""
    was = model.training
    model.eval()
    params = [p for p in model.parameters() if p.requires_grad]
    logits = model(x).float()
    hard = (1 - alpha) * F.cross_entropy(logits, y)
    kl = F.kl_div(F.log_softmax(logits / temperature, -1), F.log_softmax(teacher_logits / temperature, -1),
                  reduction="batchmean", log_target=True)
    soft = alpha * temperature ** 2 * kl
    norms = {}
    for name, term in (("hard", hard), ("soft", soft)):
        grads = torch.autograd.grad(term, params, retain_graph=True)
        norms[name] = float(torch.sqrt(sum((g.float() ** 2).sum() for g in grads)))
    model.train(was)
    return norms


class _Probe:
    """``fit`` callback: the two terms' gradient norms on a fixed batch after every epoch."""

    def __init__(self, x, y, t, cfg: StudyConfig) -> None:
        self.x, self.y, self.t, self.cfg, self.rows = x, y, t, cfg, []

    def on_epoch_end(self, epoch: int, model, history) -> None:
        self.rows.append(term_gradient_norms(model, self.x, self.y, self.t, self.cfg.temperature, self.cfg.alpha))


def run(cfg: StudyConfig, store: RunStore | None = None, variants=tuple(VARIANTS)) -> list[dict]:
    store = store or RunStore(profile=cfg.profile)
    full = load_cifar10(True)
    train = random_split(full, [cfg.rows, len(full) - cfg.rows], seed=0)[0]
    test_full = load_cifar10(False)
    test = test_full if cfg.test_rows >= len(test_full) else random_split(
        test_full, [cfg.test_rows, len(test_full) - cfg.test_rows], seed=0)[0]
    base = {"rows": cfg.rows, "test_rows": cfg.test_rows, "batch": cfg.batch_size}

    def build():
        seed_everything(0)
        return ConvTiny()

    def fit_teacher(model):
        tc = TrainConfig(epochs=cfg.teacher_epochs, batch_size=128, lr=1e-3, seed=0, progress=False)
        hist = fit(model, train, CrossEntropy(), tc, test=test)
        return {"metrics": {"accuracy": hist.last}, "history": hist.to_dict()}

    teacher = store.trained_model(STUDY, "teacher ConvTiny", 0, {**base, "epochs": cfg.teacher_epochs},
                                  cfg.profile, build, fit_teacher)
    cached: list = []
    out = []
    for variant in variants:
        loss, lr, square = VARIANTS[variant]
        for seed in cfg.seeds:
            params = {**base, "variant": variant, "loss": loss, "lr": lr, "t_squared": square, "epochs": cfg.epochs,
                      "step_size": cfg.step_size, "temperature": cfg.temperature, "alpha": cfg.alpha,
                      "teacher": teacher.record["key"], "probe_rows": cfg.probe_rows}

            def go(loss=loss, lr=lr, square=square, seed=seed):
                if not cached:
                    cached.append(train.with_extra("teacher_logits", predict(teacher.model.eval(), train)))
                data = cached[0]
                objective = CrossEntropy() if loss == "ce" else (HintonKD if square else _NoSquare)(
                    cfg.temperature, cfg.alpha)
                n = min(cfg.probe_rows, len(data))
                probe = _Probe(data.inputs()[:n], data.y[:n], data.extras["teacher_logits"][:n], cfg)
                seed_everything(seed)
                model = ConvVeryTiny()
                probe.on_epoch_end(-1, model, None)            # at initialisation
                tc = TrainConfig(epochs=cfg.epochs, batch_size=cfg.batch_size, lr=lr, optimizer="sgd", schedule="step",
                                 step_size=cfg.step_size, gamma=0.5, seed=seed, progress=False)
                hist = fit(model, data, objective, tc, test=test, callbacks=[probe])
                ratio = [r["soft"] / max(r["hard"], 1e-12) for r in probe.rows]
                return {"metrics": {"accuracy": hist.last, "best_accuracy": max(hist.test_metric),
                                    "soft_to_hard_at_init": ratio[0], "soft_to_hard_median": float(torch.tensor(ratio).median())},
                        "history": {**hist.to_dict(), "grad_norm_hard": [r["hard"] for r in probe.rows],
                                    "grad_norm_soft": [r["soft"] for r in probe.rows]}}

            out.append(store.run(STUDY, f"ConvVeryTiny <- ConvTiny: {variant}", seed, params, cfg.profile, go))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kdcore.studies.hinton_lr", description=__doc__.split("\n")[0])
    parser.add_argument("--profile", choices=("smoke", "paper"), default="smoke")
    parser.add_argument("--variants", nargs="+", choices=list(VARIANTS), default=list(VARIANTS))
    args = parser.parse_args(argv)
    cfg = StudyConfig.paper() if args.profile == "paper" else StudyConfig()
    for r in run(cfg, variants=tuple(args.variants)):
        m = r["metrics"]
        print(f"{r['setting']:42s} seed {r['seed']}  accuracy {m['accuracy']:.4f}  "
              f"soft/hard gradient norm at init {m['soft_to_hard_at_init']:.2f}, median {m['soft_to_hard_median']:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
