"""Oversampling with the neighbour vectors the kNN networks predict (paper, section 4).

V2VSLS and MNkNN_VEC predict, for a sample, K out-of-sample feature vectors with a
label each. Those vectors, with their labels, are synthetic samples: these
imbalanced-learn samplers train the model on (X, y) and add predicted vectors
labelled with a class that needs samples until every class has its target count.
"""

import numpy as np
from imblearn.over_sampling.base import BaseOverSampler
from imblearn.utils import check_target_type
from sklearn.utils import check_random_state
from sklearn.utils.validation import validate_data

from ._compat import StrOptions
from ._docstrings import fill_doc
from ._memory import MNkNNVecClassifier
from ._seq2seq import V2VSLSClassifier
from ._warnings import warn

# Passes of MC-dropout prediction over the training data before falling back to
# the vectors predicted around samples of the class itself.
_MAX_ROUNDS = 20


def _model_constraints(model_class):
    return {
        k: v
        for k, v in model_class._parameter_constraints.items()
        # Fit options of a classifier, not of a sampler.
        if k not in ("random_state", "class_weight", "warm_start")
    }


class _BaseNeighborSampler(BaseOverSampler):
    """Generation shared by the samplers; subclasses name the model class."""

    _model_class = None

    def _model(self, random_state):
        params = self._model_class().get_params()
        mine = self.get_params()
        return self._model_class(
            **{k: mine[k] for k in params if k in mine and k != "random_state"},
            random_state=random_state,
        )

    def _check_X_y(self, X, y, accept_sparse=None):
        # The networks need dense, numeric input.
        y, binarize_y = check_target_type(y, indicate_one_vs_all=True)
        X, y = validate_data(self, X, y, dtype=[np.float64, np.float32])
        return X, y, binarize_y

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = False
        return tags

    def _fit_resample(self, X, y):
        rng = check_random_state(self.random_state)
        needs = {c: n for c, n in self.sampling_strategy_.items() if n > 0}
        if not needs:
            self.estimator_ = None
            return X.copy(), y.copy()
        model = self._model(rng.randint(np.iinfo(np.int32).max)).fit(X, y)
        self.estimator_ = model

        found = {c: [] for c in needs}
        missing = dict(needs)
        for round_ in range(_MAX_ROUNDS):
            # Later passes sample the network's dropout (MC dropout): the same
            # seeds then give new vectors and labels.
            seed = int(rng.randint(np.iinfo(np.int32).max))
            predicted = model.predict_neighbors(
                X, dropout_seed=seed if round_ else None
            )
            for c in list(missing):
                seeds, steps = np.nonzero(predicted.labels == c)
                if self.generation == "interpolate":
                    own = y[seeds] == c
                    seeds, steps = seeds[own], steps[own]
                pick = rng.permutation(len(seeds))[: missing[c]]
                found[c].append(
                    self._synthesise(
                        X, predicted.vectors, seeds[pick], steps[pick], rng
                    )
                )
                missing[c] -= len(pick)
                if missing[c] == 0:
                    del missing[c]
            if not missing:
                break
        for c, n in missing.items():
            warn(
                f"After {_MAX_ROUNDS} passes the model labelled too few predicted "
                f"vectors with class {c!r}; the last {n} synthetic samples of that "
                "class are vectors predicted around its own samples, whatever "
                "their predicted label.",
            )
            seeds = rng.choice(np.flatnonzero(y == c), n)
            steps = rng.randint(predicted.vectors.shape[1], size=n)
            found[c].append(self._synthesise(X, predicted.vectors, seeds, steps, rng))

        new_X = np.concatenate([v for c in needs for v in found[c]])
        # Never far outside the data they came from, whatever the network
        # predicts: each feature stays within its range in X.
        new_X = np.clip(new_X, X.min(axis=0), X.max(axis=0)).astype(X.dtype)
        new_y = np.concatenate([np.full(needs[c], c, dtype=y.dtype) for c in needs])
        return np.vstack([X, new_X]), np.concatenate([y, new_y])

    def _synthesise(self, X, vectors, seeds, steps, rng):
        """Synthetic samples from seed samples and the steps of their prediction."""
        chosen = vectors[seeds, steps]
        if self.generation == "paper":
            return chosen
        gap = rng.uniform(size=(len(seeds), 1))
        return X[seeds] + gap * (chosen - X[seeds])


_GENERATION = {"generation": [StrOptions({"paper", "interpolate"})]}


