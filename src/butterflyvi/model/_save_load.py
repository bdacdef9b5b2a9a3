"""Saving in plain types and loading without unpickling arbitrary objects.

scvi-tools 1.4 reads ``model.pt`` with ``torch.load(..., weights_only=False)``: a downloaded
model file can then run any code while it is unpickled. ``ButterflyModel.load`` instead reads
``model.pt`` once with :func:`read_model_file` — torch's weights-only unpickler (tensors, plain
Python containers and numbers, strings, and — allowed explicitly here — numpy arrays and
dtypes) — checks that it is a butterflyvi model, and builds the model from those contents
alone (with or without data).

For that, :func:`plain_attributes` converts, at save time, the two attributes scvi-tools
would otherwise pickle as Python objects: the training history (pandas DataFrames) and the
registry's ``defaultdict``. :func:`history_from_plain` turns the history back into
DataFrames after loading.
"""

from __future__ import annotations

import hashlib
import io
import os
import pickle
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import mudata
import numpy as np
import pandas as pd
import torch

from .._validation import ChecksumError, MissingKeyError

#: Key of the model class name in a saved scvi-tools registry (``scvi.data._constants``).
_MODEL_NAME_KEY = "model_name"


class SAVE_KEYS:
    """File names and keys of a model saved by scvi-tools 1.x (``model.pt`` and its data)."""

    MODEL_FNAME = "model.pt"
    MDATA_FNAME = "mdata.h5mu"
    MODEL_STATE_DICT_KEY = "model_state_dict"
    VAR_NAMES_KEY = "var_names"
    ATTR_DICT_KEY = "attr_dict"


try:  # numpy >= 2
    from numpy._core import multiarray as _multiarray
except ImportError:  # pragma: no cover - numpy 1.x
    from numpy.core import multiarray as _multiarray

#: Marks a training history stored in plain types by :func:`plain_attributes`.
HISTORY_FORMAT = "butterflyvi.history.v1"

_DTYPE_CODES = "?bBhHiIlLqQefdgFDGOUS"

#: Harmless globals the weights-only unpickler may use besides its defaults: numpy arrays
#: (rebuilt by ``_reconstruct`` + ``ndarray.__setstate__``), numpy scalars, dtypes, and
#: ``bytes`` (empty arrays are pickled with ``bytes()``). Arrays of dtype object hold objects
#: unpickled by the same restricted unpickler.
SAFE_GLOBALS: list = [
    np.ndarray,
    np.dtype,
    bytes,
    (_multiarray._reconstruct, "numpy._core.multiarray._reconstruct"),
    (_multiarray._reconstruct, "numpy.core.multiarray._reconstruct"),
    (_multiarray.scalar, "numpy._core.multiarray.scalar"),
    (_multiarray.scalar, "numpy.core.multiarray.scalar"),
    *sorted({type(np.dtype(code)) for code in _DTYPE_CODES}, key=lambda t: t.__name__),
]

_LOAD_LOCK = threading.Lock()

_REQUIRED_KEYS = (
    SAVE_KEYS.MODEL_STATE_DICT_KEY,
    SAVE_KEYS.VAR_NAMES_KEY,
    SAVE_KEYS.ATTR_DICT_KEY,
)
_REQUIRED_ATTRIBUTES = ("registry_", "init_params_", "modalities_", "kinds_", "features_")


# ---------------------------------------------------------------------------- saving
def _plain_containers(value: Any) -> Any:
    """``value`` with every ``defaultdict`` (recursively, inside dicts) made a ``dict``."""
    if isinstance(value, Mapping):
        return {key: _plain_containers(item) for key, item in value.items()}
    return value


def history_to_plain(history: Any) -> Any:
    """A ``{name: DataFrame}`` history as plain arrays and lists (other values unchanged)."""
    if not isinstance(history, Mapping) or not all(
        isinstance(frame, pd.DataFrame) for frame in history.values()
    ):
        return history
    frames = {}
    for key, frame in history.items():
        columns = {}
        for column in frame.columns:
            try:
                columns[str(column)] = frame[column].to_numpy(dtype=np.float64)
            except (TypeError, ValueError):
                columns[str(column)] = [str(v) for v in frame[column].tolist()]
        frames[str(key)] = {
            "index": np.asarray(frame.index.to_numpy(), dtype=np.int64)
            if pd.api.types.is_integer_dtype(frame.index)
            else [str(v) for v in frame.index],
            "index_name": None if frame.index.name is None else str(frame.index.name),
            "columns": columns,
        }
    return {"format": HISTORY_FORMAT, "frames": frames}


def history_from_plain(value: Any) -> Any:
    """Inverse of :func:`history_to_plain` (other values are returned unchanged)."""
    if not (isinstance(value, Mapping) and value.get("format") == HISTORY_FORMAT):
        return value
    history = {}
    for key, frame in value["frames"].items():
        index = pd.Index(frame["index"], name=frame["index_name"])
        history[key] = pd.DataFrame(dict(frame["columns"]), index=index)
    return history


