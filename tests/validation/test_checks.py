"""The reusable validators of ``butterflyvi.pp._checks``."""

from __future__ import annotations

import anndata as ad
import numpy as np
import pytest
from scipy import sparse

from butterflyvi._constants import PP_UNS_KEY
from butterflyvi._validation import (
    check_choice,
    check_fraction,
    check_matrix,
    check_positive_int,
    check_state,
    check_unique_names,
    get_matrix,
    get_state,
)
from butterflyvi.pp import STATE_KEYS

ACCESSIBILITY = "accessibility"
COUNTS = np.array([[0, 1, 2], [3, 0, 0]], dtype=np.float32)


@pytest.mark.parametrize(
    "X",
    [
        COUNTS,
        sparse.csr_matrix(COUNTS),
        sparse.csc_matrix(COUNTS),
        sparse.coo_matrix(COUNTS),
        sparse.csr_array(COUNTS),
        COUNTS.astype(np.int64),
        COUNTS.astype(bool),
    ],
)
def test_valid_counts_pass(X):
    before = X.copy()
    check_matrix(X, name="X", require_counts=True)
    if sparse.issparse(X):
        assert (X != before).nnz == 0
    else:
        assert np.array_equal(X, before)


@pytest.mark.parametrize("fmt", ["dense", "csr", "csc"])
@pytest.mark.parametrize(
    ("value", "match", "counts_only"),
    [
        (np.nan, r"finite.*1 NaN or infinite", False),
        (np.inf, r"finite.*1 NaN or infinite", False),
        (-1.0, r"non-negative integers.*1 negative", True),
        (0.5, r"non-negative integers.*1 non-integer.*0\.5", True),
    ],
)
def test_bad_values(fmt, value, match, counts_only):
    X = COUNTS.copy()
    X[0, 1] = value
    X = {"dense": X, "csr": sparse.csr_matrix(X), "csc": sparse.csc_matrix(X)}[fmt]
    with pytest.raises(ValueError, match=match) as err:
        check_matrix(X, name="adata.X", require_counts=True, hint="Pass `layer=`.")
    assert "adata.X" in str(err.value)
    if counts_only:
        assert "Pass `layer=`." in str(err.value)
        check_matrix(X, name="adata.X", require_counts=False)  # fine without counts


def test_large_dense_is_scanned_in_blocks():
    X = np.zeros((5000, 700), dtype=np.float32)
    X[4999, 699] = np.nan
    with pytest.raises(ValueError, match="1 NaN"):
        check_matrix(X, name="X")


@pytest.mark.parametrize("shape", [(0, 3), (3, 0), (0, 0)])
def test_empty(shape):
    X = sparse.csr_matrix(shape, dtype=np.float32)
    with pytest.raises(ValueError, match=rf"X.*{shape[0]} × {shape[1]} \(empty matrix\)"):
        check_matrix(X, name="X")
    check_matrix(X, name="X", allow_empty=True)


def test_shape_and_dtype():
    with pytest.raises(ValueError, match="2-dimensional"):
        check_matrix(np.zeros(3), name="X")
    with pytest.raises(ValueError, match="numeric"):
        check_matrix(np.array([["a", "b"]], dtype=object), name="X")


def test_get_matrix():
    a = ad.AnnData(sparse.csr_matrix(COUNTS))
    a.layers["counts"] = a.X.copy()
    assert get_matrix(a, None) is a.X
    assert get_matrix(a, "counts") is a.layers["counts"]
    with pytest.raises(ValueError, match=r"layer.*\['counts'\].*found 'raw'"):
        get_matrix(a, "raw")


def test_small_validators():
    assert check_positive_int(np.int64(3), name="n") == 3
    for bad in (0, -1, 2.5, True, "3"):
        with pytest.raises(ValueError, match="n: expected a positive integer"):
            check_positive_int(bad, name="n")
    assert check_fraction(0, name="f") == 0.0
    for bad in (-0.1, 1.5, "x", np.nan):
        with pytest.raises(ValueError, match=r"f: expected a number in \[0, 1\]"):
            check_fraction(bad, name="f")
    check_choice("a", name="c", choices=("a", "b"))
    with pytest.raises(ValueError, match=r"c: expected one of \['a', 'b'\], found 'z'"):
        check_choice("z", name="c", choices=("a", "b"))
    check_unique_names(["a", "b"], name="var_names")
    with pytest.raises(ValueError, match=r"1 duplicated.*'a'"):
        check_unique_names(["a", "b", "a"], name="var_names")


def test_state_validation():
    good = {
        "kind": ACCESSIBILITY,
        "scale": 1.0,
        "min_cell_fraction": 0.0,
        "n_cells_fit": 3,
        "source_layer": "X",
    }
    assert check_state(good, required=STATE_KEYS) == ACCESSIBILITY
    with pytest.raises(ValueError, match="expected one of"):
        check_state({**good, "kind": "foo"}, required=STATE_KEYS)
    with pytest.raises(ValueError, match=r"without \['scale'\]"):
        check_state({k: v for k, v in good.items() if k != "scale"}, required=STATE_KEYS)
    with pytest.raises(ValueError, match="expected 'protein'"):
        check_state(good, required=STATE_KEYS, kind="protein")
    with pytest.raises(ValueError, match="mapping"):
        check_state([1, 2], required=STATE_KEYS)
    a = ad.AnnData(np.ones((2, 2), dtype=np.float32))
    with pytest.raises(ValueError, match=r"found none\. Run butterflyvi\.pp\.preprocess_rna"):
        get_state(a, required=STATE_KEYS)
    a.uns[PP_UNS_KEY] = good
    assert get_state(a, required=STATE_KEYS, kind=ACCESSIBILITY) == good
