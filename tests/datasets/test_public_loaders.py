"""Public-data loaders: the address and checksum records, local copies, a checked download
from a server on 127.0.0.1, and the derivations of SNARE-seq and PBMC 10k from their sources.

No test reaches the internet: downloads are served locally and the real addresses are only
checked for their form.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import http.server
import re
import threading
from pathlib import Path

import anndata as ad
import h5py
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

import butterflyvi as bf
from butterflyvi._validation import ChecksumError
from butterflyvi.datasets import _public, _sources

PINNED = re.compile(r"^https://raw\.githubusercontent\.com/[\w.-]+/[\w.-]+/[0-9a-f]{40}/\S+$")


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_available_lists_every_dataset_with_a_pinned_address_and_checksum():
    table = bf.datasets.available()
    expected = {"name", "url", "sha256", "n_cells", "modalities", "licence", "citation"}
    assert expected <= set(table.columns)
    # every dataset the benchmarks, tutorials and docs load
    used = {"snareseq", "bmmc_multiome", "bmmc_cite", "pbmc10k_cite", "pbmc_multiome", "kang"}
    assert used | {"snareseq_demo"} == set(table["name"])
    for row in table[table["name"] != "snareseq_demo"].itertuples():
        urls, shas = row.url.split(), row.sha256.split()
        assert len(urls) == len(shas) == len(_sources.DATASETS[row.name].sources)
        assert all(PINNED.match(u) for u in urls), urls
        assert all(re.fullmatch(r"[0-9a-f]{64}", s) for s in shas)
        assert row.n_cells > 0 and row.licence and row.citation
        assert callable(getattr(bf.datasets, row.name))


@pytest.mark.parametrize("name", list(_sources.DATASETS))
def test_loaders_read_a_local_copy(name, shared_data_dir):
    data = getattr(bf.datasets, name)(path=shared_data_dir, download=False)
    record = _sources.DATASETS[name]
    assert data.n_obs == record.n_cells
    if isinstance(data, ad.AnnData):
        assert set(data.obs["condition"].unique()) == {"control", "stimulated"}
    else:
        assert set(record.modalities) == set(data.mod)


def test_snareseq_split_rule_gives_the_stored_split(shared_data_dir):
    stored = bf.datasets.snareseq_split(path=shared_data_dir)
    names = bf.datasets.snareseq(path=shared_data_dir, download=False).obs_names
    assert _public.split_from_rule(names) == stored


# ---------------------------------------------------------------- download (127.0.0.1)
@pytest.fixture
def server(tmp_path):
    """An HTTP server on 127.0.0.1 serving ``tmp_path / "served"``; counts its requests."""
    root = tmp_path / "served"
    root.mkdir()
    requests: list[str] = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            requests.append(self.path)

    handler = functools.partial(Handler, directory=str(root))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{httpd.server_address[1]}", requests
    httpd.shutdown()


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """No local copies anywhere; the cache in ``tmp_path / "cache"``."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("BUTTERFLYVI_CACHE", str(cache))
    monkeypatch.setattr(_public, "local_folders", lambda: [tmp_path / "nothing", cache])
    return cache


def _tiny_kang(path: Path) -> None:
    rng = np.random.default_rng(0)
    adata = ad.AnnData(rng.uniform(size=(12, 5)).astype(np.float32))
    adata.obs["condition"] = ["control", "stimulated"] * 6
    adata.obs["cell_type"] = ["B"] * 12
    adata.write_h5ad(path)


def _serve_kang(monkeypatch, root: Path, base: str, sha: str | None = None) -> None:
    _tiny_kang(root / "valid.h5ad")
    source = _sources.Source(
        f"{base}/valid.h5ad", sha or _sha(root / "valid.h5ad"), "kang2018_scgen_valid_pbmc.h5ad"
    )
    record = dataclasses.replace(_sources.DATASETS["kang"], sources=(source,))
    monkeypatch.setitem(_sources.DATASETS, "kang", record)


def test_download_is_checked_cached_and_not_repeated(server, isolated, monkeypatch):
    root, base, requests = server
    _serve_kang(monkeypatch, root, base)
    with pytest.raises(FileNotFoundError, match="download=True"):
        bf.datasets.kang(download=False)
    first = bf.datasets.kang()
    assert first.shape == (12, 5)
    assert (isolated / "kang2018_scgen_valid_pbmc.h5ad").is_file()
    second = bf.datasets.kang()
    np.testing.assert_array_equal(first.X, second.X)
    assert len(requests) == 1  # the second call read the cache


def test_a_download_with_the_wrong_checksum_is_refused_and_not_kept(server, isolated, monkeypatch):
    root, base, _ = server
    _serve_kang(monkeypatch, root, base, sha="0" * 64)
    with pytest.raises(ChecksumError, match="expected SHA-256 0000"):
        bf.datasets.kang()
    assert not any(isolated.iterdir())  # no partial or damaged file left behind


