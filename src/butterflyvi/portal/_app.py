"""The web application: the REST API under ``/api/v1`` and the HTML pages."""

from __future__ import annotations

import logging
import secrets
import shutil
import time
import uuid
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from ._auth import hash_token, same
from ._db import FINISHED, Database
from ._inspect import inspect_upload
from ._jobs import UPLOAD_STEM, job_files
from ._models import ModelCache, available_models, find_model
from ._pages import Pages
from ._queue import enqueue, make_huey
from ._settings import Settings
from ._uploads import UploadError, receive, safe_filename, upload_suffix

logger = logging.getLogger("butterflyvi.portal")

SESSION_COOKIE = "bfv_session"
SIGNIN_CSRF_COOKIE = "bfv_signin_csrf"
CSRF_HEADER = "x-csrf-token"
#: Largest training run a user may ask for (epochs of each phase).
MAX_TRAIN_EPOCHS = (200, 400)


class ApiError(Exception):
    """An answer other than success, with its status and message."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def job_view(job: dict) -> dict[str, Any]:
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
    }


def create_app(settings: Settings) -> FastAPI:
    """The portal application for ``settings``."""
    db = Database(settings.db_path)
    huey = make_huey(settings)
    cache = ModelCache(db, size=4)
    app = FastAPI(
        title="butterflyvi portal",
        description="Translate single cells between modalities with pretrained models.",
        version="1",
        docs_url=None,  # /docs is served below without assets from outside
        redoc_url=None,
    )
    static = Path(__file__).resolve().parent / "static"
    app.mount("/static", StaticFiles(directory=static), name="static")
    pages = Pages(settings)

    # ------------------------------------------------------------------ errors
    @app.exception_handler(ApiError)
    async def api_error(request: Request, error: ApiError):
        return _error(request, error.status, error.message, pages)

    @app.exception_handler(UploadError)
    async def upload_error(request: Request, error: UploadError):
        return _error(request, error.status, error.message, pages)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException):
        return _error(request, error.status_code, str(error.detail), pages)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, error: Exception):
        reference = uuid.uuid4().hex[:8]
        logger.exception(
            "unexpected error %s on %s %s", reference, request.method, request.url.path
        )
        return _error(
            request, 500, f"internal error (reference {reference}; see the server log)", pages
        )

    # ------------------------------------------------------------------ authentication
    def authenticate(request: Request, *, csrf: bool = True) -> dict:
        header = request.headers.get("authorization", "")
        if header.lower().startswith("bearer "):
            user = db.user_of_token(hash_token(header[7:].strip()))
            if user is None:
                raise ApiError(401, "authorization: expected a valid token, found an unknown one.")
            return user
        cookie = request.cookies.get(SESSION_COOKIE)
        if cookie:
            session = db.session(hash_token(cookie))
            if session is not None:
                if csrf and request.method not in ("GET", "HEAD", "OPTIONS"):
                    sent = request.headers.get(CSRF_HEADER) or ""
                    if not same(sent, session["csrf"]):
                        raise ApiError(
                            403, "csrf: expected the page's CSRF token, found none or another."
                        )
                return session
        raise ApiError(
            401, "authorization: expected 'Authorization: Bearer TOKEN' or a sign-in, found none."
        )

    def page_user(request: Request) -> dict | None:
        cookie = request.cookies.get(SESSION_COOKIE)
        return db.session(hash_token(cookie)) if cookie else None

    def user_job(user: dict, job_id: str) -> dict:
        job = db.job(job_id, user_id=user["id"])
        if job is None:  # another user's job is not found either
            raise ApiError(404, f"id: expected one of your jobs, found {job_id!r}.")
        return job

    # ------------------------------------------------------------------ API
    @app.get("/api/v1/health", tags=["service"])
    def health() -> dict:
        """Liveness check (no authentication)."""
        return {"status": "ok"}

    @app.get("/api/v1/models", tags=["models"])
    def list_models(request: Request) -> list[dict]:
        """The catalogue and your own models."""
        user = authenticate(request)
        return [
            {
                k: m[k]
                for k in ("name", "directions", "species", "tissue", "n_cells", "metrics", "owner")
            }
            for m in available_models(db, user)
        ]

    @app.post("/api/v1/jobs", status_code=202, tags=["jobs"])
    async def create_job(request: Request) -> JSONResponse:
        """Queue a translation: multipart ``file`` (.h5ad, or .h5mu holding ``source``),
        ``model`` (a name of ``GET /api/v1/models``), ``source`` (e.g. ``rna``).
        """
        user = authenticate(request)
        _check_limits(db, settings, user)
        job_id = uuid.uuid4().hex[:16]
        folder = settings.job_dir(user["id"], job_id)
        try:
            upload = await receive(
                request.headers.get("content-type"),
                request.headers.get("content-length"),
                request.stream(),
                file_field="file",
                destination=folder / f"{UPLOAD_STEM}.tmp",
                max_bytes=settings.max_upload_bytes,
            )
            suffix = upload_suffix(upload.filename)
            path = upload.path.rename(folder / f"{UPLOAD_STEM}{suffix}")
            name, source = upload.fields.get("model", ""), upload.fields.get("source", "")
            model = find_model(db, user, name)
            if model is None:
                raise ApiError(
                    422, f"model: expected a name of GET /api/v1/models, found {name!r}."
                )
            modalities = _modalities(model)
            if source not in modalities:
                raise ApiError(
                    422,
                    f"source: expected one of the model's modalities {modalities}, found {source!r}.",
                )
            target = next(m for m in modalities if m != source)
            translator = await run_in_threadpool(cache.get, user, name, model["owner"])
            space = translator.feature_spaces[translator.modalities_.index(source)]
            report = await run_in_threadpool(
                inspect_upload, path, source=source, space=space, min_overlap=settings.min_overlap
            )
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        db_id = db.add_job(
            user["id"],
            "translate",
            job_id=job_id,
            model=name,
            source=source,
            target=target,
            filename=safe_filename(upload.filename),
            n_cells=report["n_cells"],
            bytes=upload.size,
        )
        db.update_job(db_id, feature_overlap=report["feature_overlap"])
        enqueue(huey, db_id)
        return JSONResponse({"id": db_id, "status": "queued"}, status_code=202)

    @app.get("/api/v1/jobs", tags=["jobs"])
    def list_jobs(request: Request) -> list[dict]:
        """Your jobs, newest first."""
        user = authenticate(request)
        return [job_view(job) for job in db.jobs(user["id"])]

    @app.get("/api/v1/jobs/{job_id}", tags=["jobs"])
    def get_job(job_id: str, request: Request) -> dict:
        """One of your jobs."""
        return job_view(user_job(authenticate(request), job_id))

    @app.get("/api/v1/jobs/{job_id}/result", tags=["jobs"])
    def get_result(job_id: str, request: Request):
        """The translated cells (.h5ad: target features, obs['leiden'], obsm['X_umap'])."""
        job = user_job(authenticate(request), job_id)
        path = job_files(settings, job)["result"]
        if job["status"] != "succeeded" or not path.is_file():
            raise ApiError(409, f"status: expected a succeeded job, found {job['status']}.")
        stem = Path(job["filename"] or "cells").stem
        return FileResponse(
            path,
            media_type="application/octet-stream",
            filename=f"{stem}_{job['target']}_from_{job['source']}.h5ad",
        )

    @app.get("/api/v1/jobs/{job_id}/umap.png", tags=["jobs"])
    def get_umap(job_id: str, request: Request):
        """The UMAP of the translated cells, coloured by Leiden cluster."""
        job = user_job(authenticate(request), job_id)
        path = job_files(settings, job)["umap"]
        if job["status"] != "succeeded" or not path.is_file():
            raise ApiError(409, f"status: expected a succeeded job, found {job['status']}.")
        return FileResponse(path, media_type="image/png")

    @app.get("/api/v1/jobs/{job_id}/log", tags=["jobs"])
    def get_log(job_id: str, request: Request):
        """The job's log."""
        job = user_job(authenticate(request), job_id)
        path = job_files(settings, job)["log"]
        text = path.read_text() if path.is_file() else ""
        return HTMLResponse(text, media_type="text/plain")

    @app.delete("/api/v1/jobs/{job_id}", tags=["jobs"])
    def delete_job(job_id: str, request: Request) -> dict:
        """Cancel a queued or running job and remove its files (an ended job: remove it)."""
        user = authenticate(request)
        job = user_job(user, job_id)
        folder = job_files(settings, job)["folder"]
        if job["status"] in FINISHED:
            db.delete_job(job_id)
            status = "deleted"
        else:
            db.finish(job_id, "cancelled", error="cancelled by the user")
            db.update_job(job_id, bytes=0)
            status = "cancelled"
        shutil.rmtree(folder, ignore_errors=True)
        return {"id": job_id, "status": status}

    @app.post("/api/v1/models", status_code=202, tags=["models"])
    async def train_model(request: Request) -> JSONResponse:
        """Queue a training job: multipart ``file`` (paired .h5mu, raw counts or preprocessed),
        ``name`` (of the new private model), optional ``modalities`` ("rna,atac"),
        ``epochs_pretrain`` and ``epochs``.
        """
        user = authenticate(request)
        _check_limits(db, settings, user)
        job_id = uuid.uuid4().hex[:16]
        folder = settings.job_dir(user["id"], job_id)
        try:
            upload = await receive(
                request.headers.get("content-type"),
                request.headers.get("content-length"),
                request.stream(),
                file_field="file",
                destination=folder / f"{UPLOAD_STEM}.tmp",
                max_bytes=settings.max_upload_bytes,
            )
            if upload_suffix(upload.filename) != ".h5mu":
                raise ApiError(422, "file: expected a paired .h5mu file, found a .h5ad file.")
            path = upload.path.rename(folder / f"{UPLOAD_STEM}.h5mu")
            options = _training_options(upload.fields)
            await run_in_threadpool(_check_paired_upload, path, options)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        db_id = db.add_job(
            user["id"],
            "train",
            job_id=job_id,
            filename=safe_filename(upload.filename),
            options=options,
            bytes=upload.size,
        )
        enqueue(huey, db_id)
        return JSONResponse({"id": db_id, "status": "queued"}, status_code=202)

    @app.get("/api/v1/notifications", tags=["service"])
    def notifications(request: Request) -> list[dict]:
        """Your notifications, newest first."""
        user = authenticate(request)
        return db.notifications(user["id"])

    @app.post("/api/v1/notifications/seen", tags=["service"])
    def notifications_seen(request: Request) -> dict:
        """Mark your notifications seen."""
        user = authenticate(request)
        db.mark_seen(user["id"])
        return {"status": "ok"}

    @app.get("/api/v1/me", tags=["service"])
    def me(request: Request) -> dict:
        """Who you are and where notifications go."""
        user = authenticate(request)
        return {k: user.get(k) for k in ("id", "name", "is_admin", "email", "webhook")}

    @app.put("/api/v1/me", tags=["service"])
    async def update_me(request: Request) -> dict:
        """Set ``email`` and/or ``webhook`` (JSON body) for notifications."""
        user = authenticate(request)
        try:
            body = await request.json()
        except Exception:
            raise ApiError(400, "body: expected JSON, found something else.") from None
        if not isinstance(body, dict):
            raise ApiError(400, "body: expected a JSON object.")
        for key in ("email", "webhook"):
            value = body.get(key)
            if value is not None and (not isinstance(value, str) or len(value) > 500):
                raise ApiError(
                    422, f"{key}: expected a short string, found {type(value).__name__}."
                )
        webhook = body.get("webhook")
        if webhook and not webhook.startswith(("http://", "https://")):
            raise ApiError(422, f"webhook: expected an http(s) URL, found {webhook!r}.")
        db.update_user(user["id"], **{k: body[k] for k in ("email", "webhook") if k in body})
        return me(request)

    @app.get("/docs", response_class=HTMLResponse, include_in_schema=False)
    def docs_page(request: Request) -> HTMLResponse:
        return pages.api_docs(request, app.openapi())

    # ------------------------------------------------------------------ pages
    @app.get("/", include_in_schema=False)
    def home(request: Request):
        return RedirectResponse("/jobs" if page_user(request) else "/signin", status_code=303)

    @app.get("/signin", response_class=HTMLResponse, include_in_schema=False)
    def signin_page(request: Request, error: str | None = None):
        token = secrets.token_urlsafe(24)
        response = pages.signin(request, csrf=token, error=error)
        response.set_cookie(
            SIGNIN_CSRF_COOKIE, token, httponly=True, samesite="strict", max_age=3600
        )
        return response

    @app.post("/signin", include_in_schema=False)
    async def signin(request: Request):
        form = await request.form()
        expected = request.cookies.get(SIGNIN_CSRF_COOKIE) or ""
        if not expected or not same(str(form.get("csrf_token", "")), expected):
            return RedirectResponse("/signin?error=expired", status_code=303)
        user = db.user_of_token(hash_token(str(form.get("token", "")).strip()))
        if user is None:
            return RedirectResponse("/signin?error=token", status_code=303)
        session, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(24)
        db.add_session(hash_token(session), user["id"], csrf)
        response = RedirectResponse("/jobs", status_code=303)
        response.set_cookie(
            SESSION_COOKIE, session, httponly=True, samesite="strict", max_age=14 * 24 * 3600
        )
        response.delete_cookie(SIGNIN_CSRF_COOKIE)
        return response

    @app.post("/signout", include_in_schema=False)
    async def signout(request: Request):
        form = await request.form()
        cookie = request.cookies.get(SESSION_COOKIE)
        session = db.session(hash_token(cookie)) if cookie else None
        if session is not None and same(str(form.get("csrf_token", "")), session["csrf"]):
            db.delete_session(hash_token(cookie))
        response = RedirectResponse("/signin", status_code=303)
        response.delete_cookie(SESSION_COOKIE)
        return response

    @app.get("/jobs", response_class=HTMLResponse, include_in_schema=False)
    def jobs_page(request: Request):
        user = page_user(request)
        if user is None:
            return RedirectResponse("/signin", status_code=303)
        return pages.jobs(
            request,
            user,
            [job_view(j) for j in db.jobs(user["id"])],
            db.notifications(user["id"], unseen_only=True),
        )

    @app.get("/jobs/new", response_class=HTMLResponse, include_in_schema=False)
    def new_job_page(request: Request):
        user = page_user(request)
        if user is None:
            return RedirectResponse("/signin", status_code=303)
        return pages.new_job(request, user, available_models(db, user))

    @app.get("/jobs/{job_id}", response_class=HTMLResponse, include_in_schema=False)
    def job_page(job_id: str, request: Request):
        user = page_user(request)
        if user is None:
            return RedirectResponse("/signin", status_code=303)
        job = db.job(job_id, user_id=user["id"])
        if job is None:
            raise ApiError(404, f"id: expected one of your jobs, found {job_id!r}.")
        log = job_files(settings, job)["log"]
        return pages.job(request, user, job_view(job), log.read_text() if log.is_file() else "")

    @app.get("/models", response_class=HTMLResponse, include_in_schema=False)
    def models_page(request: Request):
        user = page_user(request)
        if user is None:
            return RedirectResponse("/signin", status_code=303)
        return pages.models(request, user, available_models(db, user))

    app.state.settings = settings
    app.state.db = db
    app.state.huey = huey
    app.state.started = time.time()
    return app


