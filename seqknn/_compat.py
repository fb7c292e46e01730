"""scikit-learn helpers that have no public form, imported in this one place.

Like imbalanced-learn's ``utils/_sklearn_compat.py``: if scikit-learn renames
or changes one of them, only this file changes.
"""

from sklearn.utils.validation import _check_sample_weight as check_sample_weight

__all__ = ["check_sample_weight"]
