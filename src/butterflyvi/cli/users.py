"""``butterflyvi users add NAME --data-dir DIR``: a portal user and their token."""

from __future__ import annotations

import argparse

from ._command import Command
from ._errors import EXIT_OK, InputError


def _arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments of ``butterflyvi users``."""
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    add = actions.add_parser("add", help="add a user and print their token")
    add.add_argument("name", help="user name (letters, digits, '.', '_', '-')")
    add.add_argument("--data-dir", required=True, metavar="DIR", help="portal data folder")
    add.add_argument("--admin", action="store_true", help="make the user an administrator")


def run(args: argparse.Namespace) -> int:
    """Add a user."""
    from ..portal._auth import add_user
    from ..portal._db import Database
    from ..portal._settings import from_data_dir

    settings = from_data_dir(args.data_dir)
    db = Database(settings.db_path)
    try:
        _, token = add_user(db, args.name, is_admin=args.admin)
    except ValueError as error:
        raise InputError(str(error)) from None
    print(f"Added user {args.name!r}. Token (shown once; give it to {args.name}):")
    print(token)
    return EXIT_OK


COMMAND = Command(
    "users",
    help="manage portal users (add prints the new user's token as its last line)",
    description="Portal users. Tokens are stored hashed; a token is shown only once.",
    arguments=_arguments,
    run=run,
)

COMMANDS = (COMMAND,)
