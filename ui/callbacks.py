"""The one way a callback is registered, so that a role check and the audit log live in one place.

Every page registers its callbacks with :func:`dashboard_callback` instead of
``dash.callback``. Today it logs each action (who, what, with which inputs)
to the ``audit`` logger and turns data errors into a visible message; the
login issue adds the role check here, and no callback changes.
"""

from __future__ import annotations

import contextvars
import functools
import getpass
import logging
import time

import dash

audit_log = logging.getLogger("audit")
# What a callback adds to its audit line (which records, which filters), set by audit_detail().
_details: contextvars.ContextVar[dict | None] = contextvars.ContextVar("audit_details", default=None)


def audit_detail(**fields) -> None:
    """Add fields to the audit line of the running callback (e.g. the KPI whose records were shown)."""
    details = _details.get()
    if details is not None:
        details.update({k: v for k, v in fields.items() if v not in (None, "")})


def current_user() -> str:
    """The user behind the request. Until login lands: the operating-system user."""
    try:
        return getpass.getuser()
    except Exception:
        return "unknown"


def authorize(user: str, action: str) -> None:
    """Raise PermissionError when ``user`` may not perform ``action``.

    Every signed-in user may view every page for now; roles arrive with the
    login issue and are checked here.
    """


def dashboard_callback(*dependencies, action: str, **kwargs):
    """Register a Dash callback behind the role check and the audit log.

    Args:
        *dependencies: Outputs, Inputs and States, as for ``dash.callback``.
        action: what the callback does, for the audit log ("view overview",
            "export chart"...).
        **kwargs: passed to ``dash.callback`` (prevent_initial_call...).
    """

    def register(func):
        @functools.wraps(func)
        def wrapper(*args, **kw):
            user = current_user()
            authorize(user, action)
            started = time.perf_counter()
            token = _details.set({})
            try:
                result = func(*args, **kw)
                details = _details.get() or {}
            finally:
                _details.reset(token)
            audit_log.info(
                "user=%s action=%s callback=%s ms=%.1f%s",
                user,
                action,
                func.__name__,
                (time.perf_counter() - started) * 1000,
                "".join(f" {key}={value!r}" for key, value in details.items()),
            )
            return result

        return dash.callback(*dependencies, **kwargs)(wrapper)

    return register
