"""Losses: class weights, cross-entropy, weighted cross-entropy, focal loss."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from skysift.errors import InputError
from skysift.losses import class_weights, cross_entropy, focal_loss, make_loss, weighted_cross_entropy


def test_class_weights_balanced():
    y = np.array([0, 0, 0, 1, 2, 2])
    a = class_weights(y, 3)
    np.testing.assert_allclose(a, [6 / (3 * 3), 6 / (3 * 1), 6 / (3 * 2)])
    # weighted counts are equal: sum_j alpha_j N_j = N, each class contributing N / n_classes
    np.testing.assert_allclose(a * np.bincount(y), [2, 2, 2])


def test_class_weights_missing_class_is_an_error():
    with pytest.raises(InputError, match=r"\[1\].*no training examples"):
        class_weights(np.array([0, 0, 2]), 3)
    with pytest.raises(InputError, match="integer"):
        class_weights(np.array([0.0, 1.0]), 2)
    with pytest.raises(InputError, match="lie in"):
        class_weights(np.array([0, 3]), 2)


def _example():
    logits = torch.tensor([[2.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.5, -1.0, 3.0]])
    target = torch.tensor([0, 2, 2])
    alpha = np.array([0.5, 1.0, 2.0])
    return logits, target, alpha


def test_focal_loss_hand_computed():
    logits, target, alpha = _example()
    p0 = math.exp(2) / (math.exp(2) + 2)
    p1 = 1 / (2 + math.e)
    p2 = math.exp(3) / (math.exp(0.5) + math.exp(-1) + math.exp(3))
    gamma = 2.0
    terms = [-0.5 * (1 - p0) ** gamma * math.log(p0), -2.0 * (1 - p1) ** gamma * math.log(p1),
             -2.0 * (1 - p2) ** gamma * math.log(p2)]
    expected = sum(terms) / 3
    got = focal_loss(logits, target, alpha, gamma)
    assert got.item() == pytest.approx(expected, rel=1e-6)
    assert make_loss("focal", alpha, gamma)(logits, target).item() == pytest.approx(expected, rel=1e-6)
    # gamma = 1, unweighted
    expected1 = sum(-(1 - p) * math.log(p) for p in (p0, p1, p2)) / 3
    assert focal_loss(logits, target, None, 1.0).item() == pytest.approx(expected1, rel=1e-6)


def test_weighted_ce_hand_computed():
    logits, target, alpha = _example()
    p = F.softmax(logits.double(), dim=1)[torch.arange(3), target].numpy()
    expected = np.mean(-alpha[target.numpy()] * np.log(p))
    assert weighted_cross_entropy(logits, target, alpha).item() == pytest.approx(expected, rel=1e-6)
    assert make_loss("wce", alpha)(logits, target).item() == pytest.approx(expected, rel=1e-6)


def test_focal_gamma0_is_weighted_ce_and_plain_ce():
    torch.manual_seed(0)
    logits = torch.randn(17, 4) * 3
    target = torch.randint(0, 4, (17,))
    alpha = np.array([0.3, 1.0, 2.5, 0.9])
    torch.testing.assert_close(focal_loss(logits, target, alpha, 0.0), weighted_cross_entropy(logits, target, alpha))
    torch.testing.assert_close(focal_loss(logits, target, np.ones(4), 0.0), F.cross_entropy(logits, target))
    torch.testing.assert_close(focal_loss(logits, target, None, 0.0), cross_entropy(logits, target))
    torch.testing.assert_close(make_loss("ce")(logits, target), F.cross_entropy(logits, target))


def test_focal_down_weights_easy_examples():
    logits = torch.tensor([[5.0, 0.0], [0.2, 0.0]])
    target = torch.tensor([0, 0])
    per_ce = -F.log_softmax(logits, 1)[:, 0]
    per_fl = torch.stack([focal_loss(logits[i : i + 1], target[i : i + 1], None, 2.0) for i in range(2)])
    ratio = per_fl / per_ce
    assert ratio[0] < 0.01 < ratio[1]


@pytest.mark.parametrize("gamma", [0.0, 0.5, 1.0, 2.0, 5.0])
def test_gradients_finite_for_extreme_logits(gamma):
    logits = torch.tensor([[1e4, -1e4, 0.0], [-1e4, 1e4, 0.0], [88.0, -88.0, 0.0], [0.0, 0.0, 0.0]],
                          requires_grad=True)
    target = torch.tensor([0, 0, 2, 1])
    loss = focal_loss(logits, target, np.array([1.0, 2.0, 0.5]), gamma)
    loss.backward()
    assert torch.isfinite(loss)
    assert torch.isfinite(logits.grad).all()
    # a confidently wrong prediction (row 1) has a large loss, a confidently right one none
    assert loss.item() > 1000


def test_make_loss_names_and_errors():
    logits, target, alpha = _example()
    for name in ("ce", "cross_entropy", "wce", "weighted_ce", "focal", "FOCAL"):
        assert torch.isfinite(make_loss(name, alpha, 2.0)(logits, target))
    with pytest.raises(InputError, match="unknown loss"):
        make_loss("hinge")
    with pytest.raises(InputError, match="class weights"):
        make_loss("wce", None)
    with pytest.raises(InputError, match="gamma"):
        make_loss("focal", alpha, -1.0)
