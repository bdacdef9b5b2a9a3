"""``butterflyvi users add|list|revoke|reset|approve``: the portal's users and their tokens."""

from __future__ import annotations

import argparse
import datetime

from ._command import Command
from ._errors import EXIT_OK, InputError

ACTIONS = {
    "add": "add a user and print their token (its last line)",
    "list": "list the users: status, e-mail, tokens, jobs",
    "revoke": "stop every token and sign-in of a user at once (jobs and files are kept)",
    "reset": "give a user a new token (its last line; older ones stop working)",
    "approve": "let a user who signed up in (with --registration approval)",
}


def _arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments of ``butterflyvi users``."""
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    for action, help_text in ACTIONS.items():
        sub = actions.add_parser(action, help=help_text, description=help_text)
        if action != "list":
            sub.add_argument("name", help="user name (letters, digits, '.', '_', '-')")
        sub.add_argument("--data-dir", required=True, metavar="DIR", help="portal data folder")
        if action == "add":
            sub.add_argument("--admin", action="store_true", help="make the user an administrator")
            sub.add_argument("--email", help="the user's e-mail address (notifications)")


def run(args: argparse.Namespace) -> int:
    """Do the action."""
    from ..portal import _auth
    from ..portal._db import Database
    from ..portal._settings import from_data_dir, make_private

    settings = from_data_dir(args.data_dir)
    make_private(settings.data_dir)
    db = Database(settings.db_path)
    try:
        if args.action == "list":
            _print_users(db.users())
        elif args.action == "add":
            _, token = _auth.add_user(db, args.name, is_admin=args.admin, email=args.email)
            print(f"Added user {args.name!r}. Token (shown once; give it to {args.name}):")
            print(token)
        elif args.action == "reset":
            token = _auth.reset_token(db, args.name)
            print(f"New token for {args.name!r} (shown once; the old ones no longer work):")
            print(token)
        elif args.action == "revoke":
            _auth.revoke(db, args.name)
            print(f"Revoked {args.name!r}: their tokens and sign-ins stopped working.")
        else:
            _auth.approve(db, args.name)
            print(f"Approved {args.name!r}: the token shown at sign-up works now.")
    except (KeyError, ValueError) as error:
        raise InputError(str(error).strip("'\"")) from None
    return EXIT_OK


def _print_users(users: list[dict]) -> None:
    print(f"{'name':<20} {'status':<8} {'admin':<5} {'tokens':>6} {'jobs':>5}  email / created")
    for user in users:
        created = datetime.datetime.fromtimestamp(user["created"]).strftime("%Y-%m-%d")
        print(
            f"{user['name']:<20} {user['status']:<8} {'yes' if user['is_admin'] else '':<5} "
            f"{user['n_tokens']:>6} {user['n_jobs']:>5}  {user['email'] or '—'} / {created}"
        )


COMMAND = Command(
    "users",
    help="manage portal users: add, list, revoke, reset a token, approve a sign-up",
    description="Portal users. Tokens are stored hashed; a new token is shown only once, as "
    "the last line of `add` and `reset`.",
    arguments=_arguments,
    run=run,
)

COMMANDS = (COMMAND,)
