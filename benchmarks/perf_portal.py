"""Portal: upload-to-result time and worker memory for RNA → ATAC jobs through the HTTP API.

    python -m benchmarks.perf_portal --cells 10000 100000

Cells are drawn with replacement from the bundled SNARE-seq demo (raw RNA counts, 1,677
genes) and translated with the catalogue model ``mouse-cortex-rna-atac`` by a real
``butterflyvi serve`` (SQLite queue, one worker, one torch thread) on a free localhost port.
The clock runs from the start of the upload to the job's "succeeded" as the client sees it
(polling every 0.2 s), with the server's phases from the job log. Worker memory is the peak
resident set size (VmHWM) of the worker process that ran the job. Azimuth's "10,000 cells in
under a minute" is the anchor.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
import butterflyvi as bf
from _portal import start_portal, submit

RESULTS = Path(__file__).resolve().parent / "results"


def cells(n: int, path: Path) -> Path:
    demo = bf.datasets.snareseq_demo()["rna"]
    picks = np.random.default_rng(0).integers(0, demo.n_obs, n)
    adata = demo[picks].copy()
    adata.obs_names = [f"cell{i}" for i in range(n)]
    adata.write_h5ad(path, compression="gzip")
    return path


def peak_rss_mb(pid: int) -> float | None:
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    match = re.search(r"VmHWM:\s+(\d+) kB", text)
    return int(match.group(1)) / 1024 if match else None


def run(n_cells: list[int]) -> list[dict]:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        server = start_portal(tmp / "data", "--max-upload-mb", "4096", workers=1)
        try:
            with server.client(server.admin_token) as client:
                warm = cells(200, tmp / "warm.h5ad")  # loads the model, compiles UMAP once
                job = submit(client, warm).json()["id"]
                _wait(client, job)
                for n in n_cells:
                    path = cells(n, tmp / f"cells_{n}.h5ad")
                    started = time.perf_counter()
                    answer = submit(client, path)
                    accepted = time.perf_counter() - started
                    job_id = answer.json()["id"]
                    job = _wait(client, job_id)
                    total = time.perf_counter() - started
                    worker = int(_worker(server, job_id).rsplit(":", 1)[1])
                    log = client.get(f"/api/v1/jobs/{job_id}/log").text
                    rows.append(
                        {
                            "n_cells": n,
                            "upload_mb": round(path.stat().st_size / 1e6, 1),
                            "status": job["status"],
                            "accepted_s": round(accepted, 1),
                            "upload_to_result_s": round(total, 1),
                            "translate_s": _seconds(log, r"translated rna → atac in ([\d.]+) s"),
                            "all_in_worker_s": _seconds(log, r"\(([\d.]+) s in all\)"),
                            "worker_peak_rss_mb": peak_rss_mb(worker),
                        }
                    )
                    print(json.dumps(rows[-1]), flush=True)
        finally:
            server.stop()
    return rows


def _seconds(log: str, pattern: str) -> float | None:
    match = re.search(pattern, log)
    return float(match.group(1)) if match else None


def _wait(client, job_id: str) -> dict:
    while True:
        job = client.get(f"/api/v1/jobs/{job_id}").json()
        if job["status"] in ("succeeded", "failed", "cancelled"):
            return job
        time.sleep(0.2)


def _worker(server, job_id: str) -> str:
    import sqlite3

    with sqlite3.connect(server.data_dir / "portal.db") as db:
        return db.execute("SELECT worker FROM jobs WHERE id = ?", (job_id,)).fetchone()[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cells", type=int, nargs="+", default=[10_000, 100_000])
    args = parser.parse_args()
    rows = run(args.cells)
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / "perf_portal.json"
    out.write_text(json.dumps({"command": " ".join(sys.argv), "rows": rows}, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
