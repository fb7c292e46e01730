"""
============================================================
Neighbour search and hyperparameter search on a Dask cluster
============================================================

The seqknn classifiers are trained on the K nearest neighbours of every training
sample. :class:`~seqknn.DaskNeighbors` computes those neighbours as Dask
tasks, on the cluster of the active ``dask.distributed.Client``, one task per
block of samples, so the data never has to fit on one machine's search. And
scikit-learn's hyperparameter searches run their fits through joblib, whose
``"dask"`` backend sends them to the same cluster.

Here a local cluster stands in for a real one: to use a remote cluster, create
the ``Client`` with the scheduler's address instead, e.g.
``Client("tcp://scheduler:8786")``; nothing else changes. This needs the
``seqknn[dask]`` extra.
"""

# %%
# Start a cluster and load the data
# ---------------------------------
# Two workers of one thread each, as threads of this process
# (``processes=False``): quick to start, and the example can run as a script
# without an ``if __name__ == "__main__":`` guard. Each fit uses one torch
# thread, as in Dask's worker processes (which set ``OMP_NUM_THREADS=1``): the
# parallelism comes from the workers, and the threads of concurrent fits would
# compete for the same cores.
import time

import dask.array as da
import joblib
import torch
from distributed import Client, LocalCluster, get_task_stream
from sklearn.metrics import f1_score
from sklearn.model_selection import GridSearchCV, train_test_split

from seqknn import DaskNeighbors, V2VSLSClassifier
from seqknn.datasets import load_credit_default

torch.set_num_threads(1)
cluster = LocalCluster(
    n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
)
client = Client(cluster)

# A subsample of 5,000 of the 30,000 clients keeps the example quick.
X, y = load_credit_default(return_X_y=True)
X, _, y, _ = train_test_split(X, y, train_size=5000, stratify=y, random_state=0)
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.2, stratify=y, random_state=0
)
# A dask array of the training data, in chunks of 1,000 clients. With data too
# large for memory it would come from files instead (e.g. da.from_zarr).
X_train_dask = da.from_array(X_train, chunks=(1000, -1))

# %%
# The neighbour search alone
# --------------------------
# ``DaskNeighbors`` searches a dask array lazily: each task reads only the rows
# it needs. With ``method="out_of_core"`` (the paper's Algorithm 1) every block
# of ``block_size`` clients is compared with ``n_batches`` x
# ``samples_per_batch`` (here 10 x 64 = 640) random training clients instead
# of all 4,000. The features are standardised first, lazily too, as the
# classifiers do before their search.
X_std = (X_train_dask - X_train_dask.mean(axis=0)) / X_train_dask.std(axis=0)
search = DaskNeighbors(
    method="out_of_core",
    block_size=1000,
    n_batches=10,
    samples_per_batch=64,
    random_state=0,
)
with get_task_stream(client) as stream:
    distances, indices = search.fit(X_std).kneighbors(X_std, 6)
print("nearest training clients of client 0:", indices[0, 1:])
print("their distances:", distances[0, 1:].round(2))
workers = {task["worker"] for task in stream.data}
print(f"{len(stream.data)} tasks ran on {len(workers)} workers")

# %%
# A classifier whose neighbour targets are computed on the cluster
# ----------------------------------------------------------------
# The classifier clones the search, seeds it from its own ``random_state`` and
# computes its training targets with it, as Dask tasks. It is fitted on the
# dask array itself.
clf = V2VSLSClassifier(
    neighbors=DaskNeighbors(
        method="out_of_core", block_size=1000, n_batches=10, samples_per_batch=64
    ),
    max_epochs=5,
    random_state=0,
)
start = time.perf_counter()
# The dask array is never loaded whole: the standardisation statistics come
# from one pass over its chunks, and each minibatch reads its rows.
clf.fit(X_train_dask, y_train)
f1 = f1_score(y_test, clf.predict(X_test), average="macro")
print(f"V2VSLS macro-F1 {f1:.3f}  fit {time.perf_counter() - start:.1f} s")

# %%
# Hyperparameter search on the cluster
# ------------------------------------
# Under ``joblib.parallel_backend("dask")`` the cross-validation fits of
# ``GridSearchCV`` are Dask tasks, spread over the workers; each fit's
# neighbour search runs as tasks of its own (with the default ``block_size``
# the 2,000 clients of a fold form one block, so it is exact). Worker threads
# of one process share torch's random generator, so with ``processes=False``
# the scores may vary slightly between runs; on worker processes (a real
# cluster) they equal those of the sequential search.
grid = GridSearchCV(
    V2VSLSClassifier(neighbors=DaskNeighbors(), max_epochs=5, random_state=0),
    {"n_neighbors": [3, 5], "hidden_size": [16, 32]},
    scoring="f1_macro",
    cv=2,
)
start = time.perf_counter()
with get_task_stream(client) as stream, joblib.parallel_backend("dask"):
    grid.fit(X_train, y_train)
print(f"search {time.perf_counter() - start:.1f} s")
fits = [task for task in stream.data if "fit_and_score" in str(task["key"])]
print(f"{len(fits)} batches of fits ran on the cluster")
for params, score in zip(
    grid.cv_results_["params"], grid.cv_results_["mean_test_score"], strict=True
):
    print(f"{params}  mean macro-F1 {score:.3f}")
print("best:", grid.best_params_)
test_f1 = f1_score(y_test, grid.predict(X_test), average="macro")
print(f"test macro-F1 of the refitted best model {test_f1:.3f}")

# %%
# Shut the cluster down.
client.close()
cluster.close()
