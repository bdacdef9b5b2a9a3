"""The portal's routers, one per concern: the service, jobs, models, sign-in, pages."""

from . import account, admin, auth, jobs, models, pages, service

ROUTERS = (
    service.router,
    account.router,
    jobs.router,
    models.router,
    admin.router,
    auth.router,
    pages.router,
    account.pages,
    admin.pages,
)

__all__ = ["ROUTERS"]
