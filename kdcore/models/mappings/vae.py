"""A VAE with one shared encoder and one decoder per domain (Kingma & Welling 2014),
the image-to-image map ``phi`` of Orlov & Grabovoy (2022) between Fashion-MNIST and MNIST.

Architecture (as in the thesis code, kbayazitov/distillation ``src/mylib/train.py``):
encoder ``784 -> 200`` (LeakyReLU) then ``mu = Linear(200, 64)``,
``sigma = softplus(Linear(200, 64))``; per domain a decoder ``64 -> 200`` (LeakyReLU)
``-> 784`` (sigmoid, clamped to ``[0.01, 0.99]``) giving Bernoulli means.

Training data are pairs ``(x, x')``: a Fashion-MNIST image ``x`` and a random MNIST image
``x'`` *of the same label* (:func:`pair_by_label`). Only ``x`` is encoded; each decoder
reconstructs its own domain's image from its own sample ``z ~ q(z|x)``. The thesis
summed one ELBO per decoder,

    ELBO = sum_d ( E_q[log p_d(x_d | z)] - KL(q(z|x) || N(0, I)) ),

i.e. the joint ELBO with the KL term counted once per domain (``kl_weight`` = number of
domains); that is kept here. ``translate(x, "mnist")`` is then a Fashion-MNIST -> MNIST
map that sends a shirt to some "6"-like digit (label r -> digit r).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ["PairedVAE", "PairedELBO", "pair_by_label"]


class PairedVAE(nn.Module):
    """Shared Gaussian encoder, one Bernoulli decoder per domain.

    Args:
        domains: decoder names, e.g. ``("fmnist", "mnist")``.
        input_dim: flattened image size (784).
        hidden: hidden width (200).
        latent: latent dimension (64).
    """

    def __init__(self, domains=("fmnist", "mnist"), input_dim: int = 784, hidden: int = 200,
                 latent: int = 64) -> None:
        super().__init__()
        self.domains, self.input_dim, self.latent = tuple(domains), input_dim, latent
        self.encoder = nn.Sequential(nn.Linear(input_dim, hidden), nn.LeakyReLU())
        self.mu = nn.Linear(hidden, latent)
        self.sigma = nn.Linear(hidden, latent)
        self.decoders = nn.ModuleDict({d: nn.Sequential(nn.Linear(latent, hidden), nn.LeakyReLU(),
                                                        nn.Linear(hidden, input_dim), nn.Sigmoid())
                                       for d in self.domains})

    def encode(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """``x`` ``(B, 784)`` -> ``mu, sigma`` ``(B, latent)`` of ``q(z | x)``."""
        h = self.encoder(x.flatten(1).float())
        return self.mu(h), F.softplus(self.sigma(h))

    def decode(self, z: Tensor, domain: str) -> Tensor:
        """``z`` ``(B, latent)`` -> Bernoulli means ``(B, 784)`` in ``[0.01, 0.99]``."""
        return self.decoders[domain](z).clamp(0.01, 0.99)

    def translate(self, x: Tensor, domain: str, sample: bool = True) -> Tensor:
        """``phi(x)``: decode a sample of ``q(z | x)`` (or its mean) with ``domain``'s decoder."""
        mu, sigma = self.encode(x)
        z = mu + sigma * torch.randn_like(sigma) if sample else mu
        return self.decode(z, domain)

    def negative_elbo(self, x: Tensor, targets: dict[str, Tensor]) -> dict[str, Tensor]:
        """Named parts of ``-ELBO`` per example (batch means).

        Args:
            x: encoder input ``(B, 784)`` (or ``(B, 1, 28, 28)``) in ``[0, 1]``.
            targets: ``{domain: (B, 784) image in [0, 1]}`` to reconstruct.

        Returns:
            ``{"nll_<domain>": -E log p_d(x_d | z)}`` (one sample each, Bernoulli,
            summed over pixels) and ``"kl": len(targets) * KL(q || N(0, I))``.
        """
        mu, sigma = self.encode(x)
        out: dict[str, Tensor] = {}
        for d, target in targets.items():
            z = mu + sigma * torch.randn_like(sigma)
            p = self.decode(z, d)
            out[f"nll_{d}"] = F.binary_cross_entropy(p, target.flatten(1).float(), reduction="sum") / len(x)
        kl = 0.5 * (sigma.pow(2) + mu.pow(2) - 1 - 2 * torch.log(sigma)).sum(1).mean()
        out["kl"] = len(targets) * kl
        return out


class PairedELBO:
    """Objective for :func:`kdcore.training.loop.fit`: ``-ELBO`` of a :class:`PairedVAE`.

    ``batch["x"]`` is the prepared source image (reconstructed by decoder ``source``);
    ``batch[key]`` the paired image of domain ``target`` (``uint8`` or float in [0, 1]).
    """

    def __init__(self, source: str = "fmnist", target: str = "mnist", key: str = "paired") -> None:
        self.source, self.target, self.key = source, target, key

    def __call__(self, model: PairedVAE, batch: dict[str, Tensor]) -> dict[str, Tensor]:
        paired = batch[self.key]
        paired = paired.float() / 255.0 if paired.dtype == torch.uint8 else paired.float()
        x = batch["x"].flatten(1)
        return model.negative_elbo(x, {self.source: x, self.target: paired})


def pair_by_label(source_labels: Tensor, target_labels: Tensor, seed: int = 0) -> Tensor:
    """For each source row, the index of a random target row with the same label.

    Args:
        source_labels: ``(N,)``; target_labels: ``(M,)``. Every source label must occur
            among the targets.
    Returns:
        ``(N,)`` int64 indices into the targets (deterministic in ``seed``).
    """
    g = torch.Generator().manual_seed(seed)
    out = torch.empty(len(source_labels), dtype=torch.long)
    for c in source_labels.unique().tolist():
        rows = (source_labels == c).nonzero().squeeze(1)
        pool = (target_labels == c).nonzero().squeeze(1)
        if len(pool) == 0:
            raise ValueError(f"label {c} has no target rows to pair with")
        out[rows] = pool[torch.randint(len(pool), (len(rows),), generator=g)]
    return out
