"""Loading a catalogue model: checksum first, then weights-only, without training data."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING

from .._validation import ChecksumError
from ._catalogue import ENTRY_FILE, _entries, model_dir

if TYPE_CHECKING:
    from ..model import ButterflyModel

logger = logging.getLogger(__name__)


def load(
    name: str,
    *,
    accelerator: str = "auto",
    device: int | str = "auto",
    revision: str | None = None,
) -> ButterflyModel:
    """A pretrained translator, ready to translate new cells.

    The model's ``model.pt`` is hashed and compared with the SHA-256 its catalogue entry
    (``zoo.json``) records before anything in it is read; it is then read with torch's
    weights-only unpickler and built without training data
    (:meth:`~butterflyvi.ButterflyModel.load`). Works offline for the models of
    :func:`available`.

    Parameters
    ----------
    name
        A name of :func:`available` (e.g. ``"mouse-cortex-rna-atac"``), or a scvi-hub
        repository id ``"user/repo"`` on the Hugging Face Hub (needs network and
        ``pip install 'butterflyvi[hub]'``; a repository with a ``zoo.json`` is verified against
        its recorded checksum the same way).
    accelerator, device
        Where to put the model (``"auto"``: a GPU when there is one).
    revision
        Branch, tag or commit of a Hub repository.

    Returns
    -------
    The :class:`~butterflyvi.ButterflyModel`, loaded without data.

    Raises
    ------
    ChecksumError
        If the model file's SHA-256 is not the recorded one.
    MissingKeyError
        If ``name`` is neither in the catalogue nor a repository id.
    """
    from ..model import ButterflyModel

    if name in _entries() or "/" not in name:
        folder = model_dir(name)
    else:
        folder = _download(name, revision=revision)
    record = _record(folder)
    expected = record.get("sha256") if record else None
    if record is not None and expected is None:
        raise ChecksumError(f"{ENTRY_FILE}: expected a recorded sha256 for {name}, found none.")
    model = ButterflyModel.load(
        folder, adata=False, accelerator=accelerator, device=device, sha256=expected
    )
    logger.info("Loaded %s from %s (SHA-256 %s).", name, folder, expected or "not recorded")
    return model


def _record(folder: Path) -> dict | None:
    path = folder / ENTRY_FILE
    return json.loads(path.read_text()) if path.is_file() else None


def _download(repo_id: str, *, revision: str | None) -> Path:
    """A snapshot of a Hub repository (model files and metadata only)."""
    try:
        from huggingface_hub import snapshot_download
    except ImportError as error:  # pragma: no cover - the hub extra is missing
        raise ImportError(
            f"Loading from the Hugging Face Hub needs `pip install 'butterflyvi[hub]'` ({error})."
        ) from error
    path = snapshot_download(
        repo_id,
        revision=revision,
        allow_patterns=["model.pt", ENTRY_FILE, "README.md", "_scvi_required_metadata.json"],
    )
    return Path(path)
