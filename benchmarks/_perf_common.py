"""Shared pieces of the performance benchmarks (``benchmarks/perf_*.py``).

Load-robust measurements on a shared machine: CPU time of this process
(``time.process_time``) next to wall time, the 1/5/15-minute load average next to every
timing, dense ``torch.matmul`` FLOP/s measured in the same process as a yardstick, and peak
resident memory (``ru_maxrss``, which other processes do not change).
"""

from __future__ import annotations

import json
import os
import resource
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import lightning.pytorch as pl
import numpy as np
import torch

from ._report import _plain
from ._timing import machine, versions

RESULTS = Path(__file__).resolve().parent / "results"
#: Ignored by git: cached preprocessed data, backed files.
CACHE = RESULTS / "tmp"
SNARE_CACHE = CACHE / "snareseq_prepared.h5mu"
SNARE_SPLIT_CACHE = CACHE / "snareseq_split.npz"


def load_average() -> list[float]:
    """The 1, 5 and 15-minute load averages."""
    return [round(x, 2) for x in os.getloadavg()]


def peak_rss_gb() -> float:
    """Peak resident memory of this process so far, in GB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6


def current_rss_gb() -> float:
    """Current resident memory of this process, in GB (from ``/proc/self/statm``)."""
    try:
        with open("/proc/self/statm") as f:
            pages = int(f.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 1e9
    except OSError:
        return float("nan")


def reset_stage_peak() -> bool:
    """Reset the kernel's high-water mark of resident memory (``VmHWM``) of this process.

    ``ru_maxrss`` keeps the peak of the whole process; after this reset, :func:`stage_peak_gb`
    gives the peak since the reset (Linux ``/proc/self/clear_refs``). Returns whether it worked.
    """
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def stage_peak_gb() -> float:
    """Peak resident memory since the last :func:`reset_stage_peak` (``VmHWM``), in GB."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1e6
    except OSError:
        pass
    return float("nan")


def matmul_flops(*, m: int = 256, k: int = 1024, n: int = 1024, seconds: float = 0.3) -> float:
    """Dense float32 ``torch.matmul`` FLOP/s of this process (CPU time, current threads).

    The yardstick for "fraction of dense matmul": a well-shaped GEMM at the same thread count.
    """
    a, b = torch.randn(m, k), torch.randn(k, n)
    for _ in range(3):
        a @ b
    reps, start = 0, time.process_time()
    while time.process_time() - start < seconds or reps < 5:
        a @ b
        reps += 1
    elapsed = time.process_time() - start
    # process_time counts all threads: divide by the threads to get per-wall-second FLOP/s of
    # the whole process when it has its cores to itself.
    return 2.0 * m * k * n * reps / elapsed * torch.get_num_threads()


def time_call(fn: Callable[[], object], *, repeats: int, warmup: int = 2) -> dict:
    """CPU and wall seconds per call of ``fn`` (after ``warmup`` calls)."""
    for _ in range(warmup):
        fn()
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(repeats):
        fn()
    return {
        "cpu_s": (time.process_time() - cpu) / repeats,
        "wall_s": (time.perf_counter() - wall) / repeats,
        "load_average": load_average(),
    }


class EpochClock(pl.Callback):
    """CPU and wall seconds of every training epoch (validation excluded), with the load."""

    def __init__(self, n_epochs_pretrain: int):
        super().__init__()
        self.n_epochs_pretrain = n_epochs_pretrain
        self.epochs: list[dict] = []
        self._t = (0.0, 0.0)
        self._val = (0.0, 0.0)
        self._val_start = (0.0, 0.0)

    @staticmethod
    def _now() -> tuple[float, float]:
        return time.perf_counter(), time.process_time()

    def on_train_epoch_start(self, trainer, pl_module):
        """Start the clocks."""
        self._t = self._now()
        self._val = (0.0, 0.0)

    def on_validation_epoch_start(self, trainer, pl_module):
        """Start the validation clocks."""
        self._val_start = self._now()

    def on_validation_epoch_end(self, trainer, pl_module):
        """Stop the validation clocks."""
        if not trainer.sanity_checking:
            now = self._now()
            self._val = tuple(
                v + n - s for v, n, s in zip(self._val, now, self._val_start, strict=True)
            )

    def on_train_epoch_end(self, trainer, pl_module):
        """Record the epoch."""
        now = self._now()
        epoch = trainer.current_epoch
        self.epochs.append(
            {
                "epoch": int(epoch),
                "phase": 1 if epoch < self.n_epochs_pretrain else 2,
                "steps": int(trainer.num_training_batches),
                "wall_s": now[0] - self._t[0] - self._val[0],
                "cpu_s": now[1] - self._t[1] - self._val[1],
                "load_average": load_average(),
                "rss_gb": current_rss_gb(),
            }
        )


def phase_summary(epochs: list[dict], cells_per_epoch: int) -> dict:
    """Per phase: median CPU and wall seconds per epoch and the cells/s they imply."""
    out = {}
    for phase in (1, 2):
        rows = [e for e in epochs if e["phase"] == phase]
        if not rows:
            continue
        cpu = float(np.median([e["cpu_s"] for e in rows]))
        wall = float(np.median([e["wall_s"] for e in rows]))
        out[f"phase{phase}"] = {
            "epochs": len(rows),
            "median_cpu_s_per_epoch": cpu,
            "median_wall_s_per_epoch": wall,
            "cells_per_cpu_second": cells_per_epoch / cpu,
            "cells_per_wall_second": cells_per_epoch / wall,
            "load_average": [e["load_average"] for e in rows],
        }
    return out


def prepared_snareseq():
    """SNARE-seq preprocessed as in BASELINE.md and its split (cached in ``results/tmp``).

    Returns
    -------
    ``(mdata, split)`` with ``split`` of integer positions ``train``/``validation``/``test``.
    """
    import mudata as md

    if SNARE_CACHE.exists() and SNARE_SPLIT_CACHE.exists():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            mdata = md.read_h5mu(SNARE_CACHE)
        split = dict(np.load(SNARE_SPLIT_CACHE))
        return mdata, split
    from ._data import load_paired

    data = load_paired("snareseq")
    CACHE.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        data.mdata.write(SNARE_CACHE)
    np.savez(SNARE_SPLIT_CACHE, **data.split)
    return data.mdata, data.split


def context() -> dict:
    """Machine (CPU model, cores, threads, load), versions and the GPU situation."""
    info = {"machine": machine(), "versions": versions()}
    info["machine"]["gpu"] = (
        torch.cuda.get_device_name(0)
        if torch.cuda.is_available()
        else "none (no GPU was lent to this task)"
    )
    return info


def write_json(path: Path, data: dict) -> None:
    """Write ``data`` as JSON (numpy values converted)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(_plain(data), indent=1) + "\n")


def quiet() -> None:
    """Silence the warnings and Lightning's info lines that clutter benchmark logs."""
    import logging

    warnings.filterwarnings("ignore")
    for name in ("lightning", "lightning.pytorch", "lightning.fabric", "scvi"):
        logging.getLogger(name).setLevel(logging.ERROR)
