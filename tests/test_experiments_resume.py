"""Runs that survive interruption, and ``report`` (issue 14, section 2).

A run with the same ``--out`` and settings continues where one stopped: the
rows already there are kept, not computed again; other settings are refused;
``--overwrite`` starts afresh; ``report`` rebuilds summary.md and the figures
from results.csv alone.
"""

import csv
import shutil
from types import SimpleNamespace

import pytest

from seqknn.experiments import _cli, _protocol, main

ARGS = ["classification", "--models", "kNN", "RF", "--quick", "--max-samples"]
ARGS += ["600", "--seeds", "2", "--no-figures", "--no-progress"]
TIMES = {"fit_s", "predict_s", "neighbors_s", "training_s", "resample_s"}


def _rows(out):
    with open(out / "results.csv", newline="") as file:
        return list(csv.DictReader(file))


def _scores(rows):
    return [{k: v for k, v in row.items() if k not in TIMES} for row in rows]


def _files(folder):
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def _partials(folder):
    return sorted(folder.glob("results.partial-*.csv"))


class _Interrupted:
    def fit(self, X, y):
        raise KeyboardInterrupt


@pytest.fixture
def fits(monkeypatch):
    """Counts the fits; the fit numbered ``fits.interrupt`` is a Ctrl-C."""
    counter = SimpleNamespace(n=0, interrupt=None)
    make_model = _protocol.make_model

    def counted(*args, **kwargs):
        counter.n += 1
        if counter.n == counter.interrupt:
            return _Interrupted()
        return make_model(*args, **kwargs)

    monkeypatch.setattr(_protocol, "make_model", counted)
    return counter


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    """The output folder of a run that was not interrupted, and its rows."""
    out = tmp_path_factory.mktemp("clean") / "out"
    main([*ARGS, "--out", str(out)])
    return out, _rows(out)


@pytest.fixture
def copy(clean, tmp_path):
    return shutil.copytree(clean[0], tmp_path / "out")


def _interrupted(out, fits, at, capsys, argv=ARGS):
    fits.n, fits.interrupt = 0, at
    with pytest.raises(KeyboardInterrupt):
        main([*argv, "--out", str(out)])
    fits.n, fits.interrupt = 0, None
    return capsys.readouterr().err


def test_interrupted_run_continues_where_it_stopped(clean, fits, tmp_path, capsys):
    out = tmp_path / "out"
    # Ctrl-C at the third fit of four: two rows are done.
    err = _interrupted(out, fits, 3, capsys)
    (partial,) = _partials(out)
    assert set(_files(out)) == {partial.name}  # no results.csv, no summary.md
    assert f"its 2 finished rows are in {partial}" in err
    # Interrupted again, at the first fit it makes: the rows stay.
    _interrupted(out, fits, 1, capsys)
    assert _partials(out) == [partial]
    # Once more, after one more row.
    _interrupted(out, fits, 2, capsys)
    assert len(_partials(out)) == 2

    main([*ARGS, "--out", str(out)])
    assert fits.n == 1  # only the fourth row
    assert "3 of 4 rows are done" in capsys.readouterr().err
    assert _scores(_rows(out)) == _scores(clean[1])
    # The rows of the interrupted runs are in results.csv now.
    assert set(_files(out)) == {"results.csv", "summary.md"}


