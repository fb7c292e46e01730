"""scikit-learn helpers that have no public form, imported in this one place.

Like imbalanced-learn's ``utils/_sklearn_compat.py``: if scikit-learn renames
or changes one of them, only this file changes.
"""

from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import _check_sample_weight as check_sample_weight

__all__ = ["HasMethods", "Interval", "StrOptions", "check_sample_weight"]
