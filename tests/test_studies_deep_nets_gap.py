"""The deep-nets gap study: the authors' two-pass step is what it claims, and the study runs."""

import pytest
import torch
from torch import nn

torch.set_num_threads(1)


def test_two_passes_moves_batchnorm_twice_and_keeps_the_gradient():
    """In training mode: BatchNorm's running mean after one TwoPasses step equals two plain
    passes; the loss and its gradient are those of one plain pass. In eval mode: one pass."""
    from kdcore.studies.deep_nets_gap import TwoPasses

    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3))
    x = torch.randn(16, 4) + 2.0
    plain, wrapped = [nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3)) for _ in range(2)]
    plain.load_state_dict(net.state_dict())
    wrapped.load_state_dict(net.state_dict())
    two = TwoPasses(wrapped).train()
    y_two = two(x)
    y_plain = plain(x)
    assert torch.allclose(y_two, y_plain)                        # same batch statistics in the output
    plain(x)                                                     # a second plain pass
    assert torch.allclose(wrapped[1].running_mean, plain[1].running_mean)
    assert int(wrapped[1].num_batches_tracked) == 2
    y_two.sum().backward()
    ref = nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3))
    ref.load_state_dict(net.state_dict())
    ref(x).sum().backward()
    assert torch.allclose(wrapped[0].weight.grad, ref[0].weight.grad)
    two.eval()
    before = wrapped[1].running_mean.clone()
    two(x)
    assert torch.equal(before, wrapped[1].running_mean)


def test_the_study_runs_each_variant_from_the_same_start(tmp_path, monkeypatch):
    from kdcore.results import RunStore
    from kdcore.studies import deep_nets_gap as gap

    monkeypatch.setenv("KDCORE_RESULTS", str(tmp_path))
    try:
        recs = gap.run(gap.StudyConfig(n_train=128, test_rows=64, epochs=1), RunStore(tmp_path))
    except Exception as err:  # CIFAR-10 is not on every machine
        if "CIFAR-10 not found" in str(err):
            pytest.skip("CIFAR-10 is not available")
        raise
    assert [r["params"]["variant"] for r in recs] == list(gap.VARIANTS)
    assert all(0 <= r["metrics"][k] <= 1 for r in recs for k in ("accuracy", "accuracy_exact_1k", "accuracy_batch_stats"))
    with pytest.raises(ValueError, match="variant"):
        gap.student_run(gap.StudyConfig(), RunStore(tmp_path), gap._lab(gap.StudyConfig(), RunStore(tmp_path)), "fp64", 0)
