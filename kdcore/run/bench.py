"""``python -m kdcore.run.bench``: how much our training loop costs beyond the model itself.

For one model and one dataset (an MLP on the 60,000 MNIST training images), it prints:

(a) our ``fit`` epoch ÷ a bare loop of forward/backward/step over pre-made float batches
    (the model's own compute; target <= 1.15);
(b) a distillation epoch with cached teacher logits ÷ a student-only epoch (target <= 1.2);
(c) a plain torchvision ``DataLoader`` + ``ToTensor`` epoch ÷ ours (target >= 5);

For CIFAR-10 distillation (the deep-nets chapter's students; ``--cifar-rows`` images so
that it stays small on a CPU, the whole 10,112 on a GPU) it prints:

(d) a ConvTiny epoch with cached ResNet18 logits ÷ a student-only epoch (target <= 1.2), and
    what a 30-epoch run costs including the one-off caching pass;
(e) an all-to-all VID epoch (ConvTiny ← ResNet10, 36 layer pairs; cached bf16 feature maps,
    or a no-grad bf16 teacher forward per batch) ÷ a student-only epoch, for the exact
    regressors (:class:`~kdcore.losses.CrossLayerVID`), the pairs matched at the smaller
    resolution, and ``k`` of the 36 pairs sampled per step ∝ λ
    (:class:`~kdcore.losses.cross_layer_sampled.SampledCrossLayerVID`; target <= 20 for the
    sampled objective), each with the FLOPs of one training step (fwd + bwd, counted by
    ``torch.utils.flop_counter``) beside its time.

For bi-level distillation (the heterogeneous chapter; ``--only hyper``) it prints:

(f) a distillation step followed by an upper-level hypergradient step (:mod:`kdcore.hyper`)
    ÷ the same step with fixed metaparameters, for the 2022 paper's student (ConvVeryTiny,
    batch 128, CIFAR-shaped inputs; target <= 3), each with the FLOPs of one step beside its
    time: exact through one tangent pass over the training forward's activations
    (:mod:`kdcore.hyper.tangent`), its one-sided difference of the outputs (one plain
    forward instead), and the DARTS central finite difference (:class:`~kdcore.hyper.HyperStep`,
    what chapter 4's records used); the other exact methods as references (the mixed
    Jacobian, one backward half per scalar, :mod:`kdcore.hyper.mixed`; forward-over-reverse,
    :mod:`kdcore.hyper.forward_mode`; double backward). Beyond the plain step, every method
    pays the validation forward and backward at ``w'`` (about one more step); the tangent
    pass then costs about one backward half, the mixed Jacobian two (one per scalar of
    ``(lambda, T)``), forward-over-reverse a dual forward (primal recomputed), DARTS two plain
    forwards: on this max-pool-heavy student a forward is more than half of a step's time.

Each time is the minimum over ``--repeats`` epochs (the least-disturbed measurement; in (f),
over rounds that time every method in turn).
The tiny student shows the fixed per-step costs (the shuffled row gather, the loss ops);
the larger teacher shows them amortised: see the closing lines of each block.
"""

from __future__ import annotations

import argparse
import time

import torch
import torch.nn.functional as F

from ..data import data_root, load_mnist
from ..losses import CrossEntropy, HintonKD
from ..models import MLP
from ..training.loop import TrainConfig, cache_outputs, fit


