"""Tests of butterflyvi.datasets: bundled demo, shared-data loaders, synthetic generator."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from butterflyvi.datasets._alias import alias_table
from butterflyvi.datasets._csr_builder import CSRBuilder


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(0.0, 100.0), min_size=1, max_size=60).filter(lambda w: sum(w) > 1e-3))
def test_alias_table_reproduces_the_weights(weights):
    accept, alias = alias_table(np.array(weights))
    n = len(weights)
    implied = accept.astype(np.float64).copy()
    np.add.at(implied, alias, 1.0 - accept)
    np.testing.assert_allclose(implied / n, np.array(weights) / sum(weights), atol=1e-5)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(0, 7), min_size=1, max_size=6), st.integers(0, 2**16))
def test_csr_builder_matches_vstack(block_rows, seed):
    rng = np.random.default_rng(seed)
    blocks = [
        sp.random(
            r,
            9,
            density=0.3,
            format="csr",
            random_state=rng,
            data_rvs=lambda k: rng.integers(1, 9, k),
        )
        for r in block_rows
    ]
    builder = CSRBuilder(n_cols=9, capacity=1)
    for block in blocks:
        builder.append_csr(block)
    out = builder.finish()
    assert (out != sp.vstack(blocks, format="csr")).nnz == 0
    assert out.shape == (sum(block_rows), 9)
