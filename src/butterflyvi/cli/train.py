"""``butterflyvi train``: train a ButterflyModel on a paired MuData file and save it."""

from __future__ import annotations

import argparse
import time

from .._constants import CLUSTER_KEY
from ._command import Command
from ._errors import EXIT_OK, InputError
from ._io import existing_file, output_dir, read_data
from ._threads import THREADS_HELP, torch_threads

#: ``--augment`` value that clusters the cells first (scButterfly-C) instead of using a column.
CLUSTER = "cluster"


def _arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments of ``butterflyvi train``."""
    parser.add_argument("--data", required=True, metavar="FILE.h5mu", help="paired MuData")
    parser.add_argument(
        "--modalities",
        nargs=2,
        required=True,
        metavar=("X", "Y"),
        help="the two modalities to translate between, e.g. rna atac",
    )
    parser.add_argument("--out", required=True, metavar="MODEL_DIR", help="folder to save to")
    parser.add_argument(
        "--kinds",
        nargs=2,
        metavar=("KIND_X", "KIND_Y"),
        help="expression, accessibility or protein per modality (default: inferred)",
    )
    parser.add_argument(
        "--preset", default="default", help="model preset: default, paper, … (default: default)"
    )
    parser.add_argument(
        "--augment",
        metavar="COLUMN|cluster",
        help="augment the training pairs within groups (scButterfly-T): an obs column such as "
        "cell_type, or 'cluster' to cluster the cells on a MULTIVI/TOTALVI embedding first "
        "(scButterfly-C)",
    )
    parser.add_argument(
        "--augment-rounds", type=int, default=2, metavar="N", help="augmentation rounds (2)"
    )
    parser.add_argument(
        "--epochs-pretrain", type=int, default=100, metavar="N", help="pretraining epochs (100)"
    )
    parser.add_argument(
        "--epochs", type=int, default=200, metavar="N", help="integrative epochs (200)"
    )
    parser.add_argument("--batch-size", type=int, default=64, metavar="N", help="batch size (64)")
    parser.add_argument(
        "--preprocess",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="preprocess both modalities (default: those holding raw counts without a "
        "butterflyvi preprocessing record)",
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed (0)")
    parser.add_argument(
        "--accelerator", default="auto", help="Lightning accelerator: auto, cpu, gpu (auto)"
    )
    parser.add_argument(
        "--threads", type=int, metavar="N", help=THREADS_HELP.format(default="torch's choice")
    )
    parser.add_argument("--overwrite", action="store_true", help="replace a non-empty MODEL_DIR")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")


def _check_numbers(args: argparse.Namespace) -> None:
    from .._validation import check_epochs

    check_epochs(args.epochs_pretrain, args.epochs, names=("--epochs-pretrain", "--epochs"))
    if args.batch_size < 2:
        raise InputError(f"--batch-size: expected at least 2, found {args.batch_size}.")
    if args.augment_rounds < 1:
        raise InputError(f"--augment-rounds: expected at least 1, found {args.augment_rounds}.")
    if args.modalities[0] == args.modalities[1]:
        raise InputError(
            f"--modalities: expected two different modalities, found {args.modalities}."
        )


def run(args: argparse.Namespace) -> int:
    """Train and save; see :func:`register` for the arguments."""
    from mudata import MuData

    _check_numbers(args)
    data_path = existing_file(args.data, argument="--data", suffixes=(".h5mu",))
    out = output_dir(args.out, argument="--out", overwrite=args.overwrite)
    started = time.perf_counter()

    from ..model import PRESETS
    from ..model._setup import prepare_modalities
    from ._prepare import resolve_kinds
    from ._warnings import quiet

    if args.preset not in PRESETS:
        raise InputError(f"--preset: expected one of {sorted(PRESETS)}, found {args.preset!r}.")
    mdata = read_data(data_path, argument="DATA")
    if not isinstance(mdata, MuData):  # pragma: no cover - guarded by the suffix
        raise InputError(f"--data: expected a MuData file, found {type(mdata).__name__}.")
    for name in args.modalities:
        if name not in mdata.mod:
            raise InputError(
                f"--modalities: {name!r} is not a modality of {data_path}; it has "
                f"{list(mdata.mod)}."
            )
    with quiet(), torch_threads(args.threads):
        kinds = resolve_kinds(mdata, args.modalities, args.kinds)
        done = prepare_modalities(mdata, args.modalities, kinds, preprocess=args.preprocess)
        if done:
            shapes = ", ".join(f"{m} {mdata[m].n_vars:,} features" for m in done)
            print(f"Preprocessed {shapes}.", flush=True)
        mdata = _augment(mdata, args)
        model, epochs_run = _train(mdata, args, kinds)
        model.save(str(out), save_anndata=True, overwrite=True)

    wall = time.perf_counter() - started
    best = getattr(model, "best_epoch_", None)
    best_text = f", best validation epoch {best}" if best is not None else ""
    print(
        f"trained {model._model_summary_string.rstrip('.')} on {mdata.n_obs:,} pairs: "
        f"{epochs_run[0]} + {epochs_run[1]} epochs{best_text} in {wall:.0f} s; saved to {out}"
    )
    return EXIT_OK


def _augment(mdata, args: argparse.Namespace):
    """Augmented pairs (scButterfly-T or -C), or ``mdata`` itself without ``--augment``."""
    if args.augment is None:
        return mdata
    import butterflyvi as bf

    groupby = args.augment
    if groupby == CLUSTER:
        print("Clustering the cells on a joint embedding for augmentation …", flush=True)
        bf.tl.cluster_for_augmentation(
            mdata, key_added=CLUSTER_KEY, modalities=args.modalities, seed=args.seed
        )
        groupby = CLUSTER_KEY
    augmented = bf.tl.augment(
        mdata,
        groupby=groupby,
        rounds=args.augment_rounds,
        seed=args.seed,
        modalities=args.modalities,
    )
    print(
        f"Augmented within {groupby!r}: {mdata.n_obs:,} measured pairs → {augmented.n_obs:,} "
        "training pairs.",
        flush=True,
    )
    return augmented


def _train(mdata, args: argparse.Namespace, kinds):
    """Register, build and train the model; returns it and the epochs run per phase."""
    import scvi

    from ..model import ButterflyModel

    scvi.settings.seed = args.seed
    ButterflyModel.setup_mudata(mdata, modalities=tuple(args.modalities), kinds=tuple(kinds))
    model = ButterflyModel(mdata, preset=args.preset)
    print(model._model_summary_string, flush=True)
    model.train(
        max_epochs_pretrain=args.epochs_pretrain,
        max_epochs=args.epochs,
        batch_size=args.batch_size,
        accelerator=args.accelerator,
        enable_progress_bar=not args.no_progress,
    )
    from ..hub._describe import epochs_run

    return model, epochs_run(model)


COMMAND = Command(
    "train",
    help="train a model on a paired .h5mu file and save it",
    description="Train a ButterflyModel on two paired modalities of a MuData file and save it (with "
    "its training data and fitted preprocessing) to a folder that `butterflyvi "
    "translate` and `ButterflyModel.load` read. Modalities holding raw counts are "
    "preprocessed first (RNA: median normalisation, log1p, 3,000 highly variable "
    "genes; ATAC: binarise, filter, TF-IDF; ADT: CLR).",
    arguments=_arguments,
    run=run,
)

COMMANDS = (COMMAND,)
