"""Faults a fit must survive: failures, threads, files that change, divergence.

Issue 12, items 1 and 3 to 6. The experiments command's faults are in
``test_faults_experiments.py``, the loaders' in ``test_faults_datasets.py``.
"""

import pickle
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import torch
from sklearn.datasets import make_blobs, make_classification
from sklearn.exceptions import NotFittedError
from small_models import small

import seqknn._base
from seqknn import (
    MemN2NClassifier,
    MNkNNClassifier,
    MNkNNVecClassifier,
    V2LSClassifier,
    V2VSClassifier,
    V2VSLSClassifier,
    V2VSLSSampler,
)

FAST = dict(batch_size=32, max_epochs=8, random_state=0)


def make(Model, **params):
    return small(Model, **{**FAST, **params})


@pytest.fixture(scope="module")
def blobs():
    return make_blobs(
        n_samples=200, centers=3, n_features=4, cluster_std=1.5, random_state=0
    )


# ------------------------------------------------- item 1: transactional fit
def test_failed_refit_keeps_the_previous_fit(blobs):
    X, y = blobs
    binary = (y == 0).astype(int)
    clf = make(MNkNNVecClassifier).fit(X, binary)
    before = clf.predict_proba(X)
    module = clf.module_
    words = np.where(binary == 1, "spam", "ham")
    clf.set_params(learning_rate=1e30)  # diverges in the first epoch
    with pytest.raises(ValueError, match="Training diverged"):
        clf.fit(X, words)
    np.testing.assert_array_equal(clf.classes_, [0, 1])
    assert clf.module_ is module
    np.testing.assert_array_equal(clf.predict_proba(X), before)


@pytest.mark.parametrize("Model", [V2VSClassifier, MNkNNClassifier])
def test_interrupted_first_fit_leaves_an_unfitted_estimator(Model, blobs, monkeypatch):
    X, y = blobs

    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(seqknn._base, "train_module", interrupt)
    clf = make(Model)
    with pytest.raises(KeyboardInterrupt):
        clf.fit(X, y)
    assert vars(clf) == vars(make(Model))
    with pytest.raises(NotFittedError):
        clf.predict(X)


def test_the_per_batch_objective_can_be_overridden(blobs):
    X, y = blobs

    class Penalised(V2LSClassifier):
        """A subclass that adds an L1 penalty on the weights to every batch."""

        def _objective(self, module, indices, *, data):
            loss, parts = super()._objective(module, indices, data=data)
            penalty = sum(p.abs().sum() for p in module.parameters())
            return loss + 1e-2 * penalty, {**parts, "l1": penalty.detach()}

    clf = Penalised(hidden_size=16, **FAST).fit(X, y)
    assert len(clf.history_["l1"]) == clf.n_iter_
    assert clf.history_["l1"][-1] < clf.history_["l1"][0]


# ----------------------------------------------- item 3: beyond float32 range
@pytest.mark.parametrize("Model", [MNkNNClassifier, V2VSLSClassifier])
def test_values_beyond_float32_at_predict_are_an_error(Model, blobs):
    X, y = blobs
    clf = make(Model).fit(X, y)
    far = X[:3].copy()
    far[1, 2] = 1e40
    with pytest.raises(ValueError, match=r"column\(s\) 2 .*float32's range"):
        clf.predict(far)
    with pytest.raises(ValueError, match="float32's range"):
        clf.predict_proba(far)


def test_column_too_large_to_standardise_is_named_at_fit(blobs):
    X, y = blobs
    huge = X.copy()
    huge[:, 3] = 1e300 * (1 + np.arange(len(X)) % 2)
    with pytest.raises(ValueError, match=r"column\(s\) 3 .*too large") as error:
        make(V2LSClassifier).fit(huge, y)
    assert "NaN" not in str(error.value)


# ------------------------------------------- item 4: threads and torch's RNG
@pytest.mark.parametrize(
    "Model", [V2VSLSClassifier, MNkNNVecClassifier, MemN2NClassifier]
)
def test_fits_in_threads_equal_fits_one_after_another(Model):
    X, y = make_classification(n_samples=300, n_features=6, random_state=0)

    def fit(seed):
        clf = make(Model, random_state=seed, dropout=0.3).fit(X, y)
        return clf.history_["loss"], clf.predict_proba(X)

    alone = [fit(seed) for seed in (0, 1, 0, 1)]
    with ThreadPoolExecutor(4) as pool:
        together = list(pool.map(fit, (0, 1, 0, 1)))
    for (loss_a, proba_a), (loss_t, proba_t) in zip(alone, together, strict=True):
        assert loss_a == loss_t
        np.testing.assert_array_equal(proba_a, proba_t)


