"""Behaviour of the seq2seq kNN classifiers beyond the scikit-learn checks."""

import pickle

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.datasets import make_blobs, make_classification
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler
from sklearn.utils._param_validation import InvalidParameterError

from seqknn import Seq2SeqKNN, V2LSClassifier, V2VSClassifier, V2VSLSClassifier

FAST = dict(hidden_size=16, batch_size=32, max_epochs=15, random_state=0)
ALL = [V2LSClassifier, V2VSClassifier, V2VSLSClassifier]


@pytest.fixture(scope="module")
def blobs():
    X, y = make_blobs(
        n_samples=240, centers=3, n_features=4, cluster_std=1.5, random_state=0
    )
    return X, y


@pytest.mark.parametrize("Model", ALL)
def test_learns_separable_classes_with_string_labels(Model, blobs):
    X, y = blobs
    labels = np.array(["cherry", "apple", "banana"])[y]
    clf = Model(**FAST).fit(X, labels)
    np.testing.assert_array_equal(clf.classes_, ["apple", "banana", "cherry"])
    assert clf.score(X, labels) > 0.9
    proba = clf.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
    np.testing.assert_array_equal(clf.predict(X), clf.classes_[proba.argmax(axis=1)])


@pytest.mark.parametrize("Model", ALL)
def test_random_state_gives_identical_fits(Model, blobs):
    X, y = blobs
    a = Model(**FAST).fit(X, y)
    b = Model(**FAST).fit(X, y)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    assert a.history_ == b.history_
    c = Model(**{**FAST, "random_state": 1}).fit(X, y)
    # V2VS's vote shares can agree on separable data; its vectors do not.
    assert a.history_["loss"] != c.history_["loss"]
    assert not np.array_equal(_outputs(a, X), _outputs(c, X))


def _outputs(clf, X):
    result = clf.predict_neighbors(X)
    return result.vectors if result.label_proba is None else result.label_proba


def test_fit_leaves_global_torch_rng_alone(blobs):
    X, y = blobs
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    V2LSClassifier(**FAST).fit(X, y)
    np.testing.assert_array_equal(torch.rand(3), expected)


@pytest.mark.parametrize("Model", ALL)
def test_caller_arrays_are_not_modified(Model, blobs):
    X, y = blobs
    X_fit, y_fit = X.copy(), y.copy()
    clf = Model(**FAST).fit(X_fit, y_fit)
    clf.predict_neighbors(X_fit)
    clf.predict_proba(X_fit)
    np.testing.assert_array_equal(X_fit, X)
    np.testing.assert_array_equal(y_fit, y)


def test_vector_head_predicts_offsets_from_the_input():
    net = Seq2SeqKNN(
        3,
        2,
        n_steps=4,
        hidden_size=8,
        temperature=1.0,
        dropout=0.0,
        batch_norm=False,
        predict_labels=True,
        predict_vectors=True,
    )
    x = torch.randn(5, 3)
    offsets = net(x)["vectors"] - x[:, None]
    assert offsets.abs().max() > 0
    with torch.no_grad():
        net.vector_head[2].weight.zero_()
        net.vector_head[2].bias.fill_(0.5)
    torch.testing.assert_close(net(x)["vectors"], x[:, None].expand(5, 4, 3) + 0.5)


def test_history_and_early_stopping(blobs):
    X, y = blobs
    clf = V2VSLSClassifier(**FAST).fit(X, y)
    for name in [
        "loss",
        "neighbor_labels",
        "true_label",
        "neighbor_vectors",
        "val_loss",
        "val_neighbor_labels",
        "val_true_label",
        "val_neighbor_vectors",
        "val_score",
    ]:
        assert len(clf.history_[name]) == clf.n_iter_, name
    # The loss decreases, and the stored terms add up to the total.
    h = clf.history_
    assert h["loss"][-1] < h["loss"][0]
    np.testing.assert_allclose(
        h["loss"],
        np.add(h["neighbor_labels"], clf.alpha * np.array(h["true_label"]))
        + clf.vector_weight * np.array(h["neighbor_vectors"]),
        rtol=1e-5,
    )
    no_stop = V2VSLSClassifier(**{**FAST, "early_stopping": False}).fit(X, y)
    assert "val_loss" not in no_stop.history_


