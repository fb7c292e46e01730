"""Oversampling the credit-card data: SMOTE, ADASYN and the learned samplers.

Data: the default-of-credit-card-clients file in ``../shared/datasets`` (22%
defaults), ID column dropped. For each seed: a stratified 80/10/10 split; the
80% training part is standardised, resampled to balanced classes by each
sampler, and three classifiers are fitted on the result: a random forest,
scikit-learn's histogram gradient boosting (standing in for XGBoost, which
would add a 130 MB dependency to the benchmark) and an MLP. Scores are on the
10% test part (the validation part is not used): F1 of the minority class
(default) and macro-F1. The resampling is done once per seed and sampler and
shared by the three classifiers.

Run from the repository root::

    python benchmarks/bench_oversampling.py           # 5 seeds
    python benchmarks/bench_oversampling.py --seeds 1 --samplers none SMOTE

Prints a Markdown table: mean and standard deviation over the seeds of the
minority-class F1 and macro-F1 per sampler and classifier, and the mean
fit_resample time.
"""

import argparse
import time
import warnings

import numpy as np
from bench_classifiers import DEFAULT_DATA, load_credit, split
from imblearn.over_sampling import ADASYN, SMOTE
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import f1_score
from sklearn.neural_network import MLPClassifier
from sklearn.preprocessing import StandardScaler

from seqknn import MNkNNVecSampler, V2VSLSSampler


def samplers(seed):
    return {
        "none": None,
        "SMOTE": SMOTE(random_state=seed),
        "ADASYN": ADASYN(random_state=seed),
        "V2VSLS (paper)": V2VSLSSampler(random_state=seed),
        "V2VSLS (interpolate)": V2VSLSSampler(
            generation="interpolate", random_state=seed
        ),
        "MNkNN_VEC (paper)": MNkNNVecSampler(random_state=seed),
        "MNkNN_VEC (interpolate)": MNkNNVecSampler(
            generation="interpolate", random_state=seed
        ),
    }


def classifiers(seed):
    return {
        "RF": RandomForestClassifier(n_estimators=100, n_jobs=2, random_state=seed),
        "HGB": HistGradientBoostingClassifier(random_state=seed),
        "MLP": MLPClassifier((128, 128), early_stopping=True, random_state=seed),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=DEFAULT_DATA)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--samplers", nargs="*", default=None)
    args = parser.parse_args()
    warnings.filterwarnings("ignore", category=ConvergenceWarning)

    X, y = load_credit(args.data)
    scores, times = {}, {}
    for seed in range(args.seeds):
        X_train, y_train, X_test, y_test = split(X, y, seed)
        scaler = StandardScaler().fit(X_train)
        X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
        for s_name, sampler in samplers(seed).items():
            if args.samplers and s_name not in args.samplers:
                continue
            start = time.perf_counter()
            X_res, y_res = (
                (X_train, y_train)
                if sampler is None
                else sampler.fit_resample(X_train, y_train)
            )
            times.setdefault(s_name, []).append(time.perf_counter() - start)
            for c_name, clf in classifiers(seed).items():
                y_pred = clf.fit(X_res, y_res).predict(X_test)
                scores.setdefault((s_name, c_name), []).append(
                    (
                        f1_score(y_test, y_pred, pos_label=1),
                        f1_score(y_test, y_pred, average="macro"),
                    )
                )
                print(
                    f"seed {seed} {s_name:24s} {c_name:4s} minority-F1 "
                    f"{scores[s_name, c_name][-1][0]:.4f} macro-F1 "
                    f"{scores[s_name, c_name][-1][1]:.4f}",
                    flush=True,
                )

    print(
        "\n| sampler | classifier | minority F1 | macro-F1 | fit_resample (s) |"
        "\n|---|---|---|---|---|"
    )
    for (s_name, c_name), values in scores.items():
        v = np.array(values)
        print(
            f"| {s_name} | {c_name} | {v[:, 0].mean():.4f} ± {v[:, 0].std():.4f} "
            f"| {v[:, 1].mean():.4f} ± {v[:, 1].std():.4f} "
            f"| {np.mean(times[s_name]):.1f} |"
        )


if __name__ == "__main__":
    main()
