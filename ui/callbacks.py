"""The one way a callback is registered, so that the role check and the audit log live in one place.

Every page registers its callbacks with :func:`dashboard_callback` instead of
``dash.callback``. For each call it:

- finds the signed-in principal (the route guard has already refused anyone else);
- checks the role the callback needs (``role="officer"`` for records...), and refuses with 403;
- serves a page view from the shared cache (``ui.shared_cache``) when its result is kept there for
  the user's scope, and keeps what it computes (page views only: never records, exports or uploads);
- runs the callback; an input the callback cannot use (a crafted request) becomes a 400 with a
  message, never a 500;
- writes one audit row: who, role, force, client, action, page, filters, drill-down, KPI, row
  count, purpose, outcome (done / refused / failed) and duration; a result from the cache says so
  (``cache: hit`` in its detail).
"""

from __future__ import annotations

import contextvars
import functools
import logging
import os
import time

import dash
import flask
import plotly.graph_objects as go
from dash.exceptions import PreventUpdate
from werkzeug.exceptions import BadRequest, Forbidden, HTTPException, TooManyRequests, Unauthorized

from auth import AccessDenied, Principal, audit
from auth import role_allows as auth_role_allows
from auth.web import client_address, current_principal
from figures import text_only
from ui import shared_cache

log = logging.getLogger("audit")
# What a callback adds to its audit row (which records, which filters), set by audit_detail().
_details: contextvars.ContextVar[dict | None] = contextvars.ContextVar("audit_details", default=None)
_COLUMNS = ("page", "filters", "drilldown", "kpi", "rows", "purpose")


class InputError(ValueError):
    """An input a callback cannot use; the message is shown to the user (as a 400)."""


class RateLimited(Exception):
    """Too many of one action in a short time (e.g. records, which must not be scraped)."""


def audit_detail(**fields) -> None:
    """Add fields to the audit row of the running callback (the KPI whose records were shown, rows…)."""
    details = _details.get()
    if details is not None:
        details.update({k: v for k, v in fields.items() if v not in (None, "")})


def require_principal(needed: str = "gold") -> Principal:
    """The request's principal, if their role includes ``needed``.

    Raises:
        Unauthorized: nobody is signed in.
        AccessDenied: the role does not include ``needed``.
    """
    principal = current_principal()
    if principal is None:
        raise Unauthorized("Sign in first.")
    if not principal.may(needed):
        raise AccessDenied(f"This needs the {needed} role; you are signed in as {principal.role}.")
    return principal


def user_may(needed: str) -> bool:
    """Whether the signed-in user's role includes ``needed`` — for layouts, which leave out what the
    user may not open (the callbacks still refuse it: hiding a button is not a check)."""
    principal = current_principal()
    return principal is not None and principal.may(needed)


RECORDS_ROLE = "officer"
# The actions of page views: they read aggregates and change nothing, so a result computed once serves
# every user of the same scope. Records, exports, uploads, the purpose and drill-downs name no such action.
CACHED_ACTIONS = ("view ", "compare forces ")
RECORDS_NOTE = "The pseudonymised records behind this are shown to officers, analysts and administrators."


def records_or_note(component):
    """``component`` for a user who may see records; otherwise a sentence saying who may."""
    from dash import html

    if user_may(RECORDS_ROLE):
        return component
    return html.P(RECORDS_NOTE, className="small text-body-secondary fst-italic records-withheld")


def _page() -> str | None:
    if not flask.has_request_context():
        return None
    referrer = flask.request.headers.get("Referer") or ""
    path = referrer.split("://", 1)[-1].partition("/")[2]
    return ("/" + path.split("?", 1)[0])[:200] if referrer else None


def _write(principal: Principal | None, action: str, outcome: str, started: float, details: dict) -> None:
    columns = {key: details.pop(key) for key in _COLUMNS if key in details}
    if "focus" in details:
        columns.setdefault("drilldown", details.pop("focus"))
    columns.setdefault("page", _page())
    duration = (time.perf_counter() - started) * 1000
    log.info(
        "user=%s action=%s outcome=%s ms=%.1f%s",
        principal.name if principal else None,
        action,
        outcome,
        duration,
        "".join(f" {key}={value!r}" for key, value in {**columns, **details}.items()),
    )
    record_action(principal, action, outcome, duration, details, **columns)


def record_action(
    principal: Principal | None, action: str, outcome: str, duration_ms: float, detail: dict, **columns
) -> None:
    """One audit row for what ``principal`` did, from this request's client (callbacks and exports)."""
    audit.record(
        action,
        outcome=outcome,
        user=principal.name if principal else None,
        role=principal.role if principal else None,
        force=principal.force if principal else None,
        client=client_address(),
        duration_ms=duration_ms,
        detail=detail or None,
        **columns,
    )


def _labels_as_text(result):
    """Every figure a callback returns shows its labels as text, never as a link (``figures.text_only``)."""
    if isinstance(result, go.Figure):
        return text_only(result)
    if isinstance(result, list | tuple):
        return type(result)(_labels_as_text(item) for item in result)
    return result


