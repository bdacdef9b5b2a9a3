"""HTML pages, rendered on the server from Jinja2 templates (no front-end build, no assets
from outside).
"""

from __future__ import annotations

import datetime
import json
import re
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup, escape

from ._settings import Settings

TEMPLATES = Path(__file__).resolve().parent / "templates"


def _when(value: float | None) -> str:
    if not value:
        return "—"
    return datetime.datetime.fromtimestamp(value).strftime("%Y-%m-%d %H:%M:%S")


def _duration(job: dict) -> str:
    if not job.get("started"):
        return "—"
    end = job.get("finished") or datetime.datetime.now().timestamp()
    return f"{end - job['started']:.0f} s"


_CODE = re.compile(r"``(.+?)``|`(.+?)`")


def _inline_code(text: str) -> Markup:
    """Docstring text as HTML: escaped, with ```code``` and ``code`` set as ``<code>``."""
    parts, end = [], 0
    for match in _CODE.finditer(text or ""):
        parts.append(escape(text[end : match.start()]))
        parts.append(Markup("<code>%s</code>") % (match.group(1) or match.group(2)))
        end = match.end()
    parts.append(escape((text or "")[end:]))
    return Markup("").join(parts)


class Pages:
    """Renders the portal's pages."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.env = Environment(
            loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"])
        )
        self.env.filters["when"] = _when
        self.env.filters["duration"] = _duration
        self.env.filters["tojson_attr"] = lambda value: json.dumps(value)
        self.env.filters["inline_code"] = _inline_code

    def render(self, template: str, /, status: int = 200, **context: Any) -> HTMLResponse:
        """A template rendered into a response."""
        html = self.env.get_template(template).render(**context)
        return HTMLResponse(html, status_code=status)

    def signin(self, request: Request, *, csrf: str, error: str | None) -> HTMLResponse:
        messages = {
            "token": "That token is not known. Check it and try again.",
            "expired": "The sign-in form expired; please try again.",
        }
        return self.render(
            "signin.html",
            user=None,
            csrf=csrf,
            error=messages.get(error or ""),
            registration=self.settings.registration,
        )

    def jobs(self, request: Request, user: dict, jobs: list[dict], notes: list[dict]):
        return self.render("jobs.html", user=user, jobs=jobs, notifications=notes)

    def new_job(self, request: Request, user: dict, models: list[dict]):
        # RNA as the source first: the most common upload.
        directions = sorted(
            {d for m in models for d in m["directions"]},
            key=lambda d: (not d.startswith("rna->"), d),
        )
        return self.render(
            "new_job.html",
            user=user,
            models=models,
            directions=directions,
            max_upload_mb=self.settings.max_upload_bytes // 1024**2,
        )

    def job(self, request: Request, user: dict, job: dict, log: str, summary: dict | None = None):
        return self.render("job.html", user=user, job=job, log=log, summary=summary)

    def models(self, request: Request, user: dict, models: list[dict]):
        return self.render("models.html", user=user, models=models)

    def error(self, request: Request, status: int, message: str):
        return self.render("error.html", status=status, user=None, code=status, message=message)

    def api_docs(self, request: Request, spec: dict) -> HTMLResponse:
        operations = []
        for path, methods in spec.get("paths", {}).items():
            for method, operation in methods.items():
                operations.append(
                    {
                        "method": method.upper(),
                        "path": path,
                        "summary": operation.get("summary", ""),
                        "description": operation.get("description", ""),
                        "tag": (operation.get("tags") or ["other"])[0],
                    }
                )
        return self.render("docs.html", user=None, spec=spec, operations=operations)
