"""The memory-network family: attention, hops, memories and the classifiers."""

import math

import numpy as np
import pytest
import torch
from sklearn.datasets import make_blobs

from seqknn import MemN2NClassifier, MNkNNClassifier, MNkNNVecClassifier
from seqknn._memory import draw_without_replacement
from seqknn._networks import MemoryKNN, attend

FAST = dict(
    memory_size=16, embedding_size=16, batch_size=32, max_epochs=30, early_stopping=True
)
ALL = [MNkNNClassifier, MNkNNVecClassifier, MemN2NClassifier]


@pytest.fixture(scope="module")
def blobs():
    return make_blobs(
        n_samples=240, centers=3, n_features=4, cluster_std=1.5, random_state=0
    )


def test_attend_by_hand():
    u = torch.tensor([[1.0, 0.0]])
    keys = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    values = torch.tensor([[2.0, 0.0], [0.0, 4.0]])
    p, o = attend(u, keys, values)
    p0 = math.e / (math.e + 1)
    torch.testing.assert_close(p, torch.tensor([[p0, 1 - p0]]))
    torch.testing.assert_close(o, torch.tensor([[2 * p0, 4 * (1 - p0)]]))


def _identity(linear):
    with torch.no_grad():
        linear.weight.copy_(torch.eye(*linear.weight.shape))
        if linear.bias is not None:
            linear.bias.zero_()


def test_memory_network_hops_by_hand():
    net = MemoryKNN(
        2,
        2,
        n_hops=2,
        embedding_size=2,
        temperature=0.5,
        dropout=0.0,
        batch_norm=False,
        predict_vectors=False,
    )
    for layer in [net.embed[0], net.A, net.B, net.C, net.H, net.label_head]:
        _identity(layer)
    x = torch.tensor([[1.0, 0.0]])
    memory = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    labels = torch.tensor([0, 1])
    with torch.no_grad():
        net.E.weight.zero_()
    # phi is the identity on these non-negative rows, and E y_i is zero:
    # hop 1: u1 = x, o1 = attention over memory, u2 = H u1 + o1 = u1 + o1
    log_proba = net(x, memory, labels)["log_proba"]
    _, o1 = attend(x, memory, memory)
    u2 = x + o1
    _, o2 = attend(u2, memory, memory)
    u3 = u2 + o2
    expected = torch.stack(
        [torch.log_softmax(u2 / 0.5, 1), torch.log_softmax(u3 / 0.5, 1)], dim=1
    )
    torch.testing.assert_close(log_proba, expected)
    # The label embedding is added to the output vectors c_i only.
    with torch.no_grad():
        net.E.weight.copy_(torch.tensor([[0.0, 0.0], [0.0, 3.0]]))
    _, o1 = attend(x, memory, memory + torch.tensor([[0.0, 0.0], [0.0, 3.0]]))
    first = torch.log_softmax((x + o1) / 0.5, 1)
    torch.testing.assert_close(net(x, memory, labels)["log_proba"][:, 0], first)


def test_memory_vector_head_predicts_offsets_from_the_input():
    net = MemoryKNN(
        3,
        2,
        n_hops=2,
        embedding_size=4,
        temperature=1.0,
        dropout=0.0,
        batch_norm=False,
        predict_vectors=True,
    )
    with torch.no_grad():
        net.vector_head[2].weight.zero_()
        net.vector_head[2].bias.fill_(-1.0)
    x, memory = torch.randn(5, 3), torch.randn(6, 3)
    vectors = net(x, memory, torch.tensor([0, 1, 0, 1, 0, 1]))["vectors"]
    torch.testing.assert_close(vectors, x[:, None].expand(5, 2, 3) - 1.0)


@pytest.mark.parametrize("Model", ALL)
def test_learns_separable_classes_with_string_labels(Model, blobs):
    X, y = blobs
    labels = np.array(["c", "a", "b"])[y]
    clf = Model(random_state=0, **FAST).fit(X, labels)
    assert clf.score(X, labels) > 0.9
    np.testing.assert_allclose(clf.predict_proba(X).sum(axis=1), 1.0, rtol=1e-6)


@pytest.mark.parametrize("Model", ALL)
def test_random_state_gives_identical_fits(Model, blobs):
    X, y = blobs
    a = Model(random_state=3, **FAST).fit(X, y)
    b = Model(random_state=3, **FAST).fit(X, y)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    np.testing.assert_array_equal(a.memory_, b.memory_)
    c = Model(random_state=4, **FAST).fit(X, y)
    assert not np.array_equal(a.predict_proba(X), c.predict_proba(X))


def test_prediction_memories_come_from_the_training_data(blobs):
    X, y = blobs
    clf = MNkNNClassifier(n_memory_draws=3, random_state=0, **FAST).fit(X, y)
    assert clf.memory_.shape == (3, 16, 4)
    X_std = clf.scaler_.transform(X).astype(np.float32)
    for draw in clf.memory_:
        # Every memory row is a training row, and no row twice in one draw.
        matches = (draw[:, None, :] == X_std[None]).all(axis=2)
        assert matches.any(axis=1).all()
        assert len(np.unique(matches.argmax(axis=1))) == 16


