"""Training throughput on SNARE-seq against the original scButterfly (BASELINE.md).

``python -m benchmarks.perf_throughput [--threads 1] [--epochs-pretrain 3] [--epochs 3]``

The BASELINE.md setting: 8,247 training cells of ``bf.datasets.snareseq_split()``, 1,677
genes, 5,420 peaks (the 0.5 % filter), the paper's architecture (``preset="paper"``), batch 64,
validation every epoch (not timed). Per epoch: CPU seconds of this process and wall seconds,
with the load average. ``--mask dropout`` swaps the package's input masks (``input_dropout``) for ``F.dropout``,
the package before the switch (see :mod:`benchmarks._perf_variants`). Writes ``benchmarks/results/perf_throughput[_TAG].json``.

The original trained each modality's autoencoder in its own pass in phase 1 (RNA 2,284
cells/s, then ATAC 1,196 cells/s); butterflyvi trains both in one pass, so its phase-1 figure
compares with ``1 / (1/2284 + 1/1196) = 785`` cells/s for the pair.
"""

from __future__ import annotations

import argparse
import sys
from contextlib import nullcontext

import scvi
import torch

from ._perf_common import (
    RESULTS,
    EpochClock,
    context,
    load_average,
    matmul_flops,
    phase_summary,
    prepared_snareseq,
    quiet,
    write_json,
)
from ._perf_variants import variant

#: The original's training cells/s (BASELINE.md: 2 CPU cores, 2 torch threads, batch 64).
ORIGINAL = {"rna_pretraining": 2284, "atac_pretraining": 1196, "integrative": 530}
ORIGINAL["pretraining_pair"] = 1 / (
    1 / ORIGINAL["rna_pretraining"] + 1 / ORIGINAL["atac_pretraining"]
)


def main(argv: list[str] | None = None) -> dict:
    """Train and write the record."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.perf_throughput")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--epochs-pretrain", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument(
        "--mask",
        choices=("package", "dropout"),
        default="package",
        help="input masks: the package's (input_dropout) or F.dropout (the package before)",
    )
    parser.add_argument("--tag", default="")
    args = parser.parse_args(argv)
    quiet()
    import butterflyvi as bf

    record = {"command": "python -m benchmarks.perf_throughput " + " ".join(argv or sys.argv[1:])}
    record.update(context())
    mdata, split = prepared_snareseq()
    bf.ButterflyModel.setup_mudata(mdata, modalities=("rna", "atac"))
    scvi.settings.seed = 0
    model = bf.ButterflyModel(mdata, preset="paper")
    torch.set_num_threads(args.threads)
    record["machine"]["torch_threads"] = torch.get_num_threads()
    record["matmul_gflops_before"] = matmul_flops() / 1e9
    clock = EpochClock(args.epochs_pretrain)
    patch = variant(mask="dropout") if args.mask == "dropout" else nullcontext()
    with patch:
        model.train(
            max_epochs_pretrain=args.epochs_pretrain,
            max_epochs=args.epochs,
            batch_size=args.batch_size,
            external_indexing=[split["train"], split["validation"], split["test"]],
            callbacks=[clock],
            enable_progress_bar=False,
            enable_model_summary=False,
            accelerator="cpu",
        )
    record["matmul_gflops_after"] = matmul_flops() / 1e9
    n_train = len(split["train"])
    record.update(
        n_train=n_train,
        n_genes=int(mdata["rna"].n_vars),
        n_peaks=int(mdata["atac"].n_vars),
        batch_size=args.batch_size,
        epochs=clock.epochs,
        summary=phase_summary(clock.epochs, n_train),
        original_cells_per_second=ORIGINAL,
        load_average_end=load_average(),
    )
    for phase, ref in (("phase1", "pretraining_pair"), ("phase2", "integrative")):
        s = record["summary"][phase]
        s["speedup_vs_original_cpu"] = s["cells_per_cpu_second"] / ORIGINAL[ref]
        s["speedup_vs_original_wall"] = s["cells_per_wall_second"] / ORIGINAL[ref]
    tag = f"_{args.tag}" if args.tag else ""
    write_json(RESULTS / f"perf_throughput{tag}.json", record)
    return record


if __name__ == "__main__":
    main()
