"""Matching a dataset's features to a model's: names (exact, Ensembl ids, genome prefixes,
case), then genomic overlap for peaks — the one place where new data meet a feature space.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from anndata import AnnData

from .._validation import invalid

#: Genome prefixes of multi-genome references (Cell Ranger ``GRCh38_CD3E``, ``mm10-Snap25``),
#: with the species each means.
GENOME_PREFIXES = {
    "grch38": "human",
    "grch37": "human",
    "hg38": "human",
    "hg19": "human",
    "grcm39": "mouse",
    "grcm38": "mouse",
    "mm39": "mouse",
    "mm10": "mouse",
    "mm9": "mouse",
}
_PREFIX = re.compile(r"^(" + "|".join(GENOME_PREFIXES) + r")[_\-.:]+", flags=re.IGNORECASE)
_ENSEMBL = re.compile(r"^(ENS[A-Z]*G\d{6,})(\.\d+)?$")
#: The match method names of the report, in the order they are tried.
RULES = ("exact", "ensembl_id", "genome_prefix", "case")


def strip_prefix(names: pd.Index) -> pd.Index:
    """Names without a genome prefix (``GRCh38_CD3E`` → ``CD3E``)."""
    return pd.Index(pd.Series(names, dtype=object).astype(str).str.replace(_PREFIX, "", regex=True))


def ensembl_ids(values) -> pd.Index:
    """Ensembl gene ids without their version (``ENSG00000198851.10`` → ``ENSG00000198851``);
    other values become empty strings.
    """
    text = pd.Series(np.asarray(values, dtype=object)).astype(str)
    return pd.Index(text.str.extract(_ENSEMBL, expand=False)[0].fillna("").to_numpy(dtype=object))


def species_of(names: pd.Index, ids: pd.Index | None = None) -> str | None:
    """``"human"``, ``"mouse"`` or ``None`` (can't tell), from Ensembl ids (``ENSG`` /
    ``ENSMUSG``), genome prefixes, then the case of gene symbols (``CD3E`` / ``Cd3e``).
    """
    for values in (ids, names):
        if values is None:
            continue
        found = ensembl_ids(values)
        found = found[found != ""]
        if len(found) >= max(10, 0.5 * len(values)):
            mouse = float(np.mean([v.startswith("ENSMUSG") for v in found]))
            return "mouse" if mouse > 0.5 else "human" if mouse < 0.1 else None
    prefixes = pd.Series(names, dtype=object).astype(str).str.extract(_PREFIX, expand=False)
    prefixes = prefixes.dropna().str.lower().map(GENOME_PREFIXES)
    if len(prefixes) >= 0.5 * len(names) and prefixes.nunique() == 1:
        return str(prefixes.iloc[0])
    symbols = pd.Series(strip_prefix(names), dtype=object)
    symbols = symbols[symbols.str.contains(r"^[A-Za-z][A-Za-z0-9]{2,}$", regex=True)]
    if len(symbols) < 20:
        return None
    upper = float(symbols.str.fullmatch(r"[A-Z0-9]+").mean())
    title = float(symbols.str.fullmatch(r"[A-Z][a-z0-9]+").mean())
    if upper > 0.8:
        return "human"
    if title > 0.6:
        return "mouse"
    return None


def _match_rule(model_keys: pd.Index, data_keys: pd.Index, positions: np.ndarray) -> np.ndarray:
    """Input positions for the still unmatched model features by one rule: keys present once
    on each side (ambiguous and empty keys left out), inputs not used by an earlier rule.
    """
    taken = np.zeros(len(data_keys), dtype=bool)
    taken[positions[positions >= 0]] = True
    lookup = pd.Series(np.arange(len(data_keys)), index=pd.Index(data_keys, dtype=object))
    lookup = lookup[~lookup.index.duplicated(keep=False) & (lookup.index != "")]
    lookup = lookup[~taken[lookup.to_numpy()]]
    open_ = np.flatnonzero(positions < 0)
    wanted = pd.Index(np.asarray(model_keys, dtype=object)[open_])
    unique_wanted = ~wanted.duplicated(keep=False) & (wanted != "")
    found = lookup.reindex(wanted).to_numpy(dtype=np.float64)
    out = positions.copy()
    hit = unique_wanted & ~np.isnan(found)
    out[open_[hit]] = found[hit].astype(np.int64)
    return out


@dataclass
class FeatureMatch:
    """Which input feature feeds each model feature.

    ``positions[j]`` is the input column of model feature ``j`` matched by name (``-1``:
    none); ``overlap`` sums input columns into model features matched by genomic overlap
    (input × model, or ``None``). ``report`` is what ``uns["feature_match"]`` shows.
    """

    model_names: pd.Index
    positions: np.ndarray
    overlap: sp.csr_matrix | None = None
    report: dict[str, Any] = field(default_factory=dict)

    @property
    def renames_only(self) -> bool:
        """Whether the data need only renaming (no columns summed)."""
        return self.overlap is None

    def names_for(self, adata: AnnData) -> pd.Index:
        """``adata``'s feature names with the matched ones replaced by the model's names."""
        names = np.asarray(adata.var_names.astype(str), dtype=object).copy()
        matched = self.positions >= 0
        names[self.positions[matched]] = np.asarray(self.model_names, dtype=object)[matched]
        return pd.Index(names)

    def apply(self, adata: AnnData, layer: str | None) -> AnnData:
        """``adata`` with the model's names on matched columns (a shallow view) or, with
        overlaps, an AnnData of the model's features (name-matched columns and sums of
        overlapping peaks; unmatched model features absent).
        """
        matrix = adata.X if layer is None else adata.layers[layer]
        if self.renames_only:
            return _shallow(adata, matrix, self.names_for(adata), layer)
        csr = sp.csr_matrix(matrix, dtype=np.float32)
        by_name = self.positions >= 0
        parts = [csr[:, self.positions[by_name]], csr @ self.overlap]
        by_overlap = np.asarray(self.overlap.sum(axis=0)).ravel() > 0
        names = list(self.model_names[by_name]) + list(self.model_names)
        keep = np.concatenate([np.ones(by_name.sum(), dtype=bool), by_overlap & ~by_name])
        combined = sp.hstack(parts).tocsr()[:, np.flatnonzero(keep)]
        return _shallow(adata, combined, pd.Index(np.asarray(names, dtype=object)[keep]), layer)


def _shallow(adata: AnnData, matrix, names: pd.Index, layer: str | None) -> AnnData:
    """An AnnData of ``matrix`` (as ``X`` or ``layer``) with ``adata``'s obs and other names."""
    return AnnData(
        X=matrix if layer is None else None,
        obs=adata.obs,
        var=pd.DataFrame(index=names),
        layers={} if layer is None else {layer: matrix},
    )


