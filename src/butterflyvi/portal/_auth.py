"""Users and tokens: random tokens shown once, stored only as SHA-256 hashes."""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
from pathlib import Path

from ._db import Database
from ._settings import ADMIN_TOKEN_FILE, Settings

#: User names: letters, digits, ``.``, ``_``, ``-`` (they never become paths; ids do).
USER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def hash_token(token: str) -> str:
    """The stored form of a token (tokens carry 256 random bits, so no salt is needed)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token() -> str:
    """A new random token."""
    return "bfv_" + secrets.token_urlsafe(32)


def check_name(name: str) -> str:
    """A user name, refused unless 1-64 letters, digits, ``.``, ``_``, ``-``."""
    if not USER_NAME.match(name or ""):
        raise ValueError(
            "name: expected 1-64 letters, digits, '.', '_' or '-' starting with a letter or "
            f"digit, found {name!r}."
        )
    return name


def add_user(
    db: Database,
    name: str,
    *,
    is_admin: bool = False,
    email: str | None = None,
    status: str = "active",
) -> tuple[int, str]:
    """Create a user with a first token; return ``(user_id, token)``."""
    check_name(name)
    if db.user_by_name(name) is not None:
        raise ValueError(f"name: expected a new user name, found {name!r}, which exists.")
    user_id = db.add_user(name, is_admin=is_admin, email=email, status=status)
    token = new_token()
    db.add_token(user_id, hash_token(token))
    return user_id, token


def existing_user(db: Database, name: str) -> dict:
    """The user called ``name``, else a ``KeyError`` naming it."""
    user = db.user_by_name(name)
    if user is None:
        raise KeyError(f"name: expected an existing user, found {name!r}.")
    return user


def reset_token(db: Database, name: str) -> str:
    """A new token for ``name`` (every older token and sign-in stops working); the user is
    active again if they were revoked.
    """
    user = existing_user(db, name)
    token = new_token()
    db.replace_tokens(user["id"], hash_token(token))
    db.update_user(user["id"], status="active")
    return token


def revoke(db: Database, name: str) -> None:
    """Stop every token and sign-in of ``name`` at once (their jobs and files are kept)."""
    user = existing_user(db, name)
    db.replace_tokens(user["id"], None)
    db.update_user(user["id"], status="revoked")


def approve(db: Database, name: str) -> None:
    """Let a signed-up user in (their token starts working)."""
    user = existing_user(db, name)
    if user["status"] != "pending":
        raise ValueError(f"name: expected a user waiting for approval, found {user['status']!r}.")
    db.update_user(user["id"], status="active")


def ensure_admin(settings: Settings, db: Database) -> str | None:
    """On first start (no user yet): create ``admin`` and write its token to
    ``DIR/admin_token`` (mode 0600). Returns the token then, else ``None``.
    """
    if db.n_users() > 0:
        return None
    _, token = add_user(db, "admin", is_admin=True)
    write_private(settings.data_dir / ADMIN_TOKEN_FILE, token + "\n")
    return token


def write_private(path: Path, text: str) -> None:
    """Write a file readable by its owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(text)
    os.chmod(path, 0o600)


def same(a: str, b: str) -> bool:
    """Constant-time comparison of two secrets."""
    return hmac.compare_digest(a.encode(), b.encode())
