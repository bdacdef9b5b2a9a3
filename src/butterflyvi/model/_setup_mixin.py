"""Registering data with a model: ``setup_mudata`` (and the refused ``setup_anndata``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from mudata import MuData
from scvi.data import AnnDataManager

from ._setup import resolve_setup

#: The layer where ``butterflyvi.pp`` keeps raw counts; registered when present, so that a
#: count likelihood can fit them.
COUNTS_LAYER = "counts"

#: The registry's setup arguments (``scvi.data._constants._SETUP_ARGS_KEY``).
SETUP_ARGS = "setup_args"


class SetupMixin:
    """``setup_mudata``: check, resolve and register the two modalities of a MuData."""

    @classmethod
    def setup_anndata(cls, *args, **kwargs):
        """Not supported: the model needs two modalities; use :meth:`setup_mudata`."""
        raise NotImplementedError(
            "ButterflyModel translates between two modalities: register a MuData with "
            "ButterflyModel.setup_mudata(mdata, modalities=(...)); for two separate AnnData "
            "objects of the same cells build `mudata.MuData({'rna': rna, 'atac': atac})`."
        )

    @classmethod
    def setup_mudata(
        cls,
        mdata: MuData,
        modalities: Sequence[str] = ("rna", "atac"),
        layers: str | Sequence[str | None] | Mapping[str, str | None] | None = None,
        kinds: Sequence[str] | Mapping[str, str] | None = None,
        batch_key: str | None = None,
        counts_layer: str | None = COUNTS_LAYER,
        extra_inputs: Mapping[str, str] | None = None,
        **kwargs,
    ):
        """Register the two modalities of ``mdata`` with the model.

        Checks that both modalities hold the same cells in the same order (scvi-tools reads
        each modality in its own row order, so a mismatch would pair cells silently by
        position), that the matrices are finite and non-empty, and that the values fit each
        modality's kind (e.g. accessibility in [0, 1], peaks grouped by chromosome). Nothing in
        ``mdata`` is changed.

        Parameters
        ----------
        mdata
            MuData with preprocessed modalities (see :mod:`butterflyvi.pp`).
        modalities
            The two modality names; the first is modality 0 (``X``), the second ``Y``.
        layers
            Layer holding each modality's preprocessed values (``None``: ``.X``); one value,
            a pair, or a ``{modality: layer}`` mapping.
        kinds
            Kind per modality (``"expression"``, ``"accessibility"``, ``"protein"`` or a
            registered kind); inferred from the fitted preprocessing, the kind recorded by
            :mod:`butterflyvi.tl`, ``var['feature_types']`` or the modality name when omitted.
        batch_key
            Optional ``mdata.obs`` column of batches, stored in the registry (the paper's
            model does not condition on it).
        counts_layer
            Layer of raw counts, registered for each modality that has it (read only by
            count likelihoods); ``None`` registers none.
        extra_inputs
            ``{modality: extra modality}``: another modality of ``mdata`` (same cells) that
            feeds an extra encoder of that side, added to its encoding at the bottleneck
            (CrossMP), e.g. ``{"atac": "gene_activity"}`` with gene-activity scores from
            :func:`butterflyvi.pp.gene_activity`. Its values are used as they are (``X``).
        **kwargs
            Passed to scvi-tools' ``AnnDataManager.register_fields``.
        """
        setup_method_args = cls._get_setup_method_args(**locals())
        setup = resolve_setup(
            mdata, modalities, layers, kinds, batch_key, counts_layer, extra_inputs
        )
        setup_method_args[SETUP_ARGS].update(setup.record())
        adata_manager = AnnDataManager(fields=setup.fields(), setup_method_args=setup_method_args)
        adata_manager.register_fields(mdata, **kwargs)
        cls.register_manager(adata_manager)
