"""Which torch device an estimator or a search runs on."""

import torch

from ._warnings import warn


def resolve_device(device, *, fallback=False):
    """``torch.device`` for the estimator's ``device`` parameter.

    ``"auto"`` is CUDA when a GPU is visible, else the CPU. With ``fallback``
    (prediction with a model fitted on a GPU, unpickled where there is none),
    a CUDA device that is not available gives a warning and the CPU instead of
    an error, as skorch does.
    """
    if isinstance(device, str) and device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(
            f"device={device!r} is not a valid torch device; use 'auto', 'cpu', "
            "'cuda' or 'cuda:N'."
        ) from exc
    if resolved.type not in ("cpu", "cuda"):
        raise ValueError(
            f"device={device!r} is a {resolved.type!r} device, which seqknn does "
            "not support; use 'auto', 'cpu', 'cuda' or 'cuda:N'."
        )
    if resolved.type != "cuda":
        return resolved
    if not torch.cuda.is_available():
        if fallback:
            warn(
                f"device={device!r} but no CUDA GPU is available to PyTorch "
                "here: computing on the CPU instead.",
            )
            return torch.device("cpu")
        raise ValueError(
            f"device={device!r} asks for CUDA but no CUDA GPU is available to "
            "PyTorch here; use device='auto' or device='cpu'."
        )
    if resolved.index is not None and resolved.index >= torch.cuda.device_count():
        raise ValueError(
            f"device={device!r} names GPU {resolved.index}, but PyTorch sees "
            f"{torch.cuda.device_count()} GPU(s), numbered from 0."
        )
    return resolved
