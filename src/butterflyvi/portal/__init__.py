"""The butterflyvi web portal: sign in, upload cells, pick a model and a direction, jobs in a
queue, a tracker, results with UMAP pictures (``butterflyvi serve``).

Needs ``pip install "butterflyvi[portal]"``. See ``docs/portal.md``.

- :func:`create_app`: the FastAPI application (REST API under ``/api/v1``, HTML pages);
- :func:`serve`: the web server with local worker processes and the job supervisor;
- :func:`run_worker`: one worker consuming the queue (``butterflyvi worker``);
- :class:`Settings`: where the data live, the queue, limits and notifications.
"""

from ._settings import Settings, SmtpSettings, from_data_dir

__all__ = ["Settings", "SmtpSettings", "create_app", "from_data_dir", "run_worker", "serve"]


def __getattr__(name: str):
    if name == "create_app":
        from ._app import create_app

        return create_app
    if name in ("serve", "run_worker"):
        from . import _server

        return getattr(_server, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
