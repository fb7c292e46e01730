"""The base class of the kNN-mimicking classifiers.

It does what all of them share: input validation, standardisation, neighbour
targets, the call into the shared training loop, and turning the network's
per-step outputs into predictions. A model family only says which
``torch.nn.Module`` to build (:meth:`_build_module`) and which terms its loss has.

Every module's ``forward`` returns a dict with ``"log_proba"`` (log Y_t^P, shape
(B, K, C)) and/or ``"vectors"`` (X_t^P in standardised units, shape (B, K, d)).
"""

import copy
import os
import time
from abc import ABCMeta, abstractmethod
from functools import partial
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.model_selection import train_test_split
from sklearn.utils import Bunch, check_random_state
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    check_consistent_length,
    check_is_fitted,
    check_memory,
    column_or_1d,
    validate_data,
)

from ._compat import HasMethods, Interval, StrOptions, check_sample_weight
from ._data import IndexedRows, check_lazy_X, device_rows, is_lazy, standardise
from ._device import resolve_device
from ._losses import knn_loss, mean_step_log_proba
from ._neighbors import training_neighbors
from ._random import build_module, make_generators
from ._training import (
    make_optimizer,
    resolve_batch_size,
    to_cpu,
    train_module,
)

# Rows per prediction batch, on the CPU and on an accelerator. On the CPU,
# 1,024 predicted a million rows of a float32 memmap 30% faster than 8,192 and
# its activations took 40 MB rather than 350 MB.
_PREDICT_BATCH = {"cpu": 1024, "accelerator": 8192}

