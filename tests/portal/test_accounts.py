"""A portal a lab runs for its members: accounts from the command line and by sign-up with
approval, revocation that works at once, private files, uploads by link, settings and the
result page of a model with a reference map."""

from __future__ import annotations

import contextlib
import functools
import http.server
import re
import stat
import subprocess
import sys
import threading

import anndata as ad
import numpy as np
import pytest

from _portal import start_portal, submit, wait_for
from _synthetic import dense


def users(portal, *args: str) -> str:
    """``butterflyvi users ARGS --data-dir DIR``'s output."""
    out = subprocess.run(
        [sys.executable, "-m", "butterflyvi", "users", *args, "--data-dir", str(portal.data_dir)],
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout


@contextlib.contextmanager
def signed_in(portal, token: str):
    """A client signed in through the sign-in page (a session cookie, as a browser has)."""
    with portal.client() as client:
        page = client.get("/signin").text
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        answer = client.post("/signin", data={"token": token, "csrf_token": csrf})
        assert answer.status_code == 303 and answer.headers["location"] == "/jobs", answer.text
        yield client


def submit_link(client, url: str):
    """``POST /api/v1/jobs`` with a link instead of a file: multipart form fields without a
    file, as a browser's FormData sends them."""
    fields = {"model": "mouse-cortex-rna-atac", "source": "rna", "url": url}
    return client.post("/api/v1/jobs", files={k: (None, v) for k, v in fields.items()})


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A portal with sign-up by approval, link uploads from 127.0.0.1 allowed, a 4 MB limit."""
    folder = tmp_path_factory.mktemp("lab")
    server = start_portal(
        folder / "data",
        "--registration",
        "approval",
        "--allow-private-urls",
        "--max-upload-mb",
        "4",
    )
    yield server
    server.stop()


@pytest.fixture(scope="module")
def file_server(rna_files):
    """A local HTTP server of the upload files (127.0.0.1 only)."""
    handler = functools.partial(
        http.server.SimpleHTTPRequestHandler, directory=str(rna_files["small"].parent)
    )
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_users_are_listed_revoked_and_reset_from_the_command_line(lab):
    token = lab.add_user("dora")
    with lab.client(token) as dora:
        assert dora.get("/api/v1/jobs").status_code == 200
        assert "dora" in users(lab, "list")
        new = users(lab, "reset", "dora").strip().splitlines()[-1]
        assert new.startswith("bfv_") and new != token
        assert dora.get("/api/v1/jobs").status_code == 401  # the old token, at once
    with lab.client(new) as dora:
        assert dora.get("/api/v1/jobs").status_code == 200
        users(lab, "revoke", "dora")
        assert dora.get("/api/v1/jobs").status_code == 401
    listing = users(lab, "list")
    assert re.search(r"dora\s+revoked", listing)


def test_sign_up_waits_for_approval_then_the_token_works(lab):
    with lab.client() as anonymous:
        page = anonymous.get("/signup")
        assert page.status_code == 200
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
        answer = anonymous.post(
            "/signup", data={"name": "erin", "email": "erin@lab.org", "csrf_token": csrf}
        )
        assert answer.status_code == 200
        token = re.search(r"(bfv_[A-Za-z0-9_\-]+)", answer.text).group(1)
    with lab.client(token) as erin:
        assert erin.get("/api/v1/jobs").status_code == 401  # pending
        with lab.client(lab.admin_token) as admin:
            pending = {u["name"]: u["status"] for u in admin.get("/api/v1/users").json()}
            assert pending["erin"] == "pending"
            assert admin.post("/api/v1/users/erin/approve").status_code == 200
        assert erin.get("/api/v1/jobs").status_code == 200
        assert erin.get("/api/v1/users").status_code == 403  # members are not administrators


def test_files_and_database_are_private(lab, rna_files):
    with lab.client(lab.admin_token) as client:
        job = wait_for(client, submit(client, rna_files["small"]).json()["id"])
        assert job["status"] == "succeeded", job
    mode = lambda path: stat.S_IMODE(path.stat().st_mode)  # noqa: E731
    assert mode(lab.data_dir) == 0o700
    assert mode(lab.data_dir / "portal.db") == 0o600
    files = [p for p in lab.data_dir.rglob("*") if p.is_file()]
    folders = [p for p in lab.data_dir.rglob("*") if p.is_dir()]
    assert any(p.name == "result.h5ad" for p in files)
    assert {mode(p) for p in files} == {0o600}
    assert {mode(p) for p in folders} == {0o700}


def test_a_job_from_a_link(lab, file_server, rna_files):
    with lab.client(lab.admin_token) as client:
        answer = submit_link(client, f"{file_server}/{rna_files['small'].name}")
        assert answer.status_code == 202, answer.text
        job = wait_for(client, answer.json()["id"])
        assert job["status"] == "succeeded", job
        assert job["filename"] == rna_files["small"].name and job["n_cells"] == 60
        missing = submit_link(client, f"{file_server}/no")
        assert missing.status_code == 422 and "HTTP 404" in missing.json()["detail"]


def test_links_to_private_addresses_are_refused_by_default(portal, file_server, rna_files):
    with portal.client(portal.admin_token) as client:
        answer = submit_link(client, f"{file_server}/{rna_files['small'].name}")
    assert answer.status_code == 422
    assert answer.json()["detail"].startswith("url:")
    assert "--allow-private-urls" in answer.json()["detail"]


def test_settings_are_saved_and_a_bad_webhook_is_refused(lab):
    with lab.client(lab.admin_token) as client:
        saved = client.put("/api/v1/me", json={"email": "admin@lab.org", "webhook": ""})
        assert saved.status_code == 200 and saved.json()["email"] == "admin@lab.org"
        bad = client.put("/api/v1/me", json={"webhook": "ftp://example.org"})
        assert bad.status_code == 422 and bad.json()["detail"].startswith("webhook:")
        sent = client.post("/api/v1/me/test-notification").json()
        assert sent["webhook"] is None  # none set; e-mail without an SMTP server: not sent
    with signed_in(lab, lab.admin_token) as browser:
        page = browser.get("/settings")
        assert page.status_code == 200 and 'value="admin@lab.org"' in page.text


def test_result_page_of_a_model_with_a_reference_map(lab, rna_files, tmp_path):
    with lab.client(lab.admin_token) as client, signed_in(lab, lab.admin_token) as browser:
        job = wait_for(client, submit(client, rna_files["small"]).json()["id"])
        assert job["status"] == "succeeded", job
        page = browser.get(f"/jobs/{job['id']}").text
        result = client.get(f"/api/v1/jobs/{job['id']}/result")
        (tmp_path / "r.h5ad").write_bytes(result.content)
        cells = ad.read_h5ad(tmp_path / "r.h5ad")
        picture = client.get(f"/api/v1/jobs/{job['id']}/umap.png")
        assert picture.status_code == 200 and picture.content[:4] == b"\x89PNG"
        confidence = client.get(f"/api/v1/jobs/{job['id']}/confidence.png")
    assert cells.n_obs == 60
    # the catalogue model keeps reference cells with labels and a calibration
    assert 'id="umap"' in page and "reference map" in page and 'id="types-table"' in page
    assert 'id="confidence-map"' in page
    assert {"lower", "upper"} <= set(cells.layers) and cells.uns["interval"] == 0.9
    assert "translation_confidence" in cells.obs and "predicted_cell_type" in cells.obs
    assert cells.obsm["X_reference_umap"].shape == (60, 2) and "X_umap" not in cells.obsm
    assert confidence.status_code == 200 and confidence.content[:4] == b"\x89PNG"
    lower, upper = dense(cells.layers["lower"]), dense(cells.layers["upper"])
    values = dense(cells.X) if hasattr(cells.X, "toarray") else np.asarray(cells.X)
    assert (lower <= values + 1e-6).all() and (values <= upper + 1e-6).all()
