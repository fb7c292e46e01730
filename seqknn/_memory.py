"""The memory-network kNN family: MNkNN, MNkNN_VEC and the MemN2N benchmark.

An end-to-end memory network (Sukhbaatar et al. 2015) whose external memory holds
random training samples; the models of the paper (section 3) run K hops and hop t
predicts the t-th nearest neighbour's label (MNkNN) and vector (MNkNN_VEC).
"""

from numbers import Integral, Real

import numpy as np
import torch

from ._base import KNN_CONSTRAINTS, BaseKNNNetwork
from ._compat import Interval
from ._docstrings import fill_doc
from ._losses import mean_step_log_proba, true_label_loss
from ._networks import MemoryKNN
from ._warnings import warn


def draw_without_replacement(n, size, generator, device):
    """``size`` distinct indices below ``n``, a uniformly random subset.

    ``randperm(n)[:size]`` costs O(n) per minibatch, so O(n^2 / batch_size)
    per epoch on large data. When ``size`` is small against ``n``, 2 x size
    indices drawn with replacement hold ``size`` distinct ones with
    overwhelming probability; a random ``size`` of those distinct ones is a
    uniformly random subset (any set of distinct draws is as likely as any
    other of its size). The order does not matter: attention over a memory
    ignores it.
    """
    options = {"generator": generator, "device": device}
    if n <= 4 * size:
        return torch.randperm(n, **options)[:size]
    while True:
        distinct = torch.randint(n, (2 * size,), **options).unique()
        if len(distinct) >= size:
            return distinct[torch.randperm(len(distinct), **options)[:size]]


_MEMORY = {
    "memory_size": [Interval(Integral, 1, None, closed="left")],
    "n_memory_draws": [Interval(Integral, 1, None, closed="left")],
    "embedding_size": [Interval(Integral, 1, None, closed="left")],
}


class _BaseMemory(BaseKNNNetwork):
    """External memory handling shared by the memory-network classifiers.

    Training: every minibatch attends over a fresh draw of ``memory_size``
    training samples (without replacement). Prediction: ``n_memory_draws``
    memories drawn once in ``fit`` from the training split with the
    estimator's random state (``memory_``); the outputs of the draws are
    averaged. Predictions are therefore deterministic and each row's does not
    depend on the other rows passed with it.
    """

    # MNkNN_VEC on all cover-type rows at the default size ended two of five
    # fits with the network of a loss jump of 1.76 and 1.49 times the best
    # (85.7 and 86.4 macro-F1, 91.5 to 92.8 on the other seeds); 1.4 undoes
    # them (92.6 and 92.7) and leaves MNkNN and MNkNN_VEC level over the dev
    # suite. MemN2N keeps 2 ("How the defaults were chosen", Benchmark page).
    _spike_factor = 1.4

    def _n_hops(self):
        return self.n_neighbors

    def _build_module(self, n_features, n_classes):
        return MemoryKNN(
            n_features,
            n_classes,
            n_hops=self._n_hops(),
            embedding_size=self.embedding_size,
            temperature=getattr(self, "temperature", 1.0),
            dropout=self.dropout,
            batch_norm=self.batch_norm,
            predict_vectors=self._predicts_vectors,
        )

    def _prepare_fit(self, X_std, y_encoded, weights, train_idx, rng):
        n_train = len(train_idx)
        memory_size = self.memory_size
        if memory_size > n_train:
            held_out = len(X_std) - n_train
            left = f" left after holding out {held_out} for early stopping"
            warn(
                f"memory_size={memory_size} is larger than the {n_train} training "
                f"samples{left if held_out else ''}; the memory holds all "
                f"{n_train} instead.",
            )
            memory_size = n_train
        # Draws of the whole split are the same memory: attention ignores order.
        n_draws = 1 if memory_size == n_train else self.n_memory_draws
        draws = np.stack(
            [rng.choice(train_idx, memory_size, replace=False) for _ in range(n_draws)]
        )
        self.memory_ = X_std[draws]
        self.memory_labels_ = y_encoded[draws]

    def _run_module(self, module, x, *, pool=None, generator=None):
        if pool is not None and module.training:
            rows, labels, candidates = pool
            drawn = candidates[
                draw_without_replacement(
                    len(candidates), self.memory_.shape[1], generator, x.device
                )
            ]
            return module(x, rows(drawn), labels[drawn], generator)
        memories = torch.from_numpy(self.memory_).to(x)
        memory_labels = torch.from_numpy(self.memory_labels_).to(x.device)
        outputs = [
            module(x, memory, labels, generator)
            for memory, labels in zip(memories, memory_labels, strict=True)
        ]
        if len(outputs) == 1:
            return outputs[0]
        # Average the draws' distributions (not their logs) and vectors.
        log_proba = torch.stack([o["log_proba"] for o in outputs], dim=1)
        averaged = {"log_proba": mean_step_log_proba(log_proba)}
        if "vectors" in outputs[0]:
            averaged["vectors"] = torch.stack([o["vectors"] for o in outputs]).mean(0)
        return averaged


