"""``butterflyvi predict-modality``: the OpenProblems ``predict_modality`` method, with the
harness's own arguments.
"""

from __future__ import annotations

import argparse
import sys
import time

from ._command import Command
from ._errors import EXIT_OK
from ._io import existing_file

#: The harness's exit code for a pair a method does not apply to.
EXIT_NOT_APPLICABLE = 99


def _arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments of ``butterflyvi predict-modality``."""
    for name, help_text in (
        ("--input_train_mod1", "training cells, modality 1 (.h5ad, layers['normalized'])"),
        ("--input_train_mod2", "training cells, modality 2 (.h5ad, the target)"),
        ("--input_test_mod1", "test cells, modality 1 (.h5ad)"),
    ):
        parser.add_argument(name, required=True, metavar="FILE", help=help_text)
    parser.add_argument(
        "--output", required=True, metavar="FILE", help="prediction (.h5ad) to write"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed (0)")


def run(args: argparse.Namespace) -> int:
    """Read the task's files, predict, write the prediction."""
    paths = {
        name: existing_file(getattr(args, name), argument=f"--{name}", suffixes=(".h5ad",))
        for name in ("input_train_mod1", "input_train_mod2", "input_test_mod1")
    }
    from ..openproblems import NotApplicable, predict_modality
    from ._warnings import quiet

    started = time.perf_counter()
    try:
        with quiet():
            prediction = predict_modality(
                paths["input_train_mod1"],
                paths["input_train_mod2"],
                paths["input_test_mod1"],
                seed=args.seed,
            )
    except NotApplicable as reason:
        print(f"NON-APPLICABLE ERROR: {reason}", file=sys.stderr, flush=True)
        return EXIT_NOT_APPLICABLE
    prediction.write_h5ad(args.output, compression="gzip")
    weights = prediction.uns["butterflyvi_ensemble"]["weights"]
    print(
        f"predicted {prediction.n_obs:,} cells × {prediction.n_vars:,} features in "
        f"{time.perf_counter() - started:.0f} s (blend {weights}); wrote {args.output}"
    )
    return EXIT_OK


COMMAND = Command(
    "predict-modality",
    help="the OpenProblems predict_modality method (the harness's file contract)",
    description="Train on the paired training cells of an OpenProblems predict_modality task "
    "and predict the test cells' second modality: a butterflyvi model blended with kernel "
    "ridge, kNN and the training mean, weighted on held-out training cells by the task's "
    "score. Exit code 99 for a modality pair the method does not apply to.",
    arguments=_arguments,
    run=run,
)

COMMANDS = (COMMAND,)