def match_by_name(
    model_names: pd.Index, model_ids: pd.Index | None, adata: AnnData
) -> tuple[np.ndarray, dict[str, int]]:
    """Input column of each model feature by the rules of :data:`RULES`, and how many each
    rule matched. A species mismatch (human model, mouse data, or the reverse) is refused.
    """
    names = pd.Index(adata.var_names.astype(str))
    ids = adata.var["gene_ids"] if "gene_ids" in adata.var else None
    positions = np.full(len(model_names), -1, dtype=np.int64)
    counts = dict.fromkeys(RULES, 0)
    model_species = species_of(model_names, model_ids)
    data_species = species_of(names, None if ids is None else pd.Index(ids))
    _check_species(model_species, data_species, names)
    model_keys = {
        "exact": pd.Index(model_names),
        "ensembl_id": ensembl_ids(model_ids if model_ids is not None else model_names),
        "genome_prefix": strip_prefix(model_names),
        "case": strip_prefix(model_names).str.upper(),
    }
    data_ids = ensembl_ids(ids if ids is not None else names)
    if ids is not None and (data_ids == "").all():
        data_ids = ensembl_ids(names)
    data_keys = {
        "exact": names,
        "ensembl_id": data_ids,
        "genome_prefix": _own_genome(names, model_species),
        "case": _own_genome(names, model_species).str.upper(),
    }
    for rule in RULES:
        before = int((positions >= 0).sum())
        positions = _match_rule(model_keys[rule], data_keys[rule], positions)
        counts[rule] = int((positions >= 0).sum()) - before
    return positions, counts


def _own_genome(names: pd.Index, species: str | None) -> pd.Index:
    """Names without their genome prefix; in a multi-genome file, only the genes of the
    model's species keep a usable name (the others become empty).
    """
    prefixes = pd.Series(names, dtype=object).astype(str).str.extract(_PREFIX, expand=False)
    stripped = strip_prefix(names)
    if species is None or prefixes.isna().all():
        return stripped
    other = prefixes.str.lower().map(GENOME_PREFIXES).fillna(species) != species
    return pd.Index(np.where(other.to_numpy(), "", np.asarray(stripped, dtype=object)))


def _check_species(model: str | None, data: str | None, names: pd.Index) -> None:
    if model is not None and data is not None and model != data:
        raise invalid(
            "data",
            f"{model} genes, as the model's",
            f"{data} genes (e.g. {list(map(str, names[:4]))})",
            "A translator works within one species: pick a model of the data's species.",
        )


def overlap_report(
    positions: np.ndarray, counts: Mapping[str, int], n_model: int, n_input: int, overlap=None
) -> dict[str, Any]:
    """The ``uns["feature_match"]`` report."""
    n_by_name = int((positions >= 0).sum())
    n_by_overlap = 0
    if overlap is not None:
        covered = np.asarray(overlap.sum(axis=0)).ravel() > 0
        n_by_overlap = int((covered & (positions < 0)).sum())
    n_matched = n_by_name + n_by_overlap
    return {
        "method": "overlap" if n_by_overlap else "name",
        "n_model_features": int(n_model),
        "n_matched": n_matched,
        "fraction": n_matched / max(n_model, 1),
        "n_input_features": int(n_input),
        "n_matched_by_name": n_by_name,
        "n_matched_by_overlap": n_by_overlap,
        "renamed": {rule: int(counts.get(rule, 0)) for rule in RULES if rule != "exact"},
    }
