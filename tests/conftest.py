import urllib.error
from pathlib import Path

import pytest

from seqknn.datasets import _home

SHARED_DATASETS = Path(__file__).resolve().parents[2] / "shared" / "datasets"


@pytest.fixture(scope="session")
def shared_datasets():
    """The folder with the paper's real data sets, beside the repository."""
    if not SHARED_DATASETS.is_dir():
        pytest.skip(f"{SHARED_DATASETS} is not available")
    return SHARED_DATASETS


@pytest.fixture
def offline(monkeypatch):
    """Downloads fail as they do offline; records the URLs asked for."""
    calls = []

    def urlopen(url, *args, **kwargs):
        calls.append(url)
        raise urllib.error.URLError("no network in tests")

    monkeypatch.setattr(_home, "urlopen", urlopen)
    return calls


def pytest_configure(config):
    # Tests run in parallel workers (pytest -n 2) on small networks: one thread
    # per worker avoids OpenMP threads of two workers spinning on the same cores.
    import torch

    torch.set_num_threads(1)
