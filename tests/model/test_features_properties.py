"""Property tests (hypothesis) of the model's feature alignment: reordered, extra and missing
features, for random sparse counts of any small shape.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from hypothesis import given
from hypothesis import strategies as st

from _helpers import FAST, counts
from butterflyvi.model._features import align_features


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
