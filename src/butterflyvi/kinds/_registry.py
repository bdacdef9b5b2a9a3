"""The registry of modality kinds: one :class:`Kind` per kind, looked up by name.

Everything that differs between expression, accessibility and protein data is declared on
its :class:`Kind`; the rest of the package asks the registry instead of branching on a
kind's name. Adding a kind is one :func:`register_kind` call (see ``docs/architecture.md``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from .._constants import KIND_UNS_KEY, PP_UNS_KEY

if TYPE_CHECKING:
    import pandas as pd
    from anndata import AnnData
    from torch import nn

from ..module import Likelihood, NetworkSpec


@dataclass(frozen=True)
class Kind:
    """What butterflyvi knows about one kind of modality.

    Parameters
    ----------
    name
        The kind's name (``"expression"``, ``"accessibility"``, ``"protein"``, ...).
    description
        One line for messages and model cards.
    feature_types
        Lower-case values of 10x ``var["feature_types"]`` that mean this kind.
    names
        Lower-case modality names that mean this kind (``"rna"``, ``"atac"``, ...).
    preprocess
        The ``pp`` function that fits the kind's preprocessing on raw counts, in place
        (``preprocess(adata, layer=None)``), writing ``uns["butterflyvi_preprocessing"]``.
    state_keys
        Keys every fitted state of this kind holds.
    apply
        ``apply(counts, source_names, reference_var, state) -> (transformed, counts, obs)``:
        the fitted preprocessing re-applied to the raw counts (CSR, all features of the new
        cells, named ``source_names``), restricted to the features of ``reference_var`` in its
        order: the transformed values and counts of those features (CSR, float32) and a dict
        of per-cell ``obs`` columns.
    build_encoder
        ``build_encoder(n_features, layout, spec) -> nn.Module``: input → encoder space
        (``spec.n_embedding`` wide).
    build_decoder
        ``build_decoder(n_features, layout, spec) -> (hidden, output)``: two modules, encoder
        space → hidden → pre-activation output (the output module has ``norm`` when
        ``spec.output_batch_norm``, else ``linear`` or ``set_feature_bias``).
    likelihoods
        The likelihoods this kind supports, by name (classes of
        :class:`~butterflyvi.kinds.Likelihood`).
    default_likelihood
        The likelihood of the published method.
    mask_rate
        Share of input entries masked (inverted dropout) in training.
    kl_weight
        ``kl_weight(n_features) -> float``: weight of the KL terms in the loss.
    layout
        ``layout(var) -> object | None``: the structure the networks need from the feature
        table (e.g. peak positions per chromosome), or ``None``.
    check_registered
        ``check_registered(modality, where, n_negative, n_fraction, maximum)``: refuse or warn
        about values that do not fit the kind at ``setup_mudata`` (statistics of the stored
        values); ``None`` checks nothing beyond finiteness.
    metric
        ``metric(prediction, truth, **kwargs) -> dict``: the evaluation of a translation into
        this kind (:mod:`butterflyvi.metrics`; ``kwargs`` such as ``pred_layer``).
    metric_family
        ``"ranking"`` when the truth is binarised (AUROC/AUPR), ``"correlation"`` otherwise.
    headline_metric
        The key of ``metric``'s result that summarises a translation (per-feature score).
    joint_embedding
        scvi-tools model that embeds this kind with RNA for scButterfly-C (``"multivi"``,
        ``"totalvi"``) or ``None``.
    recover
        ``recover(prediction, state, likelihood) -> sparse matrix``: counts recovered from a
        translation (``translate(recover_counts=True)``), or ``None`` when not supported.
    """

    name: str
    description: str
    feature_types: tuple[str, ...]
    names: tuple[str, ...]
    preprocess: Callable[..., Any]
    state_keys: tuple[str, ...]
    apply: Callable[..., tuple]
    build_encoder: Callable[[int, Any, NetworkSpec], nn.Module]
    build_decoder: Callable[[int, Any, NetworkSpec], tuple[nn.Module, nn.Module]]
    likelihoods: Mapping[str, type[Likelihood]]
    default_likelihood: str
    mask_rate: float
    kl_weight: Callable[[int], float]
    layout: Callable[[pd.DataFrame], Any] = lambda var: None
    check_registered: Callable[..., None] | None = None
    metric: Callable[..., dict] | None = None
    metric_family: Literal["ranking", "correlation"] = "correlation"
    headline_metric: str = "pearson_per_feature_mean"
    joint_embedding: str | None = None
    recover: Callable[..., Any] | None = None

    def likelihood(self, name: str | None, n_features: int) -> Likelihood:
        """Build the likelihood ``name`` (``None``: the default) for ``n_features`` features."""
        name = self.default_likelihood if name is None else name
        if name not in self.likelihoods:
            raise ValueError(
                f"likelihoods: expected one of {sorted(self.likelihoods)} for a {self.name} "
                f"modality, found {name!r}."
            )
        return self.likelihoods[name](n_features)


_REGISTRY: dict[str, Kind] = {}


def register_kind(kind: Kind, *, overwrite: bool = False) -> Kind:
    """Add ``kind`` to the registry (``overwrite=True`` replaces a kind of the same name)."""
    if not isinstance(kind, Kind):
        raise TypeError(f"kind: expected a butterflyvi.kinds.Kind, found {type(kind).__name__}.")
    if kind.name in _REGISTRY and not overwrite:
        raise ValueError(
            f"kind: expected a new kind name, found {kind.name!r}, which is registered "
            "already; pass overwrite=True to replace it."
        )
    if kind.default_likelihood not in kind.likelihoods:
        raise ValueError(
            f"kind.default_likelihood: expected one of {sorted(kind.likelihoods)}, found "
            f"{kind.default_likelihood!r}."
        )
    _REGISTRY[kind.name] = kind
    return kind


def unregister_kind(name: str) -> None:
    """Remove the kind ``name`` from the registry (for kinds a session defined)."""
    _REGISTRY.pop(name, None)


def get_kind(name: str) -> Kind:
    """The registered kind called ``name``."""
    try:
        return _REGISTRY[name]
    except (KeyError, TypeError):
        raise ValueError(f"kinds: expected one of {available_kinds()}, found {name!r}.") from None


def available_kinds() -> tuple[str, ...]:
    """Names of the registered kinds, in registration order."""
    return tuple(_REGISTRY)


def kind_of_alias(alias: str) -> str | None:
    """The kind whose modality-name aliases include ``alias`` (case-insensitive), or None."""
    alias = str(alias).strip().lower()
    for kind in _REGISTRY.values():
        if alias == kind.name or alias in kind.names:
            return kind.name
    return None


def kind_of_feature_type(feature_type: str) -> str | None:
    """The kind a 10x ``feature_types`` value means (case-insensitive), or None."""
    value = str(feature_type).strip().lower()
    for kind in _REGISTRY.values():
        if value in kind.feature_types:
            return kind.name
    return None


def infer_kind(adata: AnnData, modality: str | None = None) -> str | None:
    """The kind of one modality, or ``None`` when nothing tells it.

    Looked up, in order: the fitted preprocessing (``uns["butterflyvi_preprocessing"]
    ["kind"]``); the kind recorded by the pairing tools (``uns["butterflyvi_kind"]``);
    ``var["feature_types"]`` when every feature has a type of one kind; the modality name.

    Parameters
    ----------
    adata
        The modality.
    modality
        Its name in the MuData (an alias such as ``"rna"`` or ``"atac"``).
    """
    state = adata.uns.get(PP_UNS_KEY)
    if isinstance(state, Mapping) and state.get("kind") in _REGISTRY:
        return str(state["kind"])
    recorded = adata.uns.get(KIND_UNS_KEY)
    if isinstance(recorded, str) and recorded in _REGISTRY:
        return recorded
    if "feature_types" in adata.var and adata.n_vars > 0:
        kinds = {kind_of_feature_type(t) for t in adata.var["feature_types"].astype(str).unique()}
        if len(kinds) == 1 and None not in kinds:
            return kinds.pop()
    return kind_of_alias(modality) if modality is not None else None
