"""Writing a trained ButterflyModel as a scvi-hub folder, and loading it back."""

from __future__ import annotations

import tempfile
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from mudata import MuData

from ._card import model_card
from ._describe import package_version
from ._scvi import check_url, scvi_hub

#: The module scvi-hub imports the model class from (``butterflyvi.ButterflyModel``).
MODEL_PARENT_MODULE = "butterflyvi"


def _check_model(model) -> None:
    from ..model import ButterflyModel

    if not isinstance(model, ButterflyModel):
        raise TypeError(f"model: expected a ButterflyModel, found {type(model).__name__}.")
    if not model.is_trained_:
        raise ValueError("model: expected a trained model; call model.train() first.")


def _stored_data(model, max_cells: int | None, seed: int):
    """The MuData to store beside the model, or ``None`` to store ``model.adata`` as it is.

    Only the model's two modalities are kept (not, e.g., translations added to the MuData);
    with ``max_cells``, a seeded random subset of that many cells in their original order.
    """
    mdata = model.adata
    extra = [m for m in mdata.mod if m not in model.modalities_]
    if max_cells is not None:
        if isinstance(max_cells, bool) or not isinstance(max_cells, int) or max_cells < 1:
            raise ValueError(f"max_cells: expected a positive integer, found {max_cells!r}.")
    if not extra and (max_cells is None or max_cells >= mdata.n_obs):
        return None
    cells = np.arange(mdata.n_obs)
    if max_cells is not None and max_cells < mdata.n_obs:
        cells = np.sort(np.random.default_rng(seed).choice(mdata.n_obs, max_cells, replace=False))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        stored = MuData({m: mdata[m][cells].copy() for m in model.modalities_})
        for column in mdata.obs.columns:
            if ":" not in column and column not in stored.obs:
                stored.obs[column] = mdata.obs[column].iloc[cells].values
        stored.uns.update({k: v for k, v in mdata.uns.items() if not k.startswith("_scvi")})
    return stored


def _save(model, local_dir: Path, stored) -> None:
    """``model.save(local_dir, save_anndata=True)``, with ``stored`` as its data if given.

    With other data than ``model.adata``, the model is saved without data, loaded on
    ``stored`` (which registers it and records its var_names), and saved again with it, so that
    the saved var_names match the stored data and ``load`` needs nothing else.
    """
    if stored is None:
        model.save(str(local_dir), save_anndata=True, overwrite=True)
        return
    with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*var_names.*")
        model.save(tmp, save_anndata=False, overwrite=True)
        copy = type(model).load(tmp, adata=stored, accelerator="cpu")
        copy.save(str(local_dir), save_anndata=True, overwrite=True)


