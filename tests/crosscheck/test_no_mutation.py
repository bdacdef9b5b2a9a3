"""No silent mutation: every public function changes only what it documents.

A snapshot (``.copy()``: ``copy.deepcopy`` fails on MuData) is compared with the object after
the call, element by element: ``X``, ``layers``, ``obs``/``var`` columns and names, ``obsm``,
``varm``, ``obsp``, ``varp``, ``uns`` (recursively), ``raw``; for a MuData also its modalities
and its own ``obs``, ``var``, ``uns``, ``obsm``, ``varm``. :func:`changes` lists what differs,
and each test compares that list with the function's documented outputs:

- ``pp.*`` with ``copy=True``, ``tl.*`` (except ``cluster_for_augmentation``), ``metrics.*``,
  ``ButterflyModel(...)``, ``train``, ``translate`` of an AnnData,
  ``get_latent_representation``, ``save``: nothing;
- ``pp.preprocess_*`` in place: ``X``, ``layers['counts']``, their ``uns`` state and the
  ``var``/``obs`` columns they document (and the gene/peak subset);
- ``ButterflyModel.setup_mudata``: only scvi-tools' ``uns['_scvi_uuid']`` and
  ``uns['_scvi_manager_uuid']`` of the MuData (scvi-tools tags every registered object);
- ``translate`` of a MuData: the new modality ``key_added`` (and what ``MuData.update``
  derives from it: the global ``var`` rows and the ``obsm``/``varm`` masks of that modality).
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Mapping

import anndata as ad
import mudata as md
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

import butterflyvi as bf
from _tiny import QUIET
from butterflyvi._constants import PP_UNS_KEY
from butterflyvi.model import ButterflyModel

SCVI_KEYS = {"mdata.uns['_scvi_uuid']", "mdata.uns['_scvi_manager_uuid']"}


pytestmark = pytest.mark.usefixtures("one_torch_thread")


# ------------------------------------------------------------------------------ comparison
def same(a, b) -> bool:
    """Deep equality of matrices, frames, arrays, mappings, sequences and scalars."""
    if a is None or b is None:
        return a is None and b is None
    if sp.issparse(a) or sp.issparse(b):
        if not (sp.issparse(a) and sp.issparse(b)) or a.format != b.format:
            return False
        if a.shape != b.shape or a.dtype != b.dtype:
            return False
        a, b = a.tocsr(), b.tocsr()
        return (
            np.array_equal(a.indptr, b.indptr)
            and np.array_equal(a.indices, b.indices)
            and np.array_equal(a.data, b.data, equal_nan=True)
        )
    if isinstance(a, pd.DataFrame):
        return (
            isinstance(b, pd.DataFrame)
            and a.index.equals(b.index)
            and list(a.columns) == list(b.columns)
            and all(same(a[c], b[c]) for c in a.columns)
        )
    if isinstance(a, pd.Series | pd.Index):
        if type(a) is not type(b) or a.dtype != b.dtype or len(a) != len(b):
            return False
        if isinstance(a, pd.Series) and not a.index.equals(b.index):
            return False
        x, y = np.asarray(a, dtype=object), np.asarray(b, dtype=object)
        na_x, na_y = pd.isna(x), pd.isna(y)
        return bool(np.array_equal(na_x, na_y) and all(map(same, x[~na_x], y[~na_y])))
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        a, b = np.asarray(a), np.asarray(b)
        if a.shape != b.shape or a.dtype != b.dtype:
            return False
        if a.dtype.kind in "fc":
            return bool(np.array_equal(a, b, equal_nan=True))
        return bool(np.array_equal(a, b))
    if isinstance(a, Mapping):
        return (
            isinstance(b, Mapping)
            and list(a.keys()) == list(b.keys())
            and all(same(a[k], b[k]) for k in a)
        )
    if isinstance(a, list | tuple):
        return type(a) is type(b) and len(a) == len(b) and all(map(same, a, b))
    if isinstance(a, float) and isinstance(b, float) and np.isnan(a) and np.isnan(b):
        return True
    return type(a) is type(b) and bool(a == b)


def _mapping_changes(before, after, prefix: str) -> set[str]:
    keys = list(dict.fromkeys([*before.keys(), *after.keys()]))
    return {
        f"{prefix}[{k!r}]"
        for k in keys
        if k not in before or k not in after or not same(before[k], after[k])
    }


def _frame_changes(before: pd.DataFrame, after: pd.DataFrame, prefix: str) -> set[str]:
    out = set()
    for column in dict.fromkeys([*before.columns, *after.columns]):
        if column not in before or column not in after:
            out.add(f"{prefix}[{column!r}]")
        elif not same(before[column], after[column]):
            out.add(f"{prefix}[{column!r}]")
    return out


def adata_changes(before: ad.AnnData, after: ad.AnnData, prefix: str = "") -> set[str]:
    """What differs between two AnnData; a feature subset is compared on the kept features."""
    out: set[str] = set()
    if not before.obs_names.equals(after.obs_names):
        return {f"{prefix}obs_names"}
    if not before.var_names.equals(after.var_names):
        out.add(f"{prefix}var_names")
        if not after.var_names.isin(before.var_names).all():
            return out | {f"{prefix}var (new features)"}
        before = before[:, after.var_names].copy()
    if not same(before.X, after.X):
        out.add(f"{prefix}X")
    out |= _mapping_changes(before.layers, after.layers, f"{prefix}layers")
    out |= _frame_changes(before.obs, after.obs, f"{prefix}obs")
    out |= _frame_changes(before.var, after.var, f"{prefix}var")
    for name in ("obsm", "varm", "obsp", "varp", "uns"):
        out |= _mapping_changes(getattr(before, name), getattr(after, name), f"{prefix}{name}")
    if (before.raw is None) != (after.raw is None) or (
        before.raw is not None
        and not (same(before.raw.X, after.raw.X) and same(before.raw.var, after.raw.var))
    ):
        out.add(f"{prefix}raw")
    return out


def mudata_changes(before: md.MuData, after: md.MuData) -> set[str]:
    """What differs between two MuData: each modality (``mod:...``) and the MuData itself."""
    out: set[str] = set()
    for mod in dict.fromkeys([*before.mod, *after.mod]):
        if mod not in before.mod or mod not in after.mod:
            out.add(f"mod[{mod!r}]")
        else:
            out |= adata_changes(before.mod[mod], after.mod[mod], prefix=f"{mod}:")
    if not before.obs_names.equals(after.obs_names):
        out.add("mdata.obs_names")
    else:
        out |= _frame_changes(before.obs, after.obs, "mdata.obs")
    if not before.var_names.equals(after.var_names):
        out.add("mdata.var_names")
    else:
        out |= _frame_changes(before.var, after.var, "mdata.var")
    for name in ("obsm", "varm", "obsp", "varp", "uns"):
        out |= _mapping_changes(getattr(before, name), getattr(after, name), f"mdata.{name}")
    return out


def changes(before, after) -> set[str]:
    if isinstance(before, md.MuData):
        return mudata_changes(before, after)
    if isinstance(before, ad.AnnData):
        return adata_changes(before, after)
    return set() if same(before, after) else {"value"}


def snapshot(obj):
    """A faithful copy (``MuData.copy`` would otherwise pull modality columns into the copy)."""
    if isinstance(obj, md.MuData):
        with md.set_options(pull_on_update=False):
            return obj.copy()
    return obj.copy() if isinstance(obj, ad.AnnData) else copy.deepcopy(obj)


def call_and_diff(fn, *inputs, **kwargs):
    """Call ``fn(*inputs, **kwargs)``; return its result and the changes of each input."""
    before = [snapshot(x) for x in inputs]
    assert all(changes(b, a) == set() for b, a in zip(before, inputs, strict=True))
    result = fn(*inputs, **kwargs)
    return result, [changes(b, a) for b, a in zip(before, inputs, strict=True)]


def test_harness_sees_changes():
    a = ad.AnnData(sp.csr_matrix(np.eye(3, dtype=np.float32)), uns={"k": {"x": np.arange(2)}})
    a.layers["l"] = a.X.copy()
    a.obsm["e"] = np.zeros((3, 2))
    before = a.copy()
    a.X.data[0] = 5
    a.layers["l"] = None if False else a.layers["l"] * 2
    a.obs["new"] = 1
    a.uns["k"]["x"][0] = 7
    a.obsm["e"][0, 0] = 1
    assert changes(before, a) == {"X", "layers['l']", "obs['new']", "uns['k']", "obsm['e']"}
    b = before.copy()
    b._inplace_subset_var(np.array([True, False, True]))
    assert changes(before, b) == {"var_names"}


# ------------------------------------------------------------------------------ data
def raw_mdata(n_cells: int = 60, seed: int = 0) -> md.MuData:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mdata = bf.datasets.synthetic_paired(
            n_cells,
            n_genes=30,
            n_peaks=80,
            n_proteins=6,
            n_cell_types=3,
            n_chromosomes=2,
            peak_density=0.15,
            seed=seed,
        )
    rng = np.random.default_rng(seed)
    for mod in mdata.mod.values():  # extra content that must survive untouched
        mod.layers["other"] = mod.X.copy()
        mod.obsm["X_emb"] = rng.normal(size=(mod.n_obs, 2))
        mod.obs["score"] = rng.normal(size=mod.n_obs)
        mod.var["note"] = "x"
        mod.uns["user"] = {"a": np.arange(3), "b": "text"}
    mdata.uns["user"] = {"nested": [1, 2]}
    mdata.obsm["X_joint"] = rng.normal(size=(mdata.n_obs, 3))
    return mdata


@pytest.fixture(scope="module")
def raw() -> md.MuData:
    return raw_mdata()


@pytest.fixture(scope="module")
def prepared(raw) -> md.MuData:
    mdata = raw.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        bf.pp.preprocess_rna(mdata["rna"], n_top_genes=20)
        bf.pp.preprocess_atac(mdata["atac"], min_cell_fraction=0.05)
        bf.pp.preprocess_adt(mdata["adt"])
        mdata.update()
    return mdata


# ------------------------------------------------------------------------------ pp
RNA_WRITES = {
    "X",
    "layers['counts']",
    "uns['butterflyvi_preprocessing']",
    "var_names",
    *(f"var[{c!r}]" for c in ("highly_variable", "means", "dispersions", "dispersions_norm")),
}
ATAC_WRITES = {
    "X",
    "layers['counts']",
    "uns['butterflyvi_preprocessing']",
    "var_names",
    "obs['n_open_peaks']",
    *(f"var[{c!r}]" for c in ("chrom", "start", "end", "n_cells_open", "idf")),
}
ADT_WRITES = {"X", "layers['counts']", "uns['butterflyvi_preprocessing']"}

PP_CASES = {
    "rna": (lambda a, **kw: bf.pp.preprocess_rna(a, n_top_genes=20, **kw), RNA_WRITES),
    "atac": (lambda a, **kw: bf.pp.preprocess_atac(a, min_cell_fraction=0.05, **kw), ATAC_WRITES),
    "adt": (bf.pp.preprocess_adt, ADT_WRITES),
}


@pytest.mark.parametrize("mod", list(PP_CASES))
def test_pp_copy_changes_nothing_and_in_place_only_documented_keys(raw, mod):
    fn, documented = PP_CASES[mod]
    adata = raw[mod].copy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        out, (diff,) = call_and_diff(fn, adata, copy=True)
        assert diff == set()
        assert isinstance(out, ad.AnnData) and PP_UNS_KEY in out.uns
        assert changes(adata, out) <= documented
        result, (diff,) = call_and_diff(fn, adata)
    assert result is None
    assert diff <= documented
    assert {"X", "layers['counts']", "uns['butterflyvi_preprocessing']"} <= diff


def test_pp_on_a_view_leaves_the_parent_alone(raw):
    parent = raw["rna"].copy()
    before = parent.copy()
    view = parent[:30]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        bf.pp.preprocess_rna(view, n_top_genes=20)
    assert changes(before, parent) == set()
    assert not view.is_view and PP_UNS_KEY in view.uns


def test_pp_annotate_peaks_and_readers(raw, prepared):
    atac = raw["atac"].copy()
    del atac.var["chrom"], atac.var["start"], atac.var["end"]
    out, (diff,) = call_and_diff(bf.pp.annotate_peaks, atac, copy=True)
    assert diff == set() and {"chrom", "start", "end"} <= set(out.var)
    _, (diff,) = call_and_diff(bf.pp.annotate_peaks, atac)
    assert diff == {"var['chrom']", "var['start']", "var['end']"}

    names = list(raw["atac"].var_names)
    _, (diff,) = call_and_diff(bf.pp.parse_peak_names, names)
    assert diff == set()
    var = raw["atac"].var.copy()
    _, (diff,) = call_and_diff(bf.pp.chromosome_groups, var)
    assert diff == set()
    fitted = prepared["atac"]
    _, (diff,) = call_and_diff(bf.pp.get_state, fitted)
    assert diff == set()


@pytest.mark.parametrize("mod", ["rna", "atac", "adt"])
def test_pp_apply_preprocessing_changes_nothing(raw, prepared, mod):
    fitted = prepared[mod]
    new = raw[mod][:, ::-1].copy()  # reordered features
    state, var = dict(fitted.uns[PP_UNS_KEY]), fitted.var.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        _, diffs = call_and_diff(
            lambda a, s, v: bf.pp.apply_preprocessing(a, state=s, var=v), new, state, var
        )
    assert diffs == [set(), set(), set()]


def test_pp_inverse_changes_nothing(prepared):
    atac = prepared["atac"]
    state, var = dict(atac.uns[PP_UNS_KEY]), atac.var.copy()
    pred = ad.AnnData(atac.X.copy(), obs=pd.DataFrame(index=atac.obs_names), var=var.copy())
    _, diffs = call_and_diff(
        lambda p, s, v: bf.pp.recover_atac_counts(p, state=s, var=v), pred, state, var
    )
    assert diffs == [set(), set(), set()]
    X = atac.X.copy()
    idf = var["idf"].to_numpy().copy()
    totals = atac.obs["n_open_peaks"].to_numpy().copy()
    _, diffs = call_and_diff(
        lambda x, i, t: bf.pp.inverse_tfidf(x, idf=i, scale=state["scale"], totals=t),
        X,
        idf,
        totals,
    )
    assert diffs == [set(), set(), set()]
    dense = X.toarray()
    for fn in (bf.pp.binarize_recovered, lambda x: bf.pp.estimate_totals(x, idf=idf, scale=1.0)):
        _, (diff,) = call_and_diff(fn, dense)
        assert diff == set()


# ------------------------------------------------------------------------------ tl
def paired(prepared) -> md.MuData:
    mdata = md.MuData({"rna": prepared["rna"].copy(), "atac": prepared["atac"].copy()})
    mdata.uns["user"] = {"nested": [1, 2]}
    mdata.obs["cell_type"] = prepared["rna"].obs["cell_type"].to_numpy()
    return mdata


def test_tl_augment_changes_nothing(prepared):
    mdata = paired(prepared)
    out, (diff,) = call_and_diff(bf.tl.augment, mdata, groupby="cell_type", rounds=1)
    assert diff == set() and out.n_obs == 2 * mdata.n_obs


def test_tl_pair_unpaired_changes_nothing(prepared):
    x = prepared["rna"].copy()
    y = prepared["atac"].copy()
    y.obs_names = [f"y{i}" for i in range(y.n_obs)]
    out, diffs = call_and_diff(bf.tl.pair_unpaired, x, y, groupby="cell_type")
    assert diffs == [set(), set()] and out.n_obs > 0


def test_tl_pair_by_ot_changes_nothing(prepared):
    rna = prepared["rna"].copy()
    rna.obs["condition"] = np.where(np.arange(rna.n_obs) % 2, "stimulated", "control")
    out, (diff,) = call_and_diff(bf.tl.pair_by_ot, rna, n_pcs=5)
    assert diff == set() and out.n_obs == int((rna.obs["condition"] == "control").sum())


# ------------------------------------------------------------------------------ metrics
def test_metrics_change_nothing(prepared):
    rna = prepared["rna"].copy()
    atac = prepared["atac"].copy()
    noisy = rna.copy()
    noisy.X = noisy.X.copy()
    noisy.X.data = noisy.X.data * 1.1
    _, diffs = call_and_diff(bf.metrics.expression, noisy, rna)
    assert diffs == [set(), set()]
    _, diffs = call_and_diff(bf.metrics.accessibility, atac, atac.copy())
    assert diffs == [set(), set()]
    ctrl, stim = rna[:30].copy(), rna[30:].copy()
    _, diffs = call_and_diff(
        lambda p, c, s: bf.metrics.perturbation(p, c, s, top_n=5, n_boot=3), stim, ctrl, stim
    )
    assert diffs == [set(), set(), set()]
    true = rna.obs["cell_type"].copy()
    predicted = list(true)
    _, diffs = call_and_diff(bf.metrics.annotation, true, predicted)
    assert diffs == [set(), set()]
    _, diffs = call_and_diff(
        lambda q, r: bf.metrics.transfer_labels(q, r, n_pcs=5), rna[:20].copy(), rna
    )
    assert diffs == [set(), set()]
    _, (diff,) = call_and_diff(lambda t: bf.metrics.baseline_mean(t, 5), rna)
    assert diff == set()


# ------------------------------------------------------------------------------ model
def test_model_setup_train_translate_save_load(prepared, tmp_path):
    mdata = paired(prepared)
    _, (diff,) = call_and_diff(ButterflyModel.setup_mudata, mdata)
    assert diff == SCVI_KEYS  # scvi-tools tags the registered MuData; nothing else changes
    model, (diff,) = call_and_diff(ButterflyModel, mdata)
    assert diff == set()
    _, (diff,) = call_and_diff(
        lambda m: model.train(
            max_epochs_pretrain=1,
            max_epochs=1,
            batch_size=16,
            **QUIET,
        ),
        mdata,
    )
    assert diff == set()

    new_cells = prepared["rna"][:10].copy()
    _, (diff,) = call_and_diff(lambda a: model.translate(a, source="rna"), new_cells)
    assert diff == set()
    counts = new_cells.copy()
    counts.X = counts.layers["counts"].copy()
    del counts.uns[PP_UNS_KEY]
    _, (diff,) = call_and_diff(lambda a: model.translate(a, source="rna"), counts)
    assert diff == set()
    _, (diff,) = call_and_diff(lambda m: model.get_latent_representation(m, modality="atac"), mdata)
    assert diff == set()
    _, (diff,) = call_and_diff(lambda m: model.translate(m, source="rna"), mdata)
    assert diff == set()  # by default translate returns a new object and writes nothing

    _, (diff,) = call_and_diff(lambda m: model.translate(m, source="rna", add_to_mdata=True), mdata)
    # the new modality, and what MuData.update() derives from it
    assert "mod['atac_from_rna']" in diff
    assert diff <= {
        "mod['atac_from_rna']",
        "mdata.var_names",
        "mdata.obsm['atac_from_rna']",
        "mdata.varm['atac_from_rna']",
        *(f"mdata.varm[{m!r}]" for m in ("rna", "atac")),
    }, diff

    _, (diff,) = call_and_diff(lambda m: model.save(tmp_path / "m", save_anndata=True), mdata)
    assert diff == set()
    target = paired(prepared)
    _, (diff,) = call_and_diff(
        lambda m: ButterflyModel.load(tmp_path / "m", adata=m, accelerator="cpu"), target
    )
    assert diff <= SCVI_KEYS  # load registers the MuData again with the saved settings
