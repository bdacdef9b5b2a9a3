"""``butterflyvi models``: the pretrained catalogue (``bf.zoo``)."""

from __future__ import annotations

import argparse
import json

from ._command import Command
from ._errors import EXIT_OK


def _arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments of ``butterflyvi models``."""
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="one line per model (or --json)")
    listing.add_argument("--json", action="store_true", help="the full catalogue as JSON")


def run(args: argparse.Namespace) -> int:
    """List the catalogue."""
    from .. import zoo

    table = zoo.available()
    if args.json:
        records = table.drop(columns=["path"]).to_dict(orient="records")
        print(json.dumps(records, indent=2, default=str))
        return EXIT_OK
    for row in table.itertuples():
        features = ", ".join(f"{m} {n:,}" for m, n in row.n_features.items())
        print(
            f"{row.name}\n  {', '.join(row.directions)} | {row.species}, {row.tissue} | "
            f"{row.assay}\n  {row.n_cells:,} training cells; features: {features}"
        )
    return EXIT_OK


COMMAND = Command(
    "models",
    help="list the pretrained translators of the catalogue",
    description="The pretrained translators shipped with butterflyvi (bf.zoo), built from public "
    "data by scripts/build_zoo.py. Use a name with `butterflyvi translate --model NAME`.",
    arguments=_arguments,
    run=run,
)

COMMANDS = (COMMAND,)
