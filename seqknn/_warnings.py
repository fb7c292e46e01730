"""Warnings that point at the user's code, not at seqknn's internals."""

import os
import sys
import warnings

_PACKAGE = os.path.dirname(os.path.abspath(__file__)) + os.sep


def warn(message, category=UserWarning):
    """``warnings.warn`` attributed to the first caller outside seqknn.

    A fixed ``stacklevel`` is wrong for a warning raised at different depths
    (``fit``, ``partial_fit``, a sampler's ``fit_resample``); this walks the
    stack instead, as Python 3.12's ``skip_file_prefixes`` does.
    """
    frame, level = sys._getframe(1), 2
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, category, stacklevel=level)
