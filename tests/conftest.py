from pathlib import Path

import pytest

SHARED_DATASETS = Path(__file__).resolve().parents[2] / "shared" / "datasets"


@pytest.fixture(scope="session")
def shared_datasets():
    """The folder with the paper's real data sets, beside the repository."""
    if not SHARED_DATASETS.is_dir():
        pytest.skip(f"{SHARED_DATASETS} is not available")
    return SHARED_DATASETS


def pytest_configure(config):
    # Tests run in parallel workers (pytest -n 2) on small networks: one thread
    # per worker avoids OpenMP threads of two workers spinning on the same cores.
    import torch

    torch.set_num_threads(1)
