"""Training on one GPU: cells/s per phase and GPU utilisation, data on the device or not.

``python -m benchmarks.perf_gpu [--epochs 3 5] [--precision 32-true bf16-mixed]``

On the SNARE-seq split (``preset="paper"``, batch 64; ``--batch-size`` to change it), each
variant trains in this process: ``data_on_device`` False (scvi-tools' host loader) and True
(rows on the device), for each ``--precision``. A thread samples ``nvidia-smi`` every
0.2 s during training for the utilisation. The CPU's phase-2 rate is measured first on the
same data (1 epoch, ``--cpu-threads``) for the speed-up. Writes
``benchmarks/results/perf_gpu.json``. Exits with a message when no GPU is visible.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import threading
import time

import numpy as np
import torch

from ._perf_common import RESULTS, EpochClock, context, phase_summary, prepared_snareseq, quiet
from ._perf_common import write_json as write

OUT = RESULTS / "perf_gpu.json"


class Utilisation(threading.Thread):
    """Samples ``nvidia-smi --query-gpu=utilization.gpu`` until stopped."""

    def __init__(self, period: float = 0.2):
        super().__init__(daemon=True)
        self.period = period
        self.samples: list[float] = []
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            out = subprocess.run(
                ["nvidia-smi", "--query-gpu=utilization.gpu", "--format=csv,noheader,nounits"],
                capture_output=True,
                text=True,
            )
            if out.returncode == 0 and out.stdout.strip():
                self.samples.append(float(out.stdout.split()[0]))
            time.sleep(self.period)


def train(mdata, split, *, epochs, accelerator, on_device, precision, batch_size) -> dict:
    import butterflyvi as bf

    bf.ButterflyModel.setup_mudata(mdata, modalities=("rna", "atac"))
    model = bf.ButterflyModel(mdata, preset="paper")
    clock = EpochClock(epochs[0])
    monitor = Utilisation() if accelerator == "gpu" else None
    if monitor:
        monitor.start()
    start = time.perf_counter()
    model.train(
        max_epochs_pretrain=epochs[0],
        max_epochs=epochs[1],
        batch_size=batch_size,
        external_indexing=[split["train"], split["validation"], split["test"]],
        accelerator=accelerator,
        devices=1,
        data_on_device=on_device,
        precision=precision,
        callbacks=[clock],
        enable_progress_bar=False,
        enable_model_summary=False,
        early_stopping=False,
    )
    wall = time.perf_counter() - start
    out = {"wall_s": wall, "phases": phase_summary(clock.epochs[1:], len(split["train"]))}
    if monitor:
        monitor.stop.set()
        monitor.join()
        samples = np.asarray(monitor.samples)
        out["gpu_utilisation_mean"] = float(samples.mean()) if samples.size else None
        out["gpu_utilisation_median"] = float(np.median(samples)) if samples.size else None
        out["max_memory_allocated_gb"] = torch.cuda.max_memory_allocated() / 1e9
    return out


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.perf_gpu")
    parser.add_argument("--epochs", type=int, nargs=2, default=(3, 5))
    parser.add_argument("--precision", nargs="+", default=["32-true", "bf16-mixed"])
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--cpu-threads", type=int, default=2)
    args = parser.parse_args(argv)
    if not torch.cuda.is_available():
        print("perf_gpu: no GPU visible (torch.cuda.is_available() is False); nothing measured.")
        return 1
    quiet()
    mdata, split = prepared_snareseq()
    torch.set_num_threads(args.cpu_threads)
    cpu = train(
        mdata.copy(),
        split,
        epochs=(1, 2),
        accelerator="cpu",
        on_device=False,
        precision="32-true",
        batch_size=args.batch_size,
    )
    cpu_rate = cpu["phases"]["phase2"]["cells_per_wall_second"]
    runs = []
    for precision in args.precision:
        for on_device in (False, True):
            torch.cuda.reset_peak_memory_stats()
            result = train(
                mdata.copy(),
                split,
                epochs=tuple(args.epochs),
                accelerator="gpu",
                on_device=on_device,
                precision=precision,
                batch_size=args.batch_size,
            )
            rate = result["phases"]["phase2"]["cells_per_wall_second"]
            result.update(
                precision=precision,
                data_on_device=on_device,
                phase2_speedup_over_cpu=rate / cpu_rate,
            )
            runs.append(result)
            print(
                f"[perf_gpu] {precision} on_device={on_device}: phase 2 {rate:,.0f} cells/s "
                f"({rate / cpu_rate:.1f}× CPU), GPU {result['gpu_utilisation_mean']:.0f} %",
                flush=True,
            )
    write(
        OUT,
        {
            "context": context(),
            "gpu": torch.cuda.get_device_name(0),
            "cpu": cpu,
            "runs": runs,
            "command": "python -m benchmarks.perf_gpu " + " ".join(sys.argv[1:]),
        },
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