@fill_doc
class MNkNNClassifier(_BaseMemory):
    """Memory-network kNN classifier (the paper's MNkNN).

    An end-to-end memory network over a memory of random training samples that
    runs K hops; hop t predicts the label of the sample's t-th nearest training
    neighbour, and the sample is classified by the mean of the K predicted
    label distributions. Trained with the paper's L1-bar,
    E[ sum_t KL(Y_t^T || Y_t^P) / K + alpha KL(Y^GT || Y^P) ].

    Parameters
    ----------
    %(n_neighbors)s
    %(memory)s
    %(temperature)s
    %(alpha)s
    %(learning_rate_memory)s
    %(training)s
    %(early_stopping_memory)s
    %(stopping)s
    %(weights)s
    %(neighbors)s
    %(memory_cache)s
    %(runtime)s

    Attributes
    ----------
    %(fitted)s
    %(fitted_memory)s

    See Also
    --------
    MNkNNVecClassifier : Also predicts the neighbours' feature vectors.
    MemN2NClassifier : The plain memory network, trained on labels only.
    V2LSClassifier : The seq2seq model with the same loss.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from seqknn import MNkNNClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = MNkNNClassifier(memory_size=32, batch_size=16, random_state=0)
    >>> clf.fit(X, y).predict(X[:3])
    array([0, 0, 0])
    >>> clf.predict_neighbors(X[:2]).labels.shape
    (2, 5)
    """

    _parameter_constraints = {
        **BaseKNNNetwork._parameter_constraints,
        **KNN_CONSTRAINTS,
        **_MEMORY,
        "temperature": [Interval(Real, 0, None, closed="neither")],
        "alpha": [Interval(Real, 0, None, closed="left")],
    }

    def __init__(
        self,
        *,
        n_neighbors=5,
        memory_size=64,
        n_memory_draws=5,
        embedding_size=128,
        temperature=0.85,
        alpha=9.5,
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
        class_weight=None,
        warm_start=False,
        neighbors="exact",
        memory=None,
        device="auto",
        random_state=None,
        verbose=0,
    ):
        super().__init__(
            dropout=dropout,
            batch_norm=batch_norm,
            learning_rate=learning_rate,
            weight_decay=weight_decay,
            lr_schedule=lr_schedule,
            batch_size=batch_size,
            max_epochs=max_epochs,
            early_stopping=early_stopping,
            validation_fraction=validation_fraction,
            n_iter_no_change=n_iter_no_change,
            tol=tol,
            class_weight=class_weight,
            warm_start=warm_start,
            device=device,
            random_state=random_state,
            verbose=verbose,
        )
        self.n_neighbors = n_neighbors
        self.memory_size = memory_size
        self.n_memory_draws = n_memory_draws
        self.embedding_size = embedding_size
        self.temperature = temperature
        self.alpha = alpha
        self.neighbors = neighbors
        self.memory = memory


