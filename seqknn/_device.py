"""Which torch device an estimator or a search runs on."""

import torch


def resolve_device(device):
    """``torch.device`` for the estimator's ``device`` parameter.

    ``"auto"`` is CUDA when a GPU is visible, else the CPU.
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
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            f"device={device!r} asks for CUDA but no CUDA GPU is available to "
            "PyTorch here; use device='auto' or device='cpu'."
        )
    return resolved
