"""Run the released scButterfly (0.0.9) on the SNARE-seq split; executed inside its own venv.

``python _original_driver.py DATA.h5mu SPLIT.json OUT_DIR --epochs R A T --threads N``

Writes ``OUT_DIR/original.json`` (seconds per phase, taken from the times of the original's
own log messages "RNA pretraining ...", "ATAC pretraining ...", "Integrative training ...";
peak memory) and ``OUT_DIR/original_predictions.npz`` (the test and the validation cells'
translations, after training, scored by the caller with butterflyvi's metrics). Nothing of butterflyvi is imported here.
"""

from __future__ import annotations

import argparse
import json
import logging
import resource
import time
from pathlib import Path

import numpy as np

PHASES = {
    "RNA pretraining ...": "rna_pretraining",
    "ATAC pretraining ...": "atac_pretraining",
    "Integrative training ...": "integrative",
}


class PhaseClock(logging.Handler):
    """Records when each of the original's training phases starts (its log messages)."""

    def __init__(self):
        super().__init__()
        self.starts: dict[str, float] = {}

    def emit(self, record: logging.LogRecord) -> None:
        phase = PHASES.get(record.getMessage())
        if phase is not None:
            self.starts[phase] = time.perf_counter()


def _dense(X) -> np.ndarray:
    return np.asarray(X.toarray() if hasattr(X, "toarray") else X, dtype=np.float32)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("data", type=Path)
    parser.add_argument("split", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--epochs", type=int, nargs=3, default=(50, 50, 100))
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    import mudata as md
    import torch

    torch.set_num_threads(args.threads)
    from scButterfly.butterfly import Butterfly

    mdata = md.read_h5mu(args.data)
    rna, atac = mdata["rna"].copy(), mdata["atac"].copy()
    for adata in (rna, atac):
        adata.obs["cell_type"] = adata.obs["cell_type"].astype("category")
    split = json.loads(args.split.read_text())
    position = {name: i for i, name in enumerate(rna.obs_names)}
    ids = {part: [position[n] for n in split[part]] for part in ("train", "validation", "test")}

    clock = PhaseClock()
    logging.getLogger().addHandler(clock)
    model = Butterfly()
    model.load_data(rna, atac, ids["train"], ids["test"], ids["validation"])
    model.data_preprocessing()
    chroms = model.ATAC_data_p.var["chrom"].astype(str)
    chrom_list = [int((chroms == c).sum()) for c in dict.fromkeys(chroms)]
    model.augmentation(aug_type=None)
    model.construct_model(chrom_list=chrom_list)
    start = time.perf_counter()
    model.train_model(
        R2R_pretrain_epoch=args.epochs[0],
        A2A_pretrain_epoch=args.epochs[1],
        translator_epoch=args.epochs[2],
        output_path=str(args.out),
    )
    end = time.perf_counter()
    starts = clock.starts
    order = ["rna_pretraining", "atac_pretraining", "integrative"]
    bounds = [starts.get(p, start) for p in order] + [end]
    seconds = {p: bounds[i + 1] - bounds[i] for i, p in enumerate(order)}
    predictions = {}
    for part in ("test", "validation"):
        # test_model translates the cells of test_id_r / test_id_a: point them at each part.
        model.test_id_r, model.test_id_a = list(ids[part]), list(ids[part])
        a2r, r2a = model.test_model(output_path=str(args.out))
        predictions[f"{part}_atac_to_rna"] = _dense(a2r.X)
        predictions[f"{part}_rna_to_atac"] = _dense(r2a.X)
        predictions[f"{part}_cells"] = np.asarray(split[part])
    np.savez_compressed(
        args.out / "original_predictions.npz",
        **predictions,
        genes=np.asarray(model.RNA_data_p.var_names),
        peaks=np.asarray(model.ATAC_data_p.var_names),
    )
    result = {
        "epochs": list(args.epochs),
        "threads": args.threads,
        "seconds": seconds,
        "train_seconds": end - start,
        "n_genes": int(model.RNA_data_p.n_vars),
        "n_peaks": int(model.ATAC_data_p.n_vars),
        "peak_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6,
    }
    (args.out / "original.json").write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