def test_a_damaged_local_copy_is_refused(tmp_path):
    (tmp_path / "kang2018_scgen_valid_pbmc.h5ad").write_bytes(b"not the recorded file")
    with pytest.raises(ChecksumError, match="kang"):
        bf.datasets.kang(path=tmp_path)


def test_unknown_dataset_and_missing_folder_are_named(tmp_path):
    with pytest.raises(ValueError, match="name: expected one of"):
        _public.dataset_files("pbmc3k")
    with pytest.raises(FileNotFoundError, match="path: expected a folder holding"):
        bf.datasets.bmmc_cite(path=tmp_path)


# ---------------------------------------------------------------- derivations
def _recorded(monkeypatch, name: str, folder: Path) -> None:
    """Record the checksums of the tiny source files written in ``folder``."""
    record = _sources.DATASETS[name]
    sources = tuple(
        dataclasses.replace(s, sha256=_sha(folder / s.file_name)) for s in record.sources
    )
    monkeypatch.setitem(_sources.DATASETS, name, dataclasses.replace(record, sources=sources))


def test_snareseq_is_derived_from_scmomats_files(tmp_path, isolated, monkeypatch):
    src = tmp_path / "src"
    src.mkdir()
    rng = np.random.default_rng(0)
    cells = ["09A_AAAC", "09A_AAAG", "10B_CCCA"]
    genes, peaks = ["Snap25", "Gad1"], ["chr1_100_200", "chrX_5_50", "chr2_7_9"]
    sp.save_npz(src / "GxC1.npz", sp.csc_matrix(rng.poisson(2, (2, 3)).astype(float)))
    sp.save_npz(src / "RxC1.npz", sp.csc_matrix(rng.poisson(1, (3, 3)).astype(float)))
    (src / "genes.txt").write_text("\n".join(genes) + "\n")
    (src / "regions.txt").write_text("\n".join(peaks) + "\n")
    pd.DataFrame(
        {
            "Batch": ["09A", "09A", "10B"],
            "Barcode": ["AAAC", "AAAG", "CCCA"],
            "Ident": ["E3Rorb", "Ast", "E3Rorb"],
            "cluster (remapped)": ["L2/3", "Astro", "L2/3"],
        },
        index=cells,
    ).to_csv(src / "meta_c1.csv")
    _recorded(monkeypatch, "snareseq", src)
    mdata = bf.datasets.snareseq(path=src)
    assert mdata["rna"].shape == (3, 2) and mdata["atac"].shape == (3, 3)
    assert mdata.obs_names.tolist() == cells
    counts = sp.load_npz(src / "GxC1.npz").T.toarray()
    np.testing.assert_array_equal(mdata["rna"].X.toarray(), counts)
    assert mdata["rna"].X.dtype == np.float32 and sp.isspmatrix_csr(mdata["rna"].X)
    assert mdata["atac"].var["chrom"].tolist() == ["chr1", "chrX", "chr2"]
    assert mdata["atac"].var["start"].tolist() == [100, 5, 7]
    assert mdata.obs["cell_type"].tolist() == ["E3Rorb", "Ast", "E3Rorb"]
    assert (isolated / "snareseq_mouse_cortex_chen2019.h5mu").is_file()  # kept derived


def test_pbmc10k_is_derived_with_protein_names_and_gene_symbols(tmp_path, isolated, monkeypatch):
    from butterflyvi.datasets._derive import PBMC10K_PROTEINS

    src = tmp_path / "src"
    src.mkdir()
    rng = np.random.default_rng(1)
    genes = rng.poisson(3, (8, 4)).astype(float)
    genes[:, 3] = genes[:, 2]  # two identical gene columns: no single match for either
    proteins = rng.poisson(20, (8, 14)).astype(float) + np.arange(8)[:, None] * 100
    with h5py.File(src / "10XPBMC_filtered_1000G.H5", "w") as handle:
        handle["X1"], handle["X2"], handle["Y"] = genes, proteins, np.array([1.0, 2] * 4)
    # scvi-tools' file: 3 of the cells, genes in another order and one more
    reference = ad.AnnData(
        np.column_stack([genes[[5, 1, 6]][:, [1, 0, 2, 3]], np.ones(3)]).astype(np.float32),
        obsm={"protein_expression": proteins[[5, 1, 6]]},
        uns={"protein_names": np.array(PBMC10K_PROTEINS)},
    )
    reference.var_names = ["CD79A", "MS4A1", "LYZ", "S100A8", "ACTB"]
    reference.write_h5ad(src / "pbmc_10k_protein_v3.h5ad")
    _recorded(monkeypatch, "pbmc10k_cite", src)
    mdata = bf.datasets.pbmc10k_cite(path=src)
    assert mdata["prot"].var_names.tolist() == list(PBMC10K_PROTEINS)
    assert mdata["rna"].var["inferred_symbol"].tolist() == ["MS4A1", "CD79A", "", ""]
    assert mdata["rna"].obs_names[0] == "cell00000"
    np.testing.assert_array_equal(mdata["prot"].X.toarray(), proteins)
    assert mdata.obs["cluster_label"].astype(int).tolist() == [1, 2] * 4
