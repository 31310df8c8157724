"""Models: parameter counts from the papers, feature names and shapes, forward/backward."""

import pytest
import torch

from kdcore.models import (MLP, ConvTiny, ConvVeryTiny, LSTMClassifier, build_model, resnet10, resnet18, weight_count)


@pytest.mark.parametrize("sizes,count", [
    ([784, 256, 128, 64, 64, 10], 246400),   # multi-domain teacher (Orlov & Grabovoy, Table 1)
    ([784, 64, 10], 50816),                  # multi-domain student
    ([15, 256, 128, 64, 64, 1], 48960),      # regression teacher
    ([15, 32, 1], 512),                      # regression student
])
def test_weight_counts_match_the_papers(sizes, count):
    assert weight_count(MLP(sizes)) == count


def test_mlp_features_and_final_activation():
    m = MLP([12, 7, 5, 3], final_activation=torch.nn.ReLU)
    feats = m.features(torch.randn(4, 3, 4))      # any input shape is flattened
    assert list(feats) == ["fc1", "fc2", "logits"]
    assert feats["fc1"].shape == (4, 7) and feats["logits"].shape == (4, 3)
    assert (feats["logits"] >= 0).all()
    with pytest.raises(ValueError, match="sizes"):
        MLP([10])


@pytest.mark.parametrize("cls,channels,hidden", [(ConvTiny, (16, 32, 64), 128), (ConvVeryTiny, (8, 16, 32), 64)])
def test_conv_small_shapes(cls, channels, hidden):
    m = cls()
    feats = m.features(torch.randn(2, 3, 32, 32))
    assert list(feats) == ["conv1", "conv2", "conv3", "fc1", "logits"]
    assert feats["conv1"].shape == (2, channels[0], 15, 15)
    assert feats["conv3"].shape == (2, channels[2], 2, 2)
    assert m.fc1.in_features == 4 * channels[2]
    assert feats["fc1"].shape == (2, hidden) and feats["logits"].shape == (2, 10)


def test_resnets_have_named_features_and_train():
    m = resnet10()
    feats = m.features(torch.randn(2, 3, 32, 32))
    assert len(feats) == 10 and list(feats)[0] == "stem" and list(feats)[-1] == "logits"
    assert feats["b4_out"].shape == (2, 512, 4, 4)
    assert len(resnet18().features(torch.randn(1, 3, 32, 32))) == 18
    loss = m(torch.randn(2, 3, 32, 32)).sum()
    loss.backward()
    assert all(p.grad is not None for p in m.parameters())


def test_resnet_authors_layout_bn_relu_after_stem_and_none_before_the_pool():
    m = resnet10(authors_layout=True).eval()
    feats = m.features(torch.randn(3, 3, 32, 32))
    assert (feats["stem"] >= 0).all()                        # after ReLU
    assert list(feats) == list(resnet10().features(torch.randn(1, 3, 32, 32)))
    n_default = sum(p.numel() for p in resnet10().parameters())
    # the 512-channel BN before the pool is replaced by a 64-channel BN after the stem
    assert sum(p.numel() for p in m.parameters()) == n_default - 2 * 512 + 2 * 64
    pooled = torch.nn.functional.avg_pool2d(feats["b4_out"], 4).flatten(1)
    torch.testing.assert_close(feats["logits"], m.linear(pooled))


def test_build_model_names_bad_parameter():
    assert isinstance(build_model("conv_tiny"), ConvTiny)
    with pytest.raises(ValueError, match="model"):
        build_model("vgg")


def test_lstm_classifier_reads_images_row_by_row():
    m = LSTMClassifier(28, 16, 10)
    x = torch.rand(3, 1, 28, 28)
    feats = m.features(x)
    assert list(feats) == ["hidden", "logits"] and feats["logits"].shape == (3, 10)
    torch.testing.assert_close(m(x), m(x.squeeze(1)))
