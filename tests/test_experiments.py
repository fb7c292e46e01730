"""The experiments command: protocol, statistics, outputs and reproducibility."""

import csv
import json
import subprocess
import sys
from argparse import Namespace

import numpy as np
import pytest
from scipy import stats
from sklearn.metrics import f1_score
from sklearn.neighbors import KNeighborsClassifier
from sklearn.preprocessing import StandardScaler

import seqknn
from seqknn.datasets import load_credit_default
from seqknn.experiments import _models, main
from seqknn.experiments._cli import EXPERIMENTS
from seqknn.experiments._protocol import load_dataset, score, select, split
from seqknn.experiments._report import beside_paper_oversampling, summary
from seqknn.experiments._stats import paired_ttest

TIMES = {"fit_s", "predict_s", "neighbors_s", "training_s", "resample_s"}


class _NoProgress:
    def update(self, n=1):
        pass


def _config(**kwargs):
    defaults = dict(quick=False, max_epochs=2, device="cpu", n_jobs=1, seed=0)
    defaults |= dict(max_samples=None, data_home=None)
    return Namespace(**(defaults | kwargs))


def _run(tmp_path, *args):
    out = tmp_path / "out"
    main([*args, "--quick", "--max-samples", "600", "--out", str(out)])
    with open(out / "results.csv", newline="") as file:
        return out, list(csv.DictReader(file))


def _scores(rows, drop=()):
    drop = TIMES | set(drop)
    return [{k: v for k, v in row.items() if k not in drop} for row in rows]


@pytest.fixture(scope="module")
def credit():
    X, y = load_credit_default(return_X_y=True)
    return X[:1500], y[:1500]


def test_split_is_stratified_80_10_10_and_seeded(credit):
    _, y = credit
    index = np.arange(len(y))[:, None]
    train, val, test = split(index, y, seed=3)
    assert [len(part[1]) for part in (train, val, test)] == [1200, 150, 150]
    parts = np.concatenate([part[0][:, 0] for part in (train, val, test)])
    np.testing.assert_array_equal(np.sort(parts), np.arange(len(y)))
    for part in (train, val, test):
        np.testing.assert_array_equal(part[1], y[part[0][:, 0]])
        assert abs(part[1].mean() - y.mean()) < 0.01
    np.testing.assert_array_equal(split(index, y, seed=3)[2][0], test[0])
    assert not np.array_equal(split(index, y, seed=4)[2][0], test[0])


def test_select_keeps_the_grid_point_best_on_validation(credit):
    train, val, test = split(*credit, seed=0)
    model, params, val_f1, _ = select("kNN", 0, _config(), train, val, _NoProgress())
    scores = []
    for point in _models.MODELS["kNN"].grid:
        knn = _models.make_model("kNN", point, 0, _config()).fit(*train)
        scores.append(f1_score(val[1], knn.predict(val[0]), average="macro"))
    assert val_f1 == max(scores)
    assert params == _models.MODELS["kNN"].grid[int(np.argmax(scores))]
    assert model[-1].n_neighbors == params["n_neighbors"]


def test_quick_keeps_the_first_grid_point(credit):
    train, val, _ = split(*credit, seed=0)
    _, params, _, _ = select("kNN", 0, _config(quick=True), train, val, _NoProgress())
    assert params == _models.MODELS["kNN"].grid[0]


def test_paired_ttest_matches_scipy_and_gives_verdicts():
    a, b = [0.80, 0.83, 0.79, 0.81], [0.70, 0.74, 0.72, 0.69]
    diff, p, verdict = paired_ttest(a, b)
    assert diff == pytest.approx(np.mean(np.subtract(a, b)))
    assert p == pytest.approx(stats.ttest_rel(a, b).pvalue)
    assert verdict == "better"
    assert paired_ttest(b, a)[2] == "worse"
    assert paired_ttest([0.5, 0.6], [0.55, 0.52])[2] == "same"
    # One seed: nothing to test.
    assert paired_ttest([0.8], [0.7])[1:] == (pytest.approx(np.nan, nan_ok=True), "n/a")
    # No variance: the test's limit.
    assert paired_ttest([0.8, 0.9], [0.7, 0.8])[1:] == (0.0, "better")
    assert paired_ttest([0.8, 0.9], [0.8, 0.9]) == (0.0, 1.0, "same")


