"""V2VS's vote rules compared on the same trained networks.

V2VS labels each of the K predicted neighbour vectors by its nearest training
sample; ``vote="ranked"`` (the default) lets the first vector decide. This
script fits V2VS once per data set and seed (``bench_suite.py``'s loader,
splits and defaults) and scores several rules on those networks:

- ``ranked``: the classifier's prediction (checked against ``predict``);
- ``first-3nn``, ``first-5nn``: the first vector labelled by the majority of
  its 3 or 5 nearest training samples (ties to the nearest);
- ``ranked-5nn``, ``equal-5nn``: every vector labelled so, the steps weighted
  2^-t or equally;
- ``space-1nn``, ``space-5nn``: no search among the training samples
  themselves: x takes the label of the 1 or 5 training samples whose own
  predicted sequences (all K vectors) lie nearest to x's, i.e. kNN in the
  space of the network's outputs, where training and test vectors are
  shrunk towards the mean alike;

and, for reference, scaled 1-NN and kNN(5) on the samples themselves.

Prints per data set the mean macro-F1 (x100) over the seeds, then each rule's
mean, its difference from ``ranked`` and the Wilcoxon p-value over the data
sets. Run from the repository root, e.g. on the 31 smallest sets::

    python benchmarks/bench_v2vs_votes.py --protocol validation --seeds 3 \\
        --datasets appendicitis australian ...
"""

import argparse
import warnings

import numpy as np
import torch
from bench_suite import dev_sets, load, make_model, split
from joblib import Parallel, delayed
from scipy.stats import wilcoxon
from sklearn.metrics import f1_score
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

RULES = {  # name: (samples per vote, steps voting, step weights)
    "ranked": (1, None, "ranked"),
    "first-3nn": (3, 1, "ranked"),
    "first-5nn": (5, 1, "ranked"),
    "ranked-5nn": (5, None, "ranked"),
    "equal-5nn": (5, None, "equal"),
}


def scores(dataset, seed, protocol, max_samples):
    """Macro-F1 of every rule on one fitted V2VS."""
    torch.set_num_threads(1)
    X, y = load(dataset, max_samples)
    X_tr, y_tr, X_te, y_te = split(X, y, seed, protocol)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf = make_model("V2VS", seed, {}).fit(X_tr, y_tr)
    vectors = clf._forward(clf._validate_X_predict(X_te))["vectors"]
    n, n_steps, _ = vectors.shape
    k_max = min(5, clf._vote_index.n_samples_fit_)
    nearest = clf._vote_index.kneighbors(
        vectors.reshape(n * n_steps, -1).astype(np.float32),
        k_max,
        return_distance=False,
    )
    labels = clf._vote_labels[nearest].reshape(n, n_steps, k_max)
    result = {}
    for rule, (k, steps, weighting) in RULES.items():
        steps = steps or n_steps
        weights = 0.5 ** np.arange(steps) if weighting == "ranked" else np.ones(steps)
        votes = np.zeros((n, len(clf.classes_)))
        for t in range(steps):
            for j in range(min(k, k_max)):
                # A slightly larger vote for nearer samples breaks ties.
                bonus = 1 + 1e-6 * (k - j)
                np.add.at(votes, (np.arange(n), labels[:, t, j]), weights[t] * bonus)
        predicted = clf.classes_[votes.argmax(axis=1)]
        if rule == "ranked":
            assert (predicted == clf.predict(X_te)).all()
        result[rule] = f1_score(y_te, predicted, average="macro") * 100
    train_vectors = clf._forward(clf._validate_X_predict(X_tr))["vectors"]
    for k in (1, 5):
        knn = KNeighborsClassifier(k).fit(train_vectors.reshape(len(X_tr), -1), y_tr)
        predicted = knn.predict(vectors.reshape(n, -1))
        result[f"space-{k}nn"] = f1_score(y_te, predicted, average="macro") * 100
    for k in (1, 5):
        knn = make_pipeline(StandardScaler(), KNeighborsClassifier(k))
        predicted = knn.fit(X_tr, y_tr).predict(X_te)
        result[f"{k}-NN"] = f1_score(y_te, predicted, average="macro") * 100
    return dataset, result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--datasets", nargs="+", default=dev_sets())
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--protocol", choices=["test", "validation"], default="test")
    parser.add_argument("--max-samples", type=int, default=10000)
    parser.add_argument("--n-jobs", type=int, default=2)
    args = parser.parse_args(argv)
    rows = Parallel(n_jobs=args.n_jobs)(
        delayed(scores)(d, s, args.protocol, args.max_samples)
        for d in args.datasets
        for s in range(args.seeds)
    )
    columns = [*RULES, "space-1nn", "space-5nn", "1-NN", "5-NN"]
    table = {d: {c: [] for c in columns} for d in args.datasets}
    for dataset, result in rows:
        for rule, score in result.items():
            table[dataset][rule].append(score)
    means = np.array([[np.mean(table[d][c]) for c in columns] for d in args.datasets])
    print("| data set | " + " | ".join(columns) + " |")
    print("|---" * (len(columns) + 1) + "|")
    for d, row in zip(args.datasets, means, strict=True):
        print(f"| {d} | " + " | ".join(f"{v:.1f}" for v in row) + " |")
    for j, rule in enumerate(columns):
        diff = means[:, j] - means[:, 0]
        p = wilcoxon(diff).pvalue if diff.any() else 1.0
        print(
            f"{rule}: {means[:, j].mean():.2f} ({diff.mean():+.2f}, better on "
            f"{(diff > 0).sum()}, worse on {(diff < 0).sum()}, p = {p:.3f})"
        )


if __name__ == "__main__":
    main()
