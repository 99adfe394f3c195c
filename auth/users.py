"""Local accounts: SQLite outside the repository, argon2 password hashes, lockout after failures.

For a force without single sign-on, and for the demo. Managed with
``flask --app app users add|list|disable|enable|set-password`` (see ``auth.cli``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from auth import ROLES, Principal, instance_dir, private_dir
from auth.db import connect, immediate

MAX_FAILURES = 5  # failed sign-ins in a row before the account locks
LOCK_MINUTES = 15
MIN_PASSWORD_LENGTH = 12
_NAME = re.compile(r"^[a-z0-9][a-z0-9._@-]{1,63}$")

SCHEMA = """
create table if not exists users (
    name text primary key,
    password_hash text not null,
    role text not null,
    force text,
    disabled integer not null default 0,
    failed_logins integer not null default 0,
    locked_until text,
    created_at text not null,
    last_login_at text
);
"""

_hasher = PasswordHasher()
# Verified against when the name is unknown, so a wrong name takes as long as a wrong password.
_DUMMY_HASH = _hasher.hash("not a real password, only for timing")


class UserError(ValueError):
    """A user command that cannot be done (unknown name, bad role, weak password)."""


@dataclass(frozen=True)
class Account:
    name: str
    role: str
    force: str | None
    disabled: bool
    locked_until: str | None
    last_login_at: str | None

    def principal(self) -> Principal:
        return Principal(self.name, self.role, self.force, "local")


@dataclass(frozen=True)
class SignIn:
    """The outcome of a sign-in attempt: the principal, or why not (for the audit log)."""

    principal: Principal | None
    reason: str  # "ok", "unknown user", "wrong password", "locked", "disabled"


def users_path() -> Path:
    return private_dir(instance_dir()) / "users.sqlite"


def _now() -> datetime:
    return datetime.now(UTC)


def _account(row) -> Account:
    return Account(
        row["name"],
        row["role"],
        row["force"],
        bool(row["disabled"]),
        row["locked_until"],
        row["last_login_at"],
    )


def check_name(name: str) -> str:
    name = (name or "").strip().lower()
    if not _NAME.match(name):
        raise UserError(
            f"user name {name!r} must be 2–64 characters: lower-case letters, digits, '.', '_', '@' or '-'"
        )
    return name


def check_role(role: str) -> str:
    if role not in ROLES:
        raise UserError(f"role {role!r} is not one of {', '.join(ROLES)}")
    return role


def check_password(password: str) -> str:
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise UserError(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    return password


def add_user(
    name: str, password: str, role: str, force: str | None = None, *, path: Path | None = None
) -> Account:
    name, role, password = check_name(name), check_role(role), check_password(password)
    with connect(path or users_path(), SCHEMA) as db, immediate(db):
        if db.execute("select 1 from users where name = ?", (name,)).fetchone():
            raise UserError(f"user {name!r} already exists")
        db.execute(
            "insert into users (name, password_hash, role, force, created_at) values (?, ?, ?, ?, ?)",
            (name, _hasher.hash(password), role, force or None, _now().isoformat()),
        )
    return get_user(name, path=path)


def get_user(name: str, *, path: Path | None = None) -> Account | None:
    with connect(path or users_path(), SCHEMA) as db:
        row = db.execute("select * from users where name = ?", ((name or "").strip().lower(),)).fetchone()
    return _account(row) if row else None


def list_users(*, path: Path | None = None) -> list[Account]:
    with connect(path or users_path(), SCHEMA) as db:
        return [_account(row) for row in db.execute("select * from users order by name")]


def _update(name: str, sql: str, params: tuple, *, path: Path | None) -> Account:
    name = check_name(name)
    with connect(path or users_path(), SCHEMA) as db, immediate(db):
        if db.execute(f"update users set {sql} where name = ?", (*params, name)).rowcount == 0:
            raise UserError(f"no user {name!r}")
    return get_user(name, path=path)


def set_disabled(name: str, disabled: bool, *, path: Path | None = None) -> Account:
    return _update(name, "disabled = ?", (int(disabled),), path=path)


def set_password(name: str, password: str, *, path: Path | None = None) -> Account:
    check_password(password)
    # A new password also lifts a lockout: the administrator has vouched for the user.
    return _update(
        name,
        "password_hash = ?, failed_logins = 0, locked_until = null",
        (_hasher.hash(password),),
        path=path,
    )


def set_role(name: str, role: str, force: str | None, *, path: Path | None = None) -> Account:
    return _update(name, "role = ?, force = ?", (check_role(role), force or None), path=path)


def authenticate(name: str, password: str, *, path: Path | None = None) -> SignIn:
    """Check a name and password; count failures and lock the account after ``MAX_FAILURES``."""
    try:
        name = check_name(name)
    except UserError:
        _verify(_DUMMY_HASH, password)
        return SignIn(None, "unknown user")
    now = _now()
    with connect(path or users_path(), SCHEMA) as db, immediate(db):
        row = db.execute("select * from users where name = ?", (name,)).fetchone()
        if row is None:
            _verify(_DUMMY_HASH, password)
            return SignIn(None, "unknown user")
        if row["locked_until"] and datetime.fromisoformat(row["locked_until"]) > now:
            return SignIn(None, "locked")
        if not _verify(row["password_hash"], password):
            failures = row["failed_logins"] + 1
            locked = (now + timedelta(minutes=LOCK_MINUTES)).isoformat() if failures >= MAX_FAILURES else None
            db.execute(
                "update users set failed_logins = ?, locked_until = ? where name = ?",
                (0 if locked else failures, locked, name),
            )
            return SignIn(None, "locked" if locked else "wrong password")
        if row["disabled"]:
            return SignIn(None, "disabled")
        db.execute(
            "update users set failed_logins = 0, locked_until = null, last_login_at = ? where name = ?",
            (now.isoformat(), name),
        )
        if _hasher.check_needs_rehash(row["password_hash"]):
            db.execute("update users set password_hash = ? where name = ?", (_hasher.hash(password), name))
    return SignIn(_account(row).principal(), "ok")


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password or "")
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
