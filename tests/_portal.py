"""Starting a real portal server process on a free localhost port, and talking to it.

The server runs ``butterflyvi serve`` exactly as a user starts it (with an SQLite queue and
worker processes); tests talk to it over HTTP on 127.0.0.1 only.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

MODEL = "mouse-cortex-rna-atac"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Portal:
    """A running portal."""

    url: str
    data_dir: Path
    process: subprocess.Popen
    admin_token: str
    log: Path

    def client(self, token: str | None = None, **kwargs) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=60, **kwargs)

    def add_user(self, name: str) -> str:
        """``butterflyvi users add NAME --data-dir DIR``; its last line is the token."""
        out = subprocess.run(
            [
                sys.executable,
                "-m",
                "butterflyvi",
                "users",
                "add",
                name,
                "--data-dir",
                str(self.data_dir),
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        return out.stdout.strip().splitlines()[-1]

    def stop(self) -> None:
        stop_process(self.process)


def stop_process(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def start_portal(data_dir: Path, *extra: str, port: int | None = None, workers: int = 1) -> Portal:
    """Start ``butterflyvi serve`` in its own process group and wait until it answers."""
    port = port or free_port()
    data_dir.mkdir(parents=True, exist_ok=True)
    log = data_dir.parent / f"{data_dir.name}-server-{port}.log"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "butterflyvi",
            "serve",
            "--data-dir",
            str(data_dir),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(workers),
            *extra,
        ],
        stdout=open(log, "a"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 90
    while time.time() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the portal exited: {log.read_text()[-3000:]}")
        try:
            if httpx.get(f"{url}/api/v1/health", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    else:
        stop_process(process)
        raise RuntimeError(f"the portal did not answer: {log.read_text()[-3000:]}")
    token = (data_dir / "admin_token").read_text().strip()
    return Portal(url, data_dir, process, token, log)


def wait_for(client: httpx.Client, job_id: str, *, timeout: float = 300) -> dict:
    """Poll a job until it ends."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        job = client.get(f"/api/v1/jobs/{job_id}").json()
        if job["status"] in ("succeeded", "failed", "cancelled"):
            return job
        time.sleep(0.5)
    raise AssertionError(f"job {job_id} did not end in {timeout} s: {job}")


def submit(
    client: httpx.Client,
    path: Path,
    *,
    model: str = MODEL,
    source: str = "rna",
    filename: str | None = None,
):
    with open(path, "rb") as handle:
        return client.post(
            "/api/v1/jobs",
            data={"model": model, "source": source},
            files={"file": (filename or path.name, handle, "application/octet-stream")},
        )
