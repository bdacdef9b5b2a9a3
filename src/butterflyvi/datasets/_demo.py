"""The bundled SNARE-seq demo dataset (2,000 real cells, see ``data/PROVENANCE.md``)."""

from __future__ import annotations

from importlib.resources import as_file, files

import mudata as md
import numpy as np

from ._mudata_utils import finalise_mudata, read_h5mu

DEMO_FILE = "snareseq_demo.h5mu"


def snareseq_demo() -> md.MuData:
    """Load the bundled paired RNA + ATAC demo: 2,000 SNARE-seq mouse cortex cells.

    A stratified sample (by ``cell_type``, seed 0) of the SNARE-seq adult mouse cortex data of
    Chen, Lake & Zhang 2019 (GEO GSE126074) as distributed by scMoMaT; see
    ``butterflyvi/datasets/data/PROVENANCE.md`` for the derivation.

    - ``rna``: 1,677 genes, raw counts.
    - ``atac``: the peaks open in at least one of the cells (mm10, named
      ``chr1_4914570_4914685``, var ``chrom``/``start``/``end``), raw counts.
    - obs ``cell_type`` (23 types), ``cell_type_coarse`` (15), ``library`` in each modality
      and at the MuData level; the same cells in the same order in both modalities.

    X is CSR with float32 values (integers; stored on disk as small integers).

    Returns
    -------
    A new MuData at each call.

    """
    resource = files("butterflyvi.datasets").joinpath("data", DEMO_FILE)
    with as_file(resource) as path:
        if not path.is_file():
            raise FileNotFoundError(
                f"The bundled demo file {DEMO_FILE!r} is missing from {path.parent}; "
                "regenerate it with scripts/make_demo_data.py."
            )
        mdata = read_h5mu(path)
    for adata in mdata.mod.values():
        adata.X = adata.X.astype(np.float32)
    return finalise_mudata(mdata)
