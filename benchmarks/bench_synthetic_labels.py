"""Where each oversampler puts its synthetic samples, by the class around them.

A synthetic sample of class c whose nearest real training samples belong to
another class is label noise for a classifier trained on the resampled data.
This script resamples the standardised training part of one data set, as the
oversampling experiment (``python -m seqknn.experiments oversampling``) does,
and reports for each sampler and each class it generates (and, as a
reference, for the real training samples of each class):

- ``foreign 1-NN``: the share of synthetic samples whose nearest real training
  sample has another class;
- ``foreign 5-NN``: the share whose 5 nearest real training samples are mostly
  of another class;
- ``dist / real``: the median distance of a synthetic sample to its nearest
  real one, over the median distance of a real sample of that class to its
  nearest other real one (1 is as close to the data as the data itself);
- ``foreign seeds``: for the learned samplers with the paper's generation
  rule, the share of their candidates (the first generation pass's vectors
  labelled c) predicted around a training sample of another class.

The samplers are SMOTE and ADASYN (imbalanced-learn's defaults), and
``V2VSLSSampler`` and ``MNkNNVecSampler`` with the paper's generation rule
(the experiment's) and with their default, ``generation="interpolate"``.
Run from the repository root, e.g. on a 20,000-row stratified sample of the
cover-type data (seed 0's 80/10/10 split, as in the experiment)::

    python benchmarks/bench_synthetic_labels.py --dataset covtype \\
        --covtype-path ../shared/datasets/covtype_first100k.data.gz \\
        --max-samples 20000
"""

import argparse
import warnings

import numpy as np
from imblearn.over_sampling import ADASYN, SMOTE
from sklearn.neighbors import NearestNeighbors
from sklearn.preprocessing import StandardScaler

import seqknn
from seqknn.experiments._cli import _defaults, _parser
from seqknn.experiments._protocol import load_dataset, split


def samplers(seed):
    learned = {"V2VSLS": seqknn.V2VSLSSampler, "MNkNN_VEC": seqknn.MNkNNVecSampler}
    yield "SMOTE", SMOTE(random_state=seed)
    yield "ADASYN", ADASYN(random_state=seed)
    for generation in ("paper", "interpolate"):
        for name, cls in learned.items():
            sampler = cls(generation=generation, random_state=seed)
            yield f"{name} ({generation})", sampler


def foreign_seeds(sampler, X, y):
    """For each class c, the share of another class's samples among its seeds.

    With the paper's rule a synthetic sample of class c is a predicted vector
    labelled c, around a training sample of any class: the seeds are the
    candidates of the first generation pass, from which the synthetic samples
    are drawn uniformly.
    """
    labels = sampler.estimator_.predict_neighbors(X).labels
    shares = {}
    for c in np.unique(y):
        seeds, _ = np.nonzero(labels == c)
        shares[c] = np.mean(y[seeds] != c)
    return shares


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dataset", default="covtype")
    parser.add_argument("--covtype-path", default=None)
    parser.add_argument("--kdd-path", default=None)
    parser.add_argument("--max-samples", type=int, default=20000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    # The oversampling experiment's own settings, as its command line gives them.
    parser, _ = _parser()
    command = ["oversampling", "--max-samples", str(args.max_samples)]
    for name in ("covtype", "kdd"):
        path = getattr(args, f"{name}_path")
        command += [f"--{name}-path", path] if path else []
    config = _defaults(parser.parse_args(command))
    X, y, _ = load_dataset(args.dataset, config)
    (X, y), _, _ = split(X, y, args.seed)
    X = StandardScaler().fit_transform(X)
    n_real = len(y)
    real = NearestNeighbors(n_neighbors=5).fit(X)
    # Each real sample's 5 nearest other real samples (the first is itself).
    real_dist, nearest = real.kneighbors(X, 6)
    real_dist = real_dist[:, 1]
    print(f"{args.dataset}: {n_real} training rows, classes {np.bincount(y)}")
    print(
        "| sampler | class | synthetic | foreign 1-NN | foreign 5-NN "
        "| dist / real | foreign seeds |"
    )
    print("|---|---|---|---|---|---|---|")
    # The same figures for the real samples.
    for c in np.unique(y):
        labels = y[nearest[y == c, 1:]]
        cells = [
            "(real samples)",
            str(c),
            str(np.sum(y == c)),
            f"{np.mean(labels[:, 0] != c):.3f}",
            f"{np.mean((labels != c).sum(axis=1) >= 3):.3f}",
            "1.00",
            "-",
        ]
        print("| " + " | ".join(cells) + " |")
    for name, sampler in samplers(args.seed):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            X_res, y_res = sampler.fit_resample(X, y)
        new_X, new_y = X_res[n_real:], y_res[n_real:]
        dist, nearest = real.kneighbors(new_X)
        labels = y[nearest]
        seeds = foreign_seeds(sampler, X, y) if name.endswith("(paper)") else None
        for c in np.unique(new_y):
            rows = new_y == c
            foreign5 = (labels[rows] != c).sum(axis=1) >= 3
            cells = [
                name,
                str(c),
                str(rows.sum()),
                f"{np.mean(labels[rows, 0] != c):.3f}",
                f"{np.mean(foreign5):.3f}",
                f"{np.median(dist[rows, 0]) / np.median(real_dist[y == c]):.2f}",
                "-" if seeds is None else f"{seeds[c]:.3f}",
            ]
            print("| " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
