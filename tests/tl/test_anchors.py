"""Pseudo-pairs from anchors (mutual nearest neighbours in a CCA space, scored and filtered as
Seurat's), on real SNARE-seq cells with the pairing hidden: two disjoint halves of the cells,
one giving RNA and one ATAC."""

from __future__ import annotations

import numpy as np
import pytest
import scanpy as sc

import butterflyvi as bf


@pytest.fixture(scope="module")
def halves():
    mdata = bf.datasets.snareseq_demo()
    rna = mdata["rna"].copy()
    sc.pp.normalize_total(rna, target_sum=1e4)
    sc.pp.log1p(rna)
    order = np.random.default_rng(0).permutation(mdata.n_obs)
    a, b = np.sort(order[:1000]), np.sort(order[1000:])
    types = mdata.obs["cell_type"].astype(str)
    # the ATAC cells are described on the shared genes by their own (hidden-pair) RNA
    return rna[a].copy(), mdata["atac"][b].copy(), rna[b].copy(), types


def test_anchor_pairs_join_cells_of_the_same_type_far_above_chance(halves):
    rna, atac, shared_y, types = halves
    pairs = bf.tl.pair_by_anchors(rna, atac, shared_x=rna, shared_y=shared_y, k=20)
    x = pairs.obs["butterflyvi_source_cell_rna"].to_numpy()
    y = pairs.obs["butterflyvi_source_cell_atac"].to_numpy()
    assert pairs.obs_names[0] == f"{x[0]}+{y[0]}#p0"
    assert set(pairs.mod) == {"rna", "atac"} and pairs.n_obs > 1000
    agreement = (types.loc[x].to_numpy() == types.loc[y].to_numpy()).mean()
    chance = (types.value_counts(normalize=True) ** 2).sum()
    assert agreement > 4 * chance  # 0.53 against 0.10 when written
    scores = pairs.obs["anchor_score"].to_numpy()
    assert ((scores > 0) & (scores <= 1)).all()
    np.testing.assert_array_equal(pairs["atac"].X.toarray()[:5], atac[y[:5]].X.toarray())
    assert pairs.uns["butterflyvi_pairing"]["method"] == "pair_by_anchors"


def test_pair_by_anchors_refuses_unrelated_inputs_clearly(halves):
    rna, atac, shared_y, _ = halves
    with pytest.raises(ValueError, match="shared_y: expected every cell of adata_y"):
        bf.tl.pair_by_anchors(rna, atac, shared_x=rna, shared_y=shared_y[:10])
    with pytest.raises(ValueError, match="at least 10 features in common"):
        bf.tl.pair_by_anchors(rna, atac, shared_x=rna[:, :5], shared_y=shared_y)
    with pytest.raises(ValueError, match="k: expected a positive integer"):
        bf.tl.pair_by_anchors(rna, atac, shared_x=rna, shared_y=shared_y, k=0)
