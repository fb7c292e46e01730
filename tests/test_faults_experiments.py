"""The experiments command's bad arguments and failed runs (issue 12, items 2, 10).

A bad argument is a one-line parser error, exit status 2, before any file is
touched; a run that fails at any point leaves the results a user already has.
"""

import os
import shutil

import pytest

from seqknn.experiments import _cli, _protocol, main

QUICK = ["classification", "--models", "kNN", "--quick", "--max-samples", "600"]
QUICK += ["--seeds", "2", "--no-figures", "--no-progress"]


def _files(folder):
    """Every file under ``folder`` and its bytes."""
    return {
        path.relative_to(folder): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


@pytest.fixture(scope="module")
def earlier(tmp_path_factory):
    """The output folder of a good run, to copy."""
    out = tmp_path_factory.mktemp("earlier") / "out"
    main([*QUICK, "--out", str(out)])
    return out


@pytest.fixture
def out(earlier, tmp_path):
    """A copy of a good run's output folder, and its files."""
    copy = shutil.copytree(earlier, tmp_path / "out")
    before = _files(copy)
    assert {p.name for p in before} == {"results.csv", "summary.md"}
    return copy, before


def _parser_error(capsys, *argv):
    """Run the command; return its one-line error (stderr: usage and the line)."""
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: python -m seqknn.experiments classification")
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert lines[-1].startswith("python -m seqknn.experiments classification: error: ")
    return lines[-1]


def test_bad_device_keeps_earlier_results(out, capsys):
    folder, before = out
    line = _parser_error(capsys, *QUICK, "--out", str(folder), "--device", "cdua")
    assert "argument --device: device='cdua' is not a valid torch device" in line
    assert _files(folder) == before


@pytest.mark.parametrize("device", ["mps", "cuda:0"])
def test_unusable_device_is_a_parser_error(device, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("torch.cuda.is_available", lambda: False)
    line = _parser_error(
        capsys, *QUICK, "--out", str(tmp_path / "o"), "--device", device
    )
    assert "argument --device: " in line
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("where", ["file", "under-file", "deep-under-file"])
def test_out_that_cannot_be_a_folder_writes_nothing(where, tmp_path, capsys):
    (tmp_path / "file").write_text("mine")
    target = {
        "file": tmp_path / "file",
        "under-file": tmp_path / "file" / "out",
        "deep-under-file": tmp_path / "file" / "a" / "b",
    }[where]
    line = _parser_error(capsys, *QUICK, "--out", str(target))
    assert "argument --out: " in line
    assert _files(tmp_path) == {(tmp_path / "file").relative_to(tmp_path): b"mine"}


@pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() == 0,
    reason="root writes into read-only folders",
)
def test_out_in_read_only_folder_writes_nothing(tmp_path, capsys):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        line = _parser_error(capsys, *QUICK, "--out", str(locked / "a" / "out"))
        assert "argument --out: cannot write to the folder" in line
        assert list(locked.iterdir()) == []
    finally:
        locked.chmod(0o700)


def test_out_is_checked_before_the_data_is_loaded(tmp_path, capsys, monkeypatch):
    def load(*args):
        raise AssertionError("the data was loaded before --out was checked")

    monkeypatch.setattr(_protocol, "load_dataset", load)
    (tmp_path / "file").write_text("mine")
    _parser_error(capsys, *QUICK, "--out", str(tmp_path / "file" / "out"))


@pytest.mark.parametrize(
    "args, message",
    [
        (["--seed", str(2**70)], "argument --seed: must be at most 4294967295"),
        # Every seed of the run must be one numpy takes, not only the first.
        (["--seed", str(2**32 - 1), "--seeds", "2"], "the last seed, 4294967296"),
        (["--n-jobs", str(2**31)], "argument --n-jobs: must be at most 2147483647"),
    ],
)
def test_out_of_range_numbers_are_parser_errors(args, message, tmp_path, capsys):
    line = _parser_error(capsys, *QUICK, "--out", str(tmp_path / "o"), *args)
    assert message in line
    assert list(tmp_path.iterdir()) == []


def test_run_failing_mid_way_keeps_earlier_results(out, monkeypatch, capsys):
    folder, before = out
    make_model = _protocol.make_model
    calls = []

    class Broken:
        def fit(self, X, y):
            raise RuntimeError("a fit failed")

    def second_fails(*args, **kwargs):
        calls.append(args)
        return Broken() if len(calls) == 2 else make_model(*args, **kwargs)

    monkeypatch.setattr(_protocol, "make_model", second_fails)
    with pytest.raises(RuntimeError, match="a fit failed"):
        # --overwrite: the same settings would take up the earlier rows.
        main([*QUICK, "--out", str(folder), "--overwrite"])
    after = _files(folder)
    assert {p: after[p] for p in before} == before
    # The row that finished is kept, under another name.
    (partial,) = set(after) - set(before)
    assert partial.name.startswith("results.partial-")
    assert after[partial].decode().count("\n") == 2
    assert str(partial) in capsys.readouterr().err


def test_run_failing_before_any_row_leaves_no_file(out, monkeypatch):
    folder, before = out

    def fails(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(_protocol, "make_model", fails)
    with pytest.raises(KeyboardInterrupt):
        main([*QUICK, "--out", str(folder), "--overwrite"])
    assert _files(folder) == before


def test_failing_figure_keeps_earlier_results(out, monkeypatch):
    folder, before = out

    def fails(*args):
        raise ImportError("no matplotlib")

    monkeypatch.setattr(_cli, "bar_figure", fails)
    argv = [a for a in QUICK if a != "--no-figures"]
    with pytest.raises(ImportError):
        main([*argv, "--out", str(folder), "--overwrite"])
    after = _files(folder)
    assert {p: after[p] for p in before} == before
    assert not any(p.suffix == ".png" for p in after)


def test_cuda_errors_are_not_taken_for_a_failed_sampler():
    import torch

    assert _protocol._is_cuda_error(torch.cuda.OutOfMemoryError("out of memory"))
    assert _protocol._is_cuda_error(
        RuntimeError("CUDA error: device-side assert triggered")
    )
    # ADASYN's way of saying it cannot resample this data is noted, not raised.
    assert not _protocol._is_cuda_error(
        RuntimeError("Not any neigbours belong to the majority class.")
    )
