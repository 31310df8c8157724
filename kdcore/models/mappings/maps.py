"""Domain mappings ``phi: X_t -> X_s`` of Orlov & Grabovoy (2022), section 2.

The teacher ``f`` lives on the source domain ``X_s``; ``phi`` carries a target object
(a Fashion-MNIST image of the student's small dataset) into that domain so the teacher
can label it: the student is distilled from ``f o phi``. Every map is an ``nn.Module``
taking prepared images ``(B, 1, 28, 28)`` (or flat ``(B, 784)``) in ``[0, 1]``.
``random`` says whether two calls on the same input differ; only deterministic maps
allow caching the teacher's outputs once per dataset.

Maps (as in the thesis code, kbayazitov/distillation ``src/mylib/train.py``):

- :class:`IdentityMap`: ``phi(x) = x`` (teacher and student on the same domain);
- :class:`GaussianNoise`: ``phi(x) = clip(x + sigma * eps, 0, 1)``, ``eps ~ N(0, I)``;
- :class:`DilatedConv`: fixed 3x3 kernel ``[[1,0,1],[0,1,0],[1,0,1]]``, dilation 2, no
  padding: ``28 x 28 -> 24 x 24``, returned flat ``(B, 576)``;
- :class:`VAEMap`: encode with the shared encoder, sample ``z ~ q(z|x)``, decode with
  one domain's decoder (Bernoulli means ``(B, 784)``), see :mod:`kdcore.models.mappings.vae`.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ...base.checks import check_range

__all__ = ["IdentityMap", "GaussianNoise", "DilatedConv", "VAEMap", "Composed", "DILATION_KERNEL"]

DILATION_KERNEL = ((1.0, 0.0, 1.0), (0.0, 1.0, 0.0), (1.0, 0.0, 1.0))


def _as_images(x: Tensor) -> Tensor:
    """``(B, 784)`` or ``(B, 1, 28, 28)`` or ``(B, 28, 28)`` -> ``(B, 1, 28, 28)``."""
    return x.reshape(len(x), 1, 28, 28)


class IdentityMap(nn.Module):
    """``phi(x) = x``."""

    random = False

    def forward(self, x: Tensor) -> Tensor:
        return x


class GaussianNoise(nn.Module):
    """``phi(x) = clip(x + std * N(0, I), low, high)``; shape is kept.

    A fresh draw every call (uses the global torch generator, so a seeded run repeats).
    """

    random = True

    def __init__(self, std: float = 0.1, low: float = 0.0, high: float = 1.0) -> None:
        super().__init__()
        check_range("noise_std", std, 0)
        self.std, self.low, self.high = std, low, high

    def forward(self, x: Tensor) -> Tensor:
        return (x + self.std * torch.randn_like(x)).clamp(self.low, self.high)

    def extra_repr(self) -> str:
        return f"std={self.std}, clip=[{self.low}, {self.high}]"


class DilatedConv(nn.Module):
    """Fixed (not trained) 3x3 convolution with dilation 2 and no padding.

    ``(B, 1, 28, 28)`` -> ``(B, 576)``: the receptive field is 5x5, so each side loses 4
    pixels (24 x 24 = 576). The kernel is symmetric, so correlation = convolution.
    """

    random = False

    def __init__(self, kernel=DILATION_KERNEL, dilation: int = 2) -> None:
        super().__init__()
        self.register_buffer("kernel", torch.tensor(kernel, dtype=torch.float32).view(1, 1, 3, 3))
        self.dilation = dilation

    def forward(self, x: Tensor) -> Tensor:
        return F.conv2d(_as_images(x.float()), self.kernel, dilation=self.dilation).flatten(1)


class VAEMap(nn.Module):
    """``phi(x) = decoder_domain(z)``, ``z ~ q(z | x)`` of a trained :class:`kdcore.models.mappings.vae.PairedVAE`.

    The VAE is frozen (no gradients). ``sample=False`` decodes the posterior mean instead
    (deterministic; the thesis sampled). Output: ``(B, 784)`` Bernoulli means in (0, 1).
    """

    def __init__(self, vae: nn.Module, domain: str = "mnist", sample: bool = True) -> None:
        super().__init__()
        self.vae, self.domain, self.sample = vae, domain, sample
        for p in self.vae.parameters():
            p.requires_grad_(False)

    @property
    def random(self) -> bool:  # type: ignore[override]
        return self.sample

    def forward(self, x: Tensor) -> Tensor:
        return self.vae.translate(x.flatten(1), self.domain, sample=self.sample)


class Composed(nn.Module):
    """``f o phi``: a model ``f`` applied to mapped inputs. Training it with plain CE trains
    ``f`` on the source domain ``phi(X)``; ``phi`` has no trainable parameters."""

    def __init__(self, phi: nn.Module, model: nn.Module) -> None:
        super().__init__()
        self.phi, self.model = phi, model

    @property
    def random(self) -> bool:
        return bool(getattr(self.phi, "random", False))

    def features(self, x: Tensor):
        return self.model.features(self.phi(x))

    def forward(self, x: Tensor) -> Tensor:
        return self.model(self.phi(x))