def test_averaging_memory_draws(blobs):
    X, y = blobs
    params = dict(random_state=0, **FAST)
    one = MNkNNClassifier(n_memory_draws=1, **params).fit(X, y)
    three = MNkNNClassifier(n_memory_draws=3, **params).fit(X, y)
    proba = three.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
    assert not np.allclose(proba, one.predict_proba(X))
    # The average of the three single-memory predictions.
    singles = []
    for draw in three.memory_:
        single = MNkNNClassifier(n_memory_draws=1, **params).fit(X, y)
        single.module_, single.memory_ = three.module_, draw[None]
        single.memory_labels_ = three.memory_labels_[[len(singles)]]
        singles.append(single.predict_proba(X))
    np.testing.assert_allclose(proba, np.mean(singles, axis=0), rtol=1e-5)


def test_training_draws_a_fresh_memory_per_minibatch(blobs):
    X, y = blobs
    clf = MNkNNClassifier(random_state=0, **FAST).fit(X, y)
    seen = []

    class Recorder(torch.nn.Module):
        def forward(self, x, memory, memory_labels, generator=None):
            seen.append(memory.clone())
            labels_seen.append(memory_labels)
            return {}

    labels_seen = []
    module = Recorder().train()
    samples = torch.arange(100.0).reshape(50, 2)
    labels = torch.arange(50) % 3
    pool = (samples.__getitem__, labels, torch.arange(10, 50))
    for _ in range(2):
        clf._run_module(module, samples[:4], pool=pool)
    assert seen[0].shape == (16, 2)
    assert not torch.equal(seen[0], seen[1])
    # Drawn from the training split only, without replacement.
    rows = (seen[0][:, 0] / 2).long()
    assert rows.min() >= 10 and len(rows.unique()) == 16
    # With the labels of the same rows.
    torch.testing.assert_close(labels_seen[0], rows % 3)


def test_memory_larger_than_training_data(blobs):
    X, y = blobs
    clf = MNkNNClassifier(
        memory_size=300, early_stopping=True, max_epochs=2, random_state=0
    )
    with pytest.warns(
        UserWarning,
        match="memory_size=300 is larger than the 216 training samples left "
        "after holding out 24 for early stopping; the memory holds all 216",
    ):
        clf.fit(X, y)
    assert clf.memory_.shape == (1, 216, 4)
    assert clf.memory_labels_.shape == (1, 216)
    with pytest.warns(
        UserWarning,
        match="memory_size=300 is larger than the 240 training samples; the "
        "memory holds all 240",
    ):
        clf.set_params(early_stopping=False).fit(X, y)
    assert clf.score(X, y) > 0.5


def test_warnings_point_at_the_callers_line(blobs):
    X, y = blobs
    clf = MNkNNClassifier(memory_size=300, max_epochs=1)
    with pytest.warns(UserWarning, match="memory_size=300") as record:
        clf.fit(X, y)  # the line the warning names, not one inside seqknn
    assert record[0].filename == __file__


def test_mnknn_vec_predicts_neighbor_vectors(blobs):
    X, y = blobs
    X = X * 100.0 + 7.0
    clf = MNkNNVecClassifier(random_state=0, **FAST).fit(X, y)
    result = clf.predict_neighbors(X)
    assert result.vectors.shape == (len(X), 5, 4)
    assert result.label_proba.shape == (len(X), 5, 3)
    error = np.abs(result.vectors.mean(axis=1) - X) / X.std(axis=0)
    assert np.median(error) < 0.5
    assert {"neighbor_vectors", "val_neighbor_vectors"} <= set(clf.history_)


def test_memn2n_is_trained_on_the_ground_truth_only(blobs):
    X, y = blobs
    clf = MemN2NClassifier(n_hops=3, random_state=0, **FAST).fit(X, y)
    assert set(clf.history_) == {
        "loss",
        "true_label",
        "val_loss",
        "val_true_label",
        "val_score",
    }
    assert not hasattr(clf, "predict_neighbors")
    assert clf.module_.n_hops == 3
    # No neighbour targets: fewer samples than hops is fine.
    small = MemN2NClassifier(memory_size=2, early_stopping=False, max_epochs=2)
    small.fit(X[:4], [0, 1, 0, 1])


@pytest.mark.parametrize("n", [20, 5000])
def test_memory_draws_are_distinct_uniform_subsets(n):
    generator = torch.Generator().manual_seed(0)
    counts = torch.zeros(n)
    for _ in range(400):
        drawn = draw_without_replacement(n, 16, generator, torch.device("cpu"))
        assert len(drawn) == 16 and len(drawn.unique()) == 16
        assert drawn.min() >= 0 and drawn.max() < n
        counts[drawn] += 1
    # Every index is drawn about 400 * 16 / n times: no part of the data is
    # favoured (as taking the first of sorted distinct draws would do).
    halves = counts.reshape(2, -1).sum(1)
    assert abs(halves[0] - halves[1]) / halves.sum() < 0.05


def test_a_model_fitted_on_a_gpu_predicts_on_a_cpu_only_machine(blobs, monkeypatch):
    X, y = blobs
    clf = MNkNNClassifier(random_state=0, **FAST).fit(X, y)
    expected = clf.predict_proba(X)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    clf.device = "cuda"  # as unpickled from a fit on a GPU
    with pytest.warns(UserWarning, match="computing on the CPU instead"):
        np.testing.assert_allclose(clf.predict_proba(X), expected)
