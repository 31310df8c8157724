"""``python -m kdcore.bench``: how much our training loop costs beyond the model itself.

For one model and one dataset (an MLP on the 60,000 MNIST training images), it prints:

(a) our ``fit`` epoch ÷ a bare loop of forward/backward/step over pre-made float batches
    (the model's own compute; target <= 1.15);
(b) a distillation epoch with cached teacher logits ÷ a student-only epoch (target <= 1.2);
(c) a plain torchvision ``DataLoader`` + ``ToTensor`` epoch ÷ ours (target >= 5);
(d) a distillation step followed by an upper-level hypergradient step (:mod:`kdcore.hyper`,
    exact and finite-difference) ÷ the same step with fixed metaparameters, for the 2022
    paper's student (ConvVeryTiny, batch 128, CIFAR-shaped inputs; target <= 3).

Each time is the minimum over ``--repeats`` epochs (the least-disturbed measurement).
The tiny student shows the fixed per-step costs (the shuffled row gather, the loss ops);
the larger teacher shows them amortised: see the closing lines of each block.
"""

from __future__ import annotations

import argparse
import time

import torch
import torch.nn.functional as F

from .data import data_root, load_mnist
from .losses import CrossEntropy, HintonKD
from .models import MLP
from .train import TrainConfig, cache_outputs, fit


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
    parser = argparse.ArgumentParser(prog="python -m kdcore.bench", description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", nargs="+", default=["784,64,10", "784,256,128,64,64,10"],
                        help="one or more MLPs as comma-separated layer sizes (default: the "
                             "multi-domain chapter's MNIST student and teacher)")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    train = load_mnist(True)
    for spec in args.sizes:
        bench_model([int(s) for s in spec.split(",")], train, args.batch_size, args.repeats)
    bench_hyper(args.batch_size, args.repeats)
    return 0


def bench_hyper(bs: int, repeats: int, n_batches: int = 20) -> dict[str, float]:
    """Print (d): seconds per step with and without the upper-level step (every step).

    Inputs are random CIFAR-shaped tensors with random teacher logits: the cost of a step
    does not depend on the pixel values. Returns the ratios.
    """
    from .data import Split
    from .hyper import HintonMeta, HyperConfig, HyperStep
    from .losses import MetaHintonKD
    from .models import ConvVeryTiny

    g = torch.Generator().manual_seed(0)
    n = bs * n_batches
    train = Split(torch.randn(n, 3, 32, 32, generator=g), torch.randint(0, 10, (n,), generator=g),
                  extras={"teacher_logits": torch.randn(n, 10, generator=g)})
    val = Split(torch.randn(bs * 4, 3, 32, 32, generator=g), torch.randint(0, 10, (bs * 4,), generator=g))

    def per_step(method: str | None) -> float:
        torch.manual_seed(0)
        meta = HintonMeta(0.5, 1.0)
        objective = MetaHintonKD(meta)
        cbs = [] if method is None else [HyperStep(meta, objective, CrossEntropy(), val,
                                                   HyperConfig(lr=1e-3, method=method, val_batch_size=bs))]
        hist = fit(ConvVeryTiny(), train, objective, TrainConfig(epochs=repeats, batch_size=bs, lr=1.0,
                                                                  optimizer="sgd", progress=False), callbacks=cbs)
        return min(hist.epoch_seconds) / n_batches

    per_step(None)  # warm-up
    t_plain, t_exact, t_fd = per_step(None), per_step("exact"), per_step("finite_difference")
    device = "cuda" if torch.cuda.is_available() else f"cpu, {torch.get_num_threads()} threads"
    print(f"model ConvVeryTiny, batch {bs}, CIFAR-shaped inputs ({device}), min of {repeats} epochs of {n_batches} steps")
    print(f"distillation step, fixed (lambda, T)         {1000 * t_plain:8.2f} ms")
    print(f"  + upper-level step, exact hypergradient    {1000 * t_exact:8.2f} ms")
    print(f"  + upper-level step, finite differences     {1000 * t_fd:8.2f} ms")
    ratios = {"exact": t_exact / t_plain, "finite_difference": t_fd / t_plain}
    for name, r in ratios.items():
        print(f"{'(d) with upper step / plain, ' + name:44s} {r:6.2f}   target <= 3     {'ok' if r <= 3 else 'MISSED'}")
    print()
    return ratios


def bench_model(sizes: list[int], train, bs: int, repeats: int) -> None:
    """Print (a), (b), (c) for one MLP on ``train``."""
    torch.manual_seed(0)
    n = len(train)

    # (a) bare compute: the same model, optimiser and batches, inputs prepared in advance.
    model = MLP(sizes)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, fused=True)  # as in kdcore.train
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


if __name__ == "__main__":
    raise SystemExit(main())