def _min_time(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def _plain_epoch(model: torch.nn.Module, opt: torch.optim.Optimizer, batches) -> None:
    """The textbook loop: forward, cross-entropy, backward, step, over ``(x, y)`` batches."""
    model.train()
    for xb, yb in batches:
        loss = F.cross_entropy(model(xb), yb)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kdcore.run.bench", description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", nargs="+", default=["784,64,10", "784,256,128,64,64,10"],
                        help="one or more MLPs as comma-separated layer sizes (default: the "
                             "multi-domain chapter's MNIST student and teacher)")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--cifar-rows", type=int, default=512, help="CIFAR-10 images for (d) (10112: the chapter's)")
    parser.add_argument("--a2a-rows", type=int, default=32, help="CIFAR-10 images for (e) (~1 s per image-epoch on one CPU core)")
    parser.add_argument("--cifar-repeats", type=int, default=3, help="timed epochs per mode in (d)")
    parser.add_argument("--a2a-repeats", type=int, default=1, help="timed epochs per mode in (e)")
    parser.add_argument("--only", choices=("mnist", "cifar", "hyper"), default=None, help="run one part only")
    args = parser.parse_args(argv)
    if args.only in (None, "mnist"):
        train = load_mnist(True)
        for spec in args.sizes:
            bench_model([int(s) for s in spec.split(",")], train, args.batch_size, args.repeats)
    if args.only in (None, "cifar"):
        bench_cifar_distillation(args.cifar_rows, args.a2a_rows, args.batch_size, args.cifar_repeats, args.a2a_repeats)
    if args.only in (None, "hyper"):
        bench_hyper(args.batch_size, args.repeats)
    return 0


HYPER_METHODS = ("plain", "tangent", "tangent_fd", "mixed", "forward", "exact", "finite_difference")


def bench_hyper(bs: int, repeats: int, n_batches: int = 20) -> dict[str, dict[str, float]]:
    """Print (f): seconds per step with and without the upper-level step (every step).

    Inputs are random CIFAR-shaped tensors with random teacher logits: the cost of a step
    does not depend on the pixel values. Returns ``{"ratios": {...}, "seconds": {method: s},
    "flops": {method: FLOPs}}`` with the methods of :data:`HYPER_METHODS` (``"plain"``: none).
    """
    from ..data import Split
    from ..hyper import HintonMeta, HyperConfig, HyperStep
    from ..hyper.forward_mode import ForwardHyperStep
    from ..losses.meta_hinton_mixed import hinton_hyper_step, hinton_tangent_step
    from ..losses import MetaHintonKD
    from ..models import ConvVeryTiny

    g = torch.Generator().manual_seed(0)
    n = bs * n_batches
    train = Split(torch.randn(n, 3, 32, 32, generator=g), torch.randint(0, 10, (n,), generator=g),
                  extras={"teacher_logits": torch.randn(n, 10, generator=g)})
    val = Split(torch.randn(bs * 4, 3, 32, 32, generator=g), torch.randint(0, 10, (bs * 4,), generator=g))

    def per_step(method: str | None):
        """A timer of seconds per step, and the FLOPs of one step: no upper level (``None``), ``"exact"`` /
        ``"finite_difference"`` (:class:`HyperStep`), ``"forward"`` (:class:`ForwardHyperStep`),
        ``"mixed"`` (:class:`MixedHyperStep`), ``"tangent"`` / ``"tangent_fd"``
        (:class:`~kdcore.hyper.tangent.TangentHyperStep`, exact / central difference of the outputs)."""
        from torch.utils.flop_counter import FlopCounterMode

        def run(split: Split, epochs: int):
            torch.manual_seed(0)
            meta = HintonMeta(0.5, 1.0)
            objective = MetaHintonKD(meta)
            cbs = []
            if method == "mixed":
                cbs = [hinton_hyper_step(objective, CrossEntropy(), val, HyperConfig(lr=1e-3, val_batch_size=bs))]
                objective = cbs[0].objective
            elif method in ("tangent", "tangent_fd"):
                hc = HyperConfig(lr=1e-3, method="exact" if method == "tangent" else "finite_difference",
                                 val_batch_size=bs)
                cbs = [hinton_tangent_step(objective, CrossEntropy(), val, hc)]
                objective = cbs[0].objective
            elif method is not None:
                hc = HyperConfig(lr=1e-3, method="exact" if method == "forward" else method, val_batch_size=bs)
                cbs = [(ForwardHyperStep if method == "forward" else HyperStep)(meta, objective, CrossEntropy(), val, hc)]
            return fit(ConvVeryTiny(), split, objective, TrainConfig(epochs=epochs, batch_size=bs, lr=1.0,
                                                                      optimizer="sgd", progress=False), callbacks=cbs)

        counter = FlopCounterMode(display=False)
        with counter:
            run(train.subset(torch.arange(bs)), 1)          # one step (fit's test pass is off)
        return lambda: min(run(train, 2).epoch_seconds) / n_batches, float(counter.get_total_flops())

    methods = (None, "tangent", "tangent_fd", "mixed", "forward", "exact", "finite_difference")
    timers, fl = {}, {}
    for m in methods:
        timers[m], fl[m] = per_step(m)
    timers[None]()  # warm-up
    # Interleaved: each round times every method once, so a slow spell of a shared CPU
    # lands on all of them rather than on whichever ran then; the minimum per method is kept.
    t = {m: float("inf") for m in methods}
    for _ in range(repeats):
        for m in methods:
            t[m] = min(t[m], timers[m]())
    device = "cuda" if torch.cuda.is_available() else f"cpu, {torch.get_num_threads()} threads"
    print(f"model ConvVeryTiny, batch {bs}, CIFAR-shaped inputs ({device}), min over {repeats} interleaved rounds "
          f"of 2 epochs x {n_batches} steps")
    labels = {None: "distillation step, fixed (lambda, T)",
              "tangent": "  + upper-level step, exact (tangent pass)",
              "tangent_fd": "  + upper-level step, one-sided difference of the outputs",
              "mixed": "  + upper-level step, exact (mixed Jacobian, reference)",
              "forward": "  + upper-level step, exact (forward-over-reverse, reference)",
              "exact": "  + upper-level step, exact (double backward, reference)",
              "finite_difference": "  + upper-level step, finite differences (DARTS)"}
    for m in methods:
        print(f"{labels[m]:62s} {1000 * t[m]:8.2f} ms  {fl[m] / 1e9:6.2f} GFLOP ({fl[m] / fl[None]:.2f}x)")
    ratios = {"exact": t["tangent"] / t[None], "finite_difference": t["finite_difference"] / t[None],
              "finite_difference_outputs": t["tangent_fd"] / t[None]}
    for name, r in ratios.items():
        print(f"{'(f) with upper step / plain, ' + name:56s} {r:6.2f}   target <= 3     {'ok' if r <= 3 else 'MISSED'}")
    print(f"    other exact methods / plain: mixed Jacobian {t['mixed'] / t[None]:.2f}, forward-over-reverse "
          f"{t['forward'] / t[None]:.2f}, double backward {t['exact'] / t[None]:.2f}")
    print()
    key = lambda m: "plain" if m is None else m
    return {"ratios": ratios, "seconds": {key(m): t[m] for m in methods}, "flops": {key(m): fl[m] for m in methods}}


def bench_model(sizes: list[int], train, bs: int, repeats: int) -> None:
    """Print (a), (b), (c) for one MLP on ``train``."""
    torch.manual_seed(0)
    n = len(train)

    # (a) bare compute: the same model, optimiser and batches, inputs prepared in advance.
    model = MLP(sizes)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, fused=True)  # as in kdcore.training.loop
    x_all = train.prepare(train.x)
    perm = torch.randperm(n)
    batches = [(x_all[perm[i:i + bs]], train.y[perm[i:i + bs]]) for i in range(0, n, bs)]

    def bare() -> None:
        _plain_epoch(model, opt, batches)

    # fit's own per-epoch timer (History.epoch_seconds) excludes its one-off set-up (moving
    # the split to the device, converting it to float once, building the optimiser),
    # which is reported separately: it is paid once per fit, not per epoch.
    def ours_epochs(objective, split) -> tuple[float, float]:
        t0 = time.perf_counter()
        hist = fit(model, split, objective, TrainConfig(epochs=repeats, batch_size=bs, progress=False,
                                                         device="cpu"))
        setup = time.perf_counter() - t0 - sum(hist.epoch_seconds)
        return min(hist.epoch_seconds), setup

    bare()
    ours_epochs(CrossEntropy(), train)  # warm-up (allocator, threads)
    t_bare = _min_time(bare, repeats)
    t_ours, setup = ours_epochs(CrossEntropy(), train)

    # (b) distillation with a cached teacher vs student-only training.
    teacher = MLP([784, 1200, 1200, 10])
    cached = cache_outputs(teacher, train)

    t_kd, _ = ours_epochs(HintonKD(4.0, 0.9), cached)

    # (c) the usual tutorial loop: torchvision dataset + ToTensor + DataLoader.
    import torchvision
    from torch.utils.data import DataLoader

    ds = torchvision.datasets.MNIST(str(data_root()), train=True, download=False,
                                    transform=torchvision.transforms.ToTensor())
    loader = DataLoader(ds, batch_size=bs, shuffle=True, num_workers=0)

    def plain() -> None:
        _plain_epoch(model, opt, loader)

    t_plain = _min_time(plain, max(1, repeats - 1))

    print(f"model MLP{sizes} on MNIST train ({n} rows), batch {bs}, {torch.get_num_threads()} threads, "
          f"min of {repeats} epochs")
    print(f"bare forward/backward epoch        {t_bare:8.3f} s")
    print(f"kdcore fit epoch                   {t_ours:8.3f} s   (+ {setup:.3f} s once per fit)")
    print(f"kdcore fit epoch, distil (cached)  {t_kd:8.3f} s")
    print(f"DataLoader + ToTensor epoch        {t_plain:8.3f} s")
    rows = [("(a) ours / bare compute", t_ours / t_bare, "<= 1.15", t_ours / t_bare <= 1.15),
            ("(b) distillation / student-only", t_kd / t_ours, "<= 1.2", t_kd / t_ours <= 1.2),
            ("(c) DataLoader loop / ours", t_plain / t_ours, ">= 5", t_plain / t_ours >= 5)]
    for name, ratio, target, ok in rows:
        print(f"{name:34s} {ratio:6.2f}   target {target:7s} {'ok' if ok else 'MISSED'}")
    print()