def test_early_stopping_stops_before_max_epochs():
    X, y = make_classification(n_samples=300, random_state=0)
    clf = V2LSClassifier(
        hidden_size=8,
        max_epochs=200,
        n_iter_no_change=2,
        early_stopping=True,
        random_state=0,
    ).fit(X, y)
    assert clf.n_iter_ < 200
    best = int(np.argmin(clf.history_["val_true_label"]))
    assert clf.n_iter_ == best + 1 + 2


def test_v2vs_stops_on_its_vector_loss(blobs):
    # Its vote accuracy can stay flat for the first epochs; the vector loss moves.
    X, y = blobs
    clf = V2VSClassifier(**{**FAST, "max_epochs": 60, "n_iter_no_change": 3, "tol": 0})
    clf.fit(X, y)
    best = int(np.argmin(clf.history_["val_loss"]))
    assert clf.n_iter_ == min(60, best + 1 + 3)


@pytest.mark.parametrize("vote", ["majority", "ranked"])
def test_v2vs_probabilities_are_vote_shares(vote):
    # Overlapping classes, so that the steps' labels disagree on some rows.
    X, y = make_classification(
        n_samples=240,
        n_features=4,
        n_classes=3,
        n_clusters_per_class=1,
        class_sep=0.5,
        random_state=0,
    )
    clf = V2VSClassifier(**{**FAST, "n_neighbors": 4, "vote": vote}).fit(X, y)
    # Validation votes used the training split; prediction votes use all data.
    assert clf._vote_index.n_samples_fit_ == len(X)
    proba = clf.predict_proba(X)
    neighbors = clf.predict_neighbors(X)
    assert neighbors.label_proba is None
    labels = neighbors.labels
    assert (labels != labels[:, :1]).any()
    weights = np.array([8, 4, 2, 1]) / 15 if vote == "ranked" else np.full(4, 0.25)
    expected = ((labels[:, :, None] == clf.classes_) * weights[:, None]).sum(axis=1)
    np.testing.assert_allclose(proba, expected)
    # "ranked" predicts from step 1's search alone; the same classes.
    np.testing.assert_array_equal(clf.predict(X), clf.classes_[proba.argmax(1)])
    if vote == "ranked":
        # The first predicted neighbour decides; the others only grade.
        np.testing.assert_array_equal(clf.predict(X), labels[:, 0])


def test_v2vs_labels_identical_rows_by_their_majority():
    # Four points, each copied 10 times: 3 copies of another class come first,
    # then 7 of the point's own class. A vector landing on a point must take
    # the majority label, not that of the first copy the search meets.
    points = np.array([[0.0, 0.0], [0.0, 8.0], [8.0, 0.0], [8.0, 8.0]])
    majority = np.array([0, 1, 2, 0])
    minority = np.array([1, 2, 0, 2])
    X = np.repeat(points, 10, axis=0)
    y = np.ravel([[m] * 3 + [c] * 7 for c, m in zip(majority, minority, strict=True)])
    clf = V2VSClassifier(**{**FAST, "max_epochs": 60}).fit(X, y)
    neighbors = clf.predict_neighbors(points)
    # The predicted vectors lie at their point, so the vote reads its copies.
    nearest = np.linalg.norm(neighbors.vectors[:, :, None] - points, axis=-1)
    assert (nearest.argmin(-1) == np.arange(4)[:, None]).all()
    assert (neighbors.labels == majority[:, None]).all()
    np.testing.assert_array_equal(clf.predict(points), majority)
    # Weighted, the majority follows the weights: the 3 minority copies at
    # weight 3 outweigh the 7 others (9 > 7), as 9 copies would.
    weights = np.ravel([[3.0] * 3 + [1.0] * 7 for _ in points])
    clf = V2VSClassifier(**{**FAST, "max_epochs": 60}).fit(X, y, weights)
    assert (clf.predict_neighbors(points).labels == minority[:, None]).all()


