"""Small networks of every classifier, for tests that fit many of them."""

from seqknn import (
    MemN2NClassifier,
    MNkNNClassifier,
    MNkNNVecClassifier,
    V2LSClassifier,
    V2VSClassifier,
    V2VSLSClassifier,
)

SMALL = {
    V2LSClassifier: dict(hidden_size=16),
    V2VSClassifier: dict(hidden_size=16),
    V2VSLSClassifier: dict(hidden_size=16),
    MNkNNClassifier: dict(embedding_size=16, memory_size=32),
    MNkNNVecClassifier: dict(embedding_size=16, memory_size=32),
    MemN2NClassifier: dict(embedding_size=16, memory_size=32),
}


def small(Model, **params):
    """``Model`` with a small network; ``params`` override."""
    return Model(**{**SMALL[Model], **params})