def test_summary_tests_against_baseline_and_best_benchmark():
    test = {"kNN": [0.60, 0.62, 0.61], "RF": [0.70, 0.73, 0.71]}
    test["V2VSLS"] = [0.75, 0.80, 0.77]
    # kNN is the best benchmark on validation, although RF is on test.
    val = {"kNN": 0.9, "RF": 0.5, "V2VSLS": 0.5}
    rows = [
        {"dataset": "d", "seed": seed, "model": model, "params": "{}"}
        | {"f1_macro": f1, "f1_weighted": f1, "val_f1_macro": val[model]}
        | dict.fromkeys(["neighbors_s", "training_s", "predict_s", "epochs"], 1.0)
        for model, scores in test.items()
        for seed, f1 in enumerate(scores)
    ]
    spec = EXPERIMENTS["classification"]
    lines = {line["model"]: line for line in summary(rows, spec, ["kNN", "RF"])}
    assert lines["kNN"]["vs kNN"] == lines["kNN"]["vs best benchmark"] == "-"
    expected = paired_ttest(test["V2VSLS"], test["kNN"])
    assert expected[2] == "better"
    assert lines["V2VSLS"]["vs kNN"] == (
        f"{expected[0]:+.4f} (p={expected[1]:.3f}, {expected[2]})"
    )
    assert lines["V2VSLS"]["vs best benchmark"] == "kNN: " + lines["V2VSLS"]["vs kNN"]
    assert lines["RF"]["vs best benchmark"].startswith("kNN: +0.1033")
    mean, std = np.mean(test["V2VSLS"]), np.std(test["V2VSLS"], ddof=1)
    assert lines["V2VSLS"]["macro-F1"] == f"{mean:.4f} ± {std:.4f}"
    assert lines["V2VSLS"]["seeds"] == 3
    # "d" is none of the paper's data sets.
    assert lines["V2VSLS"]["paper F-1"] == "-"


def test_summary_puts_the_papers_scores_beside_ours():
    rows = [
        {"dataset": dataset, "seed": 0, "model": model, "params": "{}"}
        | {"f1_macro": 0.5, "f1_weighted": 0.5, "val_f1_macro": 0.5}
        | dict.fromkeys(["neighbors_s", "training_s", "predict_s", "epochs"], 1.0)
        for dataset in ("credit", "covtype")
        for model in ("kNN", "RF", "V2VSLS")
    ]
    lines = summary(rows, EXPERIMENTS["classification"], ["kNN", "RF"])
    paper = {(line["dataset"], line["model"]): line["paper F-1"] for line in lines}
    # Table 2 of the paper: V2VSLS 69.87 on CCD and 94.97 on COV; no RF there.
    assert paper[("credit", "V2VSLS")] == "0.6987"
    assert paper[("covtype", "V2VSLS")] == "0.9497"
    assert paper[("credit", "kNN")] == "0.6381"
    assert paper[("credit", "RF")] == "-"
    # Table 3 is on SensIT only.
    rows = [r | {"targets": "full"} for r in rows]
    lines = summary(rows, EXPERIMENTS["out-of-core"])
    assert {line["paper F-1"] for line in lines} == {"-"}
    sensit = [r | {"dataset": "sensit", "targets": "out-of-core"} for r in rows]
    lines = summary(sensit, EXPERIMENTS["out-of-core"])
    assert {line["model"]: line["paper F-1"] for line in lines}["V2VSLS"] == "0.8338"


def test_oversampling_best_pair_is_chosen_on_validation_beside_the_papers():
    # (classifier, sampler): (validation, test) macro-F1 of two seeds.
    scores = {
        ("RF", "none"): ([0.60, 0.62], [0.60, 0.60]),
        ("RF", "SMOTE"): ([0.64, 0.64], [0.70, 0.72]),
        ("FFN", "ADASYN"): ([0.63, 0.63], [0.64, 0.66]),
        ("RF", "V2VSLS"): ([0.66, 0.66], [0.66, 0.68]),
    }
    rows = [
        {"dataset": "credit", "seed": seed, "classifier": c, "sampler": s}
        | {"val_f1_macro": val[seed], "f1_macro": test[seed]}
        for (c, s), (val, test) in scores.items()
        for seed in (0, 1)
    ]
    (line,) = beside_paper_oversampling(rows)
    # The paper's CCD line of Table 5.
    assert line["paper: best"] == "RF+V2VSLS" and line["paper F-1"] == "68.08"
    assert line["paper: lead over SMOTE / ADASYN"] == "+2.28 / +1.4"
    # Chosen on validation (RF+V2VSLS), although RF+SMOTE is better on test.
    assert line["here: best (on validation)"] == "RF+V2VSLS"
    assert line["test macro-F1"] == "67.00"
    assert line["lead over SMOTE / ADASYN"] == "-4.00 / +2.00"
    assert line["here: best with V2VSLS"] == "RF+V2VSLS: 67.00"
    rows = [r for r in rows if r["sampler"] != "V2VSLS"]
    (line,) = beside_paper_oversampling(rows)
    assert line["here: best (on validation)"] == "RF+SMOTE"
    assert line["lead over SMOTE / ADASYN"] == "+0.00 / +6.00"
    assert line["here: best with V2VSLS"] == "-"


