"""``butterflyvi evaluate``: score a translation against the measured profiles."""

from __future__ import annotations

import argparse
import json
import sys

from ._command import Command
from ._errors import EXIT_OK, InputError
from ._io import DATA_SUFFIXES, existing_file, modality, output_file, read_data
from ._report import json_ready, metrics_table

TRANSLATION_UNS_KEY = "butterflyvi_translation"


def _arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments of ``butterflyvi evaluate``."""
    parser.add_argument("--pred", required=True, metavar="FILE", help="prediction (.h5ad/.h5mu)")
    parser.add_argument("--truth", required=True, metavar="FILE", help="measured (.h5ad/.h5mu)")
    parser.add_argument(
        "--kind",
        help="kind of the truth, which picks the metrics: accessibility, expression, protein "
        "or a registered kind (default: from the truth's preprocessing record, "
        "var['feature_types'] or modality name)",
    )
    parser.add_argument(
        "--pred-modality",
        metavar="NAME",
        help="modality of a .h5mu prediction (e.g. atac_from_rna)",
    )
    parser.add_argument(
        "--truth-modality", metavar="NAME", help="modality of a .h5mu truth (e.g. atac)"
    )
    parser.add_argument("--pred-layer", metavar="LAYER", help="layer of the prediction (X)")
    parser.add_argument("--truth-layer", metavar="LAYER", help="layer of the truth (X)")
    parser.add_argument(
        "--subset",
        metavar="COLUMN=VALUE",
        help="only the cells whose obs COLUMN equals VALUE, e.g. split=test",
    )
    parser.add_argument(
        "--format", choices=("table", "json"), default="table", help="output format (table)"
    )
    parser.add_argument("--out", metavar="FILE.json", help="also write the metrics as JSON")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing --out")


def _pick_pred_modality(data, name: str | None) -> str | None:
    """The ``--pred-modality``, or the MuData's only translated modality (``*_from_*``)."""
    from mudata import MuData

    if name is not None or not isinstance(data, MuData):
        return name
    translated = [m for m in data.mod if "_from_" in m]
    if len(translated) == 1:
        return translated[0]
    raise InputError(
        f"--pred-modality: the prediction file is a MuData with modalities {list(data.mod)}; "
        "name the predicted one."
    )


def _pick_truth_modality(data, name: str | None, pred) -> str | None:
    """The ``--truth-modality``, or the target recorded in the prediction."""
    from mudata import MuData

    if name is not None or not isinstance(data, MuData):
        return name
    record = pred.uns.get(TRANSLATION_UNS_KEY, {})
    target = record.get("target") if hasattr(record, "get") else None
    if target is not None and target in data.mod:
        return str(target)
    raise InputError(
        f"--truth-modality: the truth file is a MuData with modalities {list(data.mod)}; name "
        "the measured one."
    )


def _with_global_obs(data, adata):
    """``adata`` with the MuData-level obs columns it lacks (e.g. ``split``), matched by name."""
    from mudata import MuData

    if not isinstance(data, MuData):
        return adata
    columns = [c for c in data.obs.columns if ":" not in c and c not in adata.obs]
    for column in columns:
        adata.obs[column] = data.obs[column].reindex(adata.obs_names).to_numpy()
    return adata


def _original_names(adata):
    """``adata`` with var_names from ``var['feature_name']`` when ``translate`` prefixed them."""
    if "feature_name" in adata.var and adata.var_names[0] != adata.var["feature_name"].iloc[0]:
        adata = adata.copy()
        adata.var_names = adata.var["feature_name"].astype(str).to_numpy()
    return adata


def _kind(args: argparse.Namespace, truth, truth_name: str | None):
    from ..kinds import available_kinds, get_kind, infer_kind

    if args.kind is not None:
        if args.kind not in available_kinds():
            raise InputError(
                f"--kind: expected one of {', '.join(available_kinds())}, found {args.kind!r}."
            )
        return get_kind(args.kind)
    kind = infer_kind(truth, truth_name or None)
    if kind is None:
        raise InputError(
            "--kind: expected the kind of the truth, found nothing that tells it (no "
            "butterflyvi preprocessing record, no var['feature_types'], no known modality "
            f"name); pass --kind with one of {', '.join(available_kinds())}."
        )
    return get_kind(kind)