def _fit_epoch_seconds(model, split, objective, bs: int, repeats: int, bf16: bool) -> float:
    """Minimum of ``repeats`` timed epochs after one warm-up epoch (fit's own epoch timer)."""
    cfg = TrainConfig(epochs=repeats + 1, batch_size=bs, progress=False, shuffle=False, bf16=bf16)
    return min(fit(model, split, objective, cfg).epoch_seconds[1:])


def bench_cifar_distillation(rows: int, a2a_rows: int, bs: int, repeats: int, a2a_repeats: int = 1) -> None:
    """Print (d) and (e). Teachers are untrained: the timing does not depend on their weights."""
    from ..data import first_n, load_cifar10
    from ..losses import CrossLayerVID, all_to_all_pairs
    from ..models import ConvTiny, resnet10, resnet18
    from ..models.regressors import feature_shapes
    from ..training.loop import cache_features, resolve_device

    device = resolve_device("auto")
    bf16 = True
    train = first_n(load_cifar10(True), rows)
    torch.manual_seed(0)
    r18 = resnet18(authors_layout=True).to(device).eval()

    t0 = time.perf_counter()
    cached = cache_outputs(r18, train, bf16=bf16)
    t_cache = time.perf_counter() - t0
    t_alone = _fit_epoch_seconds(ConvTiny(), train, CrossEntropy(), bs, repeats, bf16)
    t_kd = _fit_epoch_seconds(ConvTiny(), cached, HintonKD(4.0, 0.9), bs, repeats, bf16)
    run30 = (30 * t_kd + t_cache) / (30 * t_alone)
    print(f"ConvTiny on {rows} CIFAR-10 images, batch {bs}, bf16, {device} "
          f"({torch.get_num_threads()} threads), min of {repeats} epochs")
    print(f"student-only epoch                   {t_alone:8.3f} s")
    print(f"epoch with cached ResNet18 logits    {t_kd:8.3f} s   (caching them once: {t_cache:.2f} s)")
    ok = t_kd / t_alone <= 1.2
    print(f"{'(d) cached-logit epoch / student-only':40s} {t_kd / t_alone:6.2f}   target <= 1.2   {'ok' if ok else 'MISSED'}")
    print(f"{'    30-epoch run incl. caching / alone':40s} {run30:6.2f}   (the caching pass is a ResNet18 "
          f"forward over {rows} images)")

    small = first_n(train, min(a2a_rows, rows))
    r10 = resnet10(authors_layout=True).to(device).eval()
    t_layers = ["stem"] + [f"b{k}_{w}" for k in range(1, 5) for w in ("conv1", "out")]
    s_layers = ["conv1", "conv2", "conv3", "fc1"]
    pairs = all_to_all_pairs(t_layers, s_layers)
    t_shapes, s_shapes = feature_shapes(r10, t_layers), feature_shapes(ConvTiny(), s_layers)

    def a2a(teacher=None):
        return CrossLayerVID(pairs, t_shapes, s_shapes, [1 / len(pairs)] * len(pairs), 0.3, teacher=teacher)

    feats = cache_features(r10, small, t_layers, bf16=bf16, dtype=torch.bfloat16, on_device=True)
    base = _fit_epoch_seconds(ConvTiny(), small, CrossEntropy(), bs, max(repeats, a2a_repeats), bf16)
    t_cached = _fit_epoch_seconds(ConvTiny(), feats, a2a(), bs, a2a_repeats, bf16)
    t_forward = _fit_epoch_seconds(ConvTiny(), small, a2a(r10), bs, a2a_repeats, bf16)
    print(f"all-to-all VID, ConvTiny <- ResNet10 ({len(pairs)} pairs), {len(small)} images:")
    print(f"{'(e) cached bf16 feature maps / student-only':48s} {t_cached / base:7.2f}")
    print(f"{'    teacher forward per batch / student-only':48s} {t_forward / base:7.2f}")
    bench_sampled_a2a(small, feats, pairs, t_shapes, s_shapes, bs, max(repeats, a2a_repeats), bf16, base, a2a())
    print()


