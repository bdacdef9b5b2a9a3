"""Fixtures of the portal tests: upload files and a running portal per test module."""

from __future__ import annotations

import os

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("huey")

from _portal import start_portal


@pytest.fixture(scope="session")
def rna_files(tmp_path_factory):
    """Raw RNA counts of bundled demo cells: 60 cells, 2,000 cells, and a corrupt file."""
    import butterflyvi as bf

    folder = tmp_path_factory.mktemp("uploads")
    demo = bf.datasets.snareseq_demo()
    files = {
        "small": folder / "cortex_rna_60.h5ad",
        "large": folder / "cortex_rna_2000.h5ad",
        "mudata": folder / "cortex_60.h5mu",
        "corrupt": folder / "corrupt.h5ad",
        "oversized": folder / "big.h5ad",
    }
    demo["rna"][:60].copy().write_h5ad(files["small"])
    demo["rna"].copy().write_h5ad(files["large"], compression="gzip")
    demo[:60].copy().write(files["mudata"])
    files["corrupt"].write_bytes(b"this is not an HDF5 file\x00" * 100)
    files["oversized"].write_bytes(os.urandom(5 * 1024 * 1024))
    return files


@pytest.fixture(scope="module")
def portal(tmp_path_factory):
    """One portal (2 workers, 4 MB uploads, 25 jobs per user) for a test module."""
    folder = tmp_path_factory.mktemp("portal")
    server = start_portal(folder / "data", "--max-upload-mb", "4", "--max-jobs", "25", workers=2)
    yield server
    server.stop()
