"""Signing in and out of the pages with a token (a session cookie with a CSRF token)."""

from __future__ import annotations

import secrets
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from .. import _auth
from .._auth import hash_token, same
from .._deps import SESSION_COOKIE, SIGNIN_CSRF_COOKIE, Db
from .._errors import ApiError

router = APIRouter(include_in_schema=False)

#: How long a sign-in lasts (seconds).
SESSION_SECONDS = 14 * 24 * 3600


@router.get("/signin", response_class=HTMLResponse)
def signin_page(request: Request, error: str | None = None):
    token = secrets.token_urlsafe(24)
    response = request.app.state.pages.signin(request, csrf=token, error=error)
    response.set_cookie(SIGNIN_CSRF_COOKIE, token, httponly=True, samesite="strict", max_age=3600)
    return response


@router.post("/signin")
def signin(
    request: Request,
    db: Db,
    token: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
):
    expected = request.cookies.get(SIGNIN_CSRF_COOKIE) or ""
    if not expected or not same(csrf_token, expected):
        return RedirectResponse("/signin?error=expired", status_code=303)
    user = db.user_of_token(hash_token(token.strip()))
    if user is None:
        return RedirectResponse("/signin?error=token", status_code=303)
    session, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(24)
    db.add_session(hash_token(session), user["id"], csrf)
    response = RedirectResponse("/jobs", status_code=303)
    response.set_cookie(
        SESSION_COOKIE, session, httponly=True, samesite="strict", max_age=SESSION_SECONDS
    )
    response.delete_cookie(SIGNIN_CSRF_COOKIE)
    return response


@router.post("/signout")
def signout(request: Request, db: Db, csrf_token: Annotated[str, Form()] = ""):
    cookie = request.cookies.get(SESSION_COOKIE)
    session = db.session(hash_token(cookie)) if cookie else None
    if session is not None and same(csrf_token, session["csrf"]):
        db.delete_session(hash_token(cookie))
    response = RedirectResponse("/signin", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


def _registration(request: Request) -> str:
    mode = request.app.state.settings.registration
    if mode == "closed":
        raise ApiError(404, "sign-up: closed on this portal; ask its administrator for a token.")
    return mode


@router.get("/signup", response_class=HTMLResponse)
def signup_page(request: Request, error: str | None = None):
    mode = _registration(request)
    token = secrets.token_urlsafe(24)
    response = request.app.state.pages.render(
        "signup.html", user=None, csrf=token, error=error, approval=mode == "approval"
    )
    response.set_cookie(SIGNIN_CSRF_COOKIE, token, httponly=True, samesite="strict", max_age=3600)
    return response


@router.post("/signup", response_class=HTMLResponse)
def signup(
    request: Request,
    db: Db,
    name: Annotated[str, Form()] = "",
    email: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
):
    mode = _registration(request)
    expected = request.cookies.get(SIGNIN_CSRF_COOKIE) or ""
    if not expected or not same(csrf_token, expected):
        return RedirectResponse("/signup?error=The+form+expired%3B+please+try+again.", 303)
    email = email.strip()
    if email and ("@" not in email or len(email) > 200):
        return RedirectResponse(
            "/signup?error=e-mail%3A+expected+an+address+like+you%40lab.org.", 303
        )
    try:
        _, token = _auth.add_user(
            db,
            name.strip(),
            email=email or None,
            status="pending" if mode == "approval" else "active",
        )
    except ValueError as error:
        return RedirectResponse(f"/signup?error={quote(str(error))}", 303)
    response = request.app.state.pages.render(
        "token.html", user=None, name=name.strip(), token=token, pending=mode == "approval"
    )
    response.delete_cookie(SIGNIN_CSRF_COOKIE)
    return response
