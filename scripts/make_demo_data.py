"""Derive the bundled SNARE-seq demo (``butterflyvi/datasets/data/snareseq_demo.h5mu``).

Run from the repository root::

    .venv/bin/python scripts/make_demo_data.py

It reads ``snareseq_mouse_cortex_chen2019.h5mu`` (the file of ``bf.datasets.snareseq()``:
a local copy, else the checked download; or ``--source``), samples cells stratified by
``cell_type`` with a fixed seed, keeps every gene and every peak open in at least one chosen
cell, and writes a gzip-compressed h5mu with raw integer counts in CSR form.
"""

from __future__ import annotations

import argparse
import hashlib
import tempfile
from pathlib import Path

import anndata as ad
import mudata as md
import numpy as np
import pandas as pd
import scipy.sparse as sp

SOURCE_NAME = "snareseq_mouse_cortex_chen2019.h5mu"
REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = REPO_ROOT / "src" / "butterflyvi" / "datasets" / "data" / "snareseq_demo.h5mu"
OBS_COLUMNS = ["cell_type", "cell_type_coarse", "library"]


def stratified_allocation(counts: pd.Series, *, n_total: int, min_per_group: int) -> pd.Series:
    """Split ``n_total`` cells over groups proportionally, with a floor per group.

    Each group gets ``min(size, min_per_group)`` cells first; the rest is shared in proportion
    to the group sizes (largest remainders), never exceeding a group's size.

    Parameters
    ----------
    counts
        Number of available cells per group.
    n_total
        Number of cells to draw in all.
    min_per_group
        Floor per group (or the whole group when it is smaller).

    Returns
    -------
    Number of cells to draw per group, indexed like ``counts``.

    """
    if n_total > int(counts.sum()):
        raise ValueError(f"n_total={n_total} exceeds the {int(counts.sum())} available cells.")
    alloc = np.minimum(counts.to_numpy(), min_per_group)
    if alloc.sum() > n_total:
        raise ValueError(
            f"min_per_group={min_per_group} over {len(counts)} groups needs {alloc.sum()} "
            f"cells, more than n_total={n_total}."
        )
    sizes = counts.to_numpy()
    while alloc.sum() < n_total:
        room = sizes - alloc
        remaining = n_total - alloc.sum()
        share = remaining * room / room.sum()
        extra = np.minimum(np.floor(share).astype(int), room)
        if extra.sum() == 0:  # hand out the last cells by largest remainder
            order = np.argsort(-(share - np.floor(share)), kind="stable")
            order = order[room[order] > 0][:remaining]
            extra = np.zeros_like(alloc)
            extra[order] = 1
        alloc = alloc + extra
    return pd.Series(alloc, index=counts.index)


def choose_cells(cell_type: pd.Series, *, n_cells: int, min_per_type: int, seed: int) -> np.ndarray:
    """Return sorted positional indices of the sampled cells (stratified by cell type)."""
    rng = np.random.default_rng(seed)
    counts = cell_type.value_counts().sort_index()
    alloc = stratified_allocation(counts, n_total=n_cells, min_per_group=min_per_type)
    codes = cell_type.to_numpy()
    chosen = [
        rng.choice(np.flatnonzero(codes == label), size=int(k), replace=False)
        for label, k in alloc.items()
    ]
    return np.sort(np.concatenate(chosen))


def _compact_csr(x: sp.csr_matrix) -> sp.csr_matrix:
    """Return ``x`` as canonical CSR with the smallest unsigned integer dtype holding it."""
    x = sp.csr_matrix(x)
    x.sum_duplicates()
    x.sort_indices()
    if not np.array_equal(x.data, np.round(x.data)) or x.data.min(initial=0) < 0:
        raise ValueError("Expected non-negative integer counts in the source file.")
    dtype = np.min_scalar_type(int(x.data.max(initial=0)))
    return sp.csr_matrix((x.data.astype(dtype), x.indices, x.indptr), shape=x.shape)


def _file_size(mdata: md.MuData, **kwargs) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "probe.h5mu"
        mdata.write(path, **kwargs)
        return path.stat().st_size


def build_demo(source: Path, *, n_cells: int, min_per_type: int, seed: int) -> md.MuData:
    """Build the demo MuData from the shared SNARE-seq file (see the module docstring)."""
    with md.set_options(pull_on_update=False):
        full = md.read_h5mu(source)
    rna, atac = full.mod["rna"], full.mod["atac"]
    if not rna.obs_names.equals(atac.obs_names):
        raise ValueError(f"{source}: rna and atac obs_names differ.")
    idx = choose_cells(rna.obs["cell_type"], n_cells=n_cells, min_per_type=min_per_type, seed=seed)
    obs = rna.obs.iloc[idx][OBS_COLUMNS].copy()
    for col in OBS_COLUMNS:
        obs[col] = obs[col].cat.remove_unused_categories()

    rna_x = _compact_csr(rna.X[idx])
    atac_x = _compact_csr(atac.X[idx])
    open_peaks = np.flatnonzero(np.diff(atac_x.tocsc().indptr) > 0)
    atac_x = _compact_csr(atac_x[:, open_peaks])
    atac_var = atac.var.iloc[open_peaks][["chrom", "start", "end"]].copy()

    mods = {
        "rna": ad.AnnData(X=rna_x, obs=obs.copy(), var=pd.DataFrame(index=rna.var_names.copy())),
        "atac": ad.AnnData(X=atac_x, obs=obs.copy(), var=atac_var),
    }
    with md.set_options(pull_on_update=False):
        demo = md.MuData(mods)
    demo.obs = obs.copy()
    demo.uns["description"] = (
        f"{n_cells} cells of the SNARE-seq adult mouse cortex (Chen, Lake & Zhang 2019, "
        f"GEO GSE126074) sampled from scMoMaT's MOp batch 1, stratified by cell_type "
        f"(seed {seed}, at least {min_per_type} cells per type). Raw counts; mm10."
    )
    return demo


def write_smallest(demo: md.MuData, out: Path) -> None:
    """Write with integer or float32 counts, whichever gives the smaller gzip file."""
    kwargs = {"compression": "gzip", "compression_opts": 9}
    as_float = demo.copy()
    for adata in as_float.mod.values():
        adata.X = adata.X.astype(np.float32)
    sizes = {"integer": _file_size(demo, **kwargs), "float32": _file_size(as_float, **kwargs)}
    print(f"size by dtype: {sizes}")
    chosen = demo if sizes["integer"] <= sizes["float32"] else as_float
    out.parent.mkdir(parents=True, exist_ok=True)
    chosen.write(out, **kwargs)


def main() -> None:
    """Parse arguments, build and write the demo, print its size and sha256."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=None, help=f"path of {SOURCE_NAME}")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--n-cells", type=int, default=2000)
    parser.add_argument("--min-per-type", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    source = args.source
    if source is None:
        from butterflyvi.datasets._public import dataset_files

        source = dataset_files("snareseq")[0]  # a local copy, else the checked download
    if not source.is_file():
        raise FileNotFoundError(f"--source: {source} does not exist.")

    demo = build_demo(source, n_cells=args.n_cells, min_per_type=args.min_per_type, seed=args.seed)
    write_smallest(demo, args.out)
    digest = hashlib.sha256(args.out.read_bytes()).hexdigest()
    print(demo)
    print(f"cells per type:\n{demo.obs['cell_type'].value_counts().to_string()}")
    print(f"wrote {args.out} ({args.out.stat().st_size} bytes), sha256 {digest}")


if __name__ == "__main__":
    main()
