"""The paper's protocol: 80/10/10 splits, a grid chosen on validation, F1 on test.

Each experiment is a generator of result rows, one per (data set, seed and the
experiment's keys): the chosen grid point, its validation macro-F1, the test
macro- and weighted F1 and the times.
"""

import json
import time

import numpy as np
import torch
from sklearn.metrics import f1_score
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.preprocessing import StandardScaler

from ..datasets import load_covtype, load_credit_default, load_kddcup99, load_sensit
from ._models import MODELS, make_model, make_sampler

DATASETS = ["credit", "kdd", "covtype", "sensit"]
# The columns that name a row: a run makes one row per value of them.
KEYS = ("dataset", "seed", "model", "classifier", "targets", "sampler")
# A class needs this many samples for every part of the 80/10/10 split to get
# some of it.
MIN_CLASS_SIZE = 10


def load_dataset(name, config):
    """The data set ``name`` for the experiments.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features), float64
    y : ndarray of shape (n_samples,)
        The classes encoded as 0, 1, ... (XGBoost needs them so).
    n_total : int
        The number of samples before ``config.max_samples`` subsampled them.
    """
    if name == "credit":
        X, y = load_credit_default(return_X_y=True)
    else:
        loader = {"kdd": load_kddcup99, "covtype": load_covtype, "sensit": load_sensit}
        path = getattr(config, f"{name}_path")
        X, y = loader[name](path, data_home=config.data_home, return_X_y=True)
    X = np.asarray(X, dtype=np.float64)
    classes, y = np.unique(y, return_inverse=True)
    n_total = len(y)
    if config.max_samples is not None and config.max_samples < n_total:
        # One subsample for every seed and every run, whatever --seed is.
        X, _, y, _ = train_test_split(
            X, y, train_size=config.max_samples, stratify=y, random_state=0
        )
    counts = np.bincount(y, minlength=len(classes))
    if counts.min() < MIN_CLASS_SIZE:
        raise ValueError(
            f"Class {classes.tolist()[counts.argmin()]!r} of the {name} data has "
            f"{counts.min()} samples, too few for a stratified 80/10/10 split "
            f"(at least {MIN_CLASS_SIZE} are needed): use a larger --max-samples."
        )
    return X, y, n_total


def split(X, y, seed):
    """Stratified 80/10/10 train/validation/test split.

    Returns
    -------
    train, val, test : tuple of (X, y)
    """
    X_train, X_rest, y_train, y_rest = train_test_split(
        X, y, test_size=0.2, stratify=y, random_state=seed
    )
    X_val, X_test, y_val, y_test = train_test_split(
        X_rest, y_rest, test_size=0.5, stratify=y_rest, random_state=seed
    )
    return (X_train, y_train), (X_val, y_val), (X_test, y_test)


def _timed(seed, function, *args):
    # Every random choice takes random_state=seed; torch's global seed also
    # fixes what a third-party model might draw from it.
    torch.manual_seed(seed)
    start = time.perf_counter()
    result = function(*args)
    return result, time.perf_counter() - start


def _is_cuda_error(exc):
    """Whether ``exc`` comes from CUDA (out of memory, a device-side assert)."""
    return isinstance(exc, torch.cuda.OutOfMemoryError) or "CUDA" in str(exc)


def grid(name, config):
    return MODELS[name].grid[:1] if config.quick else MODELS[name].grid


def select(name, seed, config, train, val, progress, targets="full"):
    """Fit model ``name`` at each grid point on ``train``; keep the best on ``val``.

    Returns the chosen model, its parameters, validation macro-F1 and fit time.
    """
    best = None
    for params in grid(name, config):
        model = make_model(name, params, seed, config, targets)
        _, fit_s = _timed(seed, model.fit, *train)
        val_f1 = f1_score(val[1], model.predict(val[0]), average="macro")
        progress.update()
        if best is None or val_f1 > best[2]:
            best = (model, params, val_f1, fit_s)
    return best


def score(selected, train, test, name):
    """Test scores and times of a model chosen by :func:`select`."""
    model, params, val_f1, fit_s = selected
    start = time.perf_counter()
    y_pred = model.predict(test[0])
    predict_s = time.perf_counter() - start
    times = getattr(model, "fit_times_", None)
    final = model[-1] if hasattr(model, "steps") else model
    # Epochs of the networks; not LightGBM's boosting rounds (also n_iter_).
    epochs = final.n_iter_ if times or isinstance(final, MLPClassifier) else np.nan
    if times is not None:
        neighbors_s, training_s = times["neighbors"], times["training"]
    elif name == "kNN":
        # kNN has no training targets: its neighbour search runs at prediction.
        neighbors_s, training_s = predict_s, fit_s
    else:
        neighbors_s, training_s = np.nan, fit_s
    return {
        "params": json.dumps(params, sort_keys=True),
        "val_f1_macro": val_f1,
        "f1_macro": f1_score(test[1], y_pred, average="macro"),
        "f1_weighted": f1_score(test[1], y_pred, average="weighted"),
        "neighbors_s": neighbors_s,
        "training_s": training_s,
        "fit_s": fit_s,
        "predict_s": predict_s,
        "epochs": epochs,
        "n_train": len(train[1]),
        "n_test": len(test[1]),
    }


