"""Every tutorial runs top to bottom in quick mode (tiny epochs), so none of them rots."""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

TUTORIALS = sorted((Path(__file__).resolve().parents[2] / "tutorials").glob("*.ipynb"))
NEEDS_SHARED = {"02_rna_protein_cite", "04_perturbation_kang", "06_annotate_atac_by_translation"}


@pytest.mark.slow
@pytest.mark.parametrize("path", TUTORIALS, ids=lambda p: p.stem)
def test_tutorial_runs(path: Path, tmp_path: Path, request):
    if path.stem in NEEDS_SHARED:
        request.getfixturevalue("shared_data_dir")  # skips when ../shared/data is absent
    notebook = nbformat.read(path, as_version=4)
    os.environ["BUTTERFLYVI_TUTORIAL_QUICK"] = "1"
    try:
        NotebookClient(
            notebook, timeout=900, kernel_name="python3", resources={"metadata": {"path": tmp_path}}
        ).execute()
    finally:
        os.environ.pop("BUTTERFLYVI_TUTORIAL_QUICK", None)
    errors = [
        output
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.get("outputs", [])
        if output.get("output_type") == "error"
    ]
    assert not errors