def to_hub_dir(
    model,
    local_dir: str | Path,
    *,
    training_data_url: str | None = None,
    description: str | None = None,
    pairing: str | None = None,
    genome: str | None = None,
    tissues: Sequence[str] = (),
    benchmark: Mapping[str, Any] | None = None,
    max_cells: int | None = None,
    seed: int = 0,
    license_info: str = "cc-by-4.0",
    save_data: bool = True,
    overwrite: bool = False,
) -> Path:
    """Write ``model`` as a folder that :class:`scvi.hub.HubModel` loads and can push.

    The folder holds what scvi-hub expects:

    - ``model.pt`` and ``mdata.h5mu``: ``model.save(local_dir, save_anndata=True)``. The model
      keeps its fitted preprocessing, feature tables, modalities and kinds in ``model.pt``; the
      MuData is only needed to rebuild the networks on load, so ``max_cells`` may store a
      small random subset of the training cells instead of all of them (any cells with the
      same features load the same model). Modalities added to the MuData after training
      (e.g. ``"atac_from_rna"`` by ``translate``) are left out.
    - ``_scvi_required_metadata.json``: :class:`scvi.hub.HubMetadata` with
      ``model_parent_module="butterflyvi"``, so ``HubModel(local_dir).model`` imports
      ``butterflyvi.ButterflyModel`` and calls its ``load``.
    - ``README.md``: the model card (:func:`model_card`): modalities, kinds, feature counts,
      genome build, training data, pairing strategy, epochs, preset, benchmark figures, usage.

    Parameters
    ----------
    model
        A trained :class:`~butterflyvi.ButterflyModel`.
    local_dir
        Folder to write (created; an existing non-empty one needs ``overwrite=True``).
    training_data_url
        Where the full training data can be downloaded (recorded in the metadata and the card;
        scvi-hub downloads it when the folder holds no data).
    description
        A paragraph about the model for the card.
    pairing
        Pairing strategy of the training pairs: ``"B"`` (measured pairs), ``"T"``, ``"C"``,
        ``"unpaired"`` or ``"perturbation"``; ``None`` reads it from the training data's
        ``uns["butterflyvi_pairing"]`` (written by :mod:`butterflyvi.tl`).
    genome
        Genome build of the features (e.g. ``"mm10"``, ``"GRCh38"``), recorded in the card.
    tissues
        Tissues of the training cells (scvi-hub ``tissue:`` tags).
    benchmark
        Evaluation figures for the card: ``{method: {metric: value}}`` or ``{metric: value}``.
    max_cells
        Store a seeded random subset of this many training cells instead of all of them.
    seed
        Seed of that subset.
    license_info
        Hugging Face license identifier.
    save_data
        Store training cells beside the model (scvi-hub's usual layout). ``False`` writes the
        weights only: the model loads without data (``ButterflyModel.load``,
        :func:`butterflyvi.zoo.load`) and translates new cells; scvi-tools' own
        ``HubModel.load_model`` then needs ``adata=`` or ``training_data_url``.
    overwrite
        Replace the contents of an existing non-empty ``local_dir``.

    Returns
    -------
    The folder, as a :class:`~pathlib.Path`.

    Notes
    -----
    Nothing is uploaded. To share the folder on the Hugging Face Hub (needs network access and
    a write token)::

        import scvi.hub
        from huggingface_hub import HfApi

        hub_model = scvi.hub.HubModel(str(local_dir))
        hub_model.push_to_huggingface_hub("user/repo", repo_token=token, repo_create=True)
        # scvi-tools 1.4.2 uploads only the card and the metadata when push_anndata=True
        # (its default); upload the model and data files as well:
        HfApi(token=token).upload_folder(folder_path=str(local_dir), repo_id="user/repo")

    ``scvi.hub.HubModel.pull_from_huggingface_hub("user/repo")`` then downloads it. Note that
    scvi-hub checks ``training_data_url`` with an HTTP request each time the metadata is read
    (this function only checks its format).
    """
    _check_model(model)
    check_url(training_data_url, argument="training_data_url")
    local_dir = Path(local_dir)
    if local_dir.exists() and not local_dir.is_dir():
        raise FileExistsError(f"local_dir: {str(local_dir)!r} exists and is not a folder.")
    if local_dir.is_dir() and any(local_dir.iterdir()) and not overwrite:
        raise FileExistsError(
            f"local_dir: {str(local_dir)!r} is not empty; pass overwrite=True to replace it."
        )
    stored = _stored_data(model, max_cells, seed) if save_data else None
    card = model_card(
        model,
        description=description,
        pairing=pairing,
        genome=genome,
        tissues=tissues,
        benchmark=benchmark,
        training_data_url=training_data_url,
        training_data_note=_data_note(model, stored) if save_data else _WEIGHTS_ONLY_NOTE,
        license_info=license_info,
    )
    hub = scvi_hub()
    if save_data:
        _save(model, local_dir, stored)
    else:
        model.save(str(local_dir), save_anndata=False, overwrite=True)
    # Built from the model itself rather than HubMetadata.from_dir, which unpickles model.pt
    # without torch's weights-only restriction.
    metadata = hub.HubMetadata(
        model.registry_["scvi_version"],
        package_version("anndata"),
        type(model).__name__,
        model_parent_module=MODEL_PARENT_MODULE,
    )
    # Set after construction: HubMetadata.__post_init__ checks a URL with an HTTP request.
    metadata.training_data_url = training_data_url
    metadata.save(str(local_dir / "_scvi_required_metadata.json"), overwrite=True)
    (local_dir / "README.md").write_text(card, encoding="utf-8")
    return local_dir


_WEIGHTS_ONLY_NOTE = (
    "This folder stores the weights, feature spaces and fitted preprocessing only (no "
    "cells): the model loads without data and translates new cells."
)


def _data_note(model, stored) -> str:
    n_total = model.adata.n_obs
    if stored is None or stored.n_obs == n_total:
        return f"This folder stores all {n_total:,} training pairs (`mdata.h5mu`)."
    return (
        f"This folder stores {stored.n_obs:,} of the {n_total:,} training pairs (`mdata.h5mu`, "
        "a random subset, enough to load the model; translation does not need them)."
    )


def load_hub_dir(local_dir: str | Path, *, adata=None, accelerator: str = "auto"):
    """Load the model of a scvi-hub folder through :class:`scvi.hub.HubModel`.

    Parameters
    ----------
    local_dir
        A folder written by :func:`to_hub_dir` (or downloaded from the Hub).
    adata
        A MuData to load the model with instead of the folder's ``mdata.h5mu``.
    accelerator
        Device to load on (``"auto"``, ``"cpu"``, ``"gpu"``).

    Returns
    -------
    The :class:`~butterflyvi.ButterflyModel`.
    """
    local_dir = Path(local_dir)
    if not (local_dir / "model.pt").is_file():
        raise FileNotFoundError(f"local_dir: {str(local_dir)!r} holds no model.pt.")
    hub_model = scvi_hub().HubModel(str(local_dir))
    hub_model.load_model(adata=adata, accelerator=accelerator)
    return hub_model.model
