"""Account and audit commands in Flask's CLI convention: ``flask --app app users …`` and ``… audit …``.

    flask --app app users add NAME --role ROLE [--force F]   password from a prompt, or one line on stdin
    flask --app app users list
    flask --app app users disable NAME | enable NAME
    flask --app app users set-password NAME
    flask --app app users set-role NAME --role ROLE [--force F]
    flask --app app audit verify
    flask --app app audit export [--since YYYY-MM-DD] [--until YYYY-MM-DD] [--user U] [--action A] > audit.csv
    flask --app app audit prune --older-than-days N

Every change is itself written to the audit log, as the operating-system account that ran it.
``audit prune`` is for a one-off cut; the retention period applies itself every day
(``$CPD_AUDIT_RETENTION_DAYS``, see ``auth.audit.apply_retention``).
"""

from __future__ import annotations

import os
import pwd
import sys

import click
from flask import Flask
from flask.cli import AppGroup

from auth import ROLES, audit, users


def os_account() -> str:
    """Who ran the command: the operating-system account (an environment variable can be set by anyone)."""
    try:
        return pwd.getpwuid(os.geteuid()).pw_name
    except KeyError:
        return f"uid {os.geteuid()}"


def _password() -> str:
    if sys.stdin.isatty():
        return click.prompt("Password", hide_input=True, confirmation_prompt=True)
    return sys.stdin.readline().rstrip("\r\n")


def _log(action: str, name: str, outcome: str = "done", **detail) -> None:
    audit.record(action, user=os_account(), role="cli", outcome=outcome, detail={"account": name, **detail})


def _fail(action: str, name: str, error: Exception):
    _log(action, name, "refused", reason=str(error))
    raise click.ClickException(str(error))


def register(server: Flask) -> None:
    user_group = AppGroup("users", help="Local accounts (kept outside the repository, argon2-hashed).")
    audit_group = AppGroup("audit", help="The audit log: verify its hash chain, export it, apply retention.")
    role_option = click.option(
        "--role", type=click.Choice(ROLES), required=True, help="what the user may see"
    )
    force_option = click.option("--force", "force", default=None, help="limit the user to one force")

    @user_group.command("add")
    @click.argument("name")
    @role_option
    @force_option
    def add(name, role, force):
        """Add a user; the password comes from a prompt, or from one line on stdin."""
        try:
            account = users.add_user(name, _password(), role, force)
        except users.UserError as exc:
            _fail("add user", name, exc)
        _log("add user", account.name, role=role, force=force)
        click.echo(f"Added {account.name} ({account.role}{', ' + account.force if account.force else ''}).")

    @user_group.command("list")
    def list_():
        """List users with their role, force, state and last sign-in."""
        accounts = users.list_users()
        if not accounts:
            click.echo("No users yet: add one with `flask --app app users add NAME --role admin`.")
        for a in accounts:
            state = "disabled" if a.disabled else ("locked" if a.locked_until else "active")
            force = a.force or "all forces"
            click.echo(
                f"{a.name:24} {a.role:8} {force:16} {state:9} last sign-in {a.last_login_at or 'never'}"
            )

    def _state_command(command: str, disabled: bool):
        @user_group.command(command)
        @click.argument("name")
        def change(name):
            try:
                account = users.set_disabled(name, disabled)
            except users.UserError as exc:
                _fail(f"{command} user", name, exc)
            _log(f"{command} user", account.name)
            click.echo(f"{account.name} is {'disabled' if disabled else 'enabled'}.")

        change.__doc__ = f"{command.capitalize()} a user (applies to their next request)."

    _state_command("disable", True)
    _state_command("enable", False)

    @user_group.command("set-password")
    @click.argument("name")
    def set_password(name):
        """Set a new password (also unlocks a locked account)."""
        try:
            account = users.set_password(name, _password())
        except users.UserError as exc:
            _fail("set password", name, exc)
        _log("set password", account.name)
        click.echo(f"New password set for {account.name}.")

    @user_group.command("set-role")
    @click.argument("name")
    @role_option
    @force_option
    def set_role(name, role, force):
        """Change a user's role and force limit."""
        try:
            account = users.set_role(name, role, force)
        except users.UserError as exc:
            _fail("set role", name, exc)
        _log("set role", account.name, role=role, force=force)
        click.echo(f"{account.name} is now {account.role}{', ' + account.force if account.force else ''}.")

    @audit_group.command("verify")
    def verify():
        """Check the hash chain; exit 1 naming the first broken row."""
        result = audit.verify()
        if result.ok:
            click.echo(f"The audit log's chain holds: {result.rows:,} rows verified.")
            return
        click.echo(f"The audit log is broken at row {result.first_broken_id}: {result.reason}.", err=True)
        sys.exit(1)

    @audit_group.command("export")
    @click.option("--since", default=None)
    @click.option("--until", default=None)
    @click.option("--user", default=None)
    @click.option("--action", default=None)
    def export(since, until, user, action):
        """Write the matching rows as CSV to stdout."""
        rows = audit.search(audit.Query(user=user, action=action, since=since, until=until, limit=100_000))
        _log("export audit log", user or "all", rows=len(rows))
        click.echo(audit.to_csv(reversed(rows)), nl=False)

    @audit_group.command("prune")
    @click.option("--older-than-days", type=click.IntRange(min=30), required=True)
    def prune(older_than_days):
        """Remove rows older than the retention period (the chain still verifies)."""
        removed = audit.prune(older_than_days)
        _log("prune audit log", "all", removed=removed, older_than_days=older_than_days)
        click.echo(f"Removed {removed:,} rows older than {older_than_days} days.")

    server.cli.add_command(user_group)
    server.cli.add_command(audit_group)
