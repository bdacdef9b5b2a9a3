"""The REST API of a running portal: jobs end to end, users kept apart, bad requests refused."""

from __future__ import annotations

import io
import stat

import anndata as ad
import numpy as np

from _portal import MODEL, submit, wait_for
from _synthetic import dense


def test_health_needs_no_token_and_everything_else_does(portal):
    with portal.client() as anonymous:
        assert anonymous.get("/api/v1/health").json() == {"status": "ok"}
        for method, path in [
            ("GET", "/api/v1/models"),
            ("GET", "/api/v1/jobs"),
            ("POST", "/api/v1/jobs"),
            ("GET", "/api/v1/jobs/abc"),
            ("DELETE", "/api/v1/jobs/abc"),
            ("POST", "/api/v1/models"),
        ]:
            answer = anonymous.request(method, path)
            assert answer.status_code == 401, (method, path)
            assert "authorization" in answer.json()["detail"]
    with portal.client("bfv_not-a-token") as wrong:
        assert wrong.get("/api/v1/jobs").status_code == 401
    mode = stat.S_IMODE((portal.data_dir / "admin_token").stat().st_mode)
    assert mode == 0o600


def test_models_lists_the_catalogue(portal):
    with portal.client(portal.admin_token) as client:
        models = client.get("/api/v1/models").json()
    by_name = {m["name"]: m for m in models}
    assert MODEL in by_name
    for key in ("name", "directions", "species", "tissue", "n_cells", "metrics", "owner"):
        assert key in by_name[MODEL]
    assert by_name[MODEL]["owner"] == "catalogue"
    assert "rna->atac" in by_name[MODEL]["directions"]


def test_a_translation_job_end_to_end(portal, rna_files):
    with portal.client(portal.admin_token) as client:
        answer = submit(client, rna_files["small"])
        assert answer.status_code == 202, answer.text
        created = answer.json()
        assert created["status"] == "queued"
        job = wait_for(client, created["id"])
        assert job["status"] == "succeeded", job
        for key in (
            "id",
            "status",
            "model",
            "source",
            "target",
            "n_cells",
            "feature_overlap",
            "created",
            "started",
            "finished",
            "error",
        ):
            assert key in job
        assert (job["model"], job["source"], job["target"], job["n_cells"]) == (
            MODEL,
            "rna",
            "atac",
            60,
        )
        assert job["feature_overlap"]["fraction"] == 1.0
        assert job["created"] <= job["started"] <= job["finished"]
        result = client.get(f"/api/v1/jobs/{job['id']}/result")
        assert result.status_code == 200
        pred = ad.read_h5ad(io.BytesIO(result.content))
        assert pred.n_obs == 60 and pred.obsm["X_reference_umap"].shape == (60, 2)
        assert "predicted_cell_type" in pred.obs and "translation_confidence" in pred.obs
        assert ((dense(pred.X) >= 0) & (dense(pred.X) <= 1)).all()
        picture = client.get(f"/api/v1/jobs/{job['id']}/umap.png")
        assert picture.headers["content-type"] == "image/png"
        assert picture.content[:8] == b"\x89PNG\r\n\x1a\n"
        assert "job succeeded" in client.get(f"/api/v1/jobs/{job['id']}/log").text
        assert job["id"] in [j["id"] for j in client.get("/api/v1/jobs").json()]
        notes = client.get("/api/v1/notifications").json()
        assert any(n["job_id"] == job["id"] and "succeeded" in n["message"] for n in notes)


def test_a_mudata_upload_is_read_for_its_source_modality(portal, rna_files):
    with portal.client(portal.admin_token) as client:
        job = wait_for(client, submit(client, rna_files["mudata"], source="atac").json()["id"])
        assert job["status"] == "succeeded" and job["target"] == "rna"


def test_another_users_job_is_not_found(portal, rna_files):
    alice, bob = portal.add_user("alice"), portal.add_user("bob")
    with portal.client(alice) as a, portal.client(bob) as b:
        job_id = submit(a, rna_files["small"]).json()["id"]
        for path in ("", "/result", "/umap.png", "/log"):
            assert b.get(f"/api/v1/jobs/{job_id}{path}").status_code == 404
        assert b.delete(f"/api/v1/jobs/{job_id}").status_code == 404
        assert job_id not in [j["id"] for j in b.get("/api/v1/jobs").json()]
        assert wait_for(a, job_id)["status"] == "succeeded"


