"""Parameter descriptions shared by several estimators' docstrings.

A class docstring names a shared entry as ``%(name)s``; :func:`fill_doc` fills it
in, so a parameter is described once and reads the same everywhere.
"""

import re
import textwrap

_MEMORY_SIZE = """memory_size : int, default=64
    Number of random training samples in the external memory (the paper's
    64). Training draws a fresh memory for every minibatch."""
_EMBEDDING_SIZE = """
embedding_size : int, default=128
    Size of the embeddings phi, A, B, C, E and the controller state u. Not
    stated in the paper; 128 scored higher than 32 on the development suite."""

_DOCS = {
    "n_neighbors": """n_neighbors : int, default=5
    Number of nearest neighbours K the model learns to reproduce (the paper's
    K); also the number of decoder steps or memory hops.""",
    "hidden_size": """hidden_size : int, default=128
    Size of the LSTM states and of the decoder output y_t. The paper does not
    state it; see "How the defaults were chosen" on the
    Benchmark page of the documentation.""",
    "memory": _MEMORY_SIZE
    + """
n_memory_draws : int, default=5
    Number of memories drawn once in ``fit`` for prediction; the predictions
    over the draws are averaged, so that they depend less on one random
    memory, at a proportional cost in prediction time. The paper does not say
    how it predicts. 5 draws rather than 1 raised the mean macro-F1 of MNkNN
    from 76.85 to 77.17 (better on 18 data sets, worse on 5) and of MNkNN_VEC
    from 75.38 to 76.43 (16 and 7) on the development suite (31 data sets,
    3 seeds, validation protocol; see "How the defaults were chosen" on the
    Benchmark page), and on the credit-card data (5 seeds,
    ``benchmarks/bench_classifiers.py``) MNkNN's from 0.647 to 0.660, while
    ``predict_proba`` throughput fell from about 380,000 to 110,000 rows per
    second."""
    + _EMBEDDING_SIZE,
    "memory_memn2n": _MEMORY_SIZE
    + """
n_memory_draws : int, default=1
    Number of memories drawn once in ``fit`` for prediction; the predictions
    over the draws are averaged. MNkNN and MNkNN_VEC default to 5; MemN2N,
    the benchmark without neighbour targets, keeps one: on the development
    suite (31 data sets, 6 seeds, validation protocol) 5 draws scored 76.76
    mean macro-F1 against 76.81 (better on 16 data sets, worse on 12,
    Wilcoxon p = 0.59), at about a third of the prediction throughput."""
    + _EMBEDDING_SIZE,
    "memory_sampler": _MEMORY_SIZE
    + """
n_memory_draws : int, default=1
    Number of memories drawn once in ``fit`` for the predicted vectors; the
    predictions over the draws are averaged. The classifiers' default is 5;
    the sampler keeps 1, the setting its defaults were chosen with on the
    oversampling benchmark."""
    + _EMBEDDING_SIZE,
    "generation": """generation : {"interpolate", "paper"}, default="interpolate"
    How a synthetic sample is made from a predicted neighbour vector v_t of a
    seed sample x. ``"interpolate"``: x + u (v_t - x) with u uniform on
    [0, 1], from seeds of the class itself whose step-t label is that class, a
    SMOTE-like interpolation towards the learned neighbours. ``"paper"``: v_t
    itself, labelled with the label predicted at the same step, from seeds of
    any class (the paper's rule). Either way each feature of a synthetic
    sample is clipped to its range in X, so that a poorly trained network
    cannot add samples far outside the data.

    The default was ``"paper"``. ``"interpolate"`` was chosen on 21 binary
    data sets (the development suite's ``imbalanced`` and ``binary`` groups
    and the credit-card data), with a validation split that never reads the
    test parts, 3 seeds, and minority-class F1 of a random forest, gradient
    boosting and an MLP trained on the resampled data: it raised the MLP's
    mean from 67.7 to 68.4 (V2VSLS) and from 67.7 to 69.6 (MNkNN_VEC), and
    gradient boosting's from 68.2 to 69.0 and from 69.0 to 70.7; only V2VSLS
    with a random forest did better with the paper's rule (74.1 against
    72.6). On the test parts V2VSLS with interpolation scored 70.8 against
    70.4 with an MLP, 73.0 against 72.3 with gradient boosting and 74.5
    against 74.6 with a random forest (see the user guide page
    "Oversampling: when to prefer which sampler").""",
    "sampler_fitted": """sampling_strategy_ : dict
    Number of samples generated for each class.
estimator_ : classifier or None
    The network trained on the data of the last ``fit_resample`` call; None
    when no class needed samples.
n_features_in_ : int
    Number of features seen in ``fit_resample``.
feature_names_in_ : ndarray of shape ``(n_features_in_,)``
    Names of features seen in ``fit_resample``, when X has string column
    names.""",
    "sampler_notes": """How generation goes on until every class reaches its target
count (imbalanced-learn's contract, which the paper's "stop when no minority
samples are left" rule does not meet): the first pass predicts, for every training
sample, its K neighbour vectors and labels with the trained network; every
vector labelled with a class that needs samples is a candidate, and the
needed number is drawn at random from the candidates. When a pass yields too
few, further passes predict again with the network's dropout active (Monte
Carlo dropout), so that the same seeds give new vectors and labels. After
20 passes, any shortfall is filled with vectors predicted around the class's
own samples, with a warning.

The model's parameters are the sampler's own, so a grid search reads
``{"sampler__vector_weight": [0.5, 1.3]}`` rather than reaching through a
nested ``estimator__``; the oversampling defaults alpha=3 and lambda=1.3 are
the paper's, which found a larger lambda and a smaller alpha give better
synthetic samples than the classification defaults. On the 21 data sets that
chose ``generation``, the classification values (alpha=9.5, lambda=0.12) gave
V2VSLS the same mean minority F1 (70.0 over the three classifiers), so the
paper's values stay.

On the test parts of those 21 sets (5 seeds; tables on the user guide page
"Oversampling: when to prefer which sampler") the samplers help a neural
network trained on imbalanced data most: an MLP's mean minority F1 goes from
50.1 without resampling to 71.0 with V2VSLS and 70.8 with MNkNN_VEC (70.6
with SMOTE, 70.8 with random oversampling). With a random forest or gradient
boosting, SMOTE or a tuned decision threshold did as well or better at a
fraction of the cost.""",
    "temperature": """temperature : float, default=0.85
    Softmax temperature tau of the label head,
    Y_t^P = softmax((W_y y_t + b_y) / tau), where y_t is the decoder output
    (seq2seq) or the hop output z_t (memory networks).""",
    "alpha": """alpha : float, default=9.5
    Weight alpha of the ground-truth term KL(Y^GT || Y^P) in the loss L1.""",
    "vector_weight": """vector_weight : float, default=0.12
    Weight lambda of the neighbour-vector loss L2 in L = L1 + lambda L2.""",
    "training": """dropout : float, default=0.2
    Dropout rate, as in the paper.
batch_norm : bool, default=True
    Use batch normalisation, as in the paper.
weight_decay : float, default=1e-4
    Decoupled weight decay of the optimiser (AdamW); 0 is the paper's plain
    Adam. Not in the paper; 0.01 and 0.1 moved the mean macro-F1 of V2LS and
    V2VSLS on 31 development data sets by less than 0.2 points (see "How the
    defaults were chosen" on the Benchmark page of the documentation).
lr_schedule : {"plateau", "constant"}, default="plateau"
    ``"plateau"`` halves the learning rate whenever the monitored loss has
    not improved for ``max(1, n_iter_no_change // 3)`` epochs;
    ``"constant"`` keeps it (the paper states no schedule).
batch_size : int or "auto", default="auto"
    Minibatch size (not stated in the paper). ``"auto"`` is
    ``n_train // 16`` clipped to [32, 256], where ``n_train`` is the number
    of samples trained on: at least 16 steps per epoch on small data, batches
    of 256 on large data.
max_epochs : int, default=200
    Maximum number of passes over the training data.""",
    "learning_rate_seq2seq": """learning_rate : float, default=0.003
    Initial learning rate of the Adam optimiser. The paper uses 0.01; with
    the default recipe 0.003 scored higher on the development suite (see
    "How the defaults were chosen" on the Benchmark page of the
    documentation).""",
    "learning_rate_memory": """learning_rate : float, default=0.01
    Initial learning rate of the Adam optimiser (the paper's 0.01).""",
    "early_stopping_seq2seq": """early_stopping : bool, default=True
    Hold out ``validation_fraction`` of the training data (stratified when
    every class allows it), stop when the validation cross-entropy
    KL(Y^GT || Y^P) (for V2VS: the validation vector loss) has not improved by
    ``tol`` for ``n_iter_no_change`` epochs, and restore the weights of the
    best epoch. When False, train on all the data and stop when the training
    loss has not improved for as long.""",
    "early_stopping_memory": """early_stopping : bool, default=False
    As for the seq2seq models, but off by default: the validation loss of a
    memory network varies with the random memory it attends to, and on small
    data stopping on it ended training far too early (on the development
    suite, MNkNN scored 76.8 mean macro-F1 without early stopping and 73.4
    with it; see "How the defaults were chosen" on the Benchmark page of the
    documentation). Without it the network trains on all the data and stops
    when the training loss has not improved by ``tol`` for
    ``n_iter_no_change`` epochs, keeping the last weights; an epoch whose
    training loss exceeds 1.4 times the best so far (2 times for MemN2N; a
    spike, seen on cover-type data) is undone: the best weights are reloaded
    and the learning rate halved.""",
    "stopping": """validation_fraction : float, default=0.1
    Share of the training data held out for early stopping.
n_iter_no_change : int, default=10
    Patience of the stopping rule, in epochs (not stated in the paper).
tol : float, default=1e-4
    Minimum change of the monitored loss that counts as an improvement.""",
    "weights": """class_weight : dict, "balanced" or None, default=None
    Weights of the classes, as in scikit-learn: ``{label: weight}`` (classes
    not named weigh 1), or ``"balanced"`` for
    ``n_samples / (n_classes * np.bincount(y))``. They multiply
    ``sample_weight``: every loss term of a sample is weighted alike.
warm_start : bool, default=False
    When True and the model is fitted, ``fit`` continues training the fitted
    network on the new data (same features, labels among ``classes_``),
    with the fitted standardisation and neighbour targets searched in the
    new data, instead of starting afresh.""",
    "neighbors": """neighbors : "exact" or estimator, default="exact"
    How the K nearest training neighbours used as targets are found.
    ``"exact"``: exact Euclidean search on the standardised features with
    :class:`~seqknn.ExactNeighbors`. Otherwise any object with ``fit`` and
    ``kneighbors(X, n_neighbors, return_distance=False)``: the paper's
    out-of-core Algorithm 1 :class:`~seqknn.OutOfCoreNeighbors` (cost linear
    in the number of samples), the approximate
    :class:`~seqknn.FaissNeighbors`, :class:`~seqknn.DaskNeighbors` on a Dask
    cluster, or e.g. ``NearestNeighbors(metric="manhattan")``; it is cloned
    before use. A sample is never its own neighbour; its duplicates can be.""",
    "memory_cache": """memory : str, path or joblib.Memory, default=None
    Where to cache the neighbour targets, as scikit-learn's ``Pipeline``
    caches transformers: a folder or a ``joblib.Memory``. The exact search is
    most of a fit's cost on large data; with a cache, a second model, grid
    point or ``GridSearchCV`` refit on the same rows (same neighbour strategy,
    ``n_neighbors`` and ``random_state``) reads the targets instead of
    searching again. None caches nothing.""",
    "runtime": """device : str or torch.device, default="auto"
    Where to train and predict: ``"auto"`` picks CUDA when available, else the
    CPU. The fitted model is kept on the CPU, so it pickles and unpickles on a
    machine without a GPU.
random_state : int, RandomState instance or None, default=None
    Seeds the validation split, weight initialisation, minibatch order and
    dropout. With an int, fits on the CPU are identical run to run, also when
    several run at once in threads; torch's global random state is neither
    read nor changed. Identical needs the same number of torch threads:
    another count sums floats in another order, and training can take
    another path.
verbose : int, default=0
    If positive, show a progress bar over epochs with the current losses.""",
    "fitted": """classes_ : ndarray of shape (n_classes,)
    Class labels.
n_features_in_ : int
    Number of features seen during fit.
feature_names_in_ : ndarray of shape ``(n_features_in_,)``
    Names of features seen during fit, when X has string column names.
scaler_ : StandardScaler
    The standardisation fitted on the training features; models see
    standardised features and return vectors in the caller's units.
module_ : torch.nn.Module
    The trained network, on the CPU.
history_ : dict of str to list of float
    Per epoch: the training loss ``"loss"`` and each of its terms
    (``"neighbor_labels"``, ``"true_label"``, ``"neighbor_vectors"`` as the
    model has them), their validation values prefixed ``"val_"``, and the
    validation accuracy ``"val_score"``; with early stopping, the weights
    kept are those of the best epoch.
n_iter_ : int
    Number of epochs run.
fit_times_ : dict of str to float
    Seconds spent in ``fit`` computing the neighbour targets (``"neighbors"``)
    and training the network (``"training"``).""",
    "fitted_memory": """\
memory_ : ndarray of shape (n_memory_draws, memory_size, n_features)
    The standardised training samples the memory holds at prediction
    (``memory_size`` is clipped to the training split, with a warning; a
    memory that holds the whole split is stored once, not once per draw).
memory_labels_ : ndarray of shape (n_memory_draws, memory_size)
    Their encoded labels (indices into ``classes_``).""",
    "data_home": """data_home : str or path-like, default=None
    The data folder to look in and download to, see
    :func:`~seqknn.datasets.get_data_home`. Ignored when ``path`` is given.
download_if_missing : bool, default=True
    Download the data into the data folder when it is not there. If False, a
    missing file raises FileNotFoundError.""",
    "return_X_y": """return_X_y : bool, default=False
    Return ``(data, target)`` instead of a Bunch.
as_frame : bool, default=False
    Return the data as a pandas DataFrame and the target as a Series
    (requires pandas).""",
}


def fill_doc(obj):
    """Substitute the shared ``%(name)s`` parameter descriptions in a docstring.

    Only the ``%(name)s`` fields are replaced, so a docstring can write a
    percentage such as 22% as it is.
    """
    indent = " " * 4
    obj.__doc__ = re.sub(
        r"%\((\w+)\)s",
        lambda m: textwrap.indent(_DOCS[m.group(1)], indent).lstrip(),
        obj.__doc__,
    )
    return obj
