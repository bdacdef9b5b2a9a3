"""Bad input to ``butterflyvi.pp`` gets a clear error naming the argument, what was expected
and what was found.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import butterflyvi as bf

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_pp_refuses_unknown_layer_and_non_anndata(raw):
    with pytest.raises(ValueError, match=r"layer: expected one of the layers \[\] or None"):
        bf.pp.preprocess_rna(raw["rna"].copy(), layer="counts")
    with pytest.raises(KeyError, match=r"mod: expected a modality of the MuData"):
        bf.pp.preprocess_adt(raw)


def test_pp_unparseable_peak_names(raw):
    atac = raw["atac"].copy()
    atac.var = pd.DataFrame(index=[f"peak{i}" for i in range(atac.n_vars)])
    with pytest.raises(
        ValueError, match=r"of .* names could not be parsed.*'peak0'.*Accepted formats"
    ):
        bf.pp.preprocess_atac(atac)
    with pytest.raises(ValueError, match=r"could not be parsed"):
        bf.pp.parse_peak_names(["chr1:100"])
    with pytest.raises(ValueError, match=r"start <= end"):
        bf.pp.parse_peak_names(["chr1:200-100"])


def test_pp_empty_features_and_cells_do_not_divide_by_zero(raw):
    rna = raw["rna"].copy()
    X = rna.X.tolil()
    X[:, 0] = 0  # an empty gene
    X[0] = 0  # an empty cell
    rna.X = X.tocsr()
    with pytest.warns(UserWarning, match="1 of 80 cells have a total count of 0"):
        bf.pp.preprocess_rna(rna, n_top_genes=1000)
    assert np.isfinite(rna.X.data).all()
    assert rna.X[0].nnz == 0 and rna.X[:, 0].nnz == 0
    adt = raw["rna"].copy()
    adt.X = X.tocsr()
    bf.pp.preprocess_adt(adt)
    assert np.isfinite(adt.X.data).all() and adt.X[0].nnz == 0
    atac = raw["atac"].copy()
    A = atac.X.tolil()
    A[:, 0] = 0
    A[0] = 0
    atac.X = A.tocsr()
    with pytest.warns(UserWarning, match="1 of 80 cells have no open peak"):
        bf.pp.preprocess_atac(atac, min_cell_fraction=0.0)
    assert np.isfinite(atac.X.data).all()
    assert raw["atac"].var_names[0] not in atac.var_names  # the empty peak is dropped