def records_per_minute() -> int:
    """How many records views one user may open in a minute (``CPD_RECORDS_PER_MINUTE``, default 30):
    enough to work, too few to scrape a table month by month."""
    try:
        return max(1, int(os.environ.get("CPD_RECORDS_PER_MINUTE", "30")))
    except ValueError:
        return 30


def _check_records_rate(principal: Principal) -> None:
    if audit.count_recent(principal.name, "records", 60) >= records_per_minute():
        raise RateLimited(
            f"You have opened {records_per_minute()} records views in the last minute, the most allowed. "
            "Wait a minute and try again; this refusal is recorded."
        )


def cached_by_default(action: str, role: str, records: bool) -> bool:
    """Whether a callback's results are kept in the shared cache unless it says otherwise.

    Page views open to every role (``CACHED_ACTIONS``); never records (each view is its own audited
    disclosure, and its rate limit counts views) nor a callback behind a higher role (the audit log
    page, which changes with every call).
    """
    return not records and role == "gold" and action.startswith(CACHED_ACTIONS)


def dashboard_callback(
    *dependencies,
    action: str,
    role: str = "gold",
    records: bool = False,
    without_purpose=None,
    cache: bool | None = None,
    **kwargs,
):
    """Register a Dash callback behind the role check and the audit log.

    Args:
        *dependencies: Outputs, Inputs and States, as for ``dash.callback``.
        action: what the callback does, for the audit log ("view overview", "view records"...).
        role: the least role that may run it (see ``auth.ROLES``).
        records: it shows pseudonymised rows: needs at least the officer role, its action names
            "records", one user may run such callbacks only so often (:func:`records_per_minute`),
            and only once the session has given a purpose (``ui.purpose``), which its audit row names.
        without_purpose: for a records callback, what to return instead of rows while no purpose is
            given (a message in its outputs); the call is logged as refused.
        cache: keep results in the shared cache (``ui.shared_cache``) and serve repeats from it, after
            the role check; None decides by :func:`cached_by_default`. Only for a callback whose
            result follows from its arguments, the data and the user's scope alone, with no side
            effect; never for records.
        **kwargs: passed to ``dash.callback`` (prevent_initial_call...).
    """
    if records:
        if "records" not in action:
            raise ValueError(f"a records callback's action must say so: {action!r}")
        if not auth_role_allows(role, RECORDS_ROLE):
            role = RECORDS_ROLE
        if cache:
            raise ValueError(f"a records callback is never cached: {action!r}")
    cached = cached_by_default(action, role, records) if cache is None else cache

    def register(func):
        # The function's name alone is not enough: one function registers each area's callback.
        callback_id = " ".join(
            [f"{func.__module__}.{func.__qualname__}", action]
            + [str(dependency) for dependency in dependencies if isinstance(dependency, dash.Output)]
        )

        @functools.wraps(func)
        def wrapper(*args, **kw):
            started = time.perf_counter()
            token = _details.set({})
            principal = current_principal()
            outcome, error = "done", None
            try:
                principal = require_principal(role)
                if records:
                    from ui.purpose import records_purpose

                    purpose = records_purpose()
                    if purpose is None:
                        if without_purpose is None:
                            raise InputError("give a purpose for viewing records first")
                        outcome = "refused"
                        _details.get()["reason"] = "no purpose given"
                        return without_purpose()
                    _details.get()["purpose"] = purpose
                    _check_records_rate(principal)
                if not cached:
                    return _labels_as_text(func(*args, **kw))
                key = shared_cache.key_for(callback_id, args, kw, principal)
                hit = shared_cache.lookup(key)
                if hit is not None:
                    _details.get().update(hit.details, cache="hit")
                    return hit.result
                result = _labels_as_text(func(*args, **kw))
                shared_cache.store(key, result, dict(_details.get()))
                return result
            except PreventUpdate:
                outcome = None  # nothing was shown: not an action
                raise
            except AccessDenied as exc:
                outcome, error = "refused", Forbidden(str(exc))
            except Unauthorized as exc:
                outcome, error = "refused", exc
            except RateLimited as exc:
                outcome, error = "refused", TooManyRequests(str(exc))
            except InputError as exc:
                outcome, error = "refused", BadRequest(str(exc))
            except HTTPException as exc:
                outcome, error = "refused", exc
            except Exception as exc:
                # A crafted body gives a callback values its own UI never sends (a string for a dict,
                # an unknown KPI id). Answer 400 with no detail, and keep the traceback for the
                # server's log: a stack trace in a response tells an attacker how the code is built.
                log.exception("callback %s failed on its inputs", func.__name__)
                outcome = "failed"
                error = BadRequest(f"The request could not be used ({type(exc).__name__}).")
            finally:
                details = _details.get() or {}
                _details.reset(token)
                if outcome is not None:
                    if error is not None:
                        details.setdefault("reason", error.description)
                    _write(principal, action, outcome, started, details)
            raise error

        wrapper.required_role = role
        wrapper.is_cached = cached
        return dash.callback(*dependencies, **kwargs)(wrapper)

    return register
