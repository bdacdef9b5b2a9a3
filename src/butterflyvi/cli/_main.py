"""Argument parsing and dispatch of the ``butterflyvi`` command."""

from __future__ import annotations

import argparse
import sys
import traceback
from collections.abc import Sequence

from . import demo, evaluate, models, predict_modality, serve, train, translate, users
from ._errors import EXIT_FAILURE, EXIT_USAGE, INPUT_ERRORS, InputError, error_message

SUBCOMMANDS = (demo, train, translate, evaluate, predict_modality, models, serve, users)

DESCRIPTION = """\
Single-cell cross-modality translation (scButterfly) with scvi-tools on MuData.

  butterflyvi demo --out demo_output          train and evaluate on the bundled SNARE-seq demo
  butterflyvi train --data paired.h5mu --modalities rna atac --out model/
  butterflyvi translate --model model/ --source rna new_rna.h5ad atac_pred.h5ad
  butterflyvi models list                   the pretrained catalogue (bf.zoo)
  butterflyvi serve --data-dir portal/      the web portal (pip install 'butterflyvi[portal]')
  butterflyvi translate --model mouse-cortex-rna-atac --source rna new_rna.h5ad atac.h5ad
  butterflyvi evaluate --pred atac_pred.h5ad --truth measured_atac.h5ad
  butterflyvi predict-modality --input_train_mod1 F --input_train_mod2 F --input_test_mod1 F --output F

Exit codes: 0 success, 1 runtime failure, 2 usage or input error (99: predict-modality
does not apply to the modality pair).
"""


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("butterflyvi")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "unknown"


def build_parser() -> argparse.ArgumentParser:
    """The parser of the ``butterflyvi`` command and its subcommands."""
    parser = argparse.ArgumentParser(
        prog="butterflyvi",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"butterflyvi {_version()}")
    parser.add_argument(
        "--debug",
        action="store_true",
        help="show the full traceback of errors (default: the message only)",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in SUBCOMMANDS:
        for command in module.COMMANDS:
            command.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``butterflyvi`` command.

    Parameters
    ----------
    argv
        The arguments without the program name (default: ``sys.argv[1:]``).

    Returns
    -------
    The exit code: 0 success, 1 runtime failure, 2 usage or input error.
    """
    parser = build_parser()
    try:
        args = parser.parse_args(None if argv is None else list(argv))
    except SystemExit as exit_:  # --help, --version, or a usage error (argparse printed it)
        return exit_.code if isinstance(exit_.code, int) else EXIT_USAGE
    try:
        return args.run(args)
    except KeyboardInterrupt:
        print(f"butterflyvi {args.command}: interrupted", file=sys.stderr)
        return EXIT_FAILURE
    except SystemExit as exit_:
        # Lightning turns SIGTERM into a SystemExit without a code (exit status 0).
        if exit_.code in (None, 0):
            print(f"butterflyvi {args.command}: interrupted", file=sys.stderr)
            return EXIT_FAILURE
        raise
    except (InputError, *INPUT_ERRORS) as error:
        if args.debug:
            traceback.print_exc()
        print(f"butterflyvi {args.command}: error: {error_message(error)}", file=sys.stderr)
        return EXIT_USAGE
    except Exception as error:
        if args.debug:
            traceback.print_exc()
        print(
            f"butterflyvi {args.command}: failed: {type(error).__name__}: {error_message(error)}"
            "\n(run again with --debug for the traceback)",
            file=sys.stderr,
        )
        return EXIT_FAILURE
