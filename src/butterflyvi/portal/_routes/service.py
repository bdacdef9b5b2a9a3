"""The service itself: liveness, who you are, notifications."""

from __future__ import annotations

from fastapi import APIRouter

from .._deps import Db, User
from .._errors import ApiError
from .._schemas import Health, Me, MeUpdate, Notification, Ok

router = APIRouter(prefix="/api/v1", tags=["account"])


def me_view(user: dict) -> Me:
    """The API form of a user."""
    return Me(
        id=user["id"],
        name=user["name"],
        is_admin=bool(user["is_admin"]),
        email=user.get("email"),
        webhook=user.get("webhook"),
    )


@router.get("/health", response_model=Health, tags=["service"], summary="Check the service")
def health() -> Health:
    """Answers ``{"status": "ok"}`` while the web server runs (no authentication)."""
    return Health()


@router.get("/me", response_model=Me, summary="Who you are")
def me(user: User) -> Me:
    """Your user record and where your notifications go."""
    return me_view(user)


@router.put("/me", response_model=Me, summary="Set your notification addresses")
def update_me(body: MeUpdate, user: User, db: Db) -> Me:
    """Set ``email`` and/or ``webhook`` (a JSON body); an empty string removes one."""
    values = body.model_dump(exclude_unset=True)
    webhook = values.get("webhook")
    if webhook and not webhook.startswith(("http://", "https://")):
        raise ApiError(422, f"webhook: expected an http(s) URL, found {webhook!r}.")
    db.update_user(user["id"], **{k: (v or None) for k, v in values.items()})
    return me_view(db.user(user["id"]))


@router.get("/notifications", response_model=list[Notification], summary="Your notifications")
def notifications(user: User, db: Db) -> list[dict]:
    """Messages about your ended jobs, newest first."""
    return db.notifications(user["id"])


@router.post("/notifications/seen", response_model=Ok, summary="Mark notifications seen")
def notifications_seen(user: User, db: Db) -> Ok:
    """Marks all your notifications seen (they leave the jobs page)."""
    db.mark_seen(user["id"])
    return Ok()