def row_key(row):
    """The identity of a result row: its values of :data:`KEYS`, as text."""
    return tuple("" if row.get(k) is None else str(row[k]) for k in KEYS)


def planned(experiment, config):
    """The identities of the rows an experiment makes, in the order it makes them."""
    for dataset in config.datasets:
        for seed in config.seeds:
            where = {"dataset": dataset, "seed": seed}
            if experiment == "classification":
                for name in config.models:
                    yield where | {"model": name}
            elif experiment == "out-of-core":
                for name in config.models:
                    for targets in config.targets:
                        yield where | {"model": name, "targets": targets}
            else:
                for sampler in config.samplers:
                    for name in config.models:
                        yield where | {"classifier": name, "sampler": sampler}


def n_fits(experiment, config, done=()):
    """The number of grid fits an experiment makes (for the progress bar).

    Rows whose :func:`row_key` is in ``done`` are not computed again.
    """
    return sum(
        len(grid(row.get("model") or row["classifier"], config))
        for row in planned(experiment, config)
        if row_key(row) not in done
    )


def _splits(data, config, progress):
    for dataset, (X, y, _) in data.items():
        for seed in config.seeds:
            progress.set_description(f"{dataset} seed {seed}")
            yield dataset, seed, *split(X, y, seed)


def classification(data, config, progress, done=None):
    """The paper's Table 2: every model on every data set.

    A row whose :func:`row_key` is in ``done`` is not computed: ``done``'s row
    is given in its place (so in every experiment).
    """
    done = done or {}
    for dataset, seed, train, val, test in _splits(data, config, progress):
        for name in config.models:
            row = {"dataset": dataset, "seed": seed, "model": name}
            if row_key(row) in done:
                yield done[row_key(row)]
                continue
            selected = select(name, seed, config, train, val, progress)
            yield row | score(selected, train, test, name)


def out_of_core(data, config, progress, done=None):
    """The paper's Table 3: exact against Algorithm-1 neighbour targets."""
    done = done or {}
    for dataset, seed, train, val, test in _splits(data, config, progress):
        for name in config.models:
            for targets in config.targets:
                row = {"dataset": dataset, "seed": seed, "model": name}
                row |= {"targets": targets}
                if row_key(row) in done:
                    yield done[row_key(row)]
                    continue
                selected = select(name, seed, config, train, val, progress, targets)
                yield row | score(selected, train, test, name)


def oversampling(data, config, progress, snapshots=None, done=None):
    """The paper's Table 5: classifiers trained on oversampled training parts.

    The training part is standardised (the scaler fitted on it), resampled to
    balanced classes by each sampler, and each classifier's grid point is chosen
    on the (not resampled) validation part. ``snapshots``, a dict, receives for
    each data set's first seed the training part and every sampler's synthetic
    samples (for the t-SNE figure): that resampling is done even when every
    row of it is in ``done``. A sampler that fails on a split is left out of
    it, with a note in ``config.notes``.
    """
    done = done or {}
    for dataset, seed, train, val, test in _splits(data, config, progress):
        scaler = StandardScaler().fit(train[0])
        train, val, test = [(scaler.transform(X), y) for X, y in (train, val, test)]
        for sampler_name in config.samplers:
            rows = [
                {"dataset": dataset, "seed": seed, "classifier": name}
                | {"sampler": sampler_name}
                for name in config.models
            ]
            todo = [row for row in rows if row_key(row) not in done]
            snapshot = snapshots is not None and seed == config.seeds[0]
            if not todo and not snapshot:
                yield from (done[row_key(row)] for row in rows)
                continue
            sampler = make_sampler(sampler_name, seed, config)
            try:
                resampled, resample_s = (
                    (train, 0.0)
                    if sampler is None
                    else _timed(seed, sampler.fit_resample, *train)
                )
            except (ValueError, RuntimeError) as exc:
                # A sampler that cannot resample this data (ADASYN raises a
                # RuntimeError) is noted; a CUDA error is not swallowed: after
                # one, every later fit would fail too.
                if _is_cuda_error(exc):
                    raise
                config.notes.append(
                    f"{sampler_name} failed on {dataset}, seed {seed}: {exc}"
                )
                progress.update(sum(len(grid(r["classifier"], config)) for r in todo))
                yield from (done[row_key(r)] for r in rows if row_key(r) in done)
                continue
            if snapshot:
                new = slice(len(train[1]), None)
                snapshots.setdefault(dataset, {"train": train})[sampler_name] = (
                    resampled[0][new],
                    resampled[1][new],
                )
            for row in rows:
                if row_key(row) in done:
                    yield done[row_key(row)]
                    continue
                name = row["classifier"]
                selected = select(name, seed, config, resampled, val, progress)
                yield (
                    row
                    | {"resample_s": resample_s}
                    | score(selected, resampled, test, name)
                )
