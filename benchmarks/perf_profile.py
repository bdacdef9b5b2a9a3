"""Profile a SNARE-seq training step: implementation A/B, torch.profiler, FLOP/s, data path.

``python -m benchmarks.perf_profile [--threads 1] [--rounds 5]``

1. Step time (CPU seconds of this process) of phase 1 and phase 2 at batch 64 for each
   implementation variant (:mod:`benchmarks._perf_variants`), interleaved round by round so
   that the load of a shared machine hits every variant alike.
2. ``torch.profiler`` tables (top operators by self CPU time) of both phases.
3. Matrix-product FLOPs of a step (hooks on every Linear and chromosome layer; forward x 3
   for forward + backward) over its CPU time, as a fraction of dense ``torch.matmul`` FLOP/s
   measured in the same process right before and after — at batch 64 and 256.
4. The data path: scvi-tools' ``AnnDataLoader`` (CSR rows of both modalities of the MuData
   per minibatch, densified) alone, and Lightning epochs of each phase (the difference to the
   raw steps is Lightning's per-step cost plus logging), with the package's logging (values
   summed on the device, one ``self.log`` per value and epoch) and with the logging before
   (one ``self.log`` per value and step), alternated.
5. Wall and CPU time of a phase-1 step with 1 and 2 torch threads (oversubscription).

Writes ``benchmarks/results/perf_profile.json``.
"""

from __future__ import annotations

import argparse
import sys
import time
from contextlib import contextmanager, nullcontext

import numpy as np
import scvi
import torch
from torch.profiler import ProfilerActivity, profile

from ._perf_common import (
    RESULTS,
    EpochClock,
    context,
    load_average,
    matmul_flops,
    prepared_snareseq,
    quiet,
    write_json,
)
from ._perf_step import FlopCounter, RawSteps, minibatch
from ._perf_variants import variant

#: (name, layers, mask, adam): the first is the code before this work, the fourth the package
#: now (``input_dropout`` masks since it was switched on; the third was the package before).
CONFIGS = (
    ("before: einsum layers, F.dropout, Adam loop", "einsum", "dropout", "loop"),
    ("+ index_select/baddbmm layers", "bmm", "dropout", "loop"),
    ("+ fused Adam", "bmm", "dropout", "fused"),
    ("+ sparse input masking, input_dropout (package now)", "bmm", "sparse", "fused"),
    ("per-chromosome loop layers", "loop", "dropout", "fused"),
)
PACKAGE = CONFIGS[3]


def _model(mdata):
    import butterflyvi as bf

    bf.ButterflyModel.setup_mudata(mdata, modalities=("rna", "atac"))
    scvi.settings.seed = 0
    return bf.ButterflyModel(mdata, preset="paper")


def _ab(model, mdata, train, *, rounds: int, repeats: int) -> dict:
    rows = np.sort(train[:64])
    tensors = minibatch(mdata, ("rna", "atac"), rows)
    out = {name: {"phase1_cpu_ms": [], "phase2_cpu_ms": []} for name, *_ in CONFIGS}
    for _ in range(rounds):
        for name, layers, mask, adam in CONFIGS:
            with variant(layers=layers, mask=mask, adam=adam):
                steps = RawSteps(model.module, tensors)
                for phase in (1, 2):
                    t = _cpu_per_call(getattr(steps, f"phase{phase}"), repeats)
                    out[name][f"phase{phase}_cpu_ms"].append(t * 1e3)
    summary = {}
    base = out[CONFIGS[0][0]]
    for name, values in out.items():
        summary[name] = {
            key: {
                "median": float(np.median(v)),
                "all": [round(x, 2) for x in v],
                "speedup_vs_before": float(np.median(base[key]) / np.median(v)),
                "cells_per_cpu_second": 64e3 / float(np.median(v)),
            }
            for key, v in values.items()
        }
    return summary


def _cpu_per_call(fn, repeats: int) -> float:
    for _ in range(2):
        fn()
    start = time.process_time()
    for _ in range(repeats):
        fn()
    return (time.process_time() - start) / repeats


