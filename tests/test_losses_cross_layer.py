"""Cross-layer VID objective: one pair equals VID alone, the faithful mode is the authors'
last-pair-only loop, λ is a swappable buffer (hypergradients), the authors' λ index bug."""

import pytest
import torch
import torch.nn.functional as F
from torch.func import functional_call

from kdcore.losses import CrossLayerVID, all_to_all_pairs, authors_lambda, neg_log_weights, pairwise_pairs
from kdcore.models import ConvTiny, ConvVeryTiny
from kdcore.models.regressors import feature_shapes

T_LAYERS = S_LAYERS = ["conv1", "conv2", "conv3", "fc1"]


def _setup(pairs, faithful=False, lam=None, beta=0.3, **kw):
    torch.manual_seed(0)
    teacher, student = ConvTiny().eval(), ConvVeryTiny()
    t_shapes = feature_shapes(teacher, T_LAYERS)
    s_shapes = feature_shapes(student, S_LAYERS)
    lam = torch.full((len(pairs),), 1.0 / len(pairs)) if lam is None else lam
    obj = CrossLayerVID(pairs, t_shapes, s_shapes, lam, beta, faithful=faithful, teacher=teacher,
                        teacher_bf16=False, **kw)
    x = torch.randn(6, 3, 32, 32)
    with torch.no_grad():
        tf = teacher.features(x)
    batch = {"x": x, "y": torch.randint(0, 10, (6,)), **{f"teacher/{k}": v for k, v in tf.items()}}
    return obj, student, batch


def test_pair_sets():
    assert pairwise_pairs(["a", "b"], ["x", "y"]) == [("a", "x"), ("b", "y")]
    assert all_to_all_pairs(["a", "b"], ["x", "y"]) == [("a", "x"), ("a", "y"), ("b", "x"), ("b", "y")]
    with pytest.raises(ValueError, match="pairwise"):
        pairwise_pairs(["a"], ["x", "y"])


def test_one_pair_with_lambda_one_equals_vid_alone():
    obj, student, batch = _setup([("conv3", "conv2")], lam=torch.ones(1), beta=0.3)
    out = obj(student, batch)
    feats = student.features(batch["x"])
    vid = obj.terms[0](feats["conv2"], batch["teacher/conv3"])
    torch.testing.assert_close(out["vid"], 0.3 * vid)
    torch.testing.assert_close(out["ce"], 0.7 * F.cross_entropy(feats["logits"], batch["y"]))


def test_corrected_mode_sums_lambda_weighted_pairs():
    pairs = all_to_all_pairs(T_LAYERS, S_LAYERS)
    lam = torch.rand(len(pairs))
    obj, student, batch = _setup(pairs, lam=lam, beta=0.5)
    feats = student.features(batch["x"])
    want = sum(lam[p] * obj.terms[p](feats[s], batch[f"teacher/{t}"]) for p, (t, s) in enumerate(pairs))
    torch.testing.assert_close(obj(student, batch)["vid"], 0.5 * want)


def _authors_loop(obj, student, batch, beta, scale):
    """The authors' loop (resnet_test.ipynb), written out: the weighted sum is built and
    then ignored; the loss uses the variable left over from the last iteration."""
    feats = student.features(batch["x"])
    feat_loss_sum = 0
    for (t, s), term, lmbda in zip(obj.pairs, obj.terms, obj.lam):
        mu = term.mu(feats[s]).flatten(1)
        tt = batch[f"teacher/{t}"].flatten(1)
        sigma2 = torch.log(1 + torch.exp(term.rho))
        feat_loss = ((tt - mu) ** 2).sum(1).mean() / 2 * sigma2 + 0.5 * torch.log(sigma2)
        feat_loss_sum += lmbda * feat_loss
    class_loss = F.cross_entropy(feats["logits"], batch["y"])
    return class_loss * (1 - beta) + feat_loss.squeeze() * beta * scale


