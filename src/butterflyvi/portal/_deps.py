"""FastAPI dependencies: the portal's state and who is asking (bearer token or sign-in)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from ._auth import hash_token, same
from ._db import Database
from ._errors import ApiError, SignInRequired
from ._settings import Settings

SESSION_COOKIE = "bfv_session"
SIGNIN_CSRF_COOKIE = "bfv_signin_csrf"
CSRF_HEADER = "x-csrf-token"

#: The bearer scheme, declared for the OpenAPI document; a missing header is not refused
#: here, because a signed-in page may call the API with its session cookie instead.
bearer = HTTPBearer(
    auto_error=False,
    scheme_name="token",
    description="A personal token (`butterflyvi users add NAME`, or the sign-up page).",
)


def get_db(request: Request) -> Database:
    """The portal database."""
    return request.app.state.db


def get_settings(request: Request) -> Settings:
    """The portal settings."""
    return request.app.state.settings


def current_user(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    db: Annotated[Database, Depends(get_db)],
) -> dict:
    """The user of a request: its bearer token, else its sign-in cookie (then, for anything
    but a read, with the page's CSRF token in ``X-CSRF-Token``).
    """
    if credentials is not None:
        user = db.user_of_token(hash_token(credentials.credentials.strip()))
        if user is None:
            raise ApiError(401, "authorization: expected a valid token, found an unknown one.")
        return user
    session = page_user(request, db)
    if session is None:
        raise ApiError(
            401, "authorization: expected 'Authorization: Bearer TOKEN' or a sign-in, found none."
        )
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        sent = request.headers.get(CSRF_HEADER) or ""
        if not same(sent, session["csrf"]):
            raise ApiError(403, "csrf: expected the page's CSRF token, found none or another.")
    return session


def page_user(request: Request, db: Database | None = None) -> dict | None:
    """The signed-in user of a page request, or ``None``."""
    db = db or request.app.state.db
    cookie = request.cookies.get(SESSION_COOKIE)
    return db.session(hash_token(cookie)) if cookie else None


def signed_in_user(request: Request) -> dict:
    """The signed-in user of a page, or :class:`SignInRequired`."""
    user = page_user(request)
    if user is None:
        raise SignInRequired()
    return user


def admin_user(user: Annotated[dict, Depends(current_user)]) -> dict:
    """The current user, refused unless an administrator."""
    if not user.get("is_admin"):
        raise ApiError(403, "user: expected an administrator, found a member.")
    return user


#: Annotated parameters routes declare.
User = Annotated[dict, Depends(current_user)]
PageUser = Annotated[dict, Depends(signed_in_user)]
Admin = Annotated[dict, Depends(admin_user)]
Db = Annotated[Database, Depends(get_db)]
PortalSettings = Annotated[Settings, Depends(get_settings)]
