"""Saving and loading: scvi-tools' layout, read back without unpickling arbitrary objects."""

from __future__ import annotations

import os
from typing import Literal

from mudata import MuData
from scvi.model.base import BaseModelClass

from ._save_load import (
    SAVE_KEYS,
    check_var_names,
    download,
    frames_restored,
    history_from_plain,
    invalid_weights,
    plain_attributes,
    read_model_file,
    saved_data_path,
)
from ._setup_mixin import SETUP_ARGS


class SaveLoadMixin:
    """``save`` and ``load`` for :class:`~butterflyvi.ButterflyModel` (with or without data)."""

    def get_var_names(self, legacy_mudata_format: bool = False) -> dict[str, list[str]]:
        """The model's features per modality (with or without data)."""
        return {m: list(self.features_[m]["var_names"]) for m in self.modalities_}

    def _get_user_attributes(self):
        """The attributes :meth:`save` stores, with the history and registry in plain types.

        So that :meth:`load` can read ``model.pt`` with torch's weights-only unpickler.
        """
        return plain_attributes(super()._get_user_attributes())

    def save(self, dir_path: str, *args, **kwargs) -> None:
        """Save the model (scvi-tools' ``save``), leaving the registered MuData unchanged.

        With ``save_anndata=True``, writing the MuData would otherwise convert its string
        ``obs``/``var`` columns to categoricals and pull modality columns into
        ``mdata.obs``/``mdata.var``. A model loaded without data saves without data.
        Arguments are those of scvi-tools' ``BaseModelClass.save``.
        """
        if self.adata is None:
            kwargs["save_anndata"] = False
            super().save(dir_path, *args, **kwargs)
            return
        with frames_restored(self.adata):
            super().save(dir_path, *args, **kwargs)

    @classmethod
    def load(
        cls,
        dir_path: str | os.PathLike,
        adata: MuData | Literal[False] | None = None,
        *,
        accelerator: str = "auto",
        device: int | str = "auto",
        prefix: str | None = None,
        backup_url: str | None = None,
        allowed_classes_names_list: list[str] | None = None,
        sha256: str | None = None,
    ):
        """Load a model saved with :meth:`save`, without unpickling arbitrary objects.

        ``model.pt`` is read once with torch's weights-only unpickler (tensors, plain
        containers, strings, numbers and numpy arrays only) and checked; a truncated,
        corrupted or tampered file raises a ``ValueError`` saying so. The model stores its
        feature spaces and fitted preprocessing, so it loads and translates new cells without
        its training data. See ``docs/data_requirements.md``.

        Parameters
        ----------
        dir_path
            Folder written by :meth:`save`.
        adata
            MuData organised like the training data (registered again with the saved
            settings), e.g. to train further. ``None``: the MuData saved with the model if
            there is one, else no data. ``False``: no data even if some was saved.
        accelerator, device
            Where to put the model (``"auto"``: a GPU when there is one).
        prefix
            Prefix of the saved file names.
        backup_url
            Address to download ``model.pt`` from when it is not in ``dir_path``.
        allowed_classes_names_list
            Other model class names accepted in the saved file.
        sha256
            The expected SHA-256 of ``model.pt``: its bytes are hashed before anything is
            unpickled and refused (:class:`~butterflyvi.zoo.ChecksumError`) when they differ.
        """
        dir_path = os.fspath(dir_path)
        model_file = f"{prefix or ''}{SAVE_KEYS.MODEL_FNAME}"
        if backup_url is not None and not os.path.isfile(os.path.join(dir_path, model_file)):
            download(backup_url, dir_path, model_file, sha256=sha256)
        names = (cls.__name__, *(allowed_classes_names_list or ()))
        contents = read_model_file(dir_path, prefix=prefix, model_names=names, sha256=sha256)
        attributes = dict(contents[SAVE_KEYS.ATTR_DICT_KEY])
        registry = attributes.pop("registry_")
        init_params = attributes.pop("init_params_")
        if adata is None:
            path = saved_data_path(dir_path, prefix)
            adata = None if path is None else _read_h5mu(path)
        if adata is not None and adata is not False:
            check_var_names(adata, contents[SAVE_KEYS.VAR_NAMES_KEY], attributes["modalities_"])
            cls._register_again(adata, registry)
        model = cls._from_saved(adata or None, registry, init_params, attributes)
        state = dict(contents[SAVE_KEYS.MODEL_STATE_DICT_KEY])
        state.pop("pyro_param_store", None)
        adapted = len(getattr(model, "batches_", None) or []) - model.module.n_batch
        if adapted > 0:  # batches added by adapt() after training
            model.module.add_batches(adapted)
        try:
            model.module.load_state_dict(state)
        except RuntimeError as err:
            raise invalid_weights(dir_path, prefix, err) from None
        model.to_device(_torch_device(accelerator, device))
        model.module.eval()
        return model

    @classmethod
    def _register_again(cls, mdata: MuData, registry: dict) -> None:
        """Register ``mdata`` with the settings the model was saved with."""
        setup_args = dict(registry[SETUP_ARGS])
        if not setup_args.get("counts_registered"):
            setup_args["counts_layer"] = None  # as it was registered (older files: none)
        setup_args.pop("counts_registered", None)
        cls.setup_mudata(mdata, source_registry=registry, **setup_args)

    @classmethod
    def _from_saved(cls, adata: MuData | None, registry: dict, init_params: dict, attributes: dict):
        """A model with the saved settings, built on ``adata`` or, without data, from the
        saved feature spaces alone; weights not loaded yet.
        """
        non_kwargs = dict(init_params.get("non_kwargs", {}))
        kwargs = {
            k: v for group in init_params.get("kwargs", {}).values() for k, v in group.items()
        }
        if adata is not None:
            # The weights replace whatever the constructor initialises.
            non_kwargs["output_init"] = "random"
            model = cls(adata, **non_kwargs, **kwargs)
        else:
            model = cls.__new__(cls)
            BaseModelClass.__init__(model, registry=registry)
            for name in ("modalities_", "kinds_", "features_", "preprocessing_", "layers_"):
                setattr(model, name, attributes[name])
            model.extras_ = attributes.get("extras_", {})
            model.batches_ = list(attributes.get("batches_", []))
            model.adapted_batches_ = []  # files from before adapt() recorded them
            model.preset_ = non_kwargs.get("preset", "default")
            model._build_module(non_kwargs.get("likelihoods"), kwargs)
        model.init_params_ = init_params
        for name, value in attributes.items():
            setattr(model, name, value)
        model._feature_spaces = None
        model.history_ = history_from_plain(getattr(model, "history_", None))
        return model


def _read_h5mu(path: str) -> MuData:
    import mudata

    return mudata.read_h5mu(path)


def _torch_device(accelerator: str, device: int | str):
    """The torch device Lightning's ``accelerator``/``devices`` arguments name."""
    from scvi.model._utils import parse_device_args

    _, _, torch_device = parse_device_args(
        accelerator=accelerator, devices=device, return_device="torch", validate_single_device=True
    )
    return torch_device
