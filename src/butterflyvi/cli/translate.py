"""``butterflyvi translate``: predict the other modality of cells with a saved model."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from ._errors import EXIT_OK, InputError
from ._io import DATA_SUFFIXES, existing_dir, existing_file, output_file, read_data

#: File names scvi-tools writes when saving a model.
MODEL_FILE = "model.pt"
MODEL_DATA_FILE = "mdata.h5mu"


def register(subparsers) -> None:
    """Add the ``translate`` subcommand."""
    parser = subparsers.add_parser(
        "translate",
        help="translate cells from one modality to the other with a saved model",
        description=(
            "Translate the cells of a file from the SOURCE modality to the model's other "
            "modality. DATA is a MuData holding modality SOURCE, or a one-modality AnnData of "
            "new cells: raw counts are preprocessed with the model's stored preprocessing, "
            "features are matched by name (any order). OUT.h5ad receives the prediction; "
            "OUT.h5mu receives the input with the prediction added as modality "
            "'<target>_from_<source>'."
        ),
    )
    parser.add_argument("--model", required=True, metavar="MODEL_DIR", help="saved model folder")
    parser.add_argument(
        "--data", required=True, metavar="FILE", help="cells to translate (.h5ad or .h5mu)"
    )
    parser.add_argument("--source", required=True, help="measured modality, e.g. rna")
    parser.add_argument("--out", required=True, metavar="OUT", help="output .h5ad or .h5mu")
    parser.add_argument(
        "--missing",
        choices=("error", "zero"),
        default="error",
        help="model features absent from the data: refuse (error) or fill with zeros",
    )
    parser.add_argument("--layer", help="layer of the data to read (default X)")
    parser.add_argument(
        "--recover-counts",
        action="store_true",
        help="for an accessibility target, also store binarised recovered counts",
    )
    parser.add_argument(
        "--training-data",
        metavar="FILE.h5mu",
        help="the model's training MuData, when MODEL_DIR was saved without it",
    )
    parser.add_argument("--batch-size", type=int, default=1024, metavar="N", help="cells/batch")
    parser.add_argument(
        "--accelerator", default="cpu", help="device to translate on: cpu, gpu, auto (cpu)"
    )
    parser.add_argument("--overwrite", action="store_true", help="replace an existing OUT")
    parser.set_defaults(run=run)


def load_model(model_dir: Path, *, training_data: Path | None, accelerator: str):
    """Load a saved ButterflyModel, with its own saved data or ``training_data``."""
    from ..model import ButterflyModel

    if not (model_dir / MODEL_FILE).is_file():
        raise InputError(
            f"--model: {str(model_dir)!r} holds no {MODEL_FILE}; expected a folder written by "
            "`butterflyvi train` or ButterflyModel.save."
        )
    adata = None
    if training_data is not None:
        adata = read_data(training_data)
    elif not (model_dir / MODEL_DATA_FILE).is_file():
        raise InputError(
            f"--model: {str(model_dir)!r} was saved without its training data "
            f"({MODEL_DATA_FILE}); pass --training-data FILE.h5mu (the MuData it was trained "
            "on), or save the model with save_anndata=True."
        )
    return ButterflyModel.load(str(model_dir), adata=adata, accelerator=accelerator)


def prefixed(prediction, key: str):
    """A copy of ``prediction`` with var_names ``"{key}:{name}"`` (as ``translate`` stores them).

    The original names go to ``var["feature_name"]``; this keeps the MuData's var_names unique
    when both modalities share feature names (e.g. control and stimulated expression).
    """
    stored = prediction.copy()
    stored.var["feature_name"] = stored.var_names
    stored.var_names = [f"{key}:{name}" for name in stored.var_names]
    return stored


def run(args: argparse.Namespace) -> int:
    """Translate; see :func:`register` for the arguments."""
    from mudata import MuData

    started = time.perf_counter()
    model_dir = existing_dir(args.model, argument="--model")
    data_path = existing_file(args.data, argument="--data", suffixes=DATA_SUFFIXES)
    out = output_file(args.out, argument="--out", suffixes=DATA_SUFFIXES, overwrite=args.overwrite)
    training = None
    if args.training_data is not None:
        training = existing_file(
            args.training_data, argument="--training-data", suffixes=(".h5mu",)
        )
    if args.batch_size < 1:
        raise InputError(f"--batch-size: expected a positive number, found {args.batch_size}.")

    from ._warnings import quiet

    with quiet():
        model = load_model(model_dir, training_data=training, accelerator=args.accelerator)
        if args.source not in model.modalities_:
            raise InputError(
                f"--source: expected one of the model's modalities {model.modalities_}, found "
                f"{args.source!r}."
            )
        data = read_data(data_path)
        prediction = model.translate(
            data,
            source=args.source,
            batch_size=args.batch_size,
            missing=args.missing,
            layer=args.layer,
            recover_counts=args.recover_counts,
        )
        target = prediction.uns["butterflyvi_translation"]["target"]
        key = f"{target}_from_{args.source}"
        if out.suffix == ".h5ad":
            prediction.write_h5ad(out)
        elif isinstance(data, MuData):
            data.write(out)  # translate added the prediction as modality `key`
        else:
            MuData({args.source: data, key: prefixed(prediction, key)}).write(out)

    wall = time.perf_counter() - started
    print(
        f"translated {prediction.n_obs:,} cells {args.source} → {target} "
        f"({prediction.n_vars:,} features) in {wall:.1f} s; wrote {out}"
        + ("" if out.suffix == ".h5ad" else f" (modality {key!r})")
    )
    return EXIT_OK
