"""Jobs: submit a translation, follow it, fetch its results, cancel or delete it."""

from __future__ import annotations

import shutil
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, PlainTextResponse

from .._db import FINISHED
from .._deps import Db, PortalSettings, User
from .._errors import ApiError
from .._jobs import job_files
from .._schemas import Job, JobCreated, JobRemoved, TranslateForm, queue_route
from .._submit import submit_translation

router = APIRouter(prefix="/api/v1/jobs", tags=["jobs"])


def job_view(job: dict) -> dict:
    """The API form of a job."""
    return {
        "id": job["id"],
        "kind": job["kind"],
        "status": job["status"],
        "model": job["model"] if job["kind"] == "translate" else job["options"].get("name"),
        "source": job["source"],
        "target": job["target"],
        "filename": job["filename"],
        "n_cells": job["n_cells"],
        "feature_overlap": job["feature_overlap"],
        "created": job["created"],
        "started": job["started"],
        "finished": job["finished"],
        "error": job["error"],
        "attempts": job["attempts"],
        "progress": job.get("progress"),
    }


def user_job(db, user: dict, job_id: str) -> dict:
    """One of the user's jobs (another user's job is not found either)."""
    job = db.job(job_id, user_id=user["id"])
    if job is None:
        raise ApiError(404, f"id: expected one of your jobs, found {job_id!r}.")
    return job


def _finished_file(settings, job: dict, name: str) -> Path:
    path = job_files(settings, job)[name]
    if job["status"] != "succeeded":
        raise ApiError(409, f"status: expected a succeeded job, found {job['status']}.")
    if not path.is_file():
        raise ApiError(404, f"{name}: this job has none (its model is not calibrated).")
    return path


def _file_route(path: str, summary: str, media_type: str):
    """A GET route answering a file of a succeeded job."""
    return router.get(
        path,
        response_class=FileResponse,
        summary=summary,
        responses={200: {"content": {media_type: {}}}},
    )


@queue_route(router, "Queue a translation", TranslateForm)
async def create_job(request: Request, user: User, db: Db, settings: PortalSettings) -> JobCreated:
    """Upload cells of one modality with the ``model`` and ``source`` to translate them.

    The file is streamed to disk with a size limit and checked (format, finite non-negative
    values, overlap with the model's features) before the job is queued.
    """
    state = request.app.state
    job_id = await submit_translation(request, db, settings, state.cache, state.huey, user)
    return JobCreated(id=job_id)


@router.get("", response_model=list[Job], summary="List your jobs")
def list_jobs(user: User, db: Db) -> list[dict]:
    """Your jobs, newest first."""
    return [job_view(job) for job in db.jobs(user["id"])]


@router.get("/{job_id}", response_model=Job, summary="One of your jobs")
def get_job(job_id: str, user: User, db: Db) -> dict:
    """Its status, timings, feature overlap and error, if any."""
    return job_view(user_job(db, user, job_id))


@_file_route("/{job_id}/result", "Download the translated cells", "application/octet-stream")
def get_result(job_id: str, user: User, db: Db, settings: PortalSettings):
    """The translated cells as .h5ad: the target features in ``X``; for a calibrated model
    ``layers["lower"]`` / ``layers["upper"]`` (90 % intervals) and
    ``obs["translation_confidence"]``; for a model with reference cells
    ``obsm["X_reference_umap"]`` (and, with labels, ``obs["predicted_cell_type"]``), else
    ``obs["leiden"]`` and ``obsm["X_umap"]``.
    """
    job = user_job(db, user, job_id)
    path = _finished_file(settings, job, "result")
    stem = Path(job["filename"] or "cells").stem
    return FileResponse(
        path,
        media_type="application/octet-stream",
        filename=f"{stem}_{job['target']}_from_{job['source']}.h5ad",
    )


@_file_route("/{job_id}/umap.png", "The map of the translated cells", "image/png")
def get_umap(job_id: str, user: User, db: Db, settings: PortalSettings):
    """A PNG of the translated cells on the model's reference map, coloured by predicted cell
    type (for a model without reference cells: a UMAP coloured by Leiden cluster).
    """
    job = user_job(db, user, job_id)
    return FileResponse(_finished_file(settings, job, "umap"), media_type="image/png")


@_file_route("/{job_id}/confidence.png", "The confidence of each translation", "image/png")
def get_confidence_map(job_id: str, user: User, db: Db, settings: PortalSettings):
    """A PNG of the same map coloured by each cell's translation confidence (calibrated models
    only; 404 otherwise).
    """
    job = user_job(db, user, job_id)
    return FileResponse(_finished_file(settings, job, "confidence"), media_type="image/png")


@router.get("/{job_id}/log", response_class=PlainTextResponse, summary="The job's log")
def get_log(job_id: str, user: User, db: Db, settings: PortalSettings) -> str:
    """What the worker wrote while running the job (plain text)."""
    path = job_files(settings, user_job(db, user, job_id))["log"]
    return path.read_text() if path.is_file() else ""


@router.delete("/{job_id}", response_model=JobRemoved, summary="Cancel or delete a job")
def delete_job(job_id: str, user: User, db: Db, settings: PortalSettings) -> JobRemoved:
    """Cancels a queued or running job, or deletes an ended one; its files are removed."""
    job = user_job(db, user, job_id)
    folder = job_files(settings, job)["folder"]
    if job["status"] in FINISHED:
        db.delete_job(job_id)
        status = "deleted"
    else:
        db.finish(job_id, "cancelled", error="cancelled by the user")
        db.update_job(job_id, bytes=0)
        status = "cancelled"
    shutil.rmtree(folder, ignore_errors=True)
    return JobRemoved(id=job_id, status=status)