@fill_doc
class V2VSLSSampler(_BaseNeighborSampler):
    """Oversample with the neighbour vectors a V2VSLS network predicts.

    Trains a :class:`~seqknn.V2VSLSClassifier` on (X, y) and adds, for every
    class that needs samples, predicted out-of-sample neighbour vectors that
    the network labels with that class (paper, section 4). A drop-in
    replacement for ``SMOTE()`` in an imbalanced-learn pipeline.

    Parameters
    ----------
    sampling_strategy : float, str, dict or callable, default="auto"
        Which classes to oversample and to how many samples, in any form
        imbalanced-learn accepts (see :class:`imblearn.over_sampling.SMOTE`);
        the classes end with exactly the requested counts.
    random_state : int, RandomState instance or None, default=None
        Seeds the network's training and the choice of synthetic samples.
    %(generation)s
    %(n_neighbors)s
    %(hidden_size)s
    %(temperature)s
    alpha : float, default=3.0
        Weight alpha of the ground-truth term in L1; the paper's value for
        oversampling.
    vector_weight : float, default=1.3
        Weight lambda of the neighbour-vector loss L2; the paper's value for
        oversampling.
    %(learning_rate_seq2seq)s
    %(training)s
    %(early_stopping_seq2seq)s
    %(stopping)s
    %(neighbors)s
    %(memory_cache)s
    device : str or torch.device, default="auto"
        Where to train and predict: ``"auto"`` picks CUDA when available.
    verbose : int, default=0
        If positive, show a progress bar over the training epochs.

    Attributes
    ----------
    %(sampler_fitted)s

    See Also
    --------
    MNkNNVecSampler : The same with a memory-network model.
    imblearn.over_sampling.SMOTE : Interpolation between minority neighbours.

    Notes
    -----
    %(sampler_notes)s

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import make_classification
    >>> from seqknn import V2VSLSSampler
    >>> X, y = make_classification(
    ...     n_samples=300, weights=[0.9, 0.1], random_state=0
    ... )
    >>> np.bincount(y)
    array([268,  32])
    >>> X_res, y_res = V2VSLSSampler(batch_size=32, random_state=0).fit_resample(X, y)
    >>> np.bincount(y_res)
    array([268, 268])
    """

    _model_class = V2VSLSClassifier
    _parameter_constraints = {
        **BaseOverSampler._parameter_constraints,
        **_model_constraints(V2VSLSClassifier),
        **_GENERATION,
    }

    def __init__(
        self,
        *,
        sampling_strategy="auto",
        random_state=None,
        generation="interpolate",
        n_neighbors=5,
        hidden_size=128,
        temperature=0.85,
        alpha=3.0,
        vector_weight=1.3,
        dropout=0.2,
        batch_norm=True,
        learning_rate=0.003,
        weight_decay=1e-4,
        lr_schedule="plateau",
        batch_size="auto",
        max_epochs=200,
        early_stopping=True,
        validation_fraction=0.1,
        n_iter_no_change=10,
        tol=1e-4,
        neighbors="exact",
        memory=None,
        device="auto",
        verbose=0,
    ):
        super().__init__(sampling_strategy=sampling_strategy)
        self.random_state = random_state
        self.generation = generation
        self.n_neighbors = n_neighbors
        self.hidden_size = hidden_size
        self.temperature = temperature
        self.alpha = alpha
        self.vector_weight = vector_weight
        self.dropout = dropout
        self.batch_norm = batch_norm
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.lr_schedule = lr_schedule
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.neighbors = neighbors
        self.memory = memory
        self.device = device
        self.verbose = verbose


@fill_doc
class MNkNNVecSampler(_BaseNeighborSampler):
    """Oversample with the neighbour vectors an MNkNN_VEC network predicts.

    Trains a :class:`~seqknn.MNkNNVecClassifier` on (X, y) and adds, for every
    class that needs samples, predicted out-of-sample neighbour vectors that
    the network labels with that class (paper, section 4).

    Parameters
    ----------
    sampling_strategy : float, str, dict or callable, default="auto"
        Which classes to oversample and to how many samples, in any form
        imbalanced-learn accepts; the classes end with exactly the requested
        counts.
    random_state : int, RandomState instance or None, default=None
        Seeds the network's training and the choice of synthetic samples.
    %(generation)s
    %(n_neighbors)s
    %(memory_sampler)s
    %(temperature)s
    alpha : float, default=3.0
        Weight alpha of the ground-truth term in L1-bar; the paper's value for
        oversampling.
    vector_weight : float, default=1.3
        Weight lambda of the neighbour-vector loss; the paper's value for
        oversampling.
    %(learning_rate_memory)s
    %(training)s
    %(early_stopping_memory)s
    %(stopping)s
    %(neighbors)s
    %(memory_cache)s
    device : str or torch.device, default="auto"
        Where to train and predict: ``"auto"`` picks CUDA when available.
    verbose : int, default=0
        If positive, show a progress bar over the training epochs.

    Attributes
    ----------
    %(sampler_fitted)s

    See Also
    --------
    V2VSLSSampler : The same with a seq2seq model.

    Notes
    -----
    %(sampler_notes)s

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import make_classification
    >>> from seqknn import MNkNNVecSampler
    >>> X, y = make_classification(
    ...     n_samples=300, weights=[0.9, 0.1], random_state=0
    ... )
    >>> sampler = MNkNNVecSampler(memory_size=32, batch_size=32, random_state=0)
    >>> X_res, y_res = sampler.fit_resample(X, y)
    >>> np.bincount(y_res)
    array([268, 268])
    """

    _model_class = MNkNNVecClassifier
    _parameter_constraints = {
        **BaseOverSampler._parameter_constraints,
        **_model_constraints(MNkNNVecClassifier),
        **_GENERATION,
    }

    def __init__(
        self,
        *,
        sampling_strategy="auto",
        random_state=None,
        generation="interpolate",
        n_neighbors=5,
        memory_size=64,
        n_memory_draws=1,
        embedding_size=128,
        temperature=0.85,
        alpha=3.0,
        vector_weight=1.3,
        dropout=0.2,
        batch_norm=True,
        learning_rate=0.01,
        weight_decay=1e-4,
        lr_schedule="plateau",
        batch_size="auto",
        max_epochs=200,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=10,
        tol=1e-4,
        neighbors="exact",
        memory=None,
        device="auto",
        verbose=0,
    ):
        super().__init__(sampling_strategy=sampling_strategy)
        self.random_state = random_state
        self.generation = generation
        self.n_neighbors = n_neighbors
        self.memory_size = memory_size
        self.n_memory_draws = n_memory_draws
        self.embedding_size = embedding_size
        self.temperature = temperature
        self.alpha = alpha
        self.vector_weight = vector_weight
        self.dropout = dropout
        self.batch_norm = batch_norm
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.lr_schedule = lr_schedule
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.neighbors = neighbors
        self.memory = memory
        self.device = device
        self.verbose = verbose
