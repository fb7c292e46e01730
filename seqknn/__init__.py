"""seqknn: neural networks that mimic k-nearest neighbours (Xu & Klabjan).

Sequence-to-sequence and memory-network classifiers trained to predict the labels
and feature vectors of a sample's K nearest training neighbours, as scikit-learn
estimators.
"""

from ._approximate import FaissNeighbors
from ._base import BaseKNNNetwork
from ._dask import DaskNeighbors
from ._memory import MemN2NClassifier, MNkNNClassifier, MNkNNVecClassifier
from ._neighbors import ExactNeighbors, OutOfCoreNeighbors
from ._networks import MemoryKNN, Seq2SeqKNN
from ._sampler import MNkNNVecSampler, V2VSLSSampler
from ._seq2seq import V2LSClassifier, V2VSClassifier, V2VSLSClassifier

__version__ = "0.1.0.dev0"

__all__ = [
    "BaseKNNNetwork",
    "DaskNeighbors",
    "ExactNeighbors",
    "FaissNeighbors",
    "MNkNNClassifier",
    "MNkNNVecClassifier",
    "MNkNNVecSampler",
    "MemN2NClassifier",
    "MemoryKNN",
    "OutOfCoreNeighbors",
    "Seq2SeqKNN",
    "V2LSClassifier",
    "V2VSClassifier",
    "V2VSLSClassifier",
    "V2VSLSSampler",
    "__version__",
]
