"""The harness's file contract: what a method reads and what it writes."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
from anndata import AnnData
from scipy import sparse

from .._validation import invalid, missing, wrong_type

#: Modalities of the task (``uns["modality"]``) and names that mean them.
MODALITY_ALIASES = {"GEX": "GEX", "RNA": "GEX", "ADT": "ADT", "PROTEIN": "ADT", "ATAC": "ATAC"}


class NotApplicable(Exception):
    """The method does not apply to this pair (the harness's exit code 99)."""


def read(data: AnnData | str | os.PathLike, argument: str) -> AnnData:
    """A task file (a path, read with anndata) or an AnnData as it is."""
    if isinstance(data, AnnData):
        return data
    if isinstance(data, str | os.PathLike):
        import anndata

        path = Path(data)
        if not path.is_file():
            raise FileNotFoundError(f"{argument}: expected an .h5ad file, found no file {path}.")
        return anndata.read_h5ad(path)
    raise wrong_type(argument, "an AnnData or the path of an .h5ad file", data)


def modality_of(adata: AnnData, argument: str) -> str:
    """The task modality (GEX, ADT, ATAC) of a file, from ``uns["modality"]``."""
    found = adata.uns.get("modality")
    if found is None:
        raise missing(argument, "uns['modality'] (GEX, ADT or ATAC)", "none")
    name = MODALITY_ALIASES.get(str(found).upper())
    if name is None:
        raise NotApplicable(f"{argument}: modality {found!r} is not GEX, ADT or ATAC.")
    return name


def normalized(adata: AnnData, argument: str) -> sparse.csr_matrix:
    """The ``layers["normalized"]`` values as a finite CSR float32 matrix."""
    if "normalized" not in adata.layers:
        raise missing(argument, "layers['normalized']", f"layers {list(adata.layers)}")
    values = sparse.csr_matrix(adata.layers["normalized"], dtype=np.float32)
    if not np.all(np.isfinite(values.data)):
        raise invalid(f"{argument}.layers['normalized']", "finite values", "NaN or infinite ones")
    return values


def check_task(train_mod1: AnnData, train_mod2: AnnData, test_mod1: AnnData) -> tuple[str, str]:
    """The direction ``(mod1, mod2)``, after checking the three files fit together."""
    mod1 = modality_of(train_mod1, "input_train_mod1")
    mod2 = modality_of(train_mod2, "input_train_mod2")
    if modality_of(test_mod1, "input_test_mod1") != mod1:
        raise invalid(
            "input_test_mod1", f"uns['modality'] {mod1!r} as the training mod1", "another"
        )
    if not train_mod1.obs_names.equals(train_mod2.obs_names):
        raise invalid(
            "input_train_mod2", "the cells of input_train_mod1 in the same order", "others"
        )
    if not test_mod1.var_names.equals(train_mod1.var_names):
        raise invalid(
            "input_test_mod1", "the features of input_train_mod1 in the same order", "others"
        )
    if train_mod1.n_obs < 10 or test_mod1.n_obs < 1:
        raise invalid(
            "input_train_mod1, input_test_mod1",
            "at least 10 training cells and one test cell",
            f"{train_mod1.n_obs} and {test_mod1.n_obs}",
        )
    return mod1, mod2


def prediction_file(values, test_mod1: AnnData, train_mod2: AnnData, method_id: str) -> AnnData:
    """The task's prediction: ``layers["normalized"]`` as a CSC float matrix for every feature
    of ``train_mod2`` in its order, rows = ``test_mod1``'s cells in their order.
    """
    matrix = sparse.csc_matrix(values, dtype=np.float32)
    if matrix.shape != (test_mod1.n_obs, train_mod2.n_vars):
        raise invalid(
            "prediction", f"shape {(test_mod1.n_obs, train_mod2.n_vars)}", str(matrix.shape)
        )
    return AnnData(
        layers={"normalized": matrix},
        obs=pd.DataFrame(index=test_mod1.obs_names.copy()),
        var=pd.DataFrame(index=train_mod2.var_names.copy()),
        uns={"dataset_id": train_mod1_dataset(train_mod2, test_mod1), "method_id": method_id},
    )


def train_mod1_dataset(train_mod2: AnnData, test_mod1: AnnData) -> str:
    """The ``dataset_id`` the prediction carries (the test file's, else the training one's)."""
    return str(test_mod1.uns.get("dataset_id", train_mod2.uns.get("dataset_id", "unknown")))
