"""Bad input to ``ButterflyModel.setup_mudata`` gets a clear error naming the argument, what
was expected and what was found.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

import butterflyvi as bf
from _tiny import mudata_of
from butterflyvi.model import ButterflyModel

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_setup_refuses_same_cells_in_another_order(mdata):
    order = np.random.default_rng(0).permutation(mdata.n_obs)
    shuffled = mudata_of(rna=mdata["rna"].copy(), atac=mdata["atac"][order].copy())
    with pytest.raises(ValueError, match=r"modality 'atac'.*same cells in a different order"):
        ButterflyModel.setup_mudata(shuffled, modalities=("rna", "atac"))


def test_setup_refuses_different_cells(mdata):
    fewer = mudata_of(rna=mdata["rna"].copy(), atac=mdata["atac"][:70].copy())
    with pytest.raises(
        ValueError, match=r"found 70 cells, 70 of them among the 80 reference cells"
    ):
        ButterflyModel.setup_mudata(fewer, modalities=("rna", "atac"))
    other = mdata["atac"].copy()
    other.obs_names = [f"other{i}" for i in range(other.n_obs)]
    disjoint = mudata_of(rna=mdata["rna"].copy(), atac=other)
    with pytest.raises(ValueError, match=r"0 of them among"):
        ButterflyModel.setup_mudata(disjoint, modalities=("rna", "atac"))


def test_setup_refuses_duplicate_names(mdata):
    rna, atac = mdata["rna"].copy(), mdata["atac"].copy()
    names = list(rna.obs_names)
    names[1] = names[0]
    rna.obs_names, atac.obs_names = names, names
    with pytest.raises(
        ValueError,
        match=r"one row per cell in modality 'rna', found 1 repeated obs_names \(e\.g\. \['cell00'\]\)",
    ):
        ButterflyModel.setup_mudata(mudata_of(rna=rna, atac=atac))
    rna = mdata["rna"].copy()
    genes = list(rna.var_names)
    genes[2] = genes[0]
    rna.var_names = genes
    with pytest.raises(
        ValueError,
        match=r"mdata\['rna'\].var_names: expected unique names, found 1 duplicated.*gene00",
    ):
        ButterflyModel.setup_mudata(mudata_of(rna=rna, atac=mdata["atac"].copy()))


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("fmt", ["csr", "dense"])
def test_setup_refuses_non_finite(mdata, bad, fmt):
    X = mdata["rna"].X.toarray() if fmt == "dense" else mdata["rna"].X.copy()
    (X.data if sp.issparse(X) else X.reshape(-1))[3] = bad
    mdata["rna"].X = X
    with pytest.raises(
        ValueError,
        match=r"mdata\['rna'\].X: expected finite preprocessed values, found 1 NaN or infinite",
    ):
        ButterflyModel.setup_mudata(mdata)


def test_setup_refuses_negative_or_raw_accessibility(mdata, raw):
    X = mdata["atac"].X.copy()
    X.data[0] = -0.5
    mdata["atac"].X = X
    with pytest.raises(
        ValueError,
        match=r"mdata\['atac'\].X: expected accessibility values in \[0, 1\].*found 1 negative",
    ):
        ButterflyModel.setup_mudata(mdata)
    counts = mudata_of(rna=mdata["rna"].copy(), atac=raw["atac"].copy())
    bf.pp.annotate_peaks(counts["atac"])
    with pytest.raises(
        ValueError,
        match=r"mdata\['atac'\].X: expected accessibility values in \[0, 1\], found what looks like raw counts.*preprocess_atac",
    ):
        ButterflyModel.setup_mudata(counts)


def test_setup_warns_on_raw_expression_counts(mdata, raw):
    counts = mudata_of(rna=raw["rna"].copy(), atac=mdata["atac"].copy())
    with pytest.warns(UserWarning, match=r"modality 'rna' X looks like raw counts.*preprocess_rna"):
        ButterflyModel.setup_mudata(counts)


def test_setup_refuses_unknown_names(mdata):
    with pytest.raises(
        KeyError,
        match=r"modalities: expected modalities of mdata \(\['rna', 'atac'\]\), found 'protein'",
    ):
        ButterflyModel.setup_mudata(mdata, modalities=("rna", "protein"))
    with pytest.raises(ValueError, match="two different names"):
        ButterflyModel.setup_mudata(mdata, modalities=("rna", "rna"))
    with pytest.raises(ValueError, match="expected two modality names"):
        ButterflyModel.setup_mudata(mdata, modalities="rna")
    with pytest.raises(
        KeyError,
        match=r"layers: expected a layer of modality 'rna' \(\['counts'\], or None for .X\), found 'raw'",
    ):
        ButterflyModel.setup_mudata(mdata, layers={"rna": "raw"})
    with pytest.raises(
        KeyError, match=r"layers: expected keys among the modalities .*found \['adt'\]"
    ):
        ButterflyModel.setup_mudata(mdata, layers={"adt": "counts"})
    with pytest.raises(ValueError, match=r"kinds: expected one of .*found 'rna'"):
        ButterflyModel.setup_mudata(mdata, kinds=("rna", "atac"))
    with pytest.raises(KeyError, match=r"batch_key: expected a column of mdata.obs, found 'batch'"):
        ButterflyModel.setup_mudata(mdata, batch_key="batch")
    with pytest.raises(TypeError, match="mdata: expected a MuData, found AnnData"):
        ButterflyModel.setup_mudata(mdata["rna"])
    with pytest.raises(NotImplementedError, match="setup_mudata"):
        ButterflyModel.setup_anndata(mdata["rna"])


def test_setup_cannot_infer_kind(mdata):
    foo = mdata["rna"].copy()
    del foo.uns["butterflyvi_preprocessing"]
    del foo.var["feature_types"]
    with pytest.raises(
        ValueError, match=r"kinds: expected the kind of modality 'foo', found nothing that tells it"
    ):
        ButterflyModel.setup_mudata(mudata_of(foo=foo, atac=mdata["atac"].copy()), ("foo", "atac"))


def test_setup_refuses_peaks_without_chromosomes(mdata):
    atac = mdata["atac"].copy()
    del atac.var["chrom"]
    with pytest.raises(
        ValueError,
        match=r"mdata: expected an accessibility modality with var\['chrom'\], found none",
    ):
        ButterflyModel.setup_mudata(mudata_of(rna=mdata["rna"].copy(), atac=atac))


def test_setup_refuses_empty_modality(mdata):
    empty = mdata["rna"][:, []].copy()
    with pytest.raises(
        ValueError, match=r"mdata\['rna'\].X: expected a non-empty matrix, found 80 × 0"
    ):
        ButterflyModel.setup_mudata(mudata_of(rna=empty, atac=mdata["atac"].copy()))