@pytest.mark.parametrize("Model", ALL)
def test_predict_neighbors_shapes_and_units(Model, blobs):
    X, y = blobs
    X = X * [1.0, 1000.0, 0.001, 1.0] + [0.0, 5e4, 0.0, -3.0]
    clf = Model(**FAST).fit(X, y)
    result = clf.predict_neighbors(X)
    assert result.labels.shape == (len(X), clf.n_neighbors)
    assert set(np.unique(result.labels)) <= set(clf.classes_)
    if Model is V2LSClassifier:
        assert result.vectors is None
        return
    assert result.vectors.shape == (len(X), clf.n_neighbors, X.shape[1])
    # Predicted neighbour vectors lie near the sample, in the caller's units.
    spread = X.std(axis=0)
    error = np.abs(result.vectors.mean(axis=1) - X) / spread
    assert np.median(error) < 0.5


@pytest.mark.parametrize("Model", [V2LSClassifier, V2VSLSClassifier])
def test_predicted_neighbor_labels_follow_the_class(Model, blobs):
    X, y = blobs
    clf = Model(**FAST).fit(X, y)
    result = clf.predict_neighbors(X)
    assert result.label_proba.shape == (len(X), clf.n_neighbors, 3)
    np.testing.assert_allclose(result.label_proba.sum(axis=2), 1.0, rtol=1e-5)
    assert np.mean(result.labels == y[:, None]) > 0.85


def test_pickle_roundtrip_and_module_on_cpu(blobs):
    X, y = blobs
    clf = V2VSLSClassifier(**FAST).fit(X, y)
    assert all(p.device.type == "cpu" for p in clf.module_.parameters())
    restored = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(restored.predict_proba(X), clf.predict_proba(X))


def test_pipeline_and_grid_search_in_parallel(blobs):
    X, y = blobs
    pipe = make_pipeline(MinMaxScaler(), V2LSClassifier(**FAST))
    search = GridSearchCV(
        pipe, {"v2lsclassifier__n_neighbors": [2, 4]}, cv=2, n_jobs=2
    ).fit(X, y)
    assert search.best_params_["v2lsclassifier__n_neighbors"] in (2, 4)
    assert search.score(X, y) > 0.9
    assert clone(pipe).get_params()["v2lsclassifier__hidden_size"] == 16


def test_feature_names_from_dataframe(blobs):
    pd = pytest.importorskip("pandas")
    X, y = blobs
    frame = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    clf = V2LSClassifier(**FAST).fit(frame, y)
    np.testing.assert_array_equal(clf.feature_names_in_, ["a", "b", "c", "d"])
    assert clf.predict(frame).shape == (len(X),)


def test_verbose_shows_progress_bar(blobs, capsys):
    X, y = blobs
    V2LSClassifier(**{**FAST, "max_epochs": 2, "verbose": 1}).fit(X, y)
    err = capsys.readouterr().err
    assert "V2LSClassifier" in err and "val_loss" in err


# ---------------------------------------------------------------- bad input
@pytest.mark.parametrize("Model", ALL)
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_input(Model, blobs, bad):
    X, y = blobs
    X = X.copy()
    X[3, 1] = bad
    with pytest.raises(ValueError, match="Input X contains (NaN|infinity)"):
        Model(**FAST).fit(X, y)


def test_single_class(blobs):
    X, _ = blobs
    with pytest.raises(ValueError, match="at least 2 classes; y has only 1 class"):
        V2VSLSClassifier(**FAST).fit(X, np.zeros(len(X)))


