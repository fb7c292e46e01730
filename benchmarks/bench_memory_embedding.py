"""A memory network of the experiments at another ``embedding_size``, one seed.

The classification experiment (``python -m seqknn.experiments classification``)
fits the memory networks at ``embedding_size`` 32 and 64, below the
classifiers' default of 128. This fits one of them exactly as the experiment
does (same split, same settings, ``_models.make_model``) at the size given and
prints its validation and test macro-F1 (x100), fit time and epochs, to set
beside the experiment's rows. Run from the repository root::

    python benchmarks/bench_memory_embedding.py MNkNN 128 0 \\
        ../shared/datasets/covtype_first100k.data.gz

Arguments: the model (MNkNN, MNkNN_VEC or MemN2N), the embedding size, the
seed and the cover-type file.
"""

import sys
import time
import warnings

import torch
from sklearn.metrics import f1_score

from seqknn.experiments._cli import _defaults, _parser
from seqknn.experiments._models import make_model
from seqknn.experiments._protocol import load_dataset, split


def main(name, size, seed, path):
    torch.set_num_threads(1)
    # The classification experiment's own settings, as its command line gives.
    parser, _ = _parser()
    config = _defaults(parser.parse_args(["classification", "--covtype-path", path]))
    X, y, _ = load_dataset("covtype", config)
    (X_tr, y_tr), (X_val, y_val), (X_te, y_te) = split(X, y, seed)
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = make_model(name, {"embedding_size": size}, seed, config)
        model.fit(X_tr, y_tr)
    fit = time.perf_counter() - started
    val = f1_score(y_val, model.predict(X_val), average="macro") * 100
    test = f1_score(y_te, model.predict(X_te), average="macro") * 100
    print(
        f"{name} {size} {seed} val {val:.2f} test {test:.2f} fit {fit:.0f}s "
        f"epochs {model.n_iter_}"
    )


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4])
