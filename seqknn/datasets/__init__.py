"""Loaders for the data sets of the paper."""

from ._covtype import load_covtype
from ._credit import load_credit_default
from ._home import get_data_home
from ._kddcup import load_kddcup99
from ._sensit import load_sensit

__all__ = [
    "get_data_home",
    "load_covtype",
    "load_credit_default",
    "load_kddcup99",
    "load_sensit",
]