def test_faithful_mode_reproduces_the_last_pair_only_loop():
    pairs = all_to_all_pairs(T_LAYERS, S_LAYERS)
    obj, student, batch = _setup(pairs, faithful=True, lam=torch.rand(len(pairs)), beta=0.4, last_pair_scale=0.25)
    out = obj(student, batch)
    torch.testing.assert_close(out["ce"] + out["vid"], _authors_loop(obj, student, batch, 0.4, 0.25))
    # λ does not matter, and only the last pair's regressor and variance get gradients.
    obj.set_lambda(torch.rand(len(pairs)))
    torch.testing.assert_close(sum(obj(student, batch).values()), out["ce"] + out["vid"])
    (out["ce"] + out["vid"]).backward()
    assert obj.terms[-1].rho.grad is not None
    assert all(p.grad is None for term in obj.terms[:-1] for p in term.parameters())


def test_teacher_forward_equals_cached_features():
    pairs = pairwise_pairs(T_LAYERS[:3], S_LAYERS[:3])
    obj, student, batch = _setup(pairs)
    cached = obj(student, batch)
    live = obj(student, {"x": batch["x"], "y": batch["y"]})
    for k in cached:
        torch.testing.assert_close(cached[k], live[k])


def test_lambda_is_a_swappable_buffer_with_finite_difference_hypergradient():
    pairs = pairwise_pairs(T_LAYERS[:3], S_LAYERS[:3])
    obj, student, batch = _setup(pairs, beta=0.2)
    assert "lam" in dict(obj.named_buffers())
    lam = torch.tensor([0.2, 0.3, 0.5], requires_grad=True)

    def loss(l):
        return sum(functional_call(obj, {"lam": l}, (student, batch)).values())

    (g,) = torch.autograd.grad(loss(lam), lam)
    eps = 1e-2
    for p in range(3):
        e = torch.zeros(3)
        e[p] = eps
        fd = (loss(lam.detach() + e) - loss(lam.detach() - e)) / (2 * eps)
        assert g[p].item() == pytest.approx(fd.item(), rel=1e-3)
    torch.testing.assert_close(obj.lam, torch.full((3,), 1 / 3))  # the buffer itself is untouched
    with pytest.raises(ValueError, match="lam"):
        obj.set_lambda([1.0, 2.0])
    with pytest.raises(ValueError, match="beta"):
        CrossLayerVID(pairs, {}, {}, [1.0] * 3, beta=1.5)


def test_authors_lambda_index_bug():
    u = torch.rand(36)
    good, bad = authors_lambda(u, 9, 4, faithful=False), authors_lambda(u, 9, 4, faithful=True)
    assert good.shape == bad.shape == (4, 9)
    torch.testing.assert_close(good.sum(1), torch.full((4,), 0.25))          # Σ_j λ_ij = 1, then / S
    coeffs = neg_log_weights(u.view(4, 9)).flatten() / 4
    for i in range(4):
        for j in range(9):
            assert bad[i, j].item() == pytest.approx(coeffs[i * 4 + j].item())  # their i*4 + j
            assert good[i, j].item() == pytest.approx(coeffs[i * 9 + j].item())
    assert bad[0, 4].item() == pytest.approx(bad[1, 0].item())                 # two pairs share a weight
    torch.testing.assert_close(authors_lambda(u[:16], 4, 4, True), authors_lambda(u[:16], 4, 4, False))
    with pytest.raises(ValueError, match="S"):
        authors_lambda(torch.rand(12), 3, 4, faithful=True)


def test_teacher_to_student_direction_predicts_the_student_feature():
    """μ reads the teacher's feature and the student's feature is the target: the loss is
    vid_nll(μ(t), s), and the student's weights get a gradient through that target."""
    from kdcore.losses import vid_nll

    obj, student, batch = _setup([("conv3", "fc1")], lam=torch.ones(1), beta=1.0, direction="teacher_to_student")
    term = obj.terms[0]
    t = batch["teacher/conv3"]
    s = student.features(batch["x"])["fc1"]
    assert term.mu(t).shape == s.shape
    expected = vid_nll(term.mu(t), s, term.variance)
    out = obj(student, batch)
    assert torch.allclose(out["vid"], expected, rtol=1e-5)
    out["vid"].backward()
    assert student.fc1.weight.grad is not None and student.fc1.weight.grad.abs().sum() > 0
    with pytest.raises(ValueError, match="direction"):
        _setup([("conv3", "fc1")], direction="sideways")
