"""``butterflyvi translate``: predict the other modality of cells with a saved model."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from ._command import Command
from ._errors import EXIT_OK, InputError
from ._io import DATA_SUFFIXES, existing_file, output_file, read_data

#: File scvi-tools writes when saving a model.
MODEL_FILE = "model.pt"


def _arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments of ``butterflyvi translate``."""
    parser.add_argument(
        "--model", required=True, metavar="MODEL", help="catalogue name or saved model folder"
    )
    parser.add_argument("--source", required=True, help="measured modality, e.g. rna")
    parser.add_argument("input", nargs="?", metavar="IN", help="cells to translate (.h5ad/.h5mu)")
    parser.add_argument("output", nargs="?", metavar="OUT", help="output .h5ad or .h5mu")
    parser.add_argument("--data", metavar="FILE", help="the same as IN")
    parser.add_argument("--out", metavar="FILE", help="the same as OUT")
    parser.add_argument(
        "--missing",
        choices=("auto", "error", "zero"),
        default="auto",
        help="model features absent from the data: fill with zeros when at least half are "
        "present (auto), refuse any (error), or always fill (zero)",
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
        help="not needed (models load without their data); accepted for older scripts",
    )
    parser.add_argument("--batch-size", type=int, default=1024, metavar="N", help="cells/batch")
    parser.add_argument(
        "--accelerator", default="cpu", help="device to translate on: cpu, gpu, auto (cpu)"
    )
    parser.add_argument("--overwrite", action="store_true", help="replace an existing OUT")


def load_model(model: str, *, training_data: Path | None, accelerator: str):
    """A saved model folder (loaded without data unless ``training_data``) or a catalogue
    model (checksum-verified).
    """
    from ..model import ButterflyModel

    folder = Path(model)
    if not folder.is_dir():
        from .. import zoo

        names = list(zoo.available()["name"])
        if model not in names:
            raise InputError(
                f"--model: expected a catalogue model ({', '.join(names)}) or a saved model "
                f"folder, found {model!r}."
            )
        return zoo.load(model, accelerator=accelerator)
    if not (folder / MODEL_FILE).is_file():
        raise InputError(
            f"--model: {str(folder)!r} holds no {MODEL_FILE}; expected a folder written by "
            "`butterflyvi train` or ButterflyModel.save."
        )
    adata = (
        read_data(training_data, argument="--training-data") if training_data is not None else False
    )
    return ButterflyModel.load(str(folder), adata=adata, accelerator=accelerator)


def _one_of(positional: str | None, option: str | None, name: str, flag: str) -> str:
    """The value given as the positional ``name`` or as ``flag`` (exactly one of them)."""
    if positional is not None and option is not None:
        raise InputError(f"{name}: expected it once, found both {name} and {flag}.")
    if positional is None and option is None:
        raise InputError(f"{name}: expected a file ({name} or {flag}), found none.")
    return positional if positional is not None else option


def run(args: argparse.Namespace) -> int:
    """Translate; see :func:`register` for the arguments."""
    from mudata import MuData

    started = time.perf_counter()
    data_arg = _one_of(args.input, args.data, "IN", "--data")
    out_arg = _one_of(args.output, args.out, "OUT", "--out")
    data_path = existing_file(data_arg, argument="IN", suffixes=DATA_SUFFIXES)
    out = output_file(out_arg, argument="OUT", suffixes=DATA_SUFFIXES, overwrite=args.overwrite)
    training = None
    if args.training_data is not None:
        training = existing_file(
            args.training_data, argument="--training-data", suffixes=(".h5mu",)
        )
    if args.batch_size < 1:
        raise InputError(f"--batch-size: expected a positive number, found {args.batch_size}.")

    from ._warnings import quiet

    with quiet():
        model = load_model(args.model, training_data=training, accelerator=args.accelerator)
        loaded = time.perf_counter() - started
        if args.source not in model.modalities_:
            raise InputError(
                f"--source: expected one of the model's modalities {model.modalities_}, found "
                f"{args.source!r}."
            )
        data = read_data(data_path)
        read = time.perf_counter()
        try:
            prediction = model.translate(
                data,
                source=args.source,
                batch_size=args.batch_size,
                missing=args.missing,
                layer=args.layer,
                recover_counts=args.recover_counts,
                add_to_mdata=isinstance(data, MuData) and out.suffix != ".h5ad",
            )
        except ValueError as error:  # the library's advice, in the command line's own syntax
            raise InputError(str(error).replace("missing='zero'", "--missing zero")) from error
        translated = time.perf_counter() - read
        target = prediction.uns["butterflyvi_translation"]["target"]
        key = f"{target}_from_{args.source}"
        if out.suffix == ".h5ad":
            prediction.write_h5ad(out)
        elif isinstance(data, MuData):
            data.write(out)  # translate added the prediction as modality `key`
        else:
            from ..model._inference import prefixed

            MuData({args.source: data, key: prefixed(prediction, key)}).write(out)

    wall = time.perf_counter() - started
    print(match_line(prediction.uns.get("feature_match", {}), args.source))
    print(
        f"translated {prediction.n_obs:,} cells {args.source} → {target} "
        f"({prediction.n_vars:,} features) in {translated:.1f} s (model loaded in {loaded:.1f} s; "
        f"{wall:.1f} s in all); wrote {out}"
        + ("" if out.suffix == ".h5ad" else f" (modality {key!r})")
    )
    return EXIT_OK


COMMAND = Command(
    "translate",
    help="translate cells from one modality to the other with a saved or catalogue model",
    description="Translate the cells of IN from the SOURCE modality to the model's other modality. "
    "MODEL is a catalogue name (see `butterflyvi models list`) or a folder written by "
    "`butterflyvi train` / ButterflyModel.save. IN is a MuData holding modality SOURCE, "
    "or a one-modality AnnData of new cells: raw counts are preprocessed with the "
    "model's stored preprocessing, features are matched by name or Ensembl id (any "
    "order), and the overlap is reported. OUT.h5ad receives the prediction; OUT.h5mu "
    "receives the input with the prediction added as modality '<target>_from_<source>'.",
    arguments=_arguments,
    run=run,
)

COMMANDS = (COMMAND,)


def match_line(report: dict, source: str) -> str:
    """One line about how the input's features were matched to the model's."""
    if not report:
        return "feature match: not reported"
    renamed = ", ".join(
        f"{n:,} by {rule.replace('_', ' ')}" for rule, n in report.get("renamed", {}).items() if n
    )
    line = (
        f"feature match: {report['n_matched']:,} of the model's {report['n_model_features']:,} "
        f"{source} features ({report['fraction']:.1%}) matched by {report['method']}"
    )
    if report.get("n_matched_by_overlap"):
        line += f" ({report['n_matched_by_overlap']:,} by genomic overlap)"
    if renamed:
        line += f"; renamed: {renamed}"
    if report["n_matched"] < report["n_model_features"]:
        line += "; the others were filled with zeros"
    return line
