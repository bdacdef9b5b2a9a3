"""Mouse (mm10) transcription start sites for gene activity where no GTF is at hand.

The SNARE-seq file has gene names but no gene coordinates, and this machine reaches only the
package registries. CellOracle's wheel on PyPI (Apache-2.0) ships a table of mm10 promoter
windows (``celloracle/motif_analysis/tss_ref_data/mm10_tss_info.bed``: chrom, start, end,
gene, offset, strand); it is downloaded once with ``pip download --no-deps`` and the table
is read from it, nothing else.
"""

from __future__ import annotations

import io
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import pandas as pd

CACHE = Path(__file__).resolve().parent / ".cache"
WHEEL = "celloracle==0.20.0"
MEMBER = "celloracle/motif_analysis/tss_ref_data/mm10_tss_info.bed"


def _table(cache: Path) -> Path:
    path = cache / "mm10_tss_info.bed"
    if path.exists():
        return path
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", WHEEL, "-d", tmp],
            check=True,
        )
        wheel = next(Path(tmp).glob("celloracle-*.whl"))
        with zipfile.ZipFile(wheel) as archive:
            path.write_bytes(archive.read(MEMBER))
    return path


def mouse_tss(genes: pd.Index, *, cache: Path = CACHE) -> pd.DataFrame:
    """One TSS per gene of ``genes`` found in the table (the first window listed for it).

    Returns a gene table for :func:`butterflyvi.pp.gene_activity`: chrom, start, end, strand,
    where the gene is the 1-bp centre of its promoter window (so its TSS is within half a
    window, ~550 bp, of the true one; no gene body or exons).
    """
    text = _table(cache).read_text()
    table = pd.read_csv(
        io.StringIO(text),
        sep="\t",
        header=None,
        names=["chrom", "start", "end", "gene", "offset", "strand"],
    )
    table = table.drop_duplicates("gene").set_index("gene")
    table = table.loc[table.index.intersection(genes)]
    centre = (table["start"] + table["end"]) // 2
    return pd.DataFrame(
        {"chrom": table["chrom"], "start": centre, "end": centre + 1, "strand": table["strand"]},
        index=table.index,
    )
