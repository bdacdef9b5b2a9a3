"""A member's own account: the settings page and a test of their notifications."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse

from .._deps import Db, PageUser, PortalSettings, User
from .._notify import notify_test
from .._schemas import NotificationTest

router = APIRouter(prefix="/api/v1", tags=["account"])
pages = APIRouter(include_in_schema=False)


@router.post(
    "/me/test-notification",
    response_model=NotificationTest,
    summary="Send yourself a test notification",
)
async def test_notification(user: User, db: Db, settings: PortalSettings) -> dict:
    """Sends a test message to the page, your webhook and your e-mail; says which arrived."""
    return await run_in_threadpool(notify_test, settings, db, db.user(user["id"]))


@pages.get("/settings", response_class=HTMLResponse)
def settings_page(request: Request, user: PageUser, db: Db):
    settings = request.app.state.settings
    return request.app.state.pages.render(
        "settings.html", user=user, me=db.user(user["id"]), smtp=settings.smtp is not None
    )