def test_too_few_samples_for_k():
    X = np.arange(10.0).reshape(5, 2)
    y = np.array([0, 1, 0, 1, 0])
    with pytest.raises(ValueError, match="n_neighbors=5 needs at least 6 training"):
        V2VSLSClassifier(**FAST).fit(X, y)


def test_too_few_samples_for_validation_split():
    X = np.arange(10.0).reshape(5, 2)
    y = np.array([0, 1, 0, 1, 0])
    clf = V2LSClassifier(**{**FAST, "n_neighbors": 2, "validation_fraction": 0.9})
    with pytest.raises(ValueError, match="early_stopping=False"):
        clf.fit(X, y)
    clf.set_params(early_stopping=False).fit(X, y)


def test_batch_norm_needs_two_samples_per_batch(blobs):
    X, y = blobs
    with pytest.raises(ValueError, match="batch_norm=True needs batch_size >= 2"):
        V2LSClassifier(**{**FAST, "batch_size": 1}).fit(X, y)
    V2LSClassifier(
        **{**FAST, "batch_size": 1, "batch_norm": False, "max_epochs": 1}
    ).fit(X, y)


@pytest.mark.parametrize("k", [0, -1])
def test_non_positive_k(blobs, k):
    X, y = blobs
    with pytest.raises(InvalidParameterError, match="n_neighbors"):
        V2LSClassifier(n_neighbors=k).fit(X, y)


def test_wrong_number_of_features_at_predict(blobs):
    X, y = blobs
    clf = V2LSClassifier(**FAST).fit(X, y)
    with pytest.raises(
        ValueError, match="X has 3 features, but V2LSClassifier is expecting 4 features"
    ):
        clf.predict(X[:, :3])


def test_non_numeric_input(blobs):
    X, y = blobs
    X = X.astype(object)
    X[0, 0] = "high"
    with pytest.raises(ValueError, match="could not convert string to float"):
        V2LSClassifier(**FAST).fit(X, y)


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_cuda_requested_without_gpu(blobs):
    X, y = blobs
    with pytest.raises(ValueError, match="no CUDA GPU is available"):
        V2LSClassifier(**{**FAST, "device": "cuda"}).fit(X, y)


@pytest.mark.parametrize(
    "labels",
    [[0, "a"], [None, 1], [None, None]],
    ids=["int-and-str", "none-and-int", "none"],
)
def test_labels_of_mixed_types_are_a_clear_error(blobs, labels):
    X, _ = blobs
    y = np.array(labels * (len(X) // 2), dtype=object)
    with pytest.raises(ValueError, match="y holds labels of types"):
        V2LSClassifier(**FAST).fit(X, y)


def test_invalid_device_string(blobs):
    X, y = blobs
    with pytest.raises(ValueError, match="not a valid torch device"):
        V2LSClassifier(**{**FAST, "device": "gpu0"}).fit(X, y)


def test_diverging_training_stops_with_a_clear_error(blobs):
    X, y = blobs
    clf = V2VSClassifier(**{**FAST, "learning_rate": 1e30, "batch_norm": False})
    with pytest.raises(ValueError, match="Training diverged.*Lower learning_rate"):
        clf.fit(X, y)


def test_predict_neighbors_with_monte_carlo_dropout(blobs):
    X, y = blobs
    clf = V2VSLSClassifier(**{**FAST, "dropout": 0.3}).fit(X, y)
    plain = clf.predict_neighbors(X[:20]).vectors
    np.testing.assert_array_equal(clf.predict_neighbors(X[:20]).vectors, plain)
    first = clf.predict_neighbors(X[:20], dropout_seed=1).vectors
    np.testing.assert_array_equal(
        clf.predict_neighbors(X[:20], dropout_seed=1).vectors, first
    )
    assert not np.allclose(first, plain)
    assert not np.allclose(clf.predict_neighbors(X[:20], dropout_seed=2).vectors, first)
    # The fitted module itself is left in evaluation mode.
    assert not clf.module_.training
