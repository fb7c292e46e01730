"""Loaders for the data sets of the paper."""

from ._credit import load_credit_default

__all__ = ["load_credit_default"]
