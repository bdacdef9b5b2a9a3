"""Answers other than success: one exception, and handlers that never show a stack trace."""

from __future__ import annotations

import logging
import uuid

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from ._uploads import UploadError

logger = logging.getLogger("butterflyvi.portal")


class SignInRequired(Exception):
    """A page asked for without a sign-in (answered with a redirect to ``/signin``)."""


class ApiError(Exception):
    """An answer other than success, with its status and message."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def answer(request: Request, status: int, message: str):
    """JSON for the API (and clients that do not ask for HTML), an error page otherwise."""
    if request.url.path.startswith("/api/") or "text/html" not in request.headers.get("accept", ""):
        return JSONResponse({"detail": message}, status_code=status)
    return request.app.state.pages.error(request, status, message)


def _validation_message(error: RequestValidationError) -> str:
    """``field: expected …, found …`` from pydantic's first complaint."""
    problems = []
    for item in error.errors()[:3]:
        where = ".".join(str(p) for p in item.get("loc", ()) if p not in ("body", "query", "path"))
        found = item.get("input")
        problems.append(
            f"{where or 'body'}: expected {item.get('msg', 'a valid value').lower()}, found {found!r}"
        )
    return "; ".join(problems) + "."


def install_handlers(app: FastAPI) -> None:
    """Answer every refusal with its message and every unexpected error with a reference."""

    @app.exception_handler(ApiError)
    async def api_error(request: Request, error: ApiError):
        return answer(request, error.status, error.message)

    @app.exception_handler(UploadError)
    async def upload_error(request: Request, error: UploadError):
        return answer(request, error.status, error.message)

    @app.exception_handler(SignInRequired)
    async def sign_in_first(request: Request, error: SignInRequired):
        return RedirectResponse("/signin", status_code=303)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, error: RequestValidationError):
        return answer(request, 422, _validation_message(error))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException):
        return answer(request, error.status_code, str(error.detail))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, error: Exception):
        reference = uuid.uuid4().hex[:8]
        logger.exception(
            "unexpected error %s on %s %s", reference, request.method, request.url.path
        )
        return answer(request, 500, f"internal error (reference {reference}; see the server log)")