def test_row_cut_short_by_a_crash_is_computed_again(clean, fits, tmp_path, capsys):
    out = tmp_path / "out"
    _interrupted(out, fits, 3, capsys)
    (partial,) = _partials(out)
    text = partial.read_bytes()
    # A crash while the second row was written: half of it reached the disk.
    last = text.rstrip(b"\r\n").rfind(b"\n") + 1
    partial.write_bytes(text[: last + (len(text) - last) // 2])

    main([*ARGS, "--out", str(out)])
    assert fits.n == 3
    assert "cut short" in capsys.readouterr().err
    assert _scores(_rows(out)) == _scores(clean[1])


def test_rerun_of_a_complete_run_computes_nothing(copy, fits):
    before = _files(copy)
    main([*ARGS, "--out", str(copy)])
    assert fits.n == 0
    # The same rows, in the same order, and the same summary.
    assert _files(copy) == before


def test_more_seeds_computes_only_the_new_ones(clean, copy, fits):
    main([*["3" if a == "2" else a for a in ARGS], "--out", str(copy)])
    assert fits.n == 2  # kNN and RF on seed 2
    rows = _rows(copy)
    assert rows[:4] == clean[1] and [r["seed"] for r in rows[4:]] == ["2", "2"]
    assert "--seeds 3" in (copy / "summary.md").read_text()


@pytest.mark.parametrize(
    "old, new, message",
    [
        ("600", ["700"], "--max-samples: 600 there, 700 here"),
        # The same defaults, but every grid point.
        ("--quick", ["--max-epochs", "5"], "--quick: on there, off here"),
    ],
)
def test_other_settings_are_refused(copy, fits, capsys, old, new, message):
    before = _files(copy)
    argv = [b for a in ARGS for b in (new if a == old else [a])]
    with pytest.raises(SystemExit) as exit_:
        main([*argv, "--out", str(copy)])
    assert exit_.value.code == 2
    line = capsys.readouterr().err.strip().splitlines()[-1]
    assert line.startswith("python -m seqknn.experiments classification: error: ")
    assert message in line and "pass --overwrite" in line
    assert fits.n == 0 and _files(copy) == before


def _key(row):
    return row["model"], row["seed"]


@pytest.mark.parametrize(
    "argv",
    [
        [a for a in ARGS if a != "RF"],  # one model of the two
        [*ARGS, "--seed", "1", "--seeds", "1"],  # seed 1 only (the last wins)
    ],
)
def test_rows_this_run_does_not_name_are_kept(clean, copy, fits, capsys, argv):
    main([*argv, "--out", str(copy)])
    assert fits.n == 0
    assert "Keeping the 2 rows" in capsys.readouterr().err
    rows = _rows(copy)
    assert sorted(map(_key, rows)) == sorted(map(_key, clean[1]))
    assert sorted(_scores(rows), key=_key) == sorted(_scores(clean[1]), key=_key)
    summary = (copy / "summary.md").read_text()
    assert "| RF |" in summary and "--seeds 2" in summary


def test_rows_of_an_interrupted_run_of_another_model_are_kept(
    clean, fits, tmp_path, capsys
):
    out = tmp_path / "out"
    _interrupted(out, fits, 3, capsys)  # seed 0's kNN and RF are done
    main([*[a for a in ARGS if a != "RF"], "--out", str(out)])
    assert fits.n == 1  # kNN on seed 1
    rows = _rows(out)
    assert [_key(r) for r in rows] == [("kNN", "0"), ("kNN", "1"), ("RF", "0")]
    expected = {_key(r): r for r in _scores(clean[1])}
    assert _scores(rows) == [expected[_key(r)] for r in rows]
    assert _partials(out) == []


def test_rows_of_an_interrupted_run_with_other_settings_are_refused(
    fits, tmp_path, capsys
):
    out = tmp_path / "out"
    _interrupted(out, fits, 2, capsys)
    before = _files(out)
    argv = ["700" if a == "600" else a for a in ARGS]
    with pytest.raises(SystemExit):
        main([*argv, "--out", str(out)])
    assert "results.partial-" in capsys.readouterr().err
    assert _files(out) == before


def test_results_without_settings_are_refused(copy, capsys):
    # results.csv of an earlier seqknn: no config column.
    rows = _rows(copy)
    with open(copy / "results.csv", "w", newline="") as file:
        writer = csv.DictWriter(file, _cli.FIELDS[:18])
        writer.writeheader()
        writer.writerows({k: row[k] for k in _cli.FIELDS[:18]} for row in rows)
    with pytest.raises(SystemExit):
        main([*ARGS, "--out", str(copy)])
    assert "does not say which settings" in capsys.readouterr().err


def test_overwrite_recomputes_and_replaces(clean, copy, fits, capsys):
    argv = ["700" if a == "600" else a for a in ARGS]
    # An interrupted run's rows with other settings, replaced too.
    (copy / "results.partial-0000.csv").write_text("dataset\r\n")
    main([*argv, "--out", str(copy), "--overwrite"])
    assert fits.n == 4
    rows = _rows(copy)
    assert [r["n_train"] for r in rows] == ["560"] * 4
    assert set(_files(copy)) == {"results.csv", "summary.md"}
    main([*argv, "--out", str(copy), "--overwrite"])
    assert fits.n == 8
    assert _scores(_rows(copy)) == _scores(rows)


def test_report_rebuilds_the_summary_without_data_or_fits(copy, fits, monkeypatch):
    def load(*args):
        raise AssertionError("report loaded the data")

    monkeypatch.setattr(_protocol, "load_dataset", load)
    before = (copy / "summary.md").read_text()
    (copy / "summary.md").unlink()
    main(["report", "--out", str(copy), "--no-figures"])
    assert (copy / "summary.md").read_text() == before
    main(["report", "--out", str(copy)])
    text = (copy / "summary.md").read_text()
    assert text == before + "\n![Table 2 and Figure 2](classification.png)\n"
    assert (copy / "classification.png").read_bytes()[:4] == b"\x89PNG"
    assert fits.n == 0


@pytest.mark.parametrize("content", [None, "header", "partial"])
def test_report_without_rows_is_a_parser_error(content, copy, fits, capsys):
    results = copy / "results.csv"
    if content is None:
        results.unlink()
    elif content == "header":
        results.write_text(",".join(_cli.FIELDS) + "\r\n")
    else:
        results.rename(copy / "results.partial-0000.csv")
    before = _files(copy)
    with pytest.raises(SystemExit) as exit_:
        main(["report", "--out", str(copy)])
    assert exit_.value.code == 2
    line = capsys.readouterr().err.strip().splitlines()[-1]
    assert line.startswith("python -m seqknn.experiments report: error: argument")
    expected = {
        None: "there is no results.csv",
        "header": "has no rows",
        "partial": "the rows of an interrupted run are in",
    }
    assert expected[content] in line
    assert _files(copy) == before


def test_oversampling_resumes_with_its_tsne_figure(fits, tmp_path, capsys):
    out = tmp_path / "out"
    argv = ["oversampling", "--samplers", "none", "SMOTE", "--classifiers", "kNN"]
    argv += ["--quick", "--max-samples", "600", "--seeds", "1", "--no-progress"]
    _interrupted(out, fits, 2, capsys, argv)  # the SMOTE row is missing
    main([*argv, "--out", str(out)])
    assert fits.n == 1
    summary = (out / "summary.md").read_text()
    assert "(tsne.png)" in summary and (out / "tsne.png").exists()
    # report keeps the t-SNE figure, which needs the data.
    tsne = (out / "tsne.png").read_bytes()
    main(["report", "--out", str(out)])
    assert (out / "summary.md").read_text() == summary
    assert (out / "tsne.png").read_bytes() == tsne
    # A run without figures removes those of the earlier run.
    main([*argv, "--out", str(out), "--no-figures"])
    assert not (out / "tsne.png").exists() and fits.n == 1
