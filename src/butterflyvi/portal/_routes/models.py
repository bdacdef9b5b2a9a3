"""Models: the catalogue and your own, and training a new one from paired cells."""

from __future__ import annotations

from fastapi import APIRouter, Request

from .._deps import Db, PortalSettings, User
from .._models import available_models
from .._schemas import JobCreated, ModelRecord, TrainForm, queue_route
from .._submit import submit_training

router = APIRouter(prefix="/api/v1/models", tags=["models"])


@router.get("", response_model=list[ModelRecord], summary="List the models you may use")
def list_models(user: User, db: Db) -> list[dict]:
    """The catalogue's pretrained models and your own, with their held-out figures."""
    return available_models(db, user)


@queue_route(router, "Train a model of your own", TrainForm)
async def train_model(request: Request, user: User, db: Db, settings: PortalSettings) -> JobCreated:
    """Upload paired cells (.h5mu) to train a private model; it appears in your list when the
    training job succeeds.
    """
    job_id = await submit_training(request, db, settings, request.app.state.huey, user)
    return JobCreated(id=job_id)
