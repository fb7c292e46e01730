"""What every loader returns: a Bunch, ``(X, y)``, or either as pandas objects."""

from importlib import resources

from sklearn.utils import Bunch


def dataset(
    data,
    target,
    *,
    feature_names,
    target_names,
    descr,
    loader,
    return_X_y,
    as_frame,
    target_column="target",
):
    """The loaders' return value, like scikit-learn's ``fetch_*`` functions.

    Parameters
    ----------
    data, target : ndarray
        Features and targets.
    feature_names : list of str
    target_names : ndarray
    descr : str
        File name of the description in ``seqknn/datasets/descr``.
    loader : str
        The loader's name, for the error message when pandas is missing.
    return_X_y, as_frame : bool
        The loader's arguments.
    target_column : str, default="target"
        Name of the target column of the frame.
    """
    frame = None
    if as_frame:
        try:
            import pandas as pd
        except ImportError as exc:
            raise ImportError(
                f"{loader}(as_frame=True) needs pandas, which is not installed. "
                "Install it with: pip install pandas"
            ) from exc

        frame = pd.DataFrame(data, columns=feature_names)
        frame[target_column] = target
        data, target = frame[feature_names], frame[target_column]
    if return_X_y:
        return data, target
    text = resources.files("seqknn.datasets") / "descr" / descr
    return Bunch(
        data=data,
        target=target,
        frame=frame,
        feature_names=feature_names,
        target_names=target_names,
        DESCR=text.read_text(encoding="utf-8"),
    )
