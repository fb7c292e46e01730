"""Sample and class weights, partial_fit, warm_start and the stopping reports."""

import warnings

import numpy as np
import pytest
import torch
from sklearn.datasets import make_blobs, make_classification
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import recall_score
from sklearn.neighbors import NearestNeighbors
from small_models import SMALL, small

from seqknn import (
    MNkNNClassifier,
    MNkNNVecClassifier,
    V2LSClassifier,
    V2VSLSClassifier,
)
from seqknn._losses import knn_loss

FAST = dict(batch_size=32, max_epochs=10, random_state=0)
ALL = list(SMALL)


def make(Model, **params):
    return small(Model, **{**FAST, **params})


@pytest.fixture(scope="module")
def blobs():
    return make_blobs(
        n_samples=300, centers=3, n_features=4, cluster_std=1.5, random_state=0
    )


@pytest.fixture(scope="module")
def imbalanced():
    return make_classification(
        n_samples=400,
        n_features=6,
        n_informative=3,
        weights=[0.9],
        class_sep=0.6,
        random_state=0,
    )


# -------------------------------------------------------------- weights
def test_a_weight_scales_every_term_of_its_sample():
    torch.manual_seed(0)
    outputs = {
        "log_proba": torch.randn(2, 3, 4).log_softmax(2),
        "vectors": torch.randn(2, 3, 5),
    }
    targets = {
        "labels": torch.tensor([1, 2]),
        "neighbor_labels": torch.tensor([[0, 1, 1], [2, 3, 2]]),
        "neighbor_vectors": torch.randn(2, 3, 5),
    }
    settings = dict(alpha=2.0, vector_weight=0.5)
    # E[w_i l_i] with w = (2, 0) is the loss of the first sample alone.
    weighted, parts = knn_loss(
        outputs, {**targets, "weights": torch.tensor([2.0, 0.0])}, **settings
    )
    alone, alone_parts = knn_loss(
        {k: v[:1] for k, v in outputs.items()},
        {k: v[:1] for k, v in targets.items()},
        **settings,
    )
    torch.testing.assert_close(weighted, alone)
    for name in ("neighbor_labels", "true_label", "neighbor_vectors"):
        torch.testing.assert_close(parts[name], alone_parts[name])


@pytest.mark.parametrize("Model", [V2VSLSClassifier, MNkNNClassifier])
def test_class_weight_equals_the_same_sample_weights(Model, blobs):
    X, y = blobs
    by_class = make(Model, class_weight={1: 4.0}).fit(X, y)
    by_sample = make(Model).fit(X, y, sample_weight=np.where(y == 1, 4.0, 1.0))
    np.testing.assert_array_equal(by_class.predict_proba(X), by_sample.predict_proba(X))
    unweighted = make(Model).fit(X, y)
    assert not np.array_equal(by_class.predict_proba(X), unweighted.predict_proba(X))


@pytest.mark.parametrize("Model", [V2LSClassifier, MNkNNClassifier])
def test_balanced_class_weight_raises_minority_recall(Model, imbalanced):
    X, y = imbalanced

    def recall(seed, **params):
        clf = make(Model, max_epochs=30, random_state=seed, **params).fit(X, y)
        return recall_score(y, clf.predict(X))

    # Summed over seeds: one small network's recall varies a lot with its seed.
    plain = sum(recall(seed) for seed in range(3))
    balanced = sum(recall(seed, class_weight="balanced") for seed in range(3))
    assert balanced > plain + 0.3


def test_zero_weights_on_the_training_split_are_an_error(blobs):
    X, y = blobs
    with pytest.raises(ValueError, match="non-zero"):
        make(V2LSClassifier).fit(X, y, sample_weight=np.zeros(len(y)))
    # Weight only on samples held out for early stopping: nothing to train on.
    held_out = np.where(np.arange(len(y)) < 10, 1.0, 0.0)
    with pytest.raises(ValueError, match="training samples are all zero"):
        make(V2LSClassifier)._sample_weights(held_out, X, y, np.arange(10, len(y)))
    with pytest.raises(ValueError, match="[Nn]egative"):
        make(V2LSClassifier).fit(X, y, sample_weight=-np.ones(len(y)))
    with pytest.raises(ValueError, match="not classes of y"):
        make(V2LSClassifier, class_weight={7: 2.0}).fit(X, y)


# ------------------------------------------------------------ partial_fit
@pytest.mark.parametrize("Model", ALL)
def test_partial_fit_over_chunks_learns(Model, blobs):
    X, y = blobs
    clf = make(Model)
    for _ in range(10):
        for chunk in np.array_split(np.arange(len(y)), 3):
            clf.partial_fit(X[chunk], y[chunk], classes=[0, 1, 2])
    assert clf.n_iter_ == 30 and len(clf.history_["loss"]) == 30
    assert clf.score(X, y) > 0.8


