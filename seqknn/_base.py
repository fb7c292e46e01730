"""The base class of the kNN-mimicking classifiers.

It does what all of them share: input validation, standardisation, neighbour
targets, the call into the shared training loop, and turning the network's
per-step outputs into predictions. A model family only says which
``torch.nn.Module`` to build (:meth:`_build_module`) and which terms its loss has.

Every module's ``forward`` returns a dict with ``"log_proba"`` (log Y_t^P, shape
(B, K, C)) and/or ``"vectors"`` (X_t^P in standardised units, shape (B, K, d)).
"""

import copy
import time
from abc import ABCMeta, abstractmethod
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler
from sklearn.utils import Bunch, check_random_state
from sklearn.utils._available_if import available_if
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    _check_feature_names,
    _check_n_features,
    check_consistent_length,
    check_is_fitted,
    column_or_1d,
    validate_data,
)

from ._data import (
    ScaledRows,
    check_lazy_X,
    device_rows,
    is_lazy,
    streaming_scaler,
    take_rows,
)
from ._losses import knn_loss, mean_step_log_proba
from ._neighbors import ExactNeighbors, training_neighbors
from ._training import (
    resolve_batch_size,
    resolve_device,
    seeded_torch_rng,
    train_module,
)

_PREDICT_BATCH = 8192

# Parameters of every model that learns neighbour targets.
KNN_CONSTRAINTS = {
    "n_neighbors": [Interval(Integral, 1, None, closed="left")],
    "neighbors": [StrOptions({"exact"}), HasMethods(["fit", "kneighbors"])],
}


def _check_label_types(y):
    """A clear error for labels of several types or None, which cannot be sorted.

    scikit-learn's own message for them speaks of a regression target.
    """
    if y.dtype != object:
        return
    types = sorted({type(label).__name__ for label in y})
    if len(types) > 1 or types == ["NoneType"]:
        raise ValueError(
            f"y holds labels of types {', '.join(types)}: classes must be of one "
            "type that can be sorted (and not None). Convert them first, for "
            "example with y.astype(str)."
        )


