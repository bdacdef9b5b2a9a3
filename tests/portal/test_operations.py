"""The portal under load, across restarts and lost workers, with a Redis queue, notifying."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import ClassVar

import mudata as md
import numpy as np
import pytest
import scipy.sparse as sp

from _portal import free_port, start_portal, stop_process, submit, wait_for


def test_four_users_submit_twenty_jobs_each_at_once(portal, rna_files):
    tokens = [portal.add_user(f"load{i}") for i in range(4)]
    started = time.time()

    def one(token: str) -> list[str]:
        ids = []
        with portal.client(token) as client:
            for _ in range(20):
                answer = submit(client, rna_files["small"])
                assert answer.status_code == 202, answer.text
                ids.append(answer.json()["id"])
        return ids

    with ThreadPoolExecutor(max_workers=8) as pool:
        submitted = list(pool.map(one, tokens * 1))
    ids = [(token, job) for token, jobs in zip(tokens, submitted, strict=True) for job in jobs]
    assert len(ids) == 80 and len({job for _, job in ids}) == 80
    for token, job_id in ids:
        with portal.client(token) as client:
            assert wait_for(client, job_id, timeout=600)["status"] == "succeeded"
    elapsed = time.time() - started
    print(f"80 jobs of 60 cells on 2 workers: {elapsed:.0f} s")
    assert elapsed < 600
    for token in tokens:  # nothing lost, nothing duplicated: each user sees their 20 jobs
        with portal.client(token) as client:
            assert len(client.get("/api/v1/jobs").json()) == 20


def test_jobs_survive_a_server_restart(tmp_path, rna_files):
    data = tmp_path / "data"
    server = start_portal(data, workers=1)
    with server.client(server.admin_token) as client:
        ids = [submit(client, rna_files["small"]).json()["id"] for _ in range(6)]
        deadline = time.time() + 120
        while time.time() < deadline:
            statuses = [client.get(f"/api/v1/jobs/{i}").json()["status"] for i in ids]
            if "succeeded" in statuses:
                break
            time.sleep(0.3)
    server.stop()  # SIGTERM: the web process and its workers stop, some jobs still queued
    with sqlite3.connect(data / "portal.db") as db:
        workers = {w for (w,) in db.execute("SELECT worker FROM jobs WHERE worker IS NOT NULL")}
    for worker in workers:  # stopped with the server, none left orphaned
        with pytest.raises(ProcessLookupError):
            os.kill(int(worker.rsplit(":", 1)[1]), 0)
    restarted = start_portal(data, workers=1)
    try:
        with restarted.client(restarted.admin_token) as client:
            ends = [wait_for(client, i) for i in ids]
        assert [job["status"] for job in ends] == ["succeeded"] * 6
        # a job the stop interrupted went back to the queue without using up an attempt
        assert [job["attempts"] for job in ends] == [1] * 6
    finally:
        restarted.stop()


def _running_job(client, job_id: str, attempt: int = 1, timeout: float = 120) -> dict:
    deadline = time.time() + timeout
    while time.time() < deadline:
        job = client.get(f"/api/v1/jobs/{job_id}").json()
        if job["status"] == "running" and job["attempts"] == attempt:
            return job
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} never ran: {job}")


def _worker_pid(server, job_id: str) -> int:
    with sqlite3.connect(server.data_dir / "portal.db") as db:
        worker = db.execute("SELECT worker FROM jobs WHERE id = ?", (job_id,)).fetchone()[0]
    return int(worker.rsplit(":", 1)[1])


def test_a_killed_worker_leaves_its_job_retried_then_failed_never_running(tmp_path, rna_files):
    server = start_portal(tmp_path / "data", workers=1)
    try:
        with server.client(server.admin_token) as client:
            job_id = submit(client, rna_files["large"]).json()["id"]
            _running_job(client, job_id)
            os.kill(_worker_pid(server, job_id), signal.SIGKILL)  # retried once ...
            job = _running_job(client, job_id, attempt=2)
            os.kill(_worker_pid(server, job_id), signal.SIGKILL)  # ... then failed with a reason
            job = wait_for(client, job_id)
            assert job["status"] == "failed"
            assert "stopped while running the job" in job["error"] and "2 attempts" in job["error"]
            # the supervisor started new workers: the portal keeps working
            assert (
                wait_for(client, submit(client, rna_files["small"]).json()["id"])["status"]
                == "succeeded"
            )
    finally:
        server.stop()


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="redis-server is not installed")
def test_scale_out_with_a_redis_queue_and_a_separate_worker(tmp_path, rna_files):
    port = free_port()
    redis = subprocess.Popen(
        [
            "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        stdout=subprocess.DEVNULL,
        start_new_session=True,
    )
    queue = f"redis://127.0.0.1:{port}/0"
    data = tmp_path / "shared"
    server = start_portal(data, "--queue", queue, workers=0)  # no local worker
    worker = subprocess.Popen(
        [sys.executable, "-m", "butterflyvi", "worker", "--data-dir", str(data), "--queue", queue],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        with server.client(server.admin_token) as client:
            ids = [submit(client, rna_files["small"]).json()["id"] for _ in range(3)]
            for job_id in ids:
                assert wait_for(client, job_id)["status"] == "succeeded"
                assert _worker_pid(server, job_id) == worker.pid
    finally:
        stop_process(worker)
        server.stop()
        stop_process(redis)


class _Hooks(BaseHTTPRequestHandler):
    received: ClassVar[list] = []

    def do_POST(self):
        length = int(self.headers.get("content-length", 0))
        _Hooks.received.append(json.loads(self.rfile.read(length)))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


def test_notifications_in_the_page_by_webhook_and_by_email(tmp_path, rna_files):
    from aiosmtpd.controller import Controller

    class Inbox:
        messages: ClassVar[list] = []

        async def handle_DATA(self, server, session, envelope):
            Inbox.messages.append((envelope.rcpt_tos, envelope.content.decode()))
            return "250 OK"

    smtp_port = free_port()
    smtp = Controller(Inbox(), hostname="127.0.0.1", port=smtp_port)
    smtp.start()
    hooks = HTTPServer(("127.0.0.1", 0), _Hooks)
    threading.Thread(target=hooks.serve_forever, daemon=True).start()
    server = start_portal(
        tmp_path / "data",
        "--smtp-host",
        "127.0.0.1",
        "--smtp-port",
        str(smtp_port),
        "--allow-private-urls",  # the test's webhook listens on 127.0.0.1
        workers=1,
    )
    try:
        with server.client(server.admin_token) as client:
            hook = f"http://127.0.0.1:{hooks.server_port}/hook"
            me = client.put("/api/v1/me", json={"email": "lab@example.org", "webhook": hook})
            assert me.status_code == 200 and me.json()["webhook"] == hook
            assert client.put("/api/v1/me", json={"webhook": "ftp://x"}).status_code == 422
            job_id = submit(client, rna_files["small"]).json()["id"]
            assert wait_for(client, job_id)["status"] == "succeeded"
            deadline = time.time() + 20
            while time.time() < deadline and not (_Hooks.received and Inbox.messages):
                time.sleep(0.2)
            notes = client.get("/api/v1/notifications").json()
        assert any(n["job_id"] == job_id for n in notes)
        assert any(h["id"] == job_id and h["status"] == "succeeded" for h in _Hooks.received)
        rcpt, content = Inbox.messages[-1]
        assert rcpt == ["lab@example.org"] and job_id in content and "succeeded" in content
        # a job that fails in the worker (paired cells without one open peak: nothing is left
        # to train on) is told by each channel too, with the reason
        empty = tmp_path / "no_open_peaks.h5mu"
        paired = md.read_h5mu(rna_files["mudata"])
        paired.mod["atac"].X = sp.csr_matrix(paired["atac"].shape, dtype=np.float32)
        paired.write(empty)
        with server.client(server.admin_token) as client, open(empty, "rb") as handle:
            answer = client.post(
                "/api/v1/models",
                data={"name": "doomed", "epochs_pretrain": "1", "epochs": "1"},
                files={"file": (empty.name, handle)},
            )
            assert answer.status_code == 202, answer.text
            failed = wait_for(client, answer.json()["id"])
            assert failed["status"] == "failed" and failed["error"]
            deadline = time.time() + 20
            while time.time() < deadline and _Hooks.received[-1].get("id") != failed["id"]:
                time.sleep(0.2)
        assert _Hooks.received[-1]["id"] == failed["id"]
        assert _Hooks.received[-1]["status"] == "failed"
        assert failed["id"] in Inbox.messages[-1][1] and "failed" in Inbox.messages[-1][1]
        # the settings page's button: one test message by each channel
        with server.client(server.admin_token) as client:
            sent = client.post("/api/v1/me/test-notification").json()
        assert sent == {"page": True, "email": True, "webhook": True}
        assert _Hooks.received[-1]["status"] == "test"
        assert "Test notification" in Inbox.messages[-1][1]
    finally:
        server.stop()
        hooks.shutdown()
        smtp.stop()
