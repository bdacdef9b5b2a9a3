"""The shapes of the API's bodies and answers (pydantic), documented in the OpenAPI page."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

JobStatus = Literal["queued", "running", "succeeded", "failed", "cancelled"]


class Health(BaseModel):
    """The service answers."""

    status: Literal["ok"] = "ok"


class Overlap(BaseModel):
    """How an upload's features were matched to the model's source features."""

    model_config = ConfigDict(extra="allow")

    method: str = Field(description="'name', or 'overlap' when peaks were matched by position.")
    n_model_features: int = Field(description="Features of the model's source modality.")
    n_matched: int = Field(description="Of those, how many the upload provides.")
    fraction: float = Field(description="n_matched / n_model_features.")
    renamed: dict[str, int] = Field(
        default_factory=dict,
        description="Features matched by Ensembl id, without a genome prefix, or ignoring case.",
    )


class Job(BaseModel):
    """A translation or training job."""

    id: str
    kind: Literal["translate", "train"]
    status: JobStatus
    model: str | None = Field(description="The model used (translation) or trained.")
    source: str | None = Field(description="The measured modality (translation).")
    target: str | None = Field(description="The predicted modality (translation).")
    filename: str | None = Field(description="The uploaded file's name, as text only.")
    n_cells: int | None
    feature_overlap: Overlap | None
    created: float = Field(description="Unix time the job was queued.")
    started: float | None
    finished: float | None
    error: str | None = Field(description="Why the job failed, when it did.")
    attempts: int = Field(description="How many times a worker started it.")
    progress: dict[str, Any] | None = Field(
        default=None, description="A training job's epoch, epochs, phase and loss."
    )


class JobCreated(BaseModel):
    """A queued job."""

    id: str
    status: Literal["queued"] = "queued"


class JobRemoved(BaseModel):
    """What ``DELETE /api/v1/jobs/{id}`` did."""

    id: str
    status: Literal["cancelled", "deleted"]


class ModelRecord(BaseModel):
    """A model a user may pick: from the catalogue or their own."""

    name: str
    directions: list[str] = Field(description="'source->target' pairs it translates.")
    species: str
    tissue: str
    n_cells: int = Field(description="Cells it was trained on.")
    metrics: dict[str, Any] = Field(description="Held-out figures with their baselines.")
    owner: str = Field(description="'catalogue', or the user who trained it.")


class Notification(BaseModel):
    """A message in the page about an ended job."""

    id: int
    job_id: str | None
    message: str
    created: float
    seen: bool


class Me(BaseModel):
    """Who you are and where notifications go."""

    id: int
    name: str
    is_admin: bool
    email: str | None
    webhook: str | None


class MeUpdate(BaseModel):
    """New notification addresses (a field left out stays as it is; an empty string clears)."""

    model_config = ConfigDict(extra="forbid")

    email: str | None = Field(default=None, max_length=500, description="E-mail address.")
    webhook: str | None = Field(
        default=None, max_length=500, description="http(s) URL that receives a JSON POST."
    )


class UserRecord(BaseModel):
    """A user as an administrator sees them."""

    name: str
    status: Literal["pending", "active", "revoked"]
    is_admin: bool
    email: str | None
    n_tokens: int = Field(description="Tokens that work (0 after a revocation).")
    n_jobs: int
    created: float


class TokenIssued(BaseModel):
    """A user after an administrator's action; ``token`` only after a reset (shown once)."""

    name: str
    status: Literal["pending", "active", "revoked"]
    token: str | None = None


class NotificationTest(BaseModel):
    """Which channels a test notification reached (``null``: not set up)."""

    page: bool
    webhook: bool | None
    email: bool | None


class Ok(BaseModel):
    """Done."""

    status: Literal["ok"] = "ok"


class TranslateForm(BaseModel):
    """The multipart form of ``POST /api/v1/jobs`` (``file`` or ``url``)."""

    file: bytes | None = Field(
        default=None,
        json_schema_extra={"format": "binary"},
        description="Cells of one modality: .h5ad, or .h5mu holding the source modality.",
    )
    url: str | None = Field(
        default=None,
        description="Instead of file: an http(s) link to the file, downloaded with the same "
        "size limit and checks (public addresses only, unless the portal allows others).",
    )
    model: str = Field(description="A model name from GET /api/v1/models.")
    source: str = Field(description="The modality the file measures, e.g. 'rna'.")


class TrainForm(BaseModel):
    """The multipart form of ``POST /api/v1/models`` (``file`` or ``url``)."""

    file: bytes | None = Field(
        default=None,
        json_schema_extra={"format": "binary"},
        description="Paired cells: an .h5mu with both modalities (raw counts or preprocessed).",
    )
    url: str | None = Field(default=None, description="Instead of file: an http(s) link to it.")
    name: str = Field(description="Name of the new private model (letters, digits, . _ -).")
    modalities: str | None = Field(
        default=None, description="Two modality names, e.g. 'rna,atac' (default: the first two)."
    )
    preset: Literal["default", "crossmp", "paper"] = Field(
        default="default", description="The model's configuration (docs/method.md)."
    )
    epochs_pretrain: int = Field(default=20, ge=0, le=200, description="Epochs of phase 1.")
    epochs: int = Field(default=40, ge=0, le=400, description="Epochs of phase 2.")


def multipart_body(form: type[BaseModel]) -> dict:
    """The OpenAPI request body of a multipart form the route reads as a stream itself."""
    schema = form.model_json_schema()
    schema.pop("title", None)
    return {
        "requestBody": {
            "required": True,
            "content": {"multipart/form-data": {"schema": schema}},
        }
    }


def queue_route(router, summary: str, form: type[BaseModel]):
    """A POST route that streams a multipart ``form`` and answers 202 with a queued job."""
    return router.post(
        "",
        status_code=202,
        response_model=JobCreated,
        summary=summary,
        openapi_extra=multipart_body(form),
    )