@pytest.mark.parametrize("Model", [V2VSLSClassifier, MNkNNVecClassifier])
def test_fit_neither_reads_nor_changes_the_global_torch_rng(Model, blobs):
    X, y = blobs
    torch.manual_seed(5)
    first = make(Model).fit(X, y).predict_proba(X)
    state = torch.get_rng_state()
    second = make(Model).fit(X, y).predict_proba(X)
    assert torch.equal(torch.get_rng_state(), state)
    np.testing.assert_array_equal(first, second)


def test_sampler_leaves_the_global_torch_rng_alone():
    X, y = make_classification(
        n_samples=200, n_features=5, weights=[0.85], random_state=0
    )
    state = torch.get_rng_state()
    sampler = V2VSLSSampler(hidden_size=16, **FAST)
    first = sampler.fit_resample(X, y)[0]
    assert torch.equal(torch.get_rng_state(), state)
    np.testing.assert_array_equal(sampler.fit_resample(X, y)[0], first)


# ------------------------------------------------ item 5: V2VS over a memmap
@pytest.fixture
def v2vs_on_file(blobs, tmp_path):
    X, y = blobs
    path = tmp_path / "X.dat"
    X.astype(np.float64).tofile(path)
    on_disk = np.memmap(path, dtype=np.float64, mode="r", shape=X.shape)
    return make(V2VSClassifier).fit(on_disk, y), path


def test_v2vs_notices_its_training_file_was_rewritten(v2vs_on_file, blobs):
    clf, path = v2vs_on_file
    X, _ = blobs
    expected = clf.predict(X)
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(clf)).predict(X), expected)
    with open(path, "r+b") as file:
        file.write((-X).astype(np.float64).tobytes())
    with pytest.raises(ValueError, match="has changed"):
        clf.predict(X)
    # The error came while a batch was handled: autograd must still be on.
    assert torch.is_grad_enabled() and not torch.is_inference_mode_enabled()


def test_v2vs_on_a_truncated_file_is_an_error_not_a_crash(v2vs_on_file, blobs):
    clf, path = v2vs_on_file
    X, _ = blobs
    with open(path, "r+b") as file:
        file.truncate(8)
    # Pickling used to read the whole mapping: a bus error killed the process.
    with pytest.raises(ValueError, match="has changed"):
        pickle.dumps(clf)
    with pytest.raises(ValueError, match="has changed"):
        clf.predict(X)


# ------------------------------------------------------- item 6: divergence
@pytest.mark.parametrize(
    "Model, learning_rate",
    [(V2VSLSClassifier, 10), (V2LSClassifier, 1e4), (MNkNNClassifier, 100)],
)
def test_a_blow_up_without_nan_is_an_error_naming_the_setting(
    Model, learning_rate, blobs
):
    X, y = blobs
    clf = make(Model, learning_rate=learning_rate, max_epochs=30)
    with pytest.raises(ValueError, match=r"Training diverged.*learning_rate \(now"):
        clf.fit(X, y)


def test_sampler_with_a_diverging_network_is_an_error():
    X, y = make_classification(
        n_samples=300, n_features=5, weights=[0.85], random_state=0
    )
    with pytest.raises(ValueError, match="Training diverged"):
        V2VSLSSampler(learning_rate=1e3, **FAST).fit_resample(X, y)


def test_synthetic_samples_stay_within_the_range_of_the_data(monkeypatch):
    X, y = make_classification(
        n_samples=200, n_features=5, weights=[0.85], random_state=0
    )
    forward = V2VSLSClassifier._forward

    def far_vectors(self, *args, **kwargs):
        outputs = forward(self, *args, **kwargs)
        if kwargs.get("transform") is not None:  # probabilities, no vectors
            return outputs
        return {**outputs, "vectors": outputs["vectors"] * 1e6}

    monkeypatch.setattr(V2VSLSClassifier, "_forward", far_vectors)
    X_res, _ = V2VSLSSampler(hidden_size=16, **FAST).fit_resample(X, y)
    assert len(X_res) > len(X)
    # Up to float32 rounding: the samples are made in standardised float32.
    assert (X_res >= X.min(axis=0) - 1e-5).all()
    assert (X_res <= X.max(axis=0) + 1e-5).all()