def _threads(model, mdata, train, *, threads: tuple[int, ...] = (1, 2), repeats: int = 4) -> dict:
    """Wall and CPU time of a phase-1 step at each thread count (oversubscription check)."""
    tensors = minibatch(mdata, ("rna", "atac"), np.sort(train[:64]))
    steps = RawSteps(model.module, tensors)
    before = torch.get_num_threads()
    out = {}
    try:
        for n in threads:
            torch.set_num_threads(n)
            for _ in range(2):
                steps.phase1()
            wall, cpu = time.perf_counter(), time.process_time()
            for _ in range(repeats):
                steps.phase1()
            out[str(n)] = {
                "wall_ms_per_step": 1e3 * (time.perf_counter() - wall) / repeats,
                "cpu_ms_per_step": 1e3 * (time.process_time() - cpu) / repeats,
                "load_average": load_average(),
            }
    finally:
        torch.set_num_threads(before)
    return out


def _profile(model, mdata, train, *, mask: str) -> dict:
    rows = np.sort(train[:64])
    tensors = minibatch(mdata, ("rna", "atac"), rows)
    tables = {}
    with variant(layers="bmm", mask=mask, adam="fused"):
        steps = RawSteps(model.module, tensors)
        for phase in (1, 2):
            fn = getattr(steps, f"phase{phase}")
            for _ in range(3):
                fn()
            n = 10
            with profile(activities=[ProfilerActivity.CPU]) as prof:
                for _ in range(n):
                    fn()
            events = sorted(prof.key_averages(), key=lambda e: e.self_cpu_time_total, reverse=True)
            total = sum(e.self_cpu_time_total for e in events)
            tables[f"phase{phase}"] = {
                "total_ms_per_step": total / n / 1e3,
                "ops_per_step": sum(e.count for e in events if e.key.startswith("aten::")) / n,
                "top": [
                    {
                        "op": e.key,
                        "percent": round(100 * e.self_cpu_time_total / total, 1),
                        "ms_per_step": round(e.self_cpu_time_total / n / 1e3, 3),
                        "calls_per_step": e.count / n,
                    }
                    for e in events[:15]
                ],
            }
    return tables


def _flops(model, mdata, train, *, batch: int, repeats: int) -> dict:
    rows = np.sort(train[:batch])
    tensors = minibatch(mdata, ("rna", "atac"), rows)
    before = matmul_flops()
    out = {"batch_size": batch, "matmul_flops_before": before}
    steps = RawSteps(model.module, tensors)
    for phase in (1, 2):
        fn = getattr(steps, f"phase{phase}")
        counter = FlopCounter(model.module)
        fn()
        counter.remove()
        seconds = _cpu_per_call(fn, repeats)
        out[f"phase{phase}"] = {
            "forward_gflop_executed": counter.executed / 1e9,
            "forward_gflop_useful": counter.useful / 1e9,
            "cpu_s_per_step": seconds,
            "achieved_gflops_executed": 3 * counter.executed / seconds / 1e9,
            "achieved_gflops_useful": 3 * counter.useful / seconds / 1e9,
        }
    after = matmul_flops()
    out["matmul_flops_after"] = after
    reference = (before + after) / 2
    for phase in (1, 2):
        rec = out[f"phase{phase}"]
        rec["fraction_of_matmul_executed"] = rec["achieved_gflops_executed"] * 1e9 / reference
        rec["fraction_of_matmul_useful"] = rec["achieved_gflops_useful"] * 1e9 / reference
    out["load_average"] = load_average()
    return out


def _loader(model, train) -> dict:
    from scvi.dataloaders import AnnDataLoader

    loader = AnnDataLoader(model.adata_manager, indices=train, batch_size=64, shuffle=True)
    times = []
    for _ in range(3):
        start = time.process_time()
        n = sum(1 for _ in loader)
        times.append((time.process_time() - start) / n)
    return {"cpu_ms_per_batch": 1e3 * float(np.median(times)), "batches": n}


