"""Domain maps φ (noise, dilated convolution) and the paired VAE."""

import torch

from kdcore.data import ImagePrep, Split
from kdcore.models.mappings import (DilatedConv, GaussianNoise, IdentityMap, PairedELBO, PairedVAE, VAEMap, pair_by_label)
from kdcore.training.loop import TrainConfig, fit, seed_everything


def test_dilation_maps_784_to_576_with_the_fixed_kernel():
    x = torch.zeros(2, 1, 28, 28)
    x[0, 0, 14, 14] = 1.0
    out = DilatedConv()(x)
    assert out.shape == (2, 576)
    assert DilatedConv()(torch.rand(3, 784)).shape == (3, 576)
    img = out[0].view(24, 24)
    hits = {tuple(p) for p in img.nonzero().tolist()}
    assert hits == {(14, 14), (14, 10), (12, 12), (10, 14), (10, 10)}  # the 5 taps, 2 apart
    assert img.sum().item() == 5.0 and out[1].abs().sum().item() == 0.0


def test_noise_map_clips_and_is_random():
    torch.manual_seed(0)
    x = torch.full((64, 1, 28, 28), 0.5)
    phi = GaussianNoise(0.1)
    a, b = phi(x), phi(x)
    assert a.shape == x.shape and phi.random and not torch.equal(a, b)
    assert abs((a - 0.5).std().item() - 0.1) < 0.01
    edge = phi(torch.ones(16, 784))
    assert edge.max().item() <= 1.0 and edge.min().item() >= 0.0
    assert torch.equal(IdentityMap()(x), x)


def _paired_toy(n=256, seed=0):
    g = torch.Generator().manual_seed(seed)
    protos_a = (torch.rand(10, 28, 28, generator=g) > 0.7).float()
    protos_b = (torch.rand(10, 28, 28, generator=g) > 0.7).float()
    y = torch.randint(0, 10, (n,), generator=g)
    noisy = lambda p: ((p[y] + 0.2 * torch.rand(n, 28, 28, generator=g)).clamp(0, 1) * 255).to(torch.uint8)
    return Split(noisy(protos_a), y, ImagePrep()).with_extra("paired", noisy(protos_b))


def test_vae_elbo_improves_during_training():
    seed_everything(0)
    vae = PairedVAE(("fmnist", "mnist"), hidden=64, latent=8)
    data = _paired_toy()
    hist = fit(vae, data, PairedELBO(), TrainConfig(epochs=4, batch_size=32, lr=3e-3, progress=False, device="cpu"))
    assert set(hist.train_parts) == {"nll_fmnist", "nll_mnist", "kl"}
    assert hist.train_loss[-1] < 0.8 * hist.train_loss[0]  # -ELBO (nats per pair) falls
    phi = VAEMap(vae, "mnist", sample=False)
    out = phi(data.inputs()[:5])
    assert out.shape == (5, 784) and out.min() >= 0.01 and out.max() <= 0.99
    assert not any(p.requires_grad for p in vae.parameters())


def test_pair_by_label_matches_labels():
    src = torch.tensor([0, 1, 2, 1, 0, 2, 2])
    tgt = torch.tensor([2, 2, 1, 0, 0, 1, 2, 0])
    idx = pair_by_label(src, tgt, seed=3)
    assert torch.equal(tgt[idx], src)
    assert torch.equal(idx, pair_by_label(src, tgt, seed=3))
