"""Loaders for the data sets of the paper."""

from ._credit import load_credit_default
from ._home import get_data_home
from ._kddcup import load_kddcup99

__all__ = ["get_data_home", "load_credit_default", "load_kddcup99"]