def _error(request: Request, status: int, message: str, pages: Pages):
    if request.url.path.startswith("/api/") or "text/html" not in request.headers.get("accept", ""):
        return JSONResponse({"detail": message}, status_code=status)
    return pages.error(request, status, message)


def _modalities(model: dict) -> list[str]:
    names: list[str] = []
    for direction in model["directions"]:
        for name in direction.split("->"):
            if name not in names:
                names.append(name)
    return names


def _check_limits(db: Database, settings: Settings, user: dict) -> None:
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


def _training_options(fields: dict[str, str]) -> dict[str, Any]:
    from ._auth import USER_NAME

    name = fields.get("name", "").strip()
    if not USER_NAME.match(name):
        raise ApiError(
            422, f"name: expected 1-64 letters, digits, '.', '_' or '-', found {name!r}."
        )
    modalities = [m.strip() for m in fields.get("modalities", "").split(",") if m.strip()]
    if modalities and len(modalities) != 2:
        raise ApiError(422, f"modalities: expected two names like 'rna,atac', found {modalities}.")
    epochs = []
    for key, default, limit in (
        ("epochs_pretrain", 20, MAX_TRAIN_EPOCHS[0]),
        ("epochs", 40, MAX_TRAIN_EPOCHS[1]),
    ):
        raw = fields.get(key, str(default)).strip() or str(default)
        if not raw.isdigit() or not 0 <= int(raw) <= limit:
            raise ApiError(422, f"{key}: expected an integer from 0 to {limit}, found {raw!r}.")
        epochs.append(int(raw))
    if sum(epochs) == 0:
        raise ApiError(422, "epochs_pretrain, epochs: expected a positive total, found 0.")
    return {"name": name, "modalities": modalities, "epochs": epochs}


def _check_paired_upload(path: Path, options: dict) -> None:
    import mudata

    try:
        mdata = mudata.read_h5mu(path, backed=True)
    except Exception as error:
        raise UploadError(
            400,
            f"file: expected a readable .h5mu file, found one that cannot be read ({type(error).__name__}).",
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