def test_classification_writes_results_table_and_figure(tmp_path):
    out, rows = _run(tmp_path, "classification", "--models", "kNN", "V2LS")
    assert [(r["seed"], r["model"]) for r in rows] == [
        ("0", "kNN"),
        ("0", "V2LS"),
        ("1", "kNN"),
        ("1", "V2LS"),
    ]
    for row in rows:
        assert int(row["n_train"]) == 480 and int(row["n_test"]) == 60
        assert json.loads(row["params"]) == _models.MODELS[row["model"]].grid[0]
    # The kNN row of seed 1, recomputed: the same subsample, split and model.
    config = _config(quick=True, max_samples=600)
    X, y, n_total = load_dataset("credit", config)
    assert (len(y), n_total) == (600, 30_000)
    train, _, test = split(X, y, seed=1)
    knn = _models.make_model("kNN", {"n_neighbors": 5}, 1, config).fit(*train)
    assert float(rows[2]["f1_macro"]) == pytest.approx(
        f1_score(test[1], knn.predict(test[0]), average="macro")
    )
    v2ls = [r for r in rows if r["model"] == "V2LS"]
    assert all(float(r["neighbors_s"]) > 0 and float(r["training_s"]) > 0 for r in v2ls)
    assert all(int(r["epochs"]) <= 5 for r in v2ls)
    assert all(r["epochs"] == "nan" for r in rows if r["model"] == "kNN")
    text = (out / "summary.md").read_text()
    assert "| dataset | model | macro-F1 | weighted F1 | paper F-1 | vs kNN |" in text
    # The paper's Table 2 beside kNN's row on the credit-card data.
    (knn_line,) = [line for line in text.splitlines() if "| credit | kNN |" in line]
    assert knn_line.split(" | ")[4] == "0.6381"
    assert "python -m seqknn.experiments classification" in text
    # A network's neighbours time may be a read from the target cache.
    assert "read from the cache by the others" in text
    assert (out / "classification.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_runs_are_reproducible_from_the_seed(tmp_path):
    args = ["classification", "--models", "MNkNN", "--seeds", "1", "--no-figures"]
    _, first = _run(tmp_path / "a", *args, "--seed", "7")
    _, again = _run(tmp_path / "b", *args, "--seed", "7")
    _, other = _run(tmp_path / "c", *args, "--seed", "8")
    assert _scores(first) == _scores(again)
    assert first[0]["seed"] == "7" and other[0]["seed"] == "8"
    assert _scores(first, ["seed"]) != _scores(other, ["seed"])


def test_v2vs_votes_as_the_paper_in_the_experiments():
    # The classifier's default ranks the decoder steps; Table 2 is the paper's.
    assert seqknn.V2VSClassifier().vote == "ranked"
    model = _models.make_model("V2VS", {"hidden_size": 64}, 5, _config())
    assert (model.vote, model.hidden_size) == ("majority", 64)


def test_out_of_core_gives_networks_and_knn_algorithm_1_neighbours(credit):
    model = _models.make_model("V2LS", {}, 5, _config(), targets="out-of-core")
    assert isinstance(model.neighbors, seqknn.OutOfCoreNeighbors)
    assert (model.neighbors.n_batches, model.neighbors.samples_per_batch) == (50, 64)
    assert model.neighbors.random_state == 5
    assert _models.make_model("V2LS", {}, 5, _config()).neighbors == "exact"
    # kNN among R x B >= n random samples is exact kNN.
    X, y = credit
    knn = _models.make_model("kNN", {"n_neighbors": 5}, 0, _config(), "out-of-core")
    scaler = StandardScaler().fit(X[:1000])
    exact = KNeighborsClassifier(5).fit(scaler.transform(X[:1000]), y[:1000])
    np.testing.assert_array_equal(
        knn.fit(X[:1000], y[:1000]).predict(X[1000:]),
        exact.predict(scaler.transform(X[1000:])),
    )


def test_out_of_core_command_compares_targets(tmp_path):
    out, rows = _run(
        tmp_path, "out-of-core", "--models", "kNN", "--seeds", "2", "--no-figures"
    )
    assert [(r["model"], r["targets"]) for r in rows[:2]] == [
        ("kNN", "full"),
        ("kNN", "out-of-core"),
    ]
    text = (out / "summary.md").read_text()
    assert "| dataset | model | targets |" in text and "vs full" in text
    # 480 training samples <= R x B: the neighbours are exact, and the report
    # says so.
    assert "out-of-core neighbours are exact" in text
    assert "read from the cache" not in text  # kNN only: no training targets
    full, ooc = rows[0::2], rows[1::2]
    assert [r["f1_macro"] for r in full] == [r["f1_macro"] for r in ooc]


def test_oversampling_balances_training_part_and_draws_tsne(tmp_path):
    out, rows = _run(
        tmp_path,
        "oversampling",
        "--samplers",
        "none",
        "SMOTE",
        "ADASYN",
        "V2VSLS",
        "--classifiers",
        "kNN",
        "--seeds",
        "1",
    )
    sizes = {r["sampler"]: int(r["n_train"]) for r in rows}
    n_major = round(480 * (1 - load_credit_default().target.mean()))
    assert sizes["none"] == 480
    assert sizes["SMOTE"] == sizes["V2VSLS"] == pytest.approx(2 * n_major, abs=2)
    assert sizes["ADASYN"] == pytest.approx(2 * n_major, rel=0.05)
    text = (out / "summary.md").read_text()
    assert "| dataset | classifier | sampler |" in text and "vs none" in text
    assert "SMOTE: " in text or "ADASYN: " in text  # the best benchmark sampler
    assert "The paper's Table 5 beside this run" in text
    assert "| credit (CCD) | RF+V2VSLS | 68.08 | +2.28 / +1.4 | kNN+" in text
    for name in ("oversampling.png", "tsne.png"):
        assert (out / name).read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize("name", ["XGBoost", "LightGBM"])
def test_boosting_benchmarks(name, credit):
    pytest.importorskip(_models.MODELS[name].requires)
    X, y = credit
    model = _models.make_model(name, _models.MODELS[name].grid[0], 0, _config())
    model.fit(X[:1000], y[:1000])
    assert model.n_estimators == 200 and model.random_state == 0
    result = score((model, {}, 0.0, 0.0), (X, y), (X[1000:], y[1000:]), name)
    assert result["f1_macro"] > 0.5
    # Boosting rounds (LightGBM's n_iter_) are not reported as epochs.
    assert np.isnan(result["epochs"]) and np.isnan(result["neighbors_s"])


def test_missing_optional_model_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setitem(
        _models.MODELS,
        "XGBoost",
        _models.Model("XGBoost", None, requires="no_such_module_xyz"),
    )
    with pytest.raises(SystemExit, match="pip install no_such_module_xyz"):
        main(["classification", "--models", "XGBoost", "--out", str(tmp_path)])


def test_no_sampler_but_none_writes_no_tsne(tmp_path):
    out, rows = _run(
        tmp_path, "oversampling", "--samplers", "none", "--classifiers", "kNN"
    )
    assert len(rows) == 2 and (out / "summary.md").exists()
    assert not (out / "tsne.png").exists()


@pytest.mark.parametrize(
    "args, message",
    [
        (["--seeds", "0"], None),
        (["--max-samples", "0"], None),
        (["--max-samples", "5"], "too few for a stratified 80/10/10 split"),
        (["--datasets", "kdd", "--kdd-path", "no/such/file.gz"], "no/such/file.gz"),
    ],
)
def test_bad_arguments_are_clear_errors(args, message, tmp_path, capsys):
    with pytest.raises(SystemExit) as error:
        main(["classification", "--quick", "--out", str(tmp_path / "out"), *args])
    if message is None:  # argparse: usage and the reason on stderr
        assert "must be at least" in capsys.readouterr().err
    else:
        assert message in str(error.value)
    # Nothing ran, so nothing was written.
    assert not (tmp_path / "out").exists()


def test_module_runs_as_a_command():
    result = subprocess.run(
        [sys.executable, "-m", "seqknn.experiments", "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    for command in ("classification", "out-of-core", "oversampling"):
        assert command in result.stdout
