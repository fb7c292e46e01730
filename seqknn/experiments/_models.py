"""The models of the paper's experiments, their small grids and the samplers.

Each model is a factory ``make(params, seed, config)`` and a grid: the
experiments fit every grid point on the training part and keep the one with the
best macro-F1 on the validation part. ``--quick`` keeps the first grid point.
"""

import importlib.util
from dataclasses import dataclass, field

import numpy as np
from sklearn.ensemble import RandomForestClassifier
from sklearn.neighbors import KNeighborsClassifier
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import seqknn

# The paper's K and Algorithm 1 settings (R random batches of B samples).
N_NEIGHBORS = 5
N_BATCHES, SAMPLES_PER_BATCH = 50, 64


@dataclass(frozen=True)
class Model:
    """A model of the experiments: how to build it and which grid to search."""

    name: str
    make: object
    grid: list = field(default_factory=lambda: [{}])
    benchmark: bool = True
    # Python module the model needs, when it is optional (XGBoost, LightGBM).
    requires: str = None

    def available(self):
        return self.requires is None or bool(importlib.util.find_spec(self.requires))


def _knn(params, seed, config):
    return make_pipeline(StandardScaler(), KNeighborsClassifier(**params))


def _ffn(params, seed, config):
    return make_pipeline(
        StandardScaler(),
        MLPClassifier(early_stopping=True, random_state=seed, **params),
    )


def _rf(params, seed, config):
    return RandomForestClassifier(
        n_estimators=100, n_jobs=config.n_jobs, random_state=seed, **params
    )


def _xgboost(params, seed, config):
    from xgboost import XGBClassifier

    # The experiments encode the classes as 0, 1, ..., as XGBoost needs them.
    return XGBClassifier(
        n_estimators=200, n_jobs=config.n_jobs, random_state=seed, **params
    )


def _lightgbm(params, seed, config):
    from lightgbm import LGBMClassifier

    return LGBMClassifier(
        n_estimators=200,
        n_jobs=config.n_jobs,
        random_state=seed,
        verbose=-1,
        **params,
    )


def _network(cls, **fixed):
    def make(params, seed, config, neighbors="exact"):
        params = {**fixed, **params}
        if config.max_epochs is not None:
            params["max_epochs"] = config.max_epochs
        if cls is not seqknn.MemN2NClassifier:
            # The neighbour targets of a seed's training part are searched
            # once and cached for every model and grid point.
            params.update(
                n_neighbors=N_NEIGHBORS,
                neighbors=neighbors,
                memory=getattr(config, "memory", None),
            )
        return cls(device=config.device, random_state=seed, **params)

    return make


def out_of_core_neighbors(seed):
    """The paper's Algorithm 1 with R=50, B=64."""
    return seqknn.OutOfCoreNeighbors(
        n_batches=N_BATCHES, samples_per_batch=SAMPLES_PER_BATCH, random_state=seed
    )


class OutOfCoreKNN:
    """kNN whose votes come from Algorithm-1 neighbours (out-of-core kNN).

    Like ``KNeighborsClassifier`` on standardised data (uniform vote, ties to
    the smallest class), but a test sample's neighbours are the closest of its
    R x B random training samples instead of the closest of all of them.
    """

    def __init__(self, n_neighbors, random_state):
        self.n_neighbors = n_neighbors
        self.random_state = random_state

    def fit(self, X, y):
        self.scaler_ = StandardScaler().fit(X)
        self.classes_, self._y = np.unique(y, return_inverse=True)
        self.search_ = out_of_core_neighbors(self.random_state)
        self.search_.fit(self.scaler_.transform(X))
        return self

    def predict(self, X):
        indices = self.search_.kneighbors(
            self.scaler_.transform(X), self.n_neighbors, return_distance=False
        )
        counts = np.zeros((len(X), len(self.classes_)), dtype=np.int64)
        np.add.at(counts, (np.arange(len(X))[:, None], self._y[indices]), 1)
        return self.classes_[counts.argmax(axis=1)]


# Each network's default size (128) and half of it.
_HIDDEN = [{"hidden_size": 64}, {"hidden_size": 128}]
_EMBEDDING = [{"embedding_size": 64}, {"embedding_size": 128}]

MODELS = {
    m.name: m
    for m in [
        Model("kNN", _knn, [{"n_neighbors": 5}, {"n_neighbors": 15}]),
        Model(
            "FFN",
            _ffn,
            [{"hidden_layer_sizes": (128, 128)}, {"hidden_layer_sizes": (256,) * 3}],
        ),
        Model("RF", _rf, [{"min_samples_leaf": 1}, {"min_samples_leaf": 5}]),
        Model(
            "XGBoost",
            _xgboost,
            [{"max_depth": 6}, {"max_depth": 3}],
            requires="xgboost",
        ),
        Model(
            "LightGBM",
            _lightgbm,
            [{"num_leaves": 31}, {"num_leaves": 127}],
            requires="lightgbm",
        ),
        Model("MemN2N", _network(seqknn.MemN2NClassifier), _EMBEDDING),
        Model("V2LS", _network(seqknn.V2LSClassifier), _HIDDEN, benchmark=False),
        # The paper's equal vote for its Table 2 (the classifier's default
        # ranks the decoder steps).
        Model(
            "V2VS",
            _network(seqknn.V2VSClassifier, vote="majority"),
            _HIDDEN,
            benchmark=False,
        ),
        Model("V2VSLS", _network(seqknn.V2VSLSClassifier), _HIDDEN, benchmark=False),
        Model("MNkNN", _network(seqknn.MNkNNClassifier), _EMBEDDING, benchmark=False),
        Model(
            "MNkNN_VEC",
            _network(seqknn.MNkNNVecClassifier),
            _EMBEDDING,
            benchmark=False,
        ),
    ]
}
# The models that learn from neighbour targets: the out-of-core experiment.
KNN_NETWORKS = ["V2LS", "V2VS", "V2VSLS", "MNkNN", "MNkNN_VEC"]


def make_model(name, params, seed, config, targets="full"):
    """Build model ``name`` with grid point ``params``.

    ``targets="out-of-core"`` gives the networks Algorithm-1 neighbour targets
    and kNN Algorithm-1 neighbours to vote among.
    """
    if targets == "full":
        return MODELS[name].make(params, seed, config)
    if name == "kNN":
        return OutOfCoreKNN(random_state=seed, **params)
    if name not in KNN_NETWORKS:
        raise ValueError(f"{name} has no neighbour targets to compute out of core.")
    return MODELS[name].make(params, seed, config, out_of_core_neighbors(seed))


SAMPLERS = ["none", "SMOTE", "ADASYN", "V2VSLS", "MNkNN_VEC"]


def make_sampler(name, seed, config):
    """The oversamplers of the paper's Table 5 (``None`` for no resampling)."""
    from imblearn.over_sampling import ADASYN, SMOTE

    if name == "none":
        return None
    if name in ("SMOTE", "ADASYN"):
        return {"SMOTE": SMOTE, "ADASYN": ADASYN}[name](random_state=seed)
    sampler = {"V2VSLS": seqknn.V2VSLSSampler, "MNkNN_VEC": seqknn.MNkNNVecSampler}
    params = {
        "device": config.device,
        "random_state": seed,
        "memory": getattr(config, "memory", None),
        # The paper's rule for its Table 5 (the samplers' default interpolates).
        "generation": "paper",
    }
    if config.max_epochs is not None:
        params["max_epochs"] = config.max_epochs
    return sampler[name](**params)
