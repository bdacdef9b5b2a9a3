"""Shared fixtures: the real datasets of ``../shared/data`` (skipped when absent), one torch thread."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


def _shared_data_dir() -> Path | None:
    env = os.environ.get("BUTTERFLYVI_SHARED_DATA")
    candidates = [Path(env)] if env else []
    candidates.append(REPO_ROOT.parent / "shared" / "data")
    for candidate in candidates:
        if candidate.is_dir():
            return candidate
    return None


@pytest.fixture(scope="session")
def shared_data_dir() -> Path:
    """The folder of real datasets, or skip the test when it is not beside the checkout."""
    path = _shared_data_dir()
    if path is None:
        pytest.skip("../shared/data is not available")
    return path


@pytest.fixture(scope="session")
def shared_file(shared_data_dir: Path):
    """Return a function giving the path of one file of ``../shared/data``, skipping if missing."""

    def _get(name: str) -> Path:
        path = shared_data_dir / name
        if not path.exists():
            pytest.skip(f"{name} is not in {shared_data_dir}")
        return path

    return _get


@pytest.fixture
def one_torch_thread():
    """One torch thread for the test, restored afterwards: tiny models train far faster than
    with threads contending for a busy machine's cores. Use with
    ``pytestmark = pytest.mark.usefixtures("one_torch_thread")``."""
    import torch

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)
