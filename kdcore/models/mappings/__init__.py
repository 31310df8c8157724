"""Maps between domains φ: x_small -> x_big, for a teacher trained on another domain.

- :mod:`.maps`  fixed maps (identity, Gaussian noise, dilated convolution) and their
  composition; :class:`VAEMap` decodes through a trained paired VAE;
- :mod:`.vae`   the paired VAE (one shared encoder, one decoder per domain) and its ELBO.
"""

from .maps import DILATION_KERNEL, Composed, DilatedConv, GaussianNoise, IdentityMap, VAEMap
from .vae import PairedELBO, PairedVAE, pair_by_label

__all__ = ["IdentityMap", "GaussianNoise", "DilatedConv", "VAEMap", "Composed", "DILATION_KERNEL",
           "PairedVAE", "PairedELBO", "pair_by_label"]