def plain_attributes(attributes: list[tuple[str, Any]]) -> list[tuple[str, Any]]:
    """The model attributes scvi-tools saves, with the history and registry made plain."""
    out = []
    for name, value in attributes:
        if name == "history_":
            value = history_to_plain(value)
        elif name == "registry_" and isinstance(value, Mapping):
            value = _plain_containers(value)
        out.append((name, value))
    return out


@contextmanager
def frames_restored(data: Any) -> Iterator[None]:
    """Put back the ``obs``/``var`` tables of ``data`` (and of its modalities) afterwards.

    Writing an AnnData converts its string columns to categoricals in place, and writing a
    MuData first pulls the modalities' columns into ``mdata.obs``/``mdata.var``; with this,
    ``save(..., save_anndata=True)`` leaves the user's object as it was. Only the (small)
    tables are copied, never a matrix.
    """
    objects = [*data.mod.values(), data] if isinstance(data, mudata.MuData) else [data]
    saved = [(obj, obj.obs.copy(), obj.var.copy()) for obj in objects if obj is not None]
    try:
        yield
    finally:
        for obj, obs, var in saved:
            obj.obs = obs
            obj.var = var


# ---------------------------------------------------------------------------- loading
def _invalid(path: str, problem: str) -> ValueError:
    return ValueError(
        f"{os.path.basename(path)} in {os.path.dirname(path) or '.'} is not a valid "
        f"butterflyvi model: {problem}"
    )


def _unreadable(err: Exception) -> str:
    """Describe a file torch cannot read, with the informative line of its message."""
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    detail = lines[0] if lines else ""
    for i, line in enumerate(lines):
        at = line.lower().rfind("error:")
        if at >= 0:  # torch's weights-only messages: the cause follows "... error:"
            after = line[at + len("error:") :].strip()
            detail = after or (lines[i + 1] if i + 1 < len(lines) else line)
            break
    detail = detail.split(". ")[0].rstrip(".")
    return (
        f"the file cannot be read ({type(err).__name__}: {detail}); it may be truncated, "
        "corrupted, or not written by ButterflyModel.save."
    )


