"""The data set shipped with the package."""

import gzip

import numpy as np
import pytest

from seqknn.datasets import load_credit_default


def test_credit_default_matches_the_shared_copy(shared_datasets):
    bunch = load_credit_default()
    raw = np.loadtxt(
        gzip.open(shared_datasets / "UCI_Credit_Card.csv.gz", "rt"),
        delimiter=",",
        skiprows=1,
    )
    np.testing.assert_array_equal(bunch.data, raw[:, 1:-1])
    np.testing.assert_array_equal(bunch.target, raw[:, -1])


def test_credit_default_shape_and_metadata():
    bunch = load_credit_default()
    assert bunch.data.shape == (30000, 23)
    assert bunch.target.dtype == np.int64
    assert set(np.unique(bunch.target)) == {0, 1}
    assert bunch.target.sum() == 6636
    assert bunch.feature_names[0] == "LIMIT_BAL" and "ID" not in bunch.feature_names
    assert "Yeh" in bunch.DESCR and "CC BY 4.0" in bunch.DESCR


def test_credit_default_as_frame():
    pytest.importorskip("pandas")
    bunch = load_credit_default(as_frame=True)
    assert bunch.frame.shape == (30000, 24)
    X, y = load_credit_default(return_X_y=True, as_frame=True)
    assert list(X.columns) == bunch.feature_names
    assert y.name == "default.payment.next.month"