class BaseKNNNetwork(ClassifierMixin, BaseEstimator, metaclass=ABCMeta):
    """Base class of classifiers trained to reproduce their K nearest neighbours.

    Do not use it directly: use a subclass such as
    :class:`~seqknn.V2VSLSClassifier`.
    """

    # Set by subclasses: does the model learn neighbour targets (the kNN models,
    # not the MemN2N benchmark), and does it predict labels, vectors?
    _predicts_neighbors = True
    _predicts_labels = True
    _predicts_vectors = False

    _parameter_constraints = {
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "batch_norm": ["boolean"],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "lr_schedule": [StrOptions({"plateau", "constant"})],
        "batch_size": [
            StrOptions({"auto"}),
            Interval(Integral, 1, None, closed="left"),
        ],
        "max_epochs": [Interval(Integral, 1, None, closed="left")],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "device": [str, torch.device],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        *,
        dropout=0.2,
        batch_norm=True,
        learning_rate=0.01,
        weight_decay=1e-4,
        lr_schedule="plateau",
        batch_size="auto",
        max_epochs=200,
        early_stopping=True,
        validation_fraction=0.1,
        n_iter_no_change=10,
        tol=1e-4,
        device="auto",
        random_state=None,
        verbose=0,
    ):
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
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    @abstractmethod
    def _build_module(self, n_features, n_classes):
        """Return the untrained ``torch.nn.Module`` of this model."""

    def _loss(self, outputs, targets):
        """The paper's loss for this model (see :func:`seqknn._losses.knn_loss`)."""
        return knn_loss(
            outputs,
            targets,
            alpha=getattr(self, "alpha", 0.0),
            vector_weight=getattr(self, "vector_weight", 1.0),
        )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # With a fixed random_state CPU fits are identical; CUDA kernels (e.g.
        # the LSTM's) are not guaranteed to be.
        on_cpu = str(self.device).startswith("cpu") or (
            self.device == "auto" and not torch.cuda.is_available()
        )
        tags.non_deterministic = not on_cpu
        return tags

    # ------------------------------------------------------------------ fit
    def fit(self, X, y):
        """Fit the network to reproduce each sample's K nearest neighbours.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data; numeric, finite. A ``numpy.memmap`` or another
            on-disk array-like (a dask array, an h5py or zarr dataset) is read
            in chunks and never loaded whole; pair it with a neighbour strategy
            that reads in chunks too, such as
            :class:`~seqknn.OutOfCoreNeighbors`.
        y : array-like of shape (n_samples,)
            Class labels, of any type ``np.unique`` can sort.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        self._validate_params()
        if is_lazy(X):
            X, y = self._validate_lazy(X, y)
        else:
            X, y = validate_data(
                self, X, y, dtype=[np.float64, np.float32], ensure_min_samples=2
            )
        _check_label_types(y)
        check_classification_targets(y)
        self.classes_, y_encoded = np.unique(y, return_inverse=True)
        n_samples, n_features = X.shape
        if len(self.classes_) < 2:
            raise ValueError(
                f"{type(self).__name__} needs samples of at least 2 classes; y has "
                f"only 1 class: {self.classes_[0]!r}."
            )
        if self._predicts_neighbors and n_samples <= self.n_neighbors:
            raise ValueError(
                f"n_neighbors={self.n_neighbors} needs at least "
                f"{self.n_neighbors + 1} training samples (every sample needs "
                f"{self.n_neighbors} neighbours other than itself), but X has "
                f"{n_samples} samples. Lower n_neighbors or pass more data."
            )
        if self.batch_norm and self.batch_size != "auto" and self.batch_size < 2:
            raise ValueError(
                "batch_norm=True needs batch_size >= 2 (batch statistics of one "
                f"sample are undefined); got batch_size={self.batch_size}."
            )
        device = resolve_device(self.device)
        rng = check_random_state(self.random_state)

        if is_lazy(X):
            self.scaler_ = streaming_scaler(X)
            X_std = ScaledRows(X, self.scaler_)
        else:
            self.scaler_ = StandardScaler().fit(X)
            X_std = self.scaler_.transform(X).astype(np.float32)
        train_idx, val_idx = self._split(y_encoded, rng)
        self._prepare_fit(X_std, y_encoded, train_idx, rng)
        rows = device_rows(X_std, device)
        labels = torch.from_numpy(y_encoded.astype(np.int64)).to(device)
        started = time.perf_counter()
        neighbors = None
        if self._predicts_neighbors:
            neighbors = training_neighbors(
                X_std, self.n_neighbors, self.neighbors, rng, candidates=train_idx
            )
            neighbors = torch.from_numpy(neighbors).to(device)
        self.fit_times_ = {"neighbors": time.perf_counter() - started}
        train_t = torch.from_numpy(train_idx).to(device)

        def objective(indices):
            targets = {"labels": labels[indices]}
            if neighbors is not None:
                # Only an (n, K) index array is kept; the neighbours' labels
                # and rows are gathered per minibatch.
                batch_neighbors = neighbors[indices]
                targets["neighbor_labels"] = labels[batch_neighbors]
                if self._predicts_vectors:
                    targets["neighbor_vectors"] = rows(batch_neighbors)
            outputs = self._run_module(
                module, rows(indices), pool=(rows, labels, train_t)
            )
            return self._loss(outputs, targets)

        def score(indices):
            indices = indices.cpu().numpy()
            # A view of data on disk, read batch by batch.
            proba = self._predict_proba_std(take_rows(X_std, indices), module)
            return np.mean(proba.argmax(axis=1) == y_encoded[indices])

        started = time.perf_counter()
        with seeded_torch_rng(int(rng.randint(np.iinfo(np.int32).max)), device):
            module = self._build_module(n_features, len(self.classes_)).to(device)
            self.history_, self.n_iter_ = train_module(
                module,
                objective,
                train_t,
                None if val_idx is None else torch.from_numpy(val_idx).to(device),
                score=score,
                monitor=self._monitor(),
                learning_rate=self.learning_rate,
                weight_decay=self.weight_decay,
                lr_schedule=self.lr_schedule,
                batch_size=resolve_batch_size(self.batch_size, len(train_idx)),
                max_epochs=self.max_epochs,
                n_iter_no_change=self.n_iter_no_change,
                tol=self.tol,
                verbose=self.verbose,
                description=type(self).__name__,
            )
        self.fit_times_["training"] = time.perf_counter() - started
        self.module_ = module.cpu().eval()
        self._finish_fit(X_std, y_encoded)
        return self

    def _validate_lazy(self, X, y):
        """Validate on-disk ``X`` without reading it (values are checked when read)."""
        check_lazy_X(X)
        _check_feature_names(self, X, reset=True)
        _check_n_features(self, X, reset=True)
        y = column_or_1d(y, warn=True)
        check_consistent_length(X, y)
        if X.shape[0] < 2:
            raise ValueError(
                f"Found array with {X.shape[0]} sample(s) while a minimum of 2 is "
                "required."
            )
        return X, y

    def _monitor(self):
        """What early stopping watches: the ground-truth term where there is one.

        The validation cross-entropy KL(Y^GT || Y^P) measures the classifier
        like the validation accuracy does, but is smooth: on the credit-card
        data, stopping on it gave V2VSLS a higher test macro-F1 than stopping
        on the accuracy. V2VS has no label distribution and watches its
        validation vector loss L2: its vote accuracy stays flat for the first
        epochs, and stopping on it ended training before the vectors moved.
        """
        return "val_true_label" if self._predicts_labels else "val_loss"

    def _split(self, y_encoded, rng):
        """Training and validation indices for early stopping."""
        indices = np.arange(len(y_encoded))
        if not self.early_stopping:
            return indices, None
        n_val = int(np.ceil(self.validation_fraction * len(indices)))
        if len(indices) - n_val < 2:
            raise ValueError(
                f"early_stopping holds out {n_val} of {len(indices)} samples, "
                "leaving fewer than 2 to train on. Pass more data, lower "
                "validation_fraction or set early_stopping=False."
            )
        counts = np.bincount(y_encoded)
        stratify = y_encoded if counts.min() >= 2 and n_val >= len(counts) else None
        return train_test_split(
            indices, test_size=n_val, stratify=stratify, random_state=rng
        )

    def _prepare_fit(self, X_std, y_encoded, train_idx, rng):
        """Hook run before training, e.g. to store what prediction needs."""

    def _finish_fit(self, X_std, y_encoded):
        """Hook run after training, e.g. to index all data for prediction."""

    def _run_module(self, module, x, *, pool=None):
        """Run ``module`` on the batch ``x``.

        While training, ``pool`` is ``(rows, labels, train_indices)``: a
        function giving the standardised rows of sample indices, the encoded
        labels of all samples, and the indices of the training split, which
        models with an external memory draw it from. It is None at prediction.
        """
        return module(x)

    # -------------------------------------------------------------- predict
    def _validate_X_predict(self, X):
        check_is_fitted(self)
        if is_lazy(X):
            check_lazy_X(X)
            _check_feature_names(self, X, reset=False)
            _check_n_features(self, X, reset=False)
            return ScaledRows(X, self.scaler_)
        X = validate_data(self, X, dtype=[np.float64, np.float32], reset=False)
        return self.scaler_.transform(X).astype(np.float32)

    def _forward_batches(self, X_std, module=None):
        """Yield the module's outputs as numpy arrays, one batch of rows at a time.

        ``module`` defaults to a copy of ``module_`` on the configured device;
        ``module_`` itself stays on the CPU so that the estimator pickles
        anywhere. On the CPU the copy computes in float64: float32 kernels round
        differently with the batch size, which would make a row's prediction
        depend on the rows predicted with it.
        """
        if module is None:
            device = resolve_device(self.device)
            dtype = torch.float64 if device.type == "cpu" else torch.float32
            module = copy.deepcopy(self.module_).to(device, dtype)
        param = next(module.parameters())
        for start in range(0, len(X_std), _PREDICT_BATCH):
            with torch.inference_mode():
                x = torch.from_numpy(X_std[start : start + _PREDICT_BATCH]).to(param)
                outputs = self._run_module(module, x)
                yield {k: v.cpu().numpy() for k, v in outputs.items()}

    def _forward(self, X_std, module=None):
        """All the module's outputs on ``X_std``, as numpy arrays."""
        chunks = list(self._forward_batches(X_std, module))
        return {k: np.concatenate([c[k] for c in chunks]) for k in chunks[0]}

    def _predict_proba_std(self, X_std, module=None):
        # Batch by batch: the (n, K, d) predicted vectors are never all kept.
        batches = self._forward_batches(X_std, module)
        return np.concatenate([self._proba_from_outputs(o) for o in batches])

    def _proba_from_outputs(self, outputs):
        """Y^P = (1/K) sum_t Y_t^P."""
        log_proba = mean_step_log_proba(torch.from_numpy(outputs["log_proba"]))
        return log_proba.exp().numpy().astype(np.float64)

    def predict_proba(self, X):
        """Class probabilities, the mean of the K predicted neighbour distributions.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Probability of each class in ``classes_``; rows sum to one.
        """
        return self._predict_proba_std(self._validate_X_predict(X))

    def predict(self, X):
        """Predict class labels: ``classes_[predict_proba(X).argmax(axis=1)]``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            Predicted labels.
        """
        proba = self.predict_proba(X)
        return self.classes_[proba.argmax(axis=1)]

    @available_if(lambda est: est._predicts_neighbors)
    def predict_neighbors(self, X):
        """Predict, for each sample, the labels and vectors of its K neighbours.

        These are the sequences the network was trained to produce: the labels
        of the sample's 1st..Kth nearest neighbours and, for models with a vector
        head, out-of-sample feature vectors where those neighbours would be.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        result : Bunch
            ``labels``, ndarray of shape (n_samples, K): predicted label of the
            t-th neighbour. ``label_proba``, ndarray of shape (n_samples, K,
            n_classes) or None: Y_t^P, for models with a label head.
            ``vectors``, ndarray of shape (n_samples, K, n_features) or None:
            X_t^P in the units of the training data, for models with a vector
            head.
        """
        outputs = self._forward(self._validate_X_predict(X))
        label_proba = vectors = None
        if "log_proba" in outputs:
            label_proba = np.exp(outputs["log_proba"].astype(np.float64))
        if "vectors" in outputs:
            std = outputs["vectors"]
            flat = self.scaler_.inverse_transform(std.reshape(-1, std.shape[2]))
            vectors = flat.reshape(std.shape)
        return Bunch(
            labels=self.classes_[self._step_labels(outputs)],
            label_proba=label_proba,
            vectors=vectors,
        )

    def _step_labels(self, outputs):
        """Encoded label of each predicted neighbour, shape (n_samples, K)."""
        return outputs["log_proba"].argmax(axis=2)


class VectorVoteMixin:
    """Labels predicted vectors by their nearest training sample (the paper's V2VS).

    predict_proba is the share of the K predicted neighbour vectors whose nearest
    training sample has each class.
    """

    def _prepare_fit(self, X_std, y_encoded, train_idx, rng):
        # While training, vote with the training split only: a validation
        # sample must not label its own predicted vectors.
        self._finish_fit(take_rows(X_std, train_idx), y_encoded[train_idx])

    def _finish_fit(self, X_std, y_encoded):
        self._vote_index = ExactNeighbors().fit(X_std)
        self._vote_labels = y_encoded

    def _step_labels(self, outputs):
        vectors = outputs["vectors"]
        queries = vectors.reshape(-1, vectors.shape[2]).astype(np.float32)
        nearest = self._vote_index.kneighbors(queries, 1, return_distance=False)
        return self._vote_labels[nearest[:, 0]].reshape(vectors.shape[:2])

    def _proba_from_outputs(self, outputs):
        labels = self._step_labels(outputs)
        counts = np.zeros((len(labels), len(self.classes_)))
        np.add.at(counts, (np.arange(len(labels))[:, None], labels), 1.0)
        return counts / labels.shape[1]
