"""Annotating scATAC cells by translation, on the SNARE-seq split's test cells.

``python -m benchmarks.annotation``

The catalogue's ``mouse-cortex-rna-atac`` model (trained on the split's training and
validation cells) translates the 1,032 test cells' ATAC to RNA; labels come from the
training cells' RNA by a 15-neighbour vote (``bf.tl.annotate_by_translation``). Beside it,
the same vote from the training cells' own ATAC (no model), in the model's latent space
(query ATAC latent against reference RNA latent), and from the test cells' measured RNA (the
ceiling). Writes ``benchmarks/results/annotation.json`` and prints a Markdown table.
"""

from __future__ import annotations

import json
import sys
import warnings

import numpy as np
from anndata import AnnData

from ._markdown import table
from ._perf_common import RESULTS, context


def main() -> int:
    """Entry point."""
    warnings.filterwarnings("ignore")
    import butterflyvi as bf

    model = bf.zoo.load("mouse-cortex-rna-atac")
    mdata = bf.datasets.snareseq()
    split = bf.datasets.snareseq_split()
    reference, query = mdata[split["train"]].copy(), mdata[split["test"]].copy()
    truth = query.obs["cell_type"].astype(str).to_numpy()
    atac_only = query.mod["atac"].copy()
    atac_only.obs = atac_only.obs[[]]

    def transfer(modality: str) -> np.ndarray:
        space = model.feature_spaces[model.modalities_.index(modality)]
        ref = AnnData(space.to_model_space(reference[modality]), obs=reference.obs[["cell_type"]])
        return bf.metrics.transfer_labels(
            AnnData(space.to_model_space(query[modality])), ref, label_key="cell_type"
        )

    z_query = model.get_latent_representation(query, modality="atac")
    z_reference = model.get_latent_representation(reference, modality="rna")
    latent = bf.metrics.transfer_labels(
        AnnData(np.zeros((len(z_query), 1)), obsm={"z": z_query}),
        AnnData(
            np.zeros((len(z_reference), 1)),
            obs=reference.obs[["cell_type"]],
            obsm={"z": z_reference},
        ),
        label_key="cell_type",
        use_rep="z",
    )
    labels = bf.tl.annotate_by_translation(
        atac_only, model=model, reference=reference, source="atac"
    ).to_numpy()
    results = {
        "from the ATAC directly (no model)": bf.metrics.annotation(truth, transfer("atac")),
        "by translation, ATAC → RNA (bf.tl.annotate_by_translation)": bf.metrics.annotation(
            truth, labels
        ),
        "in the model's latent space (ATAC query, RNA reference)": bf.metrics.annotation(
            truth, latent
        ),
        "from the measured RNA (ceiling)": bf.metrics.annotation(truth, transfer("rna")),
    }
    (RESULTS / "annotation.json").write_text(
        json.dumps({"context": context(), "results": results}, indent=1)
    )
    rows = [
        (name, r["accuracy"], r["kappa"], r["f1_macro"], r["f1_weighted"])
        for name, r in results.items()
    ]
    print(table(rows, ("labels from", "accuracy", "Cohen's κ", "F1 macro", "F1 weighted")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
