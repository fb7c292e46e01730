"""The oversamplers: counts, generation, pipelines."""

from collections import Counter

import numpy as np
import pytest
from imblearn.pipeline import Pipeline
from scipy import sparse
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.datasets import make_blobs, make_classification
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.preprocessing import StandardScaler

import seqknn._sampler
from seqknn import MNkNNVecSampler, V2VSLSSampler

FAST = dict(batch_size=32, max_epochs=15, random_state=0)
SAMPLERS = [
    lambda **kw: V2VSLSSampler(hidden_size=16, **FAST, **kw),
    lambda **kw: MNkNNVecSampler(memory_size=16, embedding_size=16, **FAST, **kw),
]


@pytest.fixture(scope="module")
def three_classes():
    return make_classification(
        n_samples=400,
        n_classes=3,
        n_informative=4,
        weights=[0.7, 0.2, 0.1],
        flip_y=0,
        random_state=0,
    )


@pytest.fixture(scope="module")
def separated():
    """A majority and a far-away minority blob."""
    X, y = make_blobs(
        n_samples=[270, 30],
        centers=[[0, 0, 0], [6, 6, 6]],
        cluster_std=1.0,
        random_state=0,
    )
    return X, y


def _expected(y, targets):
    counts = Counter(y)
    return {c: max(counts[c], targets.get(c, counts[c])) for c in counts}


@pytest.mark.parametrize(
    "strategy, targets",
    [
        ("auto", {1: 280, 2: 280}),
        ("not majority", {1: 280, 2: 280}),
        ("minority", {2: 280}),
        ("not minority", {1: 280}),
        ("all", {1: 280, 2: 280}),
        ({1: 100, 2: 150}, {1: 100, 2: 150}),
        (lambda y: {2: 90}, {2: 90}),
    ],
    ids=["auto", "not-majority", "minority", "not-minority", "all", "dict", "callable"],
)
def test_every_sampling_strategy_gives_exact_counts(three_classes, strategy, targets):
    X, y = three_classes
    assert Counter(y) == {0: 280, 1: 80, 2: 40}
    _, y_res = SAMPLERS[0](sampling_strategy=strategy).fit_resample(X, y)
    assert Counter(y_res) == _expected(y, targets)


@pytest.mark.parametrize("make", SAMPLERS)
def test_float_strategy_binary(make, separated):
    X, y = separated
    _, y_res = make(sampling_strategy=0.5).fit_resample(X, y)
    assert Counter(y_res) == {0: 270, 1: 135}


@pytest.mark.parametrize("make", SAMPLERS)
@pytest.mark.parametrize("generation", ["paper", "interpolate"])
def test_synthetic_minority_samples_lie_near_the_minority(make, generation, separated):
    X, y = separated
    X_res, y_res = make(generation=generation).fit_resample(X, y)
    new = X_res[len(X) :]
    assert (y_res[len(X) :] == 1).all() and len(new) == 240
    to_minority = np.linalg.norm(new[:, None] - X[y == 1][None], axis=2).min(1)
    to_majority = np.linalg.norm(new[:, None] - X[y == 0][None], axis=2).min(1)
    # Nearly all are nearer the minority; the paper's rule also takes vectors
    # predicted around majority seeds, so a few lie between the classes.
    assert np.mean(to_minority < to_majority) > 0.8
    assert np.median(to_minority) < 0.5 * np.median(to_majority)
    # Out-of-sample points, not copies of the originals.
    assert np.min(to_minority) > 0


def test_originals_first_and_unchanged_and_reproducible(three_classes):
    X, y = three_classes
    X_in, y_in = X.copy(), y.copy()
    X_res, y_res = SAMPLERS[0]().fit_resample(X_in, y_in)
    np.testing.assert_array_equal(X_in, X)
    np.testing.assert_array_equal(y_in, y)
    np.testing.assert_array_equal(X_res[: len(X)], X)
    np.testing.assert_array_equal(y_res[: len(y)], y)
    X_again, _ = SAMPLERS[0]().fit_resample(X, y)
    np.testing.assert_array_equal(X_res, X_again)
    X_other, _ = SAMPLERS[0]().set_params(random_state=1).fit_resample(X, y)
    assert not np.array_equal(X_res, X_other)


def test_dataframe_in_dataframe_out(three_classes):
    pd = pytest.importorskip("pandas")
    X, y = three_classes
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    X_res, y_res = SAMPLERS[1]().fit_resample(frame, pd.Series(y, name="target"))
    assert isinstance(X_res, pd.DataFrame) and list(X_res.columns) == list(
        frame.columns
    )
    assert isinstance(y_res, pd.Series) and y_res.name == "target"


def test_goes_on_with_mc_dropout_when_one_pass_is_not_enough(separated):
    X, y = separated
    # 30 minority samples x K=5 steps give at most ~150 candidates per pass.
    X_res, y_res = SAMPLERS[0](sampling_strategy={1: 800}).fit_resample(X, y)
    new = X_res[len(X) :]
    assert len(new) == 770
    assert len(np.unique(new.round(6), axis=0)) > 0.95 * len(new)


def test_shortfall_is_filled_with_a_warning(separated, monkeypatch):
    X, y = separated
    monkeypatch.setattr(seqknn._sampler, "_MAX_ROUNDS", 1)
    with pytest.warns(UserWarning, match="labelled too few predicted vectors"):
        _, y_res = SAMPLERS[0](sampling_strategy={1: 800}).fit_resample(X, y)
    assert Counter(y_res)[1] == 800


def test_nothing_to_generate(separated):
    X, y = separated
    sampler = SAMPLERS[0](sampling_strategy="minority").fit(X, y)
    X_res, y_res = sampler.fit_resample(X, y)
    assert sampler.estimator_ is not None
    X_res, y_res = sampler.set_params(sampling_strategy={1: 30}).fit_resample(X, y)
    assert sampler.estimator_ is None
    np.testing.assert_array_equal(X_res, X)


def test_sparse_input_is_rejected_clearly(separated):
    X, y = separated
    with pytest.raises(TypeError, match="dense data is required"):
        SAMPLERS[0]().fit_resample(sparse.csr_matrix(X), y)


class _CountingClassifier(ClassifierMixin, BaseEstimator):
    """Records how many rows it is fitted on and predicts on."""

    def fit(self, X, y):
        self.fit_rows_ = len(X)
        self.model_ = LogisticRegression().fit(X, y)
        self.classes_ = self.model_.classes_
        return self

    def predict(self, X):
        self.predict_rows_ = len(X)
        return self.model_.predict(X)


def test_in_an_imblearn_pipeline_inside_grid_search(separated):
    X, y = separated
    pipe = Pipeline(
        [
            ("scale", StandardScaler()),
            ("sample", SAMPLERS[0]()),
            ("clf", _CountingClassifier()),
        ]
    )
    search = GridSearchCV(
        pipe, {"sample__vector_weight": [0.5, 1.3]}, cv=2, scoring="f1_macro"
    ).fit(X, y)
    assert search.best_params_["sample__vector_weight"] in (0.5, 1.3)
    best = search.best_estimator_
    assert best["clf"].fit_rows_ == 540  # resampled in fit
    best.predict(X)
    assert best["clf"].predict_rows_ == len(X)  # not in predict
