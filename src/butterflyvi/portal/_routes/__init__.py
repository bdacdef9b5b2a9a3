"""The portal's routers, one per concern: the service, jobs, models, sign-in, pages."""

from . import auth, jobs, models, pages, service

ROUTERS = (service.router, jobs.router, models.router, auth.router, pages.router)

__all__ = ["ROUTERS"]
