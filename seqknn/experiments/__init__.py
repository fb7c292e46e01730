"""The paper's experiments: ``python -m seqknn.experiments`` (``seqknn-experiments``).

Three sub-commands reproduce Xu & Klabjan's experiments with seqknn's models on
the paper's data sets (see :mod:`seqknn.datasets`):

- ``classification``: every model against the benchmarks (Table 2, Figure 2);
- ``out-of-core``: exact against Algorithm-1 neighbour targets (Table 3,
  Figure 3);
- ``oversampling``: classifiers trained on data oversampled by SMOTE, ADASYN
  and the learned samplers (Table 5, Figure 4, and the t-SNE of Figure 5).

The protocol is the paper's: a stratified 80/10/10 train/validation/test split
per seed, each model's hyperparameters chosen on the validation part from a
small grid, macro- and weighted F1 on the test part, and paired t-tests at the
5% level against kNN (or no resampling, or exact targets) and against the best
benchmark. Every run writes ``results.csv``, ``summary.md`` and PNG figures
(``pip install 'seqknn[experiments]'`` installs matplotlib, XGBoost and
LightGBM). A run continues where one with the same settings and output folder
stopped; ``report`` rebuilds ``summary.md`` and the figures from
``results.csv``.
"""

from ._cli import main

__all__ = ["main"]
