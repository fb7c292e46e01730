"""The memory-network kNN family: MNkNN, MNkNN_VEC and the MemN2N benchmark.

An end-to-end memory network (Sukhbaatar et al. 2015) whose external memory holds
random training samples; the models of the paper (section 3) run K hops and hop t
predicts the t-th nearest neighbour's label (MNkNN) and vector (MNkNN_VEC).
"""

import warnings
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.utils._param_validation import Interval
from torch import nn

from ._base import KNN_CONSTRAINTS, BaseKNNNetwork
from ._docstrings import fill_doc
from ._losses import mean_step_log_proba, true_label_loss
from ._random import dropout


def attend(u, memory_keys, memory_values):
    """One memory hop: p = softmax(u . m_i), o = sum_i p_i c_i.

    Parameters
    ----------
    u : Tensor of shape (B, e)
        Controller state u^t.
    memory_keys, memory_values : Tensor of shape (M, e)
        Memory vectors m_i = A x_i and output vectors c_i = C x_i, shared by the
        whole batch.

    Returns
    -------
    p : Tensor of shape (B, M)
        Attention over the memory.
    o : Tensor of shape (B, e)
        The response vector o^t.
    """
    p = torch.softmax(u @ memory_keys.T, dim=1)
    return p, p @ memory_values


class MemoryKNN(nn.Module):
    """End-to-end memory network emitting one neighbour per hop.

    Embeddings shared across hops (A^1 = ... = A^K, C^1 = ... = C^K, the
    paper's choice) and a linear map H between hops, over inputs and memory
    samples first embedded by one ReLU layer phi(x) = ReLU(W_e x + b_e):
    u^1 = B phi(x), m_i = A phi(x_i), c_i = C phi(x_i) + E y_i,
    p^t = softmax(u^t . m_i), o^t = sum_i p^t_i c_i,
    u^{t+1} = H u^t + o^t. After hop t the heads read
    z_t = dropout(BN(u^{t+1})): Y_t^P = softmax((W_y z_t + b_y) / tau) and
    X_t^P = x + W_x ReLU(T z_t) + b_x.

    Three departures from the paper: the embedding phi, without which the
    network is linear in x but for the attention; the label embedding E y_i
    in the output vectors, so that a hop reads the labels of the memory
    samples it attends to, as kNN reads its neighbours' labels, and not only
    their features; and, as in :class:`~seqknn.Seq2SeqKNN`, a vector head
    that predicts the offset of neighbour t from x. On the development suite
    (``benchmarks/bench_suite.py``, validation protocol, 10 data sets, 2
    seeds) MNkNN's mean macro-F1 was 66.6 without the first two, 71.9 with
    phi and 73.1 with both.

    Parameters
    ----------
    n_features, n_classes : int
        Input dimension d and number of classes C.
    n_hops : int
        Number of hops K.
    embedding_size : int
        Size e of the embeddings A, B, C.
    temperature : float
        tau.
    dropout : float
        Dropout rate on z_t.
    batch_norm : bool
        Batch-normalise u^{t+1} before the heads, with separate statistics per
        hop.
    predict_vectors : bool
        Build the vector head (MNkNN_VEC).
    """

    def __init__(
        self,
        n_features,
        n_classes,
        *,
        n_hops,
        embedding_size,
        temperature,
        dropout,
        batch_norm,
        predict_vectors,
    ):
        super().__init__()
        self.n_hops = n_hops
        self.temperature = temperature
        self.embed = nn.Sequential(nn.Linear(n_features, embedding_size), nn.ReLU())
        self.A = nn.Linear(embedding_size, embedding_size)
        self.B = nn.Linear(embedding_size, embedding_size)
        self.C = nn.Linear(embedding_size, embedding_size)
        self.E = nn.Embedding(n_classes, embedding_size)
        self.H = nn.Linear(embedding_size, embedding_size, bias=False)
        # One normalisation per step: the scale of the state differs from step to
        # step, so shared running statistics would misnormalise at prediction.
        self.norms = nn.ModuleList(
            nn.BatchNorm1d(embedding_size) if batch_norm else nn.Identity()
            for _ in range(n_hops)
        )
        self.dropout = nn.Dropout(dropout)
        self.label_head = nn.Linear(embedding_size, n_classes)
        self.vector_head = (
            nn.Sequential(
                nn.Linear(embedding_size, embedding_size, bias=False),  # T
                nn.ReLU(),
                nn.Linear(embedding_size, n_features),  # W_x, b_x
            )
            if predict_vectors
            else None
        )

    def forward(self, x, memory, memory_labels, generator=None):
        """Return ``{"log_proba": (B, K, C), "vectors": (B, K, d)}`` (as built).

        ``memory`` is a (M, d) tensor of standardised training samples and
        ``memory_labels`` (M,) their encoded labels; ``generator`` draws the
        dropout masks (torch's global RNG if None).
        """
        inputs = x
        x, memory = self.embed(x), self.embed(memory)
        keys = self.A(memory)
        values = self.C(memory) + self.E(memory_labels)
        u = self.B(x)
        log_probas, vectors = [], []
        for norm in self.norms:
            _, o = attend(u, keys, values)
            u = self.H(u) + o
            z = dropout(norm(u), self.dropout, generator)
            log_probas.append(
                torch.log_softmax(self.label_head(z) / self.temperature, dim=1)
            )
            if self.vector_head is not None:
                vectors.append(inputs + self.vector_head(z))
        out = {"log_proba": torch.stack(log_probas, dim=1)}
        if vectors:
            out["vectors"] = torch.stack(vectors, dim=1)
        return out


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

    def _prepare_fit(self, X_std, y_encoded, train_idx, rng):
        n_train = len(train_idx)
        memory_size = self.memory_size
        if memory_size > n_train:
            held_out = len(X_std) - n_train
            left = f" left after holding out {held_out} for early stopping"
            warnings.warn(
                f"memory_size={memory_size} is larger than the {n_train} training "
                f"samples{left if held_out else ''}; the memory holds all "
                f"{n_train} instead.",
                UserWarning,
                stacklevel=4,
            )
            memory_size = n_train
        draws = np.stack(
            [
                rng.choice(train_idx, memory_size, replace=False)
                for _ in range(self.n_memory_draws)
            ]
        )
        self.memory_ = X_std[draws]
        self.memory_labels_ = y_encoded[draws]

    def _run_module(self, module, x, *, pool=None, generator=None):
        if pool is not None and module.training:
            rows, labels, candidates = pool
            drawn = torch.randperm(
                len(candidates), device=candidates.device, generator=generator
            )
            drawn = candidates[drawn[: self.memory_.shape[1]]]
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
        n_memory_draws=1,
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
        n_memory_draws=1,
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
    %(memory)s
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
