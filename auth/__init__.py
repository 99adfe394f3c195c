"""Who may see what: roles, the signed-in principal, and where the instance's private files live.

The dashboard shows children's records, so every request is made by a named
principal with a role and, optionally, one force they are limited to. Roles
are cumulative: each adds to the one before it.

    gold     the overview and the area pages' aggregates
    officer  adds the records behind a chart
    analyst  adds exports and loading data
    admin    adds users and the audit log
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path

ROLES = ("gold", "officer", "analyst", "admin")
INSTANCE_DIR_ENV = "CPD_INSTANCE_DIR"
ROLE_WORDS = {
    "gold": "Gold group (aggregates)",
    "officer": "Officer (adds records)",
    "analyst": "Analyst (adds exports and loading data)",
    "admin": "Administrator (adds users and the audit log)",
}


class AccessDenied(Exception):
    """The principal's role or force does not allow the action; the message says what is missing."""


def role_allows(role: str | None, needed: str) -> bool:
    """Whether ``role`` includes ``needed`` (roles are cumulative; an unknown role allows nothing)."""
    if role not in ROLES or needed not in ROLES:
        return False
    return ROLES.index(role) >= ROLES.index(needed)


@dataclass(frozen=True)
class Principal:
    """A signed-in user as the server knows them (never as the browser says)."""

    name: str
    role: str
    force: str | None = None  # None: every force
    source: str = "local"  # local, sso, demo or cli

    @property
    def session_id(self) -> str:
        return f"{self.source}:{self.name}"

    def may(self, needed: str) -> bool:
        return role_allows(self.role, needed)

    def describe(self) -> str:
        limit = f", {self.force} only" if self.force else ""
        return f"{self.name} ({self.role}{limit})"


def instance_dir(data_dir: str | Path | None = None) -> Path:
    """The folder for the instance's private files: user accounts, the audit log, the secret key.

    ``$CPD_INSTANCE_DIR`` when set. Otherwise a sibling of the data folder,
    ``<data folder>-instance`` — except when the data folder lies inside this
    repository (the default ``data/extracts/``): accounts and the audit log
    must never sit in a checkout, so they go to ``~/.local/state/child-protection-dashboard``.
    """
    if os.environ.get(INSTANCE_DIR_ENV):
        return Path(os.environ[INSTANCE_DIR_ENV])
    from queries import default_data_dir

    data = Path(data_dir) if data_dir else default_data_dir()
    data = data.resolve()
    repo = Path(__file__).resolve().parent.parent
    if data == repo or repo in data.parents:
        state_home = Path(os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state")
        return state_home / "child-protection-dashboard"
    return data.parent / f"{data.name}-instance"


def private_dir(path: Path) -> Path:
    """Create ``path`` readable by its owner only (accounts, audit log and key live there)."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    with contextlib.suppress(PermissionError):  # a folder the operator owns: its mode is theirs
        path.chmod(0o700)
    return path
