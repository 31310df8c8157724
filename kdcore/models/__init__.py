"""Teacher and student models. Every model returns named intermediate features.

``model(x)`` gives the logits; ``model.features(x)`` gives an ordered ``dict`` of every
distillable representation, input side first, ending with ``"logits"``. That is what lets
any teacher layer be paired with any student layer (cross-layer distillation) without
flags or list positions.

Architectures follow the papers' code (see ``shared/PAPERS.md``):

- :class:`MLP` from a list of sizes (Hinton 2015; Orlov & Grabovoy; Petrushina et al.);
- :class:`ConvTiny` / :class:`ConvVeryTiny`: three [conv3x3 (no padding), BN, ReLU,
  maxpool2] blocks, channels 16/32/64 resp. 8/16/32, then FC 256-128-10 resp. 128-64-10
  (Oleinik et al., intsystems/2023-Project-115, ``code/cifar_tiny.py``);
- :func:`resnet10` / :func:`resnet18`: pre-activation ResNet (He et al. 2016) with blocks
  [1,1,1,1] / [2,2,2,2], widths 64-128-256-512, a 3x3 stem without max-pool and a 4x4
  average pool (same repository, ``code/resnet.py``);
- :class:`LSTMClassifier`: a one-layer LSTM reading images row by row (the LSTM growth
  experiment the anti-distillation draft promised).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Sequence

import torch
from torch import Tensor, nn

__all__ = ["MLP", "ConvTiny", "ConvVeryTiny", "PreActResNet", "resnet10", "resnet18", "LSTMClassifier",
           "weight_count", "parameter_count", "build_model", "MODELS"]

Features = "OrderedDict[str, Tensor]"


class FeatureModel(nn.Module):
    """Base class: ``forward`` returns ``features(x)["logits"]``."""

    def features(self, x: Tensor) -> "OrderedDict[str, Tensor]":  # pragma: no cover - abstract
        raise NotImplementedError

    def forward(self, x: Tensor) -> Tensor:
        return self.features(x)["logits"]


class MLP(FeatureModel):
    """Fully connected network from a list of layer sizes.

    Args:
        sizes: ``[d_in, h_1, ..., h_k, d_out]``; inputs of any shape ``(B, ...)`` are
            flattened to ``(B, d_in)``.
        activation: module factory applied after every hidden layer (ReLU in all papers).
        final_activation: optional module applied to the logits. ``nn.ReLU`` reproduces
            the anti-distillation authors' code, which had a ReLU on its output layer.
        dropout: dropout probability after every hidden activation (Hinton et al. 2015
            trained their MNIST teacher with dropout; 0 disables it).
        input_dropout: dropout probability on the inputs (0.2 in Hinton's MNIST nets).

    Features: ``fc1 .. fc{k}`` (hidden activations, ``(B, h_i)``) and ``logits`` ``(B, d_out)``.
    """

    def __init__(self, sizes: Sequence[int], activation: Callable[[], nn.Module] = nn.ReLU,
                 final_activation: Callable[[], nn.Module] | None = None, dropout: float = 0.0,
                 input_dropout: float = 0.0) -> None:
        super().__init__()
        if len(sizes) < 2 or any(int(s) < 1 for s in sizes):
            raise ValueError(f"parameter 'sizes' = {list(sizes)} must list >= 2 positive sizes")
        self.sizes = [int(s) for s in sizes]
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(self.sizes[:-1], self.sizes[1:]))
        self.act = activation()
        self.final_act = final_activation() if final_activation is not None else None
        # Identity when p = 0, so plain MLPs have no dropout modules in their state.
        self.drop = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.drop_in = nn.Dropout(input_dropout) if input_dropout > 0 else nn.Identity()

    def features(self, x: Tensor) -> "OrderedDict[str, Tensor]":
        out: OrderedDict[str, Tensor] = OrderedDict()
        h = self.drop_in(x.flatten(1))
        for i, layer in enumerate(self.layers):
            h = layer(h)
            if i < len(self.layers) - 1:
                h = self.act(h)
                out[f"fc{i + 1}"] = h
                h = self.drop(h)
        if self.final_act is not None:
            h = self.final_act(h)
        out["logits"] = h
        return out


class _ConvSmall(FeatureModel):
    """Three [conv3x3 valid, BN, ReLU, maxpool2] blocks and a two-layer head.

    Shapes for a 32x32 input: 32 -> 30 -> 15 -> 13 -> 6 -> 4 -> 2, so the flattened map
    has ``4 * channels[2]`` units. Features: ``conv1..conv3`` ``(B, C_i, H_i, W_i)``,
    ``fc1`` ``(B, hidden)``, ``logits`` ``(B, n_classes)``.
    """

    def __init__(self, channels: Sequence[int], hidden: int, n_classes: int = 10,
                 in_channels: int = 3) -> None:
        super().__init__()
        chans = [in_channels, *channels]
        self.blocks = nn.ModuleList(
            nn.Sequential(nn.Conv2d(a, b, 3), nn.BatchNorm2d(b), nn.ReLU(), nn.MaxPool2d(2))
            for a, b in zip(chans[:-1], chans[1:]))
        self.fc1 = nn.Linear(4 * channels[-1], hidden)
        self.fc2 = nn.Linear(hidden, n_classes)

    def features(self, x: Tensor) -> "OrderedDict[str, Tensor]":
        out: OrderedDict[str, Tensor] = OrderedDict()
        for i, block in enumerate(self.blocks):
            x = block(x)
            out[f"conv{i + 1}"] = x
        h = torch.relu(self.fc1(x.flatten(1)))
        out["fc1"] = h
        out["logits"] = self.fc2(h)
        return out


class ConvTiny(_ConvSmall):
    """ConvTiny: channels 16/32/64, FC 256-128-10 (Oleinik et al., ``cifar_tiny.py``)."""

    def __init__(self, n_classes: int = 10, in_channels: int = 3) -> None:
        super().__init__((16, 32, 64), 128, n_classes, in_channels)


class ConvVeryTiny(_ConvSmall):
    """ConvVeryTiny: channels 8/16/32, FC 128-64-10 (Oleinik et al., ``cifar_very_tiny.py``)."""

    def __init__(self, n_classes: int = 10, in_channels: int = 3) -> None:
        super().__init__((8, 16, 32), 64, n_classes, in_channels)


class PreActBlock(nn.Module):
    """Pre-activation basic block: BN-ReLU-conv3x3-BN-ReLU-conv3x3 plus shortcut (He et al. 2016)."""

    def __init__(self, c_in: int, c_out: int, stride: int) -> None:
        super().__init__()
        self.bn1 = nn.BatchNorm2d(c_in)
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
        self.shortcut = (nn.Conv2d(c_in, c_out, 1, stride, bias=False)
                         if stride != 1 or c_in != c_out else None)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Returns ``(first conv output, block output)``; both are distillation features."""
        pre = torch.relu(self.bn1(x))
        skip = self.shortcut(pre) if self.shortcut is not None else x
        mid = self.conv1(pre)
        out = self.conv2(torch.relu(self.bn2(mid))) + skip
        return mid, out


class PreActResNet(FeatureModel):
    """CIFAR pre-activation ResNet. Features: ``stem``, then per block ``b{k}_conv1`` and
    ``b{k}_out`` (``k`` counts blocks from 1), then ``logits``: 10 features for ResNet10.

    ``authors_layout=True`` is the layout of Oleinik et al.'s ``resnet.py`` (a copy of
    passalis/pkth): BatchNorm + ReLU right after the stem convolution (the ``stem``
    feature is taken after them) and none before the average pool. The default is He et
    al.'s pre-activation layout: a bare stem convolution, BatchNorm + ReLU before the pool.
    """

    def __init__(self, blocks: Sequence[int], n_classes: int = 10, in_channels: int = 3,
                 widths: Sequence[int] = (64, 128, 256, 512), authors_layout: bool = False) -> None:
        super().__init__()
        self.authors_layout = authors_layout
        self.stem = nn.Conv2d(in_channels, widths[0], 3, 1, 1, bias=False)
        self.stem_bn = nn.BatchNorm2d(widths[0]) if authors_layout else None
        layers, c_in = [], widths[0]
        for stage, (n, w) in enumerate(zip(blocks, widths)):
            for j in range(n):
                layers.append(PreActBlock(c_in, w, 2 if (stage > 0 and j == 0) else 1))
                c_in = w
        self.blocks = nn.ModuleList(layers)
        self.bn = None if authors_layout else nn.BatchNorm2d(c_in)
        self.linear = nn.Linear(c_in, n_classes)

    def features(self, x: Tensor) -> "OrderedDict[str, Tensor]":
        out: OrderedDict[str, Tensor] = OrderedDict()
        x = self.stem(x)
        if self.stem_bn is not None:
            x = torch.relu(self.stem_bn(x))
        out["stem"] = x
        for k, block in enumerate(self.blocks, start=1):
            mid, x = block(x)
            out[f"b{k}_conv1"] = mid
            out[f"b{k}_out"] = x
        if self.bn is not None:
            x = torch.relu(self.bn(x))
        x = torch.nn.functional.avg_pool2d(x, 4).flatten(1)
        out["logits"] = self.linear(x)
        return out


def resnet10(n_classes: int = 10, authors_layout: bool = False) -> PreActResNet:
    """Pre-activation ResNet10, blocks [1, 1, 1, 1]."""
    return PreActResNet((1, 1, 1, 1), n_classes, authors_layout=authors_layout)


def resnet18(n_classes: int = 10, authors_layout: bool = False) -> PreActResNet:
    """Pre-activation ResNet18, blocks [2, 2, 2, 2]."""
    return PreActResNet((2, 2, 2, 2), n_classes, authors_layout=authors_layout)


class LSTMClassifier(FeatureModel):
    """``nn.LSTM(input_size, hidden_size)`` over rows, then ``nn.Linear(hidden_size, n_classes)``.

    A ``(B, 1, 28, 28)`` image (or any ``(B, T, D)`` tensor) is read as a sequence of
    ``T = 28`` rows of ``D = 28`` pixels; the last hidden state goes to the linear head.
    Features: ``"hidden"`` ``(B, H)`` (last hidden state) and ``"logits"`` ``(B, C)``.
    """

    def __init__(self, input_size: int = 28, hidden_size: int = 32, n_classes: int = 10) -> None:
        super().__init__()
        self.lstm = nn.LSTM(input_size, hidden_size, batch_first=True)
        self.head = nn.Linear(hidden_size, n_classes)

    def features(self, x: Tensor) -> "OrderedDict[str, Tensor]":
        if x.dim() == 4:  # (B, 1, H, W) image -> (B, H, W) sequence of rows
            x = x.flatten(1, 2) if x.shape[1] != 1 else x.squeeze(1)
        _, (h, _) = self.lstm(x)
        out: OrderedDict[str, Tensor] = OrderedDict()
        out["hidden"] = h[-1]
        out["logits"] = self.head(h[-1])
        return out


MODELS: dict[str, Callable[..., nn.Module]] = {
    "conv_tiny": ConvTiny, "conv_very_tiny": ConvVeryTiny, "resnet10": resnet10, "resnet18": resnet18,
}


def build_model(name: str, **kwargs) -> nn.Module:
    """Build a CIFAR model by name; unknown names raise ``ValueError`` naming ``model``."""
    if name not in MODELS:
        raise ValueError(f"parameter 'model' = {name!r} is not allowed: choose one of {list(MODELS)}")
    return MODELS[name](**kwargs)


def weight_count(model: nn.Module) -> int:
    """Number of weights of the Linear and Conv layers, biases and BatchNorm excluded.

    This is how the multi-domain paper counts: [784,256,128,64,64,10] has 246400,
    [784,64,10] has 50816, [15,256,128,64,64,1] has 48960 and [15,32,1] has 512.
    """
    return sum(m.weight.numel() for m in model.modules()
               if isinstance(m, (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)))


def parameter_count(model: nn.Module) -> int:
    """All trainable parameters (weights, biases, BatchNorm affine)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
