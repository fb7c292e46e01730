"""The paper's loss functions, written as the paper writes them.

Notation (Xu & Klabjan, section 3): for a sample x with ground-truth label Y^GT, its
K nearest training neighbours have labels Y_1^T..Y_K^T and feature vectors
X_1^T..X_K^T. A model predicts, at step (or hop) t, a label distribution Y_t^P and a
vector X_t^P, and the final distribution Y^P = (1/K) sum_t Y_t^P.

All targets are labels, i.e. one-hot distributions, and KL(onehot(c) || p) is
-log p_c because the entropy of a one-hot distribution is zero; the functions
below use that identity. The expectation E[.] is the mean over the minibatch; with
sample weights w_i (normalised by :meth:`BaseKNNNetwork.fit` to mean 1 over the
training split) it is the mean of w_i times sample i's terms, so that every term of
a sample is weighted alike.
"""

import math

import torch


def mean_step_log_proba(step_log_proba):
    """log Y^P for Y^P = (1/K) sum_t Y_t^P, from log Y_t^P of shape (B, K, ...).

    The mean is over probabilities, not log-probabilities; logsumexp keeps it
    stable when some Y_t^P are tiny.
    """
    n_steps = step_log_proba.shape[1]
    return torch.logsumexp(step_log_proba, dim=1) - math.log(n_steps)


def expectation(values, weights=None):
    """E[.] over the minibatch: the mean of ``values`` (B,), each times its weight."""
    return values.mean() if weights is None else (values * weights).mean()


def neighbor_label_loss(step_log_proba, neighbor_labels, weights=None):
    """E[ sum_t KL(Y_t^T || Y_t^P) / K ], the first term of the paper's L1.

    Parameters
    ----------
    step_log_proba : Tensor of shape (B, K, C)
        log Y_t^P.
    neighbor_labels : LongTensor of shape (B, K)
        Class index of the t-th nearest neighbour, i.e. Y_t^T.
    weights : Tensor of shape (B,), optional
        Sample weights.
    """
    picked = step_log_proba.gather(2, neighbor_labels.unsqueeze(2)).squeeze(2)
    return expectation(-picked.mean(dim=1), weights)


def true_label_loss(log_proba, labels, weights=None):
    """E[ KL(Y^GT || Y^P) ], the ground-truth term of L1 (weighted by alpha there).

    Parameters
    ----------
    log_proba : Tensor of shape (B, C)
        log Y^P.
    labels : LongTensor of shape (B,)
        Class index of the ground truth Y^GT.
    weights : Tensor of shape (B,), optional
        Sample weights.
    """
    return expectation(-log_proba.gather(1, labels.unsqueeze(1)).squeeze(1), weights)


def label_sequence_loss(step_log_proba, neighbor_labels, labels, alpha, weights=None):
    """L1 = E[ sum_t KL(Y_t^T || Y_t^P) / K + alpha KL(Y^GT || Y^P) ].

    Used by V2LS, V2VSLS and, as the paper's L1-bar (same form over hops), by
    the memory-network kNN models. Returns the total and its two terms.
    """
    neighbors = neighbor_label_loss(step_log_proba, neighbor_labels, weights)
    truth = true_label_loss(mean_step_log_proba(step_log_proba), labels, weights)
    return neighbors + alpha * truth, {
        "neighbor_labels": neighbors,
        "true_label": truth,
    }


def vector_sequence_loss(step_vectors, neighbor_vectors, weights=None):
    """L2 = E[ sum_t ||X_t^P - X_t^T||^2 ].

    Parameters
    ----------
    step_vectors : Tensor of shape (B, K, d)
        X_t^P, in standardised feature units.
    neighbor_vectors : Tensor of shape (B, K, d)
        X_t^T, the standardised feature vectors of the K nearest neighbours.
    weights : Tensor of shape (B,), optional
        Sample weights.
    """
    errors = (step_vectors - neighbor_vectors).square().sum(dim=(1, 2))
    return expectation(errors, weights)


def knn_loss(outputs, targets, *, alpha, vector_weight):
    """The loss of every kNN-mimicking model: L1 + lambda L2 over what it predicts.

    V2LS and MNkNN predict labels only (L = L1), V2VS vectors only (L = L2, i.e.
    ``vector_weight=1``), V2VSLS and MNkNN_VEC both (L = L1 + lambda L2).

    Parameters
    ----------
    outputs : dict
        ``"log_proba"`` (B, K, C) and/or ``"vectors"`` (B, K, d) from the module.
    targets : dict
        ``"labels"`` (B,), ``"neighbor_labels"`` (B, K), ``"neighbor_vectors"``
        (B, K, d) and, optionally, ``"weights"`` (B,), the sample weights.
    alpha : float
        Weight of the ground-truth term in L1.
    vector_weight : float
        lambda, the weight of L2.

    Returns
    -------
    loss : Tensor
        The scalar to minimise.
    parts : dict of str to Tensor
        Every term, detached, for the training history.
    """
    loss = 0.0
    parts = {}
    weights = targets.get("weights")
    if outputs.get("log_proba") is not None:
        l1, l1_parts = label_sequence_loss(
            outputs["log_proba"],
            targets["neighbor_labels"],
            targets["labels"],
            alpha,
            weights,
        )
        loss = loss + l1
        parts.update(l1_parts)
    if outputs.get("vectors") is not None:
        l2 = vector_sequence_loss(
            outputs["vectors"], targets["neighbor_vectors"], weights
        )
        loss = loss + vector_weight * l2
        parts["neighbor_vectors"] = l2
    return loss, {name: value.detach() for name, value in parts.items()}
