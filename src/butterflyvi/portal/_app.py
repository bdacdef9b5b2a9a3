"""The web application: the REST API under ``/api/v1`` and the HTML pages, assembled from
the routers of :mod:`butterflyvi.portal._routes`.
"""

from __future__ import annotations

import time
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from ._db import Database
from ._errors import install_handlers
from ._models import ModelCache
from ._pages import Pages
from ._queue import make_huey
from ._routes import ROUTERS
from ._settings import Settings

DESCRIPTION = """Translate single cells between modalities (RNA, ATAC, protein) with
pretrained or your own models. Every endpoint but `/api/v1/health` needs a personal token:
send `Authorization: Bearer TOKEN`. Jobs run in a queue: submit, poll
`GET /api/v1/jobs/{job_id}` until it ends, then download the result."""


def create_app(settings: Settings) -> FastAPI:
    """The portal application for ``settings``."""
    app = FastAPI(
        title="butterflyvi portal",
        description=DESCRIPTION,
        version="1",
        docs_url=None,  # /docs is served by the pages router, without assets from outside
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.db = Database(settings.db_path)
    app.state.huey = make_huey(settings)
    app.state.cache = ModelCache(app.state.db, size=4)
    app.state.pages = Pages(settings)
    app.state.started = time.time()
    static = Path(__file__).resolve().parent / "static"
    app.mount("/static", StaticFiles(directory=static), name="static")
    install_handlers(app)
    for router in ROUTERS:
        app.include_router(router)
    return app