def _log_every_step(self, values, n, *, on_step):
    """The logging before this work: one Lightning ``self.log`` per value and step."""
    for name, value in values.items():
        self.log(name, value.detach(), batch_size=n, on_step=on_step, on_epoch=True)


@contextmanager
def _per_step_logging():
    """Swap in :func:`_log_every_step` for ``ButterflyTrainingPlan._log_values``."""
    from butterflyvi.train import ButterflyTrainingPlan

    saved = ButterflyTrainingPlan._log_values
    ButterflyTrainingPlan._log_values = _log_every_step
    try:
        yield
    finally:
        ButterflyTrainingPlan._log_values = saved


def _lightning_epoch(model, split, *, per_step_log: bool) -> dict:
    clock = EpochClock(1)
    with (
        variant(layers=PACKAGE[1], mask=PACKAGE[2], adam=PACKAGE[3]),
        _per_step_logging() if per_step_log else nullcontext(),
    ):
        model.train(
            max_epochs_pretrain=1,
            max_epochs=1,
            batch_size=64,
            external_indexing=[split["train"], split["validation"], split["test"]],
            callbacks=[clock],
            enable_progress_bar=False,
            enable_model_summary=False,
            accelerator="cpu",
        )
    return {
        f"phase{e['phase']}": {
            "cpu_ms_per_step": 1e3 * e["cpu_s"] / e["steps"],
            "wall_ms_per_step": 1e3 * e["wall_s"] / e["steps"],
            "steps": e["steps"],
            "load_average": e["load_average"],
        }
        for e in clock.epochs
    }


def _lightning(model, split, *, rounds: int = 2) -> dict:
    """Lightning epochs (1 + 1) with the package's logging and with per-step ``self.log``,
    alternated; CPU ms per step of each phase."""
    runs = {"epoch sums (package)": [], "self.log per value and step (before)": []}
    for _ in range(rounds):
        for name in runs:
            runs[name].append(_lightning_epoch(model, split, per_step_log="before" in name))
    out = {}
    for name, records in runs.items():
        out[name] = {
            phase: {
                "cpu_ms_per_step": float(np.median([r[phase]["cpu_ms_per_step"] for r in records])),
                "wall_ms_per_step": float(
                    np.median([r[phase]["wall_ms_per_step"] for r in records])
                ),
                "all_cpu_ms_per_step": [round(r[phase]["cpu_ms_per_step"], 2) for r in records],
                "load_average": [r[phase]["load_average"] for r in records],
            }
            for phase in ("phase1", "phase2")
        }
    return out


def main(argv: list[str] | None = None) -> dict:
    """Run all parts and write the JSON record."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.perf_profile")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=8)
    parser.add_argument("--out", default=str(RESULTS / "perf_profile.json"))
    args = parser.parse_args(argv)
    quiet()
    torch.set_num_threads(args.threads)
    record = {"command": "python -m benchmarks.perf_profile " + " ".join(argv or sys.argv[1:])}
    record.update(context())
    mdata, split = prepared_snareseq()
    model = _model(mdata)
    torch.set_num_threads(args.threads)  # scanpy/threadpoolctl may have reset it
    train = split["train"]
    record["matmul_gflops_start"] = matmul_flops() / 1e9
    record["ab_batch64"] = _ab(model, mdata, train, rounds=args.rounds, repeats=args.repeats)
    write_json(args.out, record)
    record["profile_batch64"] = _profile(model, mdata, train, mask="dropout")
    record["profile_batch64_sparse_mask"] = _profile(model, mdata, train, mask="sparse")
    write_json(args.out, record)
    record["flops_batch256"] = _flops(model, mdata, train, batch=256, repeats=args.repeats)
    record["flops_batch64"] = _flops(model, mdata, train, batch=64, repeats=args.repeats)
    write_json(args.out, record)
    record["threads_phase1_batch64"] = _threads(model, mdata, train)
    record["loader"] = _loader(model, train)
    record["lightning_batch64"] = _lightning(model, split)
    record["matmul_gflops_end"] = matmul_flops() / 1e9
    record["load_average_end"] = load_average()
    write_json(args.out, record)
    return record


if __name__ == "__main__":
    main()
