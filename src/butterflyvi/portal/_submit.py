"""Receiving a job: limits, the streamed upload, its checks, the queued record."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.concurrency import run_in_threadpool

from .._validation import check_epochs
from ._auth import USER_NAME
from ._db import Database
from ._errors import ApiError
from ._inspect import inspect_upload
from ._jobs import UPLOAD_STEM
from ._models import ModelCache, find_model
from ._queue import enqueue
from ._settings import Settings
from ._training import PRESETS
from ._uploads import Upload, UploadError, fetch, receive, safe_filename, upload_suffix

#: Largest training run a user may ask for (epochs of each phase).
MAX_TRAIN_EPOCHS = (200, 400)


def check_limits(db: Database, settings: Settings, user: dict) -> None:
    """Refuse a new job beyond the user's active jobs or disk."""
    active = db.jobs(user["id"], statuses=("queued", "running"))
    if len(active) >= settings.max_active_jobs:
        raise ApiError(
            429,
            f"jobs: expected at most {settings.max_active_jobs} queued or running "
            f"jobs per user, found {len(active)}; wait for some to end.",
        )
    used = db.user_bytes(user["id"])
    if used >= settings.max_user_bytes:
        raise ApiError(
            507,
            f"disk: expected your files to take under {settings.max_user_bytes:,} "
            f"bytes, found {used:,}; delete old jobs first.",
        )


@asynccontextmanager
async def new_job(db: Database, settings: Settings, user: dict) -> AsyncIterator[tuple[str, Path]]:
    """A new job's id and folder, after the user's limits are checked; the folder is removed
    when anything inside the block fails (a refused upload leaves nothing behind).
    """
    check_limits(db, settings, user)
    job_id = uuid.uuid4().hex[:16]
    folder = settings.job_dir(user["id"], job_id)
    try:
        yield job_id, folder
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise


def queue(db: Database, huey, user: dict, kind: str, job_id: str, **values: Any) -> str:
    """Record a checked job as queued and put it on the queue; its id."""
    overlap = values.pop("feature_overlap", None)
    db.add_job(user["id"], kind, job_id=job_id, **values)
    if overlap is not None:
        db.update_job(job_id, feature_overlap=overlap)
    enqueue(huey, job_id)
    return job_id


async def _receive(request: Request, settings: Settings, folder: Path) -> Upload:
    """The form's fields and its file: uploaded (``file``), or downloaded from ``url``."""
    upload = await receive(
        request.headers.get("content-type"),
        request.headers.get("content-length"),
        request.stream(),
        file_field="file",
        destination=folder / f"{UPLOAD_STEM}.tmp",
        max_bytes=settings.max_upload_bytes,
        file_required=False,
    )
    url = upload.fields.get("url", "").strip()
    if upload.path is not None and url:
        raise ApiError(422, "file, url: expected one of them, found both.")
    if upload.path is None:
        if not url:
            raise ApiError(400, "file: expected an uploaded file or a url, found neither.")
        fetched = await run_in_threadpool(
            fetch,
            url,
            folder / f"{UPLOAD_STEM}.tmp",
            max_bytes=settings.max_upload_bytes,
            allow_private=settings.allow_private_urls,
        )
        fetched.fields = upload.fields
        upload = fetched
    return upload


def model_modalities(model: dict) -> list[str]:
    """The modalities a model record's directions name, in order."""
    names: list[str] = []
    for direction in model["directions"]:
        for name in direction.split("->"):
            if name not in names:
                names.append(name)
    return names


