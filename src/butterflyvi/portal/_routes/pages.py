"""The HTML pages of a signed-in user (a page without a sign-in goes to ``/signin``)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from .._deps import Db, PageUser, PortalSettings, page_user
from .._errors import ApiError
from .._jobs import job_files
from .._models import available_models
from .._result import read_summary
from .jobs import job_view

router = APIRouter(include_in_schema=False)


@router.get("/")
def home(request: Request):
    return RedirectResponse("/jobs" if page_user(request) else "/signin", status_code=303)


@router.get("/docs", response_class=HTMLResponse)
def docs_page(request: Request) -> HTMLResponse:
    return request.app.state.pages.api_docs(request, request.app.openapi())


@router.get("/jobs", response_class=HTMLResponse)
def jobs_page(request: Request, user: PageUser, db: Db):
    jobs = [job_view(j) for j in db.jobs(user["id"])]
    notes = db.notifications(user["id"], unseen_only=True)
    return request.app.state.pages.jobs(request, user, jobs, notes)


@router.get("/jobs/new", response_class=HTMLResponse)
def new_job_page(request: Request, user: PageUser, db: Db):
    return request.app.state.pages.new_job(request, user, available_models(db, user))


@router.get("/jobs/{job_id}", response_class=HTMLResponse)
def job_page(job_id: str, request: Request, user: PageUser, db: Db, settings: PortalSettings):
    job = db.job(job_id, user_id=user["id"])
    if job is None:
        raise ApiError(404, f"id: expected one of your jobs, found {job_id!r}.")
    files = job_files(settings, job)
    text = files["log"].read_text() if files["log"].is_file() else ""
    summary = read_summary(files["folder"]) if job["status"] == "succeeded" else None
    return request.app.state.pages.job(request, user, job_view(job), text, summary)


@router.get("/models/new", response_class=HTMLResponse)
def train_page(request: Request, user: PageUser):
    settings = request.app.state.settings
    return request.app.state.pages.render(
        "train.html", user=user, max_upload_mb=settings.max_upload_bytes // 1024**2
    )


@router.get("/models", response_class=HTMLResponse)
def models_page(request: Request, user: PageUser, db: Db):
    return request.app.state.pages.models(request, user, available_models(db, user))
