"""The paper's losses against values computed by hand."""

import math

import numpy as np
import pytest
import torch

from seqknn._losses import (
    knn_loss,
    label_sequence_loss,
    mean_step_log_proba,
    neighbor_label_loss,
    true_label_loss,
    vector_sequence_loss,
)

# One sample, K = 2 steps, C = 2 classes.
STEP_PROBA = torch.tensor([[[0.8, 0.2], [0.4, 0.6]]], dtype=torch.float64)
NEIGHBOR_LABELS = torch.tensor([[0, 1]])
LABELS = torch.tensor([0])


def test_mean_step_log_proba_averages_probabilities():
    log_mean = mean_step_log_proba(STEP_PROBA.log())
    np.testing.assert_allclose(log_mean.exp().numpy(), [[0.6, 0.4]])


def test_neighbor_label_loss_by_hand():
    # sum_t KL(Y_t^T || Y_t^P) / K = (-log 0.8 - log 0.6) / 2
    expected = (-math.log(0.8) - math.log(0.6)) / 2
    got = neighbor_label_loss(STEP_PROBA.log(), NEIGHBOR_LABELS)
    assert got.item() == pytest.approx(expected)


def test_true_label_loss_by_hand():
    # Y^P = (0.6, 0.4), ground truth class 0: KL = -log 0.6
    got = true_label_loss(mean_step_log_proba(STEP_PROBA.log()), LABELS)
    assert got.item() == pytest.approx(-math.log(0.6))


def test_kl_identity_with_general_kl():
    """-log p_c equals torch's KL divergence from a one-hot target."""
    target = torch.tensor([[1.0, 0.0], [0.0, 1.0]], dtype=torch.float64)
    log_p = STEP_PROBA[0].log()
    kl = torch.nn.functional.kl_div(log_p, target, reduction="sum") / 2
    assert neighbor_label_loss(STEP_PROBA.log(), NEIGHBOR_LABELS).item() == (
        pytest.approx(kl.item())
    )


def test_label_sequence_loss_combines_terms_with_alpha():
    alpha = 9.5
    total, parts = label_sequence_loss(STEP_PROBA.log(), NEIGHBOR_LABELS, LABELS, alpha)
    expected = (-math.log(0.8) - math.log(0.6)) / 2 + alpha * -math.log(0.6)
    assert total.item() == pytest.approx(expected)
    assert set(parts) == {"neighbor_labels", "true_label"}


def test_vector_sequence_loss_by_hand():
    pred = torch.tensor([[[1.0, 2.0], [0.0, 0.0]], [[1.0, 1.0], [1.0, 1.0]]])
    target = torch.tensor([[[0.0, 0.0], [0.0, 1.0]], [[1.0, 1.0], [1.0, 1.0]]])
    # sample 1: (1 + 4) + 1 = 6, sample 2: 0; mean over the batch = 3
    assert vector_sequence_loss(pred, target).item() == pytest.approx(3.0)


def test_knn_loss_adds_weighted_vector_term():
    vectors = torch.ones(1, 2, 3)
    targets = {
        "labels": LABELS,
        "neighbor_labels": NEIGHBOR_LABELS,
        "neighbor_vectors": torch.zeros(1, 2, 3),
    }
    outputs = {"log_proba": STEP_PROBA.log(), "vectors": vectors}
    total, parts = knn_loss(outputs, targets, alpha=2.0, vector_weight=0.5)
    l1 = (-math.log(0.8) - math.log(0.6)) / 2 + 2.0 * -math.log(0.6)
    assert total.item() == pytest.approx(l1 + 0.5 * 6.0)
    assert parts["neighbor_vectors"].item() == pytest.approx(6.0)

    only_vectors, parts = knn_loss(
        {"vectors": vectors}, targets, alpha=2.0, vector_weight=1.0
    )
    assert only_vectors.item() == pytest.approx(6.0)
    assert set(parts) == {"neighbor_vectors"}