def read_model_file(
    dir_path: str | os.PathLike,
    *,
    prefix: str | None = None,
    model_names: tuple[str, ...] = ("ButterflyModel",),
    sha256: str | None = None,
) -> dict[str, Any]:
    """Read and check ``model.pt`` without running any code it might contain.

    Parameters
    ----------
    dir_path
        Folder written by ``ButterflyModel.save``.
    prefix
        Prefix of the saved file names.
    model_names
        Model class names accepted in the saved registry.
    sha256
        When given, the file's bytes are read once, hashed, and refused unless their SHA-256
        is this; only then are they unpickled (from the same bytes).

    Returns
    -------
    The saved dictionary: ``model_state_dict``, ``var_names`` and ``attr_dict``.

    Raises
    ------
    FileNotFoundError
        If there is no ``model.pt``.
    ValueError
        If the file cannot be read (truncated, corrupted, not a torch file), holds objects
        outside the allowed plain types (refused before anything is built), or does not have
        the structure of a butterflyvi model.
    """
    path = os.path.join(os.fspath(dir_path), f"{prefix or ''}{SAVE_KEYS.MODEL_FNAME}")
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f"dir_path: no saved model at {path} (expected the {SAVE_KEYS.MODEL_FNAME} "
            "written by ButterflyModel.save)."
        )
    source = path if sha256 is None else _verified_bytes(path, sha256)
    try:
        # safe_globals changes process-wide state on entry and exit: one load at a time.
        with _LOAD_LOCK, torch.serialization.safe_globals(SAFE_GLOBALS):
            contents = torch.load(source, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        try:
            unsafe = torch.serialization.get_unsafe_globals_in_checkpoint(path)
        except Exception:  # not a readable zip archive: the listing is only a courtesy
            unsafe = []
        allowed = {
            entry[1] if isinstance(entry, tuple) else f"{entry.__module__}.{entry.__qualname__}"
            for entry in SAFE_GLOBALS
        }
        unsafe = [name for name in unsafe if name not in allowed]
        if not unsafe:
            raise _invalid(path, _unreadable(err)) from None
        raise _invalid(
            path,
            f"it holds Python objects outside the plain types a model needs "
            f"({', '.join(sorted(unsafe)[:5])}), which could run code when unpickled; it was "
            "refused without building them (torch weights-only loading). Load model files "
            "only from sources you trust.",
        ) from None
    except Exception as err:  # torch raises many types for broken files
        raise _invalid(path, _unreadable(err)) from None
    check_contents(contents, path=path, model_names=model_names)
    return contents


def _verified_bytes(path: str, expected: str) -> io.BytesIO:
    """The bytes of ``path``, refused unless their SHA-256 is ``expected``."""
    # The bytes hashed are the bytes unpickled: hashing the file, then reading it again, would
    # let it change in between.
    data = Path(path).read_bytes()
    found = hashlib.sha256(data).hexdigest()
    if found != expected.lower():
        raise ChecksumError(
            f"sha256: expected {expected} for {path}, found {found}; the file was changed or "
            "corrupted after its checksum was recorded, so it was not read."
        )
    return io.BytesIO(data)


def check_contents(contents: Any, *, path: str, model_names: tuple[str, ...]) -> None:
    """Check the structure of a loaded ``model.pt`` (see :func:`read_model_file`)."""
    if not isinstance(contents, dict) or not all(key in contents for key in _REQUIRED_KEYS):
        found = sorted(contents) if isinstance(contents, dict) else type(contents).__name__
        raise _invalid(
            path, f"expected a dict with the keys {list(_REQUIRED_KEYS)}, found {found}."
        )
    state = contents[SAVE_KEYS.MODEL_STATE_DICT_KEY]
    if not isinstance(state, dict) or not state:
        raise _invalid(path, "its model_state_dict is not a non-empty dict of tensors.")
    for key, value in state.items():
        if key == "pyro_param_store":
            continue
        if not isinstance(key, str) or not isinstance(value, torch.Tensor):
            raise _invalid(path, f"its model_state_dict entry {key!r} is not a tensor.")
        if value.is_floating_point() and not bool(torch.isfinite(value).all()):
            raise _invalid(path, f"the weights {key!r} hold NaN or infinite values.")
    attributes = contents[SAVE_KEYS.ATTR_DICT_KEY]
    if not isinstance(attributes, dict):
        raise _invalid(path, "its attr_dict is not a dict.")
    absent = [key for key in _REQUIRED_ATTRIBUTES if key not in attributes]
    if absent:
        raise _invalid(path, f"its attr_dict lacks {absent}.")
    registry = attributes["registry_"]
    name = registry.get(_MODEL_NAME_KEY) if isinstance(registry, dict) else None
    if name not in model_names:
        raise _invalid(
            path, f"it was saved by the model class {name!r}, expected one of {list(model_names)}."
        )
    modalities = attributes["modalities_"]
    if (
        not isinstance(modalities, list)
        or len(modalities) != 2
        or not isinstance(attributes["features_"], dict)
        or any(m not in attributes["features_"] for m in modalities)
    ):
        raise _invalid(path, "its modalities and stored features do not match.")


def saved_data_path(dir_path: str, prefix: str | None) -> str | None:
    """The MuData saved beside ``model.pt`` (``save_anndata=True``), or ``None``."""
    path = os.path.join(dir_path, f"{prefix or ''}{SAVE_KEYS.MDATA_FNAME}")
    return path if os.path.isfile(path) else None


def check_var_names(mdata: mudata.MuData, saved: Any, modalities: list[str]) -> None:
    """Refuse data whose modalities do not have the features the model was saved with."""
    if not isinstance(saved, Mapping):
        return  # legacy flat format: nothing per modality to compare
    for modality in modalities:
        if modality not in mdata.mod:
            raise MissingKeyError(
                f"adata: expected a MuData with the model's modality {modality!r}, found "
                f"{list(mdata.mod)}."
            )
        expected = np.asarray(saved.get(modality, []), dtype=str)
        found = mdata[modality].var_names.astype(str).to_numpy()
        if not np.array_equal(expected, found):
            raise ValueError(
                f"adata: expected modality {modality!r} with the {len(expected):,} features "
                f"the model was trained on, in the same order, found {len(found):,} features "
                "that differ. To translate new cells, pass them to translate() instead."
            )


def download(url: str, dir_path: str, file_name: str, *, sha256: str | None = None) -> None:
    """Fetch ``url`` into ``dir_path/file_name`` (for ``load(..., backup_url=...)``), checked
    against ``sha256`` when given.
    """
    from ..datasets._download import fetch_url

    fetch_url(url, dir_path, file_name, sha256=sha256)


def invalid_weights(dir_path: str, prefix: str | None, err: RuntimeError) -> ValueError:
    """The error for weights that do not fit the networks the saved settings describe."""
    path = os.path.join(dir_path, f"{prefix or ''}{SAVE_KEYS.MODEL_FNAME}")
    detail = str(err).strip().splitlines()
    return _invalid(
        path,
        "its weights do not fit the model its settings describe "
        f"({' '.join(line.strip() for line in detail[1:3])}).",
    )


__all__ = [
    "SAFE_GLOBALS",
    "SAVE_KEYS",
    "check_var_names",
    "download",
    "frames_restored",
    "history_from_plain",
    "history_to_plain",
    "invalid_weights",
    "plain_attributes",
    "read_model_file",
    "saved_data_path",
]
