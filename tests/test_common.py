"""scikit-learn and imbalanced-learn compatibility checks for every estimator."""

import pytest
from imblearn.utils.estimator_checks import (
    parametrize_with_checks as imblearn_parametrize_with_checks,
)
from sklearn.utils.estimator_checks import (
    check_param_validation,
    parametrize_with_checks,
)

from seqknn import (
    DaskNeighbors,
    ExactNeighbors,
    FaissNeighbors,
    MemN2NClassifier,
    MNkNNClassifier,
    MNkNNVecClassifier,
    MNkNNVecSampler,
    OutOfCoreNeighbors,
    V2LSClassifier,
    V2VSClassifier,
    V2VSLSClassifier,
    V2VSLSSampler,
)

# Small, fast settings; the checks fit dozens of times on a few hundred samples.
FAST = dict(batch_size=32, max_epochs=20, random_state=0)
# The smallest data sets in the checks have 10 samples.
MEMORY = dict(memory_size=8, embedding_size=16, **FAST)

CLASSIFIERS = [
    V2LSClassifier(hidden_size=16, **FAST),
    V2VSClassifier(hidden_size=16, **FAST),
    V2VSLSClassifier(hidden_size=16, **FAST),
    MNkNNClassifier(**MEMORY),
    MNkNNVecClassifier(**MEMORY),
    MemN2NClassifier(**MEMORY),
]

# Checks expected to fail, with the reason. Empty: every check passes.
EXPECTED_FAILED_CHECKS = {}


@parametrize_with_checks(
    CLASSIFIERS,
    expected_failed_checks=lambda est: EXPECTED_FAILED_CHECKS.get(
        type(est).__name__, {}
    ),
)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)


SAMPLERS = [
    V2VSLSSampler(hidden_size=16, **FAST),
    V2VSLSSampler(hidden_size=16, generation="interpolate", **FAST),
    MNkNNVecSampler(**MEMORY),
]


EXPECTED_FAILED_SAMPLER_CHECKS = {
    "check_samplers_pandas_sparse": (
        "The networks need dense input: a DataFrame of sparse columns is "
        "rejected with a TypeError that says to densify it."
    ),
}


@imblearn_parametrize_with_checks(
    SAMPLERS, expected_failed_checks=lambda est: EXPECTED_FAILED_SAMPLER_CHECKS
)
def test_imblearn_compatible_sampler(estimator, check):
    check(estimator)


@pytest.mark.parametrize("sampler", SAMPLERS, ids=lambda s: type(s).__name__)
def test_sampler_param_validation(sampler):
    check_param_validation(type(sampler).__name__, sampler)


@pytest.mark.parametrize(
    "search",
    [ExactNeighbors(), OutOfCoreNeighbors(), FaissNeighbors(), DaskNeighbors()],
    ids=lambda s: type(s).__name__,
)
def test_neighbors_strategy_param_validation(search):
    check_param_validation(type(search).__name__, search)
