"""scikit-learn and imbalanced-learn compatibility checks for every estimator."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from seqknn import (
    MemN2NClassifier,
    MNkNNClassifier,
    MNkNNVecClassifier,
    V2LSClassifier,
    V2VSClassifier,
    V2VSLSClassifier,
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
