"""Session fixtures shared by every test folder.

- ``shared_data_dir`` / ``shared_file``: the real datasets of ``../shared/data`` (skipped when
  absent), found as :func:`butterflyvi.datasets.shared_data_dir` finds them;
- ``snare_demo``: the bundled SNARE-seq demo MuData, read once (tests take copies);
- ``small_mdata``: preprocessed synthetic RNA + ATAC (120 cells), built once, copied per test;
- ``one_torch_thread``: one torch thread for the test;
- ``scvi_seed`` (automatic): every test starts from seeded global generators, and
  ``scvi.settings.seed`` is put back after every test that sets it.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]

#: Fixtures of tiny data and a tiny trained model (``raw``, ``mdata``, ``trained``) for the
#: tests of bad input, defined in ``tests/_tiny.py``.
pytest_plugins = ["_tiny"]


@pytest.fixture(scope="session")
def shared_data_dir() -> Path:
    """The folder of real datasets, or skip the test when it is not beside the checkout."""
    from butterflyvi.datasets import shared_data_dir as locate

    path = locate()
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


@pytest.fixture(scope="session")
def snare_demo_session():
    """The bundled demo, read once per session (use ``snare_demo`` for a private copy)."""
    import butterflyvi as bf

    return bf.datasets.snareseq_demo()


@pytest.fixture
def snare_demo(snare_demo_session):
    """A private copy of the bundled SNARE-seq demo (raw counts, 2,000 cells)."""
    return snare_demo_session.copy()


@pytest.fixture(scope="session")
def small_mdata_session():
    """Preprocessed synthetic RNA + ATAC: 120 cells, 60 genes, 300 peaks, 3 cell types."""
    import butterflyvi as bf

    mdata = bf.datasets.synthetic_paired(120, n_genes=60, n_peaks=300, n_cell_types=3, seed=0)
    bf.pp.preprocess_rna(mdata["rna"])
    bf.pp.preprocess_atac(mdata["atac"], min_cell_fraction=0.0)
    mdata.update()
    return mdata


@pytest.fixture
def small_mdata(small_mdata_session):
    """A private copy of ``small_mdata_session``."""
    return small_mdata_session.copy()


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


@pytest.fixture(autouse=True)
def scvi_seed():
    """Start every test from the same random state, whatever ran before it (torch, numpy's
    and Python's global generators seeded with 0), and put ``scvi.settings.seed`` back after
    the test (it also seeds torch and numpy).
    """
    import random

    import numpy as np

    random.seed(0)
    np.random.seed(0)  # noqa: NPY002 - the legacy global state some libraries draw from
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.manual_seed(0)
    scvi = sys.modules.get("scvi")
    before = scvi.settings.seed if scvi is not None else None
    yield
    scvi = sys.modules.get("scvi")
    if scvi is not None and scvi.settings.seed != before:
        scvi.settings.seed = 0 if before is None else before