def test_bad_uploads_are_refused_and_the_server_stays_healthy(portal, rna_files):
    with portal.client(portal.admin_token) as client:
        corrupt = submit(client, rna_files["corrupt"])
        assert corrupt.status_code == 400 and "cannot be read" in corrupt.json()["detail"]
        big = submit(client, rna_files["oversized"])
        assert big.status_code == 413 and "at most" in big.json()["detail"]
        wrong_model = submit(client, rna_files["small"], model="no-such-model")
        assert wrong_model.status_code == 422 and "model" in wrong_model.json()["detail"]
        wrong_source = submit(client, rna_files["small"], source="protein")
        assert wrong_source.status_code == 422 and "source" in wrong_source.json()["detail"]
        human = submit(client, rna_files["small"], model="human-pbmc-rna-protein")
        assert human.status_code == 422
        assert "expected at least 50%" in human.json()["detail"]  # mouse genes, human model
        text = client.post("/api/v1/jobs", content=b"x", headers={"content-type": "text/plain"})
        assert text.status_code == 400
        assert client.get("/api/v1/health").json() == {"status": "ok"}
        assert "Traceback" not in corrupt.text + big.text + text.text


def test_filenames_never_become_paths(portal, rna_files):
    with portal.client(portal.admin_token) as client:
        answer = submit(client, rna_files["small"], filename="../../../../etc/evil.h5ad")
        assert answer.status_code == 202
        job = wait_for(client, answer.json()["id"])
    assert job["filename"] == "evil.h5ad"
    assert not (portal.data_dir.parent / "etc").exists()
    written = [p for p in portal.data_dir.rglob("*") if "evil" in p.name]
    assert written == []  # stored as upload.h5ad in the job's folder


def test_cancel_removes_the_files(portal, rna_files):
    with portal.client(portal.admin_token) as client:
        job_id = submit(client, rna_files["large"]).json()["id"]
        answer = client.delete(f"/api/v1/jobs/{job_id}")
        assert answer.status_code == 200 and answer.json()["status"] in ("cancelled", "deleted")
        folders = list(portal.data_dir.glob(f"users/*/jobs/{job_id}"))
        assert folders == [] or not any(folders[0].iterdir())
        job = client.get(f"/api/v1/jobs/{job_id}")
        if answer.json()["status"] == "cancelled":
            assert job.json()["status"] == "cancelled"
            assert client.get(f"/api/v1/jobs/{job_id}/result").status_code == 409


def test_training_job_makes_a_private_model(portal, rna_files):
    carol = portal.add_user("carol")
    with portal.client(carol) as client, portal.client(portal.admin_token) as admin:
        with open(rna_files["mudata"], "rb") as handle:
            answer = client.post(
                "/api/v1/models",
                data={"name": "my-cortex", "epochs_pretrain": "1", "epochs": "2"},
                files={"file": ("paired.h5mu", handle)},
            )
        assert answer.status_code == 202, answer.text
        job = wait_for(client, answer.json()["id"])
        assert job["status"] == "succeeded", job
        mine = {m["name"]: m for m in client.get("/api/v1/models").json()}
        assert mine["my-cortex"]["owner"] == "carol"
        assert "my-cortex" not in {m["name"] for m in admin.get("/api/v1/models").json()}
        translated = wait_for(
            client, submit(client, rna_files["small"], model="my-cortex").json()["id"]
        )
        assert translated["status"] == "succeeded"
        # a model trained here keeps reference cells but no labels: placed, not labelled
        result = client.get(f"/api/v1/jobs/{translated['id']}/result")
        pred = ad.read_h5ad(io.BytesIO(result.content))
        assert pred.obsm["X_reference_umap"].shape == (60, 2)
        assert "predicted_cell_type" not in pred.obs
        with open(rna_files["small"], "rb") as handle:
            bad = client.post(
                "/api/v1/models", data={"name": "x"}, files={"file": ("a.h5ad", handle)}
            )
        assert bad.status_code == 422


def test_openapi_page_and_document(portal):
    with portal.client() as client:
        spec = client.get("/openapi.json").json()
        assert "/api/v1/jobs" in spec["paths"] and "/api/v1/jobs/{job_id}/umap.png" in spec["paths"]
        page = client.get("/docs")
        assert page.status_code == 200 and "/api/v1/jobs" in page.text
        assert "http://" not in page.text.replace("http://127.0.0.1", "") or "cdn" not in page.text


def test_results_are_never_half_written(portal):
    partial = [p for p in portal.data_dir.rglob("*.part*")]
    assert partial == []
    assert np.all([p.stat().st_size > 0 for p in portal.data_dir.rglob("result.h5ad")])