def _subset(pred, truth, subset: str | None):
    """Restrict the prediction to ``COLUMN=VALUE`` cells, then the truth to the prediction."""
    if subset is not None:
        column, sep, value = subset.partition("=")
        if not sep or not column:
            raise InputError(f"--subset: expected COLUMN=VALUE, found {subset!r}.")
        source = pred if column in pred.obs else truth
        if column not in source.obs:
            raise InputError(
                f"--subset: {column!r} is not an obs column of the prediction or the truth; "
                f"the prediction has {list(pred.obs.columns)}."
            )
        names = source.obs_names[source.obs[column].astype(str) == value]
        names = pred.obs_names.intersection(names, sort=False)
        if len(names) == 0:
            raise InputError(f"--subset: no predicted cell has {column} == {value!r}.")
        pred = pred[names]
    cells = pred.obs_names
    features = pred.var_names
    if cells.isin(truth.obs_names).all() and features.isin(truth.var_names).all():
        if len(cells) < truth.n_obs or len(features) < truth.n_vars:
            truth = truth[cells, features]
    return pred, truth


def _warn_scale(kind, pred, truth, truth_layer: str | None) -> None:
    from .._constants import PP_UNS_KEY
    from .._validation import looks_like_counts

    if kind.metric_family == "ranking" or PP_UNS_KEY in truth.uns:
        return
    matrix = truth.X if truth_layer is None else truth.layers[truth_layer]
    if looks_like_counts(matrix) and not looks_like_counts(pred.X):
        print(
            "warning: the truth holds raw counts while the prediction is on the model's "
            "preprocessed scale; correlations compare different scales (pass a preprocessed "
            "truth, e.g. --truth-layer or the training MuData's modality).",
            file=sys.stderr,
        )


def run(args: argparse.Namespace) -> int:
    """Evaluate; see :func:`register` for the arguments."""
    pred_path = existing_file(args.pred, argument="--pred", suffixes=DATA_SUFFIXES)
    truth_path = existing_file(args.truth, argument="--truth", suffixes=DATA_SUFFIXES)
    json_out = None
    if args.out is not None:
        json_out = output_file(
            args.out, argument="--out", suffixes=(".json",), overwrite=args.overwrite
        )

    from ._warnings import quiet

    with quiet():
        pred_data = read_data(pred_path, argument="--pred")
        pred_name = _pick_pred_modality(pred_data, args.pred_modality)
        pred = modality(pred_data, pred_name, argument="--pred-modality")
        pred = _original_names(_with_global_obs(pred_data, pred))
        truth_data = read_data(truth_path, argument="--truth")
        truth_name = _pick_truth_modality(truth_data, args.truth_modality, pred)
        truth = _with_global_obs(
            truth_data, modality(truth_data, truth_name, argument="--truth-modality")
        )
        kind = _kind(args, truth, truth_name)
        pred, truth = _subset(pred, truth, args.subset)
        _warn_scale(kind, pred, truth, args.truth_layer)
        metrics = kind.metric(pred, truth, pred_layer=args.pred_layer, truth_layer=args.truth_layer)

    result = json_ready(metrics)
    if json_out is not None:
        json_out.write_text(json.dumps(result, indent=2) + "\n")
    if args.format == "json":
        print(json.dumps(result, indent=2))
    else:
        print(metrics_table(metrics))
        headline = (
            f"AUROC {metrics['auroc']:.3f}, AUPR {metrics['aupr']:.3f}"
            if kind.metric_family == "ranking"
            else f"Pearson per cell {metrics['pearson_per_cell_mean']:.3f}, per feature "
            f"{metrics['pearson_per_feature_mean']:.3f}"
        )
        print(
            f"evaluated {metrics['n_cells']:,} cells ({kind.name}): {headline}"
            + (f"; wrote {json_out}" if json_out is not None else "")
        )
    return EXIT_OK


COMMAND = Command(
    "evaluate",
    help="score predicted profiles against measured ones",
    description="Compare a prediction with the measured profiles of the same cells, matched by "
    "cell and feature names: AUROC/AUPR against the binarised truth for accessibility; "
    "Pearson/Spearman per cell and per feature and RMSE for expression and protein "
    "(the truth must then be on the prediction's scale, e.g. preprocessed). Cells or "
    "features of the truth that the prediction lacks are left out.",
    arguments=_arguments,
    run=run,
)

COMMANDS = (COMMAND,)