def step_flops(model: torch.nn.Module, objective, batch: dict) -> float:
    """FLOPs of one training step (forward and backward of the summed objective)."""
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with counter:
        sum(objective(model, batch).values()).backward()
    model.zero_grad(set_to_none=True)
    return float(counter.get_total_flops())


def bench_sampled_a2a(small, feats, pairs, t_shapes, s_shapes, bs: int, repeats: int, bf16: bool,
                      base: float, exact, ks=(None, 8, 4, 2)) -> dict:
    """Row (e) continued: pooled pairs, all or ``k`` sampled, time and FLOPs per step ÷ student-only."""
    from ..losses import CrossEntropy
    from ..losses.cross_layer_sampled import SampledCrossLayerVID
    from ..models import ConvTiny

    idx = torch.arange(min(bs, len(feats)))
    batch = {"x": small.prepare(small.x[idx]).float(), "y": small.y[idx],
             **{k_: v[idx].float() for k_, v in feats.extras.items()}}
    torch.manual_seed(0)
    f_alone = step_flops(ConvTiny(), CrossEntropy(), batch)
    f_exact = step_flops(ConvTiny(), exact, batch)
    print(f"{'    FLOPs of one step: student-only':48s} {f_alone / 1e9:7.2f} GFLOP   exact all-to-all "
          f"{f_exact / 1e9:.1f} GFLOP ({f_exact / f_alone:.0f}x)")
    out = {}
    lam = [1 / len(pairs)] * len(pairs)
    for k in ks:
        def make(k=k):
            return SampledCrossLayerVID(pairs, t_shapes, s_shapes, lam, 0.3, k=k, seed=0)
        # FLOPs averaged over draws: a draw's cost depends on which pairs it hits
        flops = [step_flops(ConvTiny(), make(), batch) for _ in range(1 if k is None else 5)]
        t = _fit_epoch_seconds(ConvTiny(), feats, make(), bs, repeats, bf16)
        name = "all 36 pairs" if k is None else f"k = {k} of {len(pairs)} sampled"
        ok = "" if k is None else ("   target <= 20   " + ("ok" if t / base <= 20 else "MISSED"))
        noise = "" if k is None else f"   gradient noise {sampled_gradient_noise(make, batch):5.2f}"
        print(f"{'(e) smaller resolution, ' + name + ' / student-only':48s} {t / base:7.2f}   "
              f"FLOPs {sum(flops) / len(flops) / f_alone:6.1f}x{ok}{noise}")
        out[k] = t / base
    print("    gradient noise: E‖ĝ_k − g‖² / ‖g‖² over 16 draws, on the student's weights, ĝ_k the sampled "
          "objective's gradient and g the all-pairs one (same regressors, one batch)")
    return out


def sampled_gradient_noise(make, batch: dict, draws: int = 16) -> float:
    """Relative variance of the sampled objective's gradient on the student's weights:
    ``mean_draws ‖ĝ − g‖² / ‖g‖²`` with ``g`` the all-pairs gradient of the same objective."""
    import copy

    from ..models import ConvTiny

    torch.manual_seed(0)
    model, obj = ConvTiny(), make()
    full = copy.deepcopy(obj)
    full.k = None

    def grad(o):
        model.zero_grad(set_to_none=True)
        sum(o(model, batch).values()).backward()
        return torch.cat([p.grad.flatten() for p in model.parameters()])

    g = grad(full)
    return float(sum(float((grad(obj) - g).pow(2).sum()) for _ in range(draws)) / draws / float(g.pow(2).sum()))


if __name__ == "__main__":
    raise SystemExit(main())