async def submit_translation(
    request: Request, db: Database, settings: Settings, cache: ModelCache, huey, user: dict
) -> str:
    """Stream the upload, check it against the chosen model, queue the job; its id."""
    async with new_job(db, settings, user) as (job_id, folder):
        upload = await _receive(request, settings, folder)
        path = upload.path.rename(folder / f"{UPLOAD_STEM}{upload_suffix(upload.filename)}")
        name, source = upload.fields.get("model", ""), upload.fields.get("source", "")
        model = find_model(db, user, name)
        if model is None:
            raise ApiError(422, f"model: expected a name of GET /api/v1/models, found {name!r}.")
        modalities = model_modalities(model)
        if source not in modalities:
            raise ApiError(
                422,
                f"source: expected one of the model's modalities {modalities}, found {source!r}.",
            )
        translator = await run_in_threadpool(cache.get, user, name, model["owner"])
        space = translator.feature_spaces[translator.modalities_.index(source)]
        report = await run_in_threadpool(
            inspect_upload, path, source=source, space=space, min_overlap=settings.min_overlap
        )
    return queue(
        db,
        huey,
        user,
        "translate",
        job_id,
        model=name,
        source=source,
        target=next(m for m in modalities if m != source),
        filename=safe_filename(upload.filename),
        n_cells=report["n_cells"],
        bytes=upload.size,
        feature_overlap=report["feature_overlap"],
    )


async def submit_training(request: Request, db: Database, settings: Settings, huey, user: dict):
    """Stream a paired upload, check it, queue a training job; its id."""
    async with new_job(db, settings, user) as (job_id, folder):
        upload = await _receive(request, settings, folder)
        if upload_suffix(upload.filename) != ".h5mu":
            raise ApiError(422, "file: expected a paired .h5mu file, found a .h5ad file.")
        path = upload.path.rename(folder / f"{UPLOAD_STEM}.h5mu")
        options = training_options(upload.fields)
        await run_in_threadpool(check_paired_upload, path, options)
    return queue(
        db,
        huey,
        user,
        "train",
        job_id,
        filename=safe_filename(upload.filename),
        options=options,
        bytes=upload.size,
    )


def training_options(fields: dict[str, str]) -> dict[str, Any]:
    """The checked options of a training form."""
    name = fields.get("name", "").strip()
    if not USER_NAME.match(name):
        raise ApiError(
            422, f"name: expected 1-64 letters, digits, '.', '_' or '-', found {name!r}."
        )
    modalities = [m.strip() for m in fields.get("modalities", "").split(",") if m.strip()]
    if modalities and len(modalities) != 2:
        raise ApiError(422, f"modalities: expected two names like 'rna,atac', found {modalities}.")
    raw = [
        fields.get(key, "").strip() or default
        for key, default in (("epochs_pretrain", "20"), ("epochs", "40"))
    ]
    try:
        epochs = list(
            check_epochs(
                *(int(r) if r.isdigit() else r for r in raw),
                names=("epochs_pretrain", "epochs"),
                limits=MAX_TRAIN_EPOCHS,
            )
        )
    except ValueError as error:
        raise ApiError(422, str(error)) from None
    preset = fields.get("preset", "default").strip() or "default"
    if preset not in PRESETS:
        raise ApiError(422, f"preset: expected one of {list(PRESETS)}, found {preset!r}.")
    return {"name": name, "modalities": modalities, "epochs": epochs, "preset": preset}


def check_paired_upload(path: Path, options: dict) -> None:
    """Refuse an unreadable .h5mu, modalities it lacks, or too few cells to train on."""
    import mudata

    try:
        mdata = mudata.read_h5mu(path, backed=True)
    except Exception as error:
        raise UploadError(
            400,
            "file: expected a readable .h5mu file, found one that cannot be read "
            f"({type(error).__name__}).",
        ) from None
    names = options["modalities"] or list(mdata.mod)[:2]
    missing = [m for m in names if m not in mdata.mod]
    if len(names) != 2 or missing:
        raise UploadError(
            422,
            f"modalities: expected two modalities of the file ({list(mdata.mod)}), found {names}.",
        )
    if mdata.n_obs < 50:
        raise UploadError(
            422, f"file: expected at least 50 paired cells to train on, found {mdata.n_obs}."
        )