# Parameters of every model that learns neighbour targets.
KNN_CONSTRAINTS = {
    "n_neighbors": [Interval(Integral, 1, None, closed="left")],
    "neighbors": [StrOptions({"exact"}), HasMethods(["fit", "kneighbors"])],
    "memory": [None, str, os.PathLike, HasMethods(["cache"])],
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
    # Without early stopping, an epoch whose training loss exceeds this many
    # times the best so far is undone (``train_module``'s ``spike_factor``).
    _spike_factor = 2.0

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
        "class_weight": [dict, StrOptions({"balanced"}), None],
        "warm_start": ["boolean"],
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
        class_weight=None,
        warm_start=False,
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
        self.class_weight = class_weight
        self.warm_start = warm_start
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
    def fit(self, X, y, sample_weight=None):
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
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weights of the samples; each weighs every loss term of
            its sample (neighbour labels, ground truth, neighbour vectors),
            validation terms included. Multiplied by ``class_weight``. Weights
            do not change which samples are neighbours: a sample of weight 0
            is still a neighbour target of others.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        self._validate_params()
        return self._transaction(self._fit, X, y, sample_weight)

    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """Train one epoch on a chunk of data, with neighbours found in the chunk.

        The paper's out-of-core idea applied to chunks: each sample's
        neighbour targets are its K nearest neighbours within the chunk, so
        that a loop over chunks (or ``dask_ml.wrappers.Incremental``) trains
        on data of any size. Every call updates the standardisation with the
        chunk's statistics, runs one epoch without early stopping and keeps
        the optimiser's state for the next call; memory networks draw their
        prediction memory, and V2VS its voting samples, from the last chunk.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            One chunk of training data (more than ``n_neighbors`` samples).
        y : array-like of shape (n_samples,)
            Its labels.
        classes : array-like of shape (n_classes,), default=None
            Every class of the whole data; required on the first call (a chunk
            may lack some), ignored or checked afterwards.
        sample_weight : array-like of shape (n_samples,), default=None
            As in :meth:`fit`.

        Returns
        -------
        self : object
            The estimator.
        """
        first = not hasattr(self, "module_")
        if first:
            self._validate_params()
        if self.class_weight == "balanced":
            raise ValueError(
                'class_weight="balanced" is not supported by partial_fit: a chunk '
                "does not know the class frequencies of the whole data. Pass a "
                "dict of class weights computed on it instead."
            )
        if first and classes is None:
            raise ValueError(
                "classes must be passed on the first call to partial_fit: a "
                "chunk may not contain every class."
            )
        if not first and classes is not None:
            if not np.array_equal(np.unique(classes), self.classes_):
                raise ValueError(
                    f"classes={classes!r} is not the same as on the first call "
                    f"to partial_fit ({self.classes_!r})."
                )
        return self._transaction(self._partial_fit, X, y, classes, sample_weight)

    def _transaction(self, step, *args):
        """Run ``step(*args)``; if it fails, leave the estimator as it was.

        A fit that fails or is interrupted (KeyboardInterrupt included) never
        leaves new ``classes_`` beside an old ``module_``, nor half the
        attributes of a first fit.
        """
        before = dict(self.__dict__)
        try:
            step(*args)
        except BaseException:
            self.__dict__.clear()
            self.__dict__.update(before)
            raise
        return self

    def _fit(self, X, y, sample_weight):
        """Validate, standardise, find neighbour targets, train, commit.

        The learned attributes are assigned in :meth:`_commit` only; what
        training itself reads (``classes_``, the hooks' state) is set before
        and undone by :meth:`_transaction` if a later step fails.
        """
        warm = self.warm_start and hasattr(self, "module_")
        X, self.classes_, y_encoded = self._validate_training_data(
            X, y, classes=self.classes_ if warm else None, reset=not warm
        )
        rng = check_random_state(self.random_state)
        # A warm start keeps the standardisation the network was trained with.
        scaler, X_std = standardise(X, self.scaler_ if warm else None, update=not warm)
        train_idx, val_idx = self._split(y_encoded, rng)
        self._train_steps(
            X_std,
            y_encoded,
            self._sample_weights(sample_weight, X, y_encoded, train_idx),
            train_idx,
            val_idx,
            rng,
            scaler=scaler,
            module=self.module_ if warm else None,
            max_epochs=self.max_epochs,
            lr_schedule=self.lr_schedule,
        )

    def _partial_fit(self, X, y, classes, sample_weight):
        first = not hasattr(self, "module_")
        if first:
            classes = np.unique(column_or_1d(classes))
            _check_label_types(classes)
        X, self.classes_, y_encoded = self._validate_training_data(
            X, y, classes=classes if first else self.classes_, reset=first
        )
        if not hasattr(self, "_rng"):  # the random stream of all partial_fit calls
            self._rng = check_random_state(self.random_state)
        scaler, X_std = standardise(X, None if first else self.scaler_)
        train_idx = np.arange(len(y_encoded))
        self._train_steps(
            X_std,
            y_encoded,
            self._sample_weights(sample_weight, X, y_encoded, train_idx),
            train_idx,
            None,
            self._rng,
            scaler=scaler,
            module=None if first else self.module_,
            max_epochs=1,
            lr_schedule="constant",
            optimizer_state=getattr(self, "_optimizer_state", None),
        )

    def _train_steps(
        self,
        X_std,
        y_encoded,
        weights,
        train_idx,
        val_idx,
        rng,
        *,
        scaler,
        module,
        max_epochs,
        lr_schedule,
        optimizer_state=None,
    ):
        """Find the neighbour targets, train ``module`` (a new one if None), commit.

        A given module is trained on a copy, which replaces ``module_`` only
        when training succeeds; its history continues the fitted one.
        """
        device = resolve_device(self.device)
        cpu_generator, device_generator = make_generators(rng, device)
        self._prepare_fit(X_std, y_encoded, weights, train_idx, rng)
        started = time.perf_counter()
        neighbors = self._neighbor_targets(X_std, train_idx, rng)
        fit_times = {"neighbors": time.perf_counter() - started}

        started = time.perf_counter()
        data = Bunch(
            X_std=X_std,
            y_encoded=y_encoded,
            rows=device_rows(X_std, device),
            labels=torch.from_numpy(y_encoded.astype(np.int64)).to(device),
            weights=None if weights is None else torch.from_numpy(weights).to(device),
            neighbors=None if neighbors is None else neighbors.to(device),
            train=torch.from_numpy(train_idx).to(device),
            val=None if val_idx is None else torch.from_numpy(val_idx).to(device),
            generator=device_generator,
        )
        if module is None:
            history, n_iter = {}, 0
            module = build_module(
                partial(self._build_module, X_std.shape[1], len(self.classes_)),
                cpu_generator,
            )
        else:
            history, n_iter = self.history_, self.n_iter_
            module = copy.deepcopy(module)
        module = module.to(device)
        optimizer = make_optimizer(module, self.learning_rate, self.weight_decay)
        if optimizer_state is not None:
            optimizer.load_state_dict(optimizer_state)
        new_history, new_iter = self._train(
            module, data, cpu_generator, optimizer, max_epochs, lr_schedule
        )
        fit_times["training"] = time.perf_counter() - started
        self._finish_fit(X_std, y_encoded, weights)
        self._commit(
            scaler=scaler,
            module=module,
            history={
                k: history.get(k, []) + new_history.get(k, [])
                for k in {**history, **new_history}
            },
            n_iter=n_iter + new_iter,
            fit_times=fit_times,
        )
        self._optimizer_state = to_cpu(optimizer.state_dict())

    def _validate_training_data(self, X, y, classes=None, reset=True):
        """Checked ``X``, the classes and the encoded ``y``, or a clear error.

        With ``classes``, ``y`` may only hold labels among them; without
        ``reset`` (a continued fit), ``X`` must have the fitted features.
        """
        if is_lazy(X):
            X, y = self._validate_lazy(X, y, reset)
        else:
            X, y = validate_data(
                self,
                X,
                y,
                dtype=[np.float64, np.float32],
                ensure_min_samples=2,
                reset=reset,
            )
        _check_label_types(y)
        check_classification_targets(y)
        if classes is None:
            classes, y_encoded = np.unique(y, return_inverse=True)
        else:
            unknown = np.setdiff1d(y, classes)
            if len(unknown):
                raise ValueError(
                    f"y has labels {unknown.tolist()} that are not among the "
                    f"classes of the fitted model, {classes.tolist()}; refit "
                    "from scratch (warm_start=False) to learn new classes."
                )
            y_encoded = np.searchsorted(classes, y)
        if len(classes) < 2:
            raise ValueError(
                f"{type(self).__name__} needs samples of at least 2 classes; y has "
                f"only 1 class: {classes[0]!r}."
            )
        if self._predicts_neighbors and X.shape[0] <= self.n_neighbors:
            raise ValueError(
                f"n_neighbors={self.n_neighbors} needs at least "
                f"{self.n_neighbors + 1} training samples (every sample needs "
                f"{self.n_neighbors} neighbours other than itself), but X has "
                f"{X.shape[0]} samples. Lower n_neighbors or pass more data."
            )
        if self.batch_norm and self.batch_size != "auto" and self.batch_size < 2:
            raise ValueError(
                "batch_norm=True needs batch_size >= 2 (batch statistics of one "
                f"sample are undefined); got batch_size={self.batch_size}."
            )
        return X, classes, y_encoded

    def _sample_weights(self, sample_weight, X, y_encoded, train_idx):
        """Per-sample loss weights, normalised to mean 1 on ``train_idx``.

        None when there are neither sample nor class weights, so that an
        unweighted fit computes exactly the paper's unweighted means.
        """
        if sample_weight is None and self.class_weight is None:
            return None
        weights = check_sample_weight(
            sample_weight, X, dtype=np.float64, ensure_non_negative=True
        )
        if isinstance(self.class_weight, dict):
            # scikit-learn's own message for these keys is misleading.
            unknown = set(self.class_weight) - set(self.classes_.tolist())
            if unknown:
                raise ValueError(
                    f"class_weight has keys {sorted(map(repr, unknown))} that are "
                    f"not classes of y ({self.classes_.tolist()})."
                )
        if self.class_weight is not None:
            per_class = compute_class_weight(
                self.class_weight, classes=self.classes_, y=self.classes_[y_encoded]
            )
            weights = weights * per_class[y_encoded]
        mean = weights[train_idx].mean()
        if not mean > 0:
            raise ValueError(
                "The sample and class weights of the training samples are all "
                "zero: there is nothing to fit. Give some samples a positive weight."
            )
        return (weights / mean).astype(np.float32)

    def _neighbor_targets(self, X_std, train_idx, rng):
        """(n, K) LongTensor: each sample's K nearest training neighbours."""
        if not self._predicts_neighbors:
            return None
        # A seed, not the RandomState, goes into the (cached) search: a cache
        # hit must leave ``rng`` where a search would, and the seed is part of
        # the cache key.
        seed = np.random.RandomState(rng.randint(np.iinfo(np.int32).max))
        memory = self.memory
        memory = os.fspath(memory) if isinstance(memory, os.PathLike) else memory
        search = check_memory(memory).cache(training_neighbors)
        neighbors = search(
            X_std,
            self.n_neighbors,
            self.neighbors,
            seed,
            candidates=train_idx,
            device=str(resolve_device(self.device)),
        )
        return torch.from_numpy(neighbors)

    def _train(self, module, data, generator, optimizer, max_epochs, lr_schedule):
        """Train ``module`` in place; return its history and number of epochs.

        ``generator`` (on the CPU) draws the minibatch order.
        """

        def score(indices):
            # The rows gathered where training reads them: on the device for
            # data in memory, not through numpy every epoch.
            rows = IndexedRows(data.rows, indices)
            predicted = self._predict_proba_std(rows, module, argmax=True)
            return np.mean(predicted == data.y_encoded[indices.cpu()])

        return train_module(
            module,
            partial(self._objective, module, data=data),
            data.train,
            data.val,
            score=score,
            monitor=self._monitor(),
            learning_rate=self.learning_rate,
            optimizer=optimizer,
            lr_schedule=lr_schedule,
            spike_factor=self._spike_factor,
            batch_size=resolve_batch_size(self.batch_size, len(data.train)),
            max_epochs=max_epochs,
            n_iter_no_change=self.n_iter_no_change,
            tol=self.tol,
            generator=generator,
            # One epoch of partial_fit is not a convergence failure.
            warn_max_epochs=max_epochs > 1,
            verbose=self.verbose,
            description=type(self).__name__,
        )

    def _objective(self, module, indices, *, data):
        """The loss and its named terms on the minibatch of sample ``indices``.

        ``data`` holds the training data on the device: ``rows(indices)``
        gives standardised rows, ``labels`` the encoded labels, ``neighbors``
        the (n, K) neighbour indices (None for models without neighbour
        targets), ``weights`` the normalised sample weights (or None),
        ``train`` the training split and ``generator`` the fit's generator on
        the device.
        """
        targets = {"labels": data.labels[indices]}
        if data.weights is not None:
            targets["weights"] = data.weights[indices]
        if data.neighbors is not None:
            # Only an (n, K) index array is kept; the neighbours' labels
            # and rows are gathered per minibatch.
            batch_neighbors = data.neighbors[indices]
            targets["neighbor_labels"] = data.labels[batch_neighbors]
            if self._predicts_vectors:
                targets["neighbor_vectors"] = data.rows(batch_neighbors)
        outputs = self._run_module(
            module,
            data.rows(indices),
            pool=(data.rows, data.labels, data.train),
            generator=data.generator,
        )
        return self._loss(outputs, targets)

    def _commit(self, *, scaler, module, history, n_iter, fit_times):
        """Assign the learned attributes, once training has succeeded."""
        self.scaler_ = scaler
        self.module_ = module.cpu().eval()
        self.history_ = history
        self.n_iter_ = n_iter
        self.fit_times_ = fit_times

    def _validate_X(self, X, reset):
        """``X`` checked as scikit-learn checks it; data on disk only as far as
        it can be without reading it (its values are checked when read)."""
        if is_lazy(X):
            check_lazy_X(X)
            validate_data(self, X, reset=reset, skip_check_array=True)
            return X
        return validate_data(self, X, dtype=[np.float64, np.float32], reset=reset)

    def _validate_lazy(self, X, y, reset=True):
        """Validate on-disk ``X`` without reading it, and ``y``."""
        X = self._validate_X(X, reset)
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

    def _prepare_fit(self, X_std, y_encoded, weights, train_idx, rng):
        """Hook run before training, e.g. to store what prediction needs.

        ``weights`` are the normalised sample weights of all rows (or None).
        """

    def _finish_fit(self, X_std, y_encoded, weights):
        """Hook run after training, e.g. to index all data for prediction."""

    def _run_module(self, module, x, *, pool=None, generator=None):
        """Run ``module`` on the batch ``x``.

        While training, ``pool`` is ``(rows, labels, train_indices)``: a
        function giving the standardised rows of sample indices, the encoded
        labels of all samples, and the indices of the training split, which
        models with an external memory draw it from. It is None at prediction.
        ``generator`` draws the module's random numbers (dropout, memory).
        """
        return module(x, generator)

    # -------------------------------------------------------------- predict
    def _validate_X_predict(self, X):
        """Checked ``X``, standardised with the fitted scaler."""
        check_is_fitted(self)
        X = self._validate_X(X, reset=False)
        return standardise(X, self.scaler_, update=False)[1]

    def _forward_batches(self, X_std, module=None, generator=None):
        """Yield ``(rows, outputs)``: the module's outputs as numpy arrays, one
        slice of rows of ``X_std`` at a time.

        ``module`` defaults to a copy of ``module_`` on the configured device;
        ``module_`` itself stays on the CPU so that the estimator pickles
        anywhere. On the CPU the copy computes in float64: float32 kernels round
        differently with the batch size, which would make a row's prediction
        depend on the rows predicted with it. ``generator`` draws the dropout
        masks of a module whose dropout is left on (Monte Carlo dropout).
        """
        if module is None:
            module = self._prediction_module()
        param = next(module.parameters())
        step = _PREDICT_BATCH["cpu" if param.device.type == "cpu" else "accelerator"]
        for start in range(0, len(X_std), step):
            rows = slice(start, min(start + step, len(X_std)))
            with torch.inference_mode():
                outputs = self._run_module(
                    module, torch.as_tensor(X_std[rows]).to(param), generator=generator
                )
                outputs = {k: v.cpu().numpy() for k, v in outputs.items()}
            # Yielded outside inference mode: a caller that stops early (an
            # error while it handles a batch) must not leave autograd off.
            yield rows, outputs

    def _prediction_module(self):
        """A copy of ``module_`` on the configured device, in evaluation mode.

        A model fitted on a GPU and unpickled where there is none predicts on
        the CPU, with a warning.
        """
        device = resolve_device(self.device, fallback=True)
        dtype = torch.float64 if device.type == "cpu" else torch.float32
        return copy.deepcopy(self.module_).to(device, dtype).eval()

    def _forward(self, X_std, module=None, generator=None, *, transform=None):
        """The module's outputs on all of ``X_std``, as numpy arrays.

        With ``transform`` (a function of one batch's outputs returning an
        array), that array for all rows instead. Each batch's result is written
        into arrays allocated once: growing and concatenating a list of batch
        results held twice the output and fragmented the heap, so that the
        memory of a prediction on data on disk grew with the file.
        """
        result = None
        for rows, outputs in self._forward_batches(X_std, module, generator):
            if transform is not None:
                outputs = {"": transform(outputs)}
            if result is None:
                result = {
                    k: np.empty((len(X_std), *v.shape[1:]), dtype=v.dtype)
                    for k, v in outputs.items()
                }
            for k, v in outputs.items():
                result[k][rows] = v
        return result[""] if transform is not None else result

    def _predict_proba_std(self, X_std, module=None, *, argmax=False):
        """Y^P for the rows of ``X_std``, or with ``argmax`` its argmax only.

        Batch by batch: the (n, K, d) predicted vectors are never all kept,
        and with ``argmax`` (``predict``) neither are the probabilities, so
        that predicting n rows from disk keeps one integer per row.
        """
        transform = self._class_from_outputs if argmax else self._proba_from_outputs
        result = self._forward(X_std, module, transform=transform)
        overflowed = result < 0 if argmax else ~np.isfinite(result).all(axis=1)
        if overflowed.any():
            # argmax would silently return the first class for those rows.
            rows = np.flatnonzero(overflowed)
            raise ValueError(
                f"The network's output overflowed for {len(rows)} sample(s) "
                f"(rows {rows[:5].tolist()}{', ...' if len(rows) > 5 else ''}): "
                "their features lie too far outside the training data. Clip or "
                "rescale them."
            )
        return result

    def _class_from_outputs(self, outputs):
        """The argmax of Y^P, or -1 where the output overflowed (reported later)."""
        proba = self._proba_from_outputs(outputs)
        return np.where(np.isfinite(proba).all(axis=1), proba.argmax(axis=1), -1)

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
        # The argmax of each batch's probabilities, so that predicting rows
        # from disk keeps one integer per row, not the (n, C) probabilities.
        X_std = self._validate_X_predict(X)
        return self.classes_[self._predict_proba_std(X_std, argmax=True)]

    @available_if(lambda est: est._predicts_neighbors)
    def predict_neighbors(self, X, *, dropout_seed=None):
        """Predict, for each sample, the labels and vectors of its K neighbours.

        These are the sequences the network was trained to produce: the labels
        of the sample's 1st..Kth nearest neighbours and, for models with a vector
        head, out-of-sample feature vectors where those neighbours would be.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples.
        dropout_seed : int, default=None
            If given, predict with the network's dropout on, its masks drawn
            from this seed (Monte Carlo dropout): each seed gives other
            plausible neighbours, as the samplers use to generate more
            synthetic samples. By default dropout is off and the prediction
            deterministic.

        Returns
        -------
        result : Bunch
            With the fields:

            - ``labels``, ndarray of shape (n_samples, K): the predicted label
              of the t-th neighbour;
            - ``label_proba``, ndarray of shape (n_samples, K, n_classes) or
              None: Y_t^P, for models with a label head;
            - ``vectors``, ndarray of shape (n_samples, K, n_features) or
              None: X_t^P in the units of the training data, for models with
              a vector head.
        """
        X_std = self._validate_X_predict(X)
        module = generator = None
        if dropout_seed is not None:
            module = self._prediction_module()
            for layer in module.modules():
                if isinstance(layer, torch.nn.Dropout):
                    layer.train()
            device = next(module.parameters()).device
            generator = torch.Generator(device).manual_seed(int(dropout_seed))
        outputs = self._forward(X_std, module, generator)
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
