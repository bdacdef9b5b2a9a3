"""Property tests (hypothesis): applying a fitted preprocessing to new cells does not depend on
the feature order or on extra features, for random sparse counts of any small shape (1 cell,
1 feature, empty cells and features).
"""

from __future__ import annotations

import warnings

import anndata as ad
import numpy as np
import pandas as pd
import scipy.sparse as sp
from hypothesis import assume, given
from hypothesis import strategies as st

import butterflyvi as bf
from _helpers import FAST, counts
from butterflyvi._constants import PP_UNS_KEY


def _adata(X: np.ndarray, prefix: str) -> ad.AnnData:
    a = ad.AnnData(sp.csr_matrix(X))
    a.obs_names = [f"c{i}" for i in range(X.shape[0])]
    a.var_names = [
        f"chr{1 + i % 2}:{10 * i}-{10 * i + 5}" if prefix == "peak" else f"{prefix}{i}"
        for i in range(X.shape[1])
    ]
    return a


PREPROCESS = {
    "expression": lambda a: bf.pp.preprocess_rna(a, n_top_genes=1000),
    "accessibility": lambda a: bf.pp.preprocess_atac(a, min_cell_fraction=0.0),
    "protein": bf.pp.preprocess_adt,
}


@FAST
@given(
    X=counts(), kind=st.sampled_from(list(PREPROCESS)), n_extra=st.integers(0, 2), data=st.data()
)
def test_apply_preprocessing_ignores_feature_order_and_extras(X, kind, n_extra, data):
    assume(X.any())
    fitted = _adata(X, "peak" if kind == "accessibility" else "f")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # empty cells
        PREPROCESS[kind](fitted)
    kept = fitted.var_names
    raw = _adata(X, "peak" if kind == "accessibility" else "f")
    order = data.draw(st.permutations(range(raw.n_vars)))
    extra = np.ones((raw.n_obs, n_extra), dtype=np.float32)
    new = ad.AnnData(
        sp.csr_matrix(np.hstack([raw.X.toarray()[:, order], extra])),
        obs=pd.DataFrame(index=raw.obs_names),
        var=pd.DataFrame(
            index=[*raw.var_names[list(order)], *(f"extra{i}" for i in range(n_extra))]
        ),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        out = bf.pp.apply_preprocessing(new, state=fitted.uns[PP_UNS_KEY], var=fitted.var)
    assert list(out.var_names) == list(kept)
    if kind == "expression" and n_extra:
        # extra genes count in each cell's total (as in the fit, totals run over all genes)
        return
    np.testing.assert_allclose(out.X.toarray(), fitted.X.toarray(), rtol=1e-6, atol=1e-7)
    assert np.isfinite(out.X.data).all()
