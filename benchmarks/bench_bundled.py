"""Accuracy at defaults on scikit-learn's iris and wine, as a new user tries them.

One stratified 75/25 split (seed 0); every seqknn classifier with only
``random_state=0``, next to a scaled kNN(5). A quick sanity check (about a
minute), not the benchmark: ``bench_suite.py`` judges the models across data.

    OMP_NUM_THREADS=1 python benchmarks/bench_bundled.py
"""

import warnings

from sklearn.datasets import load_iris, load_wine
from sklearn.model_selection import train_test_split
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import seqknn

warnings.simplefilter("ignore")
models = {
    "kNN": lambda: make_pipeline(StandardScaler(), KNeighborsClassifier()),
    **{
        name: (lambda cls=cls: cls(random_state=0))
        for name, cls in [
            ("V2VSLS", seqknn.V2VSLSClassifier),
            ("V2LS", seqknn.V2LSClassifier),
            ("V2VS", seqknn.V2VSClassifier),
            ("MNkNNVec", seqknn.MNkNNVecClassifier),
            ("MNkNN", seqknn.MNkNNClassifier),
            ("MemN2N", seqknn.MemN2NClassifier),
        ]
    },
}
for name, load in [("iris", load_iris), ("wine", load_wine)]:
    X, y = load(return_X_y=True)
    Xtr, Xte, ytr, yte = train_test_split(
        X, y, test_size=0.25, stratify=y, random_state=0
    )
    scores = {m: make().fit(Xtr, ytr).score(Xte, yte) for m, make in models.items()}
    print(name, ", ".join(f"{m} {s:.2f}" for m, s in scores.items()))