def test_partial_fit_checks_its_classes(blobs):
    X, y = blobs
    with pytest.raises(ValueError, match="classes must be passed on the first"):
        make(V2LSClassifier).partial_fit(X, y)
    clf = make(V2LSClassifier).partial_fit(X[y < 2], y[y < 2], classes=[0, 1])
    module = clf.module_
    with pytest.raises(ValueError, match=r"labels \[2\] that are not among"):
        clf.partial_fit(X, y)
    with pytest.raises(ValueError, match="not the same as on the first call"):
        clf.partial_fit(X, y, classes=[0, 1, 2])
    assert clf.module_ is module and clf.n_iter_ == 1
    with pytest.raises(ValueError, match="balanced"):
        make(V2LSClassifier, class_weight="balanced").partial_fit(X, y, classes=[0])


def test_partial_fit_with_dask_ml_incremental(blobs):
    da = pytest.importorskip("dask.array")
    wrappers = pytest.importorskip("dask_ml.wrappers")
    X, y = blobs
    dX, dy = da.from_array(X, chunks=100), da.from_array(y, chunks=100)
    search = wrappers.Incremental(make(V2LSClassifier), shuffle_blocks=False)
    for _ in range(4):  # Incremental's fit is one pass over the blocks
        search.partial_fit(dX, dy, classes=[0, 1, 2])
    assert search.estimator_.n_iter_ == 12
    assert search.score(dX, dy) > 0.85


# ------------------------------------------------------------- warm_start
@pytest.mark.parametrize("Model", [V2VSLSClassifier, MNkNNVecClassifier])
def test_warm_start_continues_the_fitted_network(Model, blobs):
    X, y = blobs
    clf = make(Model, max_epochs=3).fit(X, y)
    scaler, first_losses = clf.scaler_, list(clf.history_["loss"])
    clf.set_params(warm_start=True).fit(X[::-1], y[::-1])
    assert clf.n_iter_ == 6 and clf.history_["loss"][:3] == first_losses
    # It starts where the first fit stopped, not from a random network.
    assert clf.history_["loss"][3] < first_losses[0]
    assert clf.scaler_ is scaler
    with pytest.raises(ValueError, match="not among the classes"):
        clf.fit(X, y + 1)
    assert clf.n_iter_ == 6


# ------------------------------------------------------- stopping reports
def test_convergence_warning_only_while_still_improving(blobs):
    X, y = blobs
    with pytest.warns(
        ConvergenceWarning, match="max_epochs=2 while val_true_label"
    ) as record:
        make(V2LSClassifier, max_epochs=2).fit(X, y)
    assert record[0].filename == __file__
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        clf = make(V2LSClassifier, max_epochs=200, n_iter_no_change=2).fit(X, y)
    assert clf.n_iter_ < 200


def test_verbose_says_why_training_stopped(blobs, capsys):
    X, y = blobs
    clf = make(V2LSClassifier, max_epochs=200, n_iter_no_change=2, verbose=1)
    clf.fit(X, y)
    err = capsys.readouterr().err
    best = int(np.argmin(clf.history_["val_true_label"])) + 1
    assert f"stopped early at epoch {clf.n_iter_}" in err
    assert f"kept epoch {best}'s weights" in err


# ----------------------------------------------------------------- memory
class CountingNeighbors(NearestNeighbors):
    """Counts its fits: a fit is a neighbour search that was not cached."""

    fits = 0

    def fit(self, X, y=None):
        type(self).fits += 1
        return super().fit(X, y)


def test_memory_reuses_the_neighbour_targets(blobs, tmp_path):
    X, y = blobs
    CountingNeighbors.fits = 0
    search = dict(neighbors=CountingNeighbors(), memory=tmp_path)
    first = make(V2LSClassifier, **search).fit(X, y)
    make(V2LSClassifier, hidden_size=8, **search).fit(X, y)  # another grid point
    make(V2VSLSClassifier, **search).fit(X, y)  # another model, same rows
    assert CountingNeighbors.fits == 1
    uncached = make(V2LSClassifier, neighbors=CountingNeighbors()).fit(X, y)
    np.testing.assert_array_equal(first.predict_proba(X), uncached.predict_proba(X))
    make(V2LSClassifier, n_neighbors=3, **search).fit(X, y)
    make(V2LSClassifier, **search).fit(X[:-1], y[:-1])
    assert CountingNeighbors.fits == 4
