"""Administration: the users, their status and their tokens (administrators only)."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from .. import _auth
from .._deps import Admin, Db, PageUser
from .._errors import ApiError
from .._schemas import TokenIssued, UserRecord

router = APIRouter(prefix="/api/v1/users", tags=["administration"])
pages = APIRouter(include_in_schema=False)


def user_view(user: dict) -> dict:
    """The API form of a user record (never a token)."""
    return {
        k: user.get(k)
        for k in ("name", "status", "is_admin", "email", "n_tokens", "n_jobs", "created")
    }


@router.get("", response_model=list[UserRecord], summary="List the users")
def list_users(admin: Admin, db: Db) -> list[dict]:
    """Every user with their status, e-mail and how many tokens and jobs they have."""
    return [user_view(u) for u in db.users()]


@router.post(
    "/{name}/{action}",
    response_model=TokenIssued,
    summary="Approve, revoke or reset a user",
)
def change_user(
    name: str, action: Literal["approve", "revoke", "reset"], admin: Admin, db: Db
) -> TokenIssued:
    """``approve`` lets a signed-up user in; ``revoke`` stops their tokens and sign-ins at
    once; ``reset`` gives them a new token (returned here, once; older ones stop working).
    """
    if action == "revoke" and name == admin["name"]:
        raise ApiError(422, "name: expected another user than yourself, found your own name.")
    try:
        token = None
        if action == "approve":
            _auth.approve(db, name)
        elif action == "revoke":
            _auth.revoke(db, name)
        else:
            token = _auth.reset_token(db, name)
    except KeyError as error:
        raise ApiError(404, str(error).strip("'\"")) from None
    except ValueError as error:
        raise ApiError(409, str(error)) from None
    return TokenIssued(name=name, status=db.user_by_name(name)["status"], token=token)


@pages.get("/admin", response_class=HTMLResponse)
def admin_page(request: Request, user: PageUser, db: Db):
    if not user["is_admin"]:
        raise ApiError(403, "user: expected an administrator, found a member.")
    return request.app.state.pages.render(
        "admin.html", user=user, users=db.users(), settings=request.app.state.settings
    )