@fill_doc
class MNkNNVecClassifier(_BaseMemory):
    """Memory-network kNN classifier with neighbour vectors (the paper's MNkNN_VEC).

    As :class:`MNkNNClassifier`, and hop t also predicts the feature vector of
    the t-th nearest neighbour, X_t^P = x + W_x ReLU(T z_t) + b_x, where
    z_t = dropout(BN_t(H u^t + o^t)) (the paper applies the head to H u^t + o^t;
    batch normalisation and dropout are this implementation's). Trained
    with L1-bar + lambda E[ sum_t ||X_t^P - X_t^T||^2 ]. The predicted vectors
    are out-of-sample points near the sample, usable as synthetic samples.

    Parameters
    ----------
    %(n_neighbors)s
    %(memory)s
    %(temperature)s
    %(alpha)s
    %(vector_weight)s
    %(learning_rate_memory)s
    %(training)s
    %(early_stopping_memory)s
    %(stopping)s
    %(weights)s
    %(neighbors)s
    %(memory_cache)s
    %(runtime)s

    Attributes
    ----------
    %(fitted)s
    %(fitted_memory)s

    See Also
    --------
    MNkNNClassifier : Predicts the neighbours' labels only.
    V2VSLSClassifier : The seq2seq model with the same loss.

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from seqknn import MNkNNVecClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = MNkNNVecClassifier(memory_size=32, batch_size=16, random_state=0)
    >>> clf.fit(X, y).predict(X[:3])
    array([0, 0, 0])
    >>> clf.predict_neighbors(X[:2]).vectors.shape
    (2, 5, 4)
    """

    _predicts_vectors = True
    _parameter_constraints = {
        **MNkNNClassifier._parameter_constraints,
        "vector_weight": [Interval(Real, 0, None, closed="left")],
    }

    def __init__(
        self,
        *,
        n_neighbors=5,
        memory_size=64,
        n_memory_draws=5,
        embedding_size=128,
        temperature=0.85,
        alpha=9.5,
        vector_weight=0.12,
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
        class_weight=None,
        warm_start=False,
        neighbors="exact",
        memory=None,
        device="auto",
        random_state=None,
        verbose=0,
    ):
        super().__init__(
            dropout=dropout,
            batch_norm=batch_norm,
            learning_rate=learning_rate,
            weight_decay=weight_decay,
            lr_schedule=lr_schedule,
            batch_size=batch_size,
            max_epochs=max_epochs,
            early_stopping=early_stopping,
            validation_fraction=validation_fraction,
            n_iter_no_change=n_iter_no_change,
            tol=tol,
            class_weight=class_weight,
            warm_start=warm_start,
            device=device,
            random_state=random_state,
            verbose=verbose,
        )
        self.n_neighbors = n_neighbors
        self.memory_size = memory_size
        self.n_memory_draws = n_memory_draws
        self.embedding_size = embedding_size
        self.temperature = temperature
        self.alpha = alpha
        self.vector_weight = vector_weight
        self.neighbors = neighbors
        self.memory = memory


@fill_doc
class MemN2NClassifier(_BaseMemory):
    """End-to-end memory network classifier, the paper's MemN2N benchmark.

    The memory network of Sukhbaatar et al. (2015) over a memory of random
    training samples: K hops, one label predicted after the last hop,
    Y^P = softmax(W_y z_K + b_y) with z_K = dropout(BN(H u^K + o^K)) (the
    paper's head reads H u^K + o^K directly), trained with the cross-entropy
    KL(Y^GT || Y^P) on the ground truth only. It learns no neighbour targets;
    it is the benchmark that shows what the kNN targets of
    :class:`MNkNNClassifier` add.

    Parameters
    ----------
    n_hops : int, default=5
        Number of hops (the paper uses K of the kNN models).
    %(memory_memn2n)s
    %(learning_rate_memory)s
    %(training)s
    %(early_stopping_memory)s
    %(stopping)s
    %(weights)s
    %(runtime)s

    Attributes
    ----------
    %(fitted)s
    %(fitted_memory)s

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> from seqknn import MemN2NClassifier
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = MemN2NClassifier(memory_size=32, batch_size=16, random_state=0)
    >>> clf.fit(X, y).predict(X[:3])
    array([0, 0, 0])
    """

    _predicts_neighbors = False
    # Its loss spikes often on small data, and undoing more of them lowered it
    # over the dev suite; on cover type none of its epochs reached 1.4.
    _spike_factor = 2.0
    _parameter_constraints = {
        **BaseKNNNetwork._parameter_constraints,
        **_MEMORY,
        "n_hops": [Interval(Integral, 1, None, closed="left")],
    }

    def __init__(
        self,
        *,
        n_hops=5,
        memory_size=64,
        n_memory_draws=1,
        embedding_size=128,
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
        class_weight=None,
        warm_start=False,
        device="auto",
        random_state=None,
        verbose=0,
    ):
        super().__init__(
            dropout=dropout,
            batch_norm=batch_norm,
            learning_rate=learning_rate,
            weight_decay=weight_decay,
            lr_schedule=lr_schedule,
            batch_size=batch_size,
            max_epochs=max_epochs,
            early_stopping=early_stopping,
            validation_fraction=validation_fraction,
            n_iter_no_change=n_iter_no_change,
            tol=tol,
            class_weight=class_weight,
            warm_start=warm_start,
            device=device,
            random_state=random_state,
            verbose=verbose,
        )
        self.n_hops = n_hops
        self.memory_size = memory_size
        self.n_memory_draws = n_memory_draws
        self.embedding_size = embedding_size

    def _n_hops(self):
        return self.n_hops

    def _loss(self, outputs, targets):
        """Cross-entropy of the last hop's prediction with the ground truth."""
        loss = true_label_loss(
            outputs["log_proba"][:, -1], targets["labels"], targets.get("weights")
        )
        return loss, {"true_label": loss.detach()}

    def _proba_from_outputs(self, outputs):
        return np.exp(outputs["log_proba"][:, -1].astype(np.float64))
