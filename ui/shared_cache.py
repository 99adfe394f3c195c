"""The cache of page-view results that every worker and every server shares (Redis when ``REDIS_URL`` is set).

Under ``gunicorn -w 2``, or several servers behind one address, a repeat of a page
often lands on a process that has never computed it. With ``REDIS_URL`` set
(``redis://127.0.0.1:6379/0``) a callback's result computed by one process is
served by every other; without it each process keeps its own small cache.

A key is the SHA-256 of everything a result depends on: the data version, today's
date (filter defaults and staleness follow it), the settings, events and
recommendations in force, the code, the callback, its raw arguments, what
triggered it and the outputs it fills, and the user's allowed scope (role and
force limit). So a new extract, another day, another deployment or another
force's user never gets a stale or foreign result, and no filter value or figure
can be read from a key in Redis.

A value is JSON text, written with plotly's encoder as Dash itself writes a
response, and read back with :func:`json.loads` (cachelib would pickle it, and
unpickling what another process wrote to Redis would run code of its choosing).
A Redis that is down or slow costs a warning and a computed result, never an error.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import dash
import flask
import plotly
from dash.exceptions import MissingCallbackContextException
from flask_caching import Cache
from plotly.io.json import to_json_plotly

from auth import Principal

log = logging.getLogger(__name__)

REDIS_URL_ENV = "REDIS_URL"
KEY_PREFIX = "cpd-view:"
# Keys change with the data version and the date, so old entries are never read again; the timeout
# only returns their memory.
TIMEOUT_SECONDS = 3600
# A process's own cache holds whole page results (tens to hundreds of kB each).
PROCESS_ENTRIES = 256
# A Redis that does not answer is left alone this long: one warning, not one timeout per callback.
RETRY_AFTER_SECONDS = 10.0
REDIS_TIMEOUT_SECONDS = 0.5
REPO_ROOT = Path(__file__).resolve().parent.parent
# The code a cached result comes from: a deployment of other code never reads this one's entries.
CODE_FOLDERS = ("auth", "data", "exports", "figures", "kpi", "pages", "queries", "ui")


class _TextSerializer:
    """cachelib's serializer interface over text only: stored as UTF-8, read back as text, never unpickled.

    Bytes that are not UTF-8 (say, a pickle another program wrote) come back as text that is not
    JSON, which :func:`lookup` then refuses.
    """

    def dumps(self, value: str) -> bytes:
        if not isinstance(value, str):
            raise TypeError(f"the shared cache stores JSON text, not {type(value).__name__}")
        return value.encode("utf-8")

    def loads(self, raw: bytes | str | None) -> str | None:
        if raw is None or isinstance(raw, str):
            return raw
        return raw.decode("utf-8", errors="replace")


@dataclass(frozen=True)
class CacheKey:
    """Where one call's result is kept, and the data version it was computed on."""

    digest: str
    data_version: str


@dataclass(frozen=True)
class CachedResult:
    """What a callback returned (as JSON values) and the audit details it set."""

    result: object
    details: dict


_cache = Cache()
_backend = None  # the cachelib backend init_app made; None until then (and in other Flask apps)
_kind: str | None = None  # "redis" or "process"
_code_fingerprint = ""
_down_until = 0.0
_state_lock = threading.Lock()
_config_memo: tuple[object, object, str] | None = None  # settings, events, their hash


def init_app(server: flask.Flask) -> None:
    """Put the shared cache on ``server``: Redis at ``$REDIS_URL`` if set, else this process's own."""
    global _backend, _kind, _code_fingerprint
    url = os.environ.get(REDIS_URL_ENV, "").strip()
    config = {"CACHE_DEFAULT_TIMEOUT": TIMEOUT_SECONDS, "CACHE_KEY_PREFIX": KEY_PREFIX}
    if url:
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        config |= {
            "CACHE_TYPE": "RedisCache",
            "CACHE_REDIS_URL": url,
            # redis-py retries three times with back-off by default: seconds per callback while
            # Redis is down. One short try, then RETRY_AFTER_SECONDS without Redis.
            "CACHE_OPTIONS": {
                "socket_connect_timeout": REDIS_TIMEOUT_SECONDS,
                "socket_timeout": REDIS_TIMEOUT_SECONDS,
                "retry": Retry(NoBackoff(), 0),
            },
        }
    else:
        config |= {"CACHE_TYPE": "SimpleCache", "CACHE_THRESHOLD": PROCESS_ENTRIES}
    _cache.init_app(server, config=config)
    backend = server.extensions["cache"][_cache]
    backend.serializer = _TextSerializer()
    _code_fingerprint = code_fingerprint()
    _backend, _kind = backend, "redis" if url else "process"
    log.info(
        "shared cache: %s, code %s",
        f"Redis at {_without_password(url)}" if url else "this process only (no REDIS_URL)",
        _code_fingerprint[:12],
    )


def kind() -> str | None:
    """``"redis"``, ``"process"``, or None before :func:`init_app`."""
    return _kind


def code_fingerprint() -> str:
    """A hash of the app's Python and SQL files and of the Dash and Plotly versions that serialise results."""
    digest = hashlib.sha256(f"dash {dash.__version__} plotly {plotly.__version__}\n".encode())
    paths = [REPO_ROOT / "app.py"]
    for folder in CODE_FOLDERS:
        paths += (REPO_ROOT / folder).rglob("*.py")
        paths += (REPO_ROOT / folder).rglob("*.sql")
    for path in sorted(p for p in paths if "__pycache__" not in p.parts):
        digest.update(f"{path.relative_to(REPO_ROOT)}\0".encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def key_for(callback_id: str, args: tuple, kwargs: dict, principal: Principal) -> CacheKey | None:
    """The key of this call of ``callback_id`` for ``principal``'s scope; None when it cannot be cached.

    None outside a served callback (a test calling the function itself), before :func:`init_app`,
    while Redis is down, or when the data cannot be read (the callback then says why itself).
    """
    if _backend is None or _redis_resting():
        return None
    try:
        context = dash.callback_context
        triggered = sorted(context.triggered_prop_ids)
        outputs = context.outputs_list
    except MissingCallbackContextException:
        return None
    from queries import DataError
    from ui.state import get_events, get_store

    try:
        store = get_store()
        data_version = store.version
        config = _config_fingerprint(store.settings, get_events())
    except (DataError, ValueError, OSError):
        return None
    payload = {
        "code": _code_fingerprint,
        "config": config,
        "data": data_version,
        "today": date.today().isoformat(),
        "callback": callback_id,
        "args": args,
        "kwargs": kwargs,
        "triggered": triggered,
        "outputs": outputs,
        # What the user may see, not who they are: users of one role and force share results.
        "scope": [principal.role, principal.force],
    }
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return CacheKey(hashlib.sha256(text.encode()).hexdigest(), data_version)


def lookup(key: CacheKey | None) -> CachedResult | None:
    """The result kept under ``key``, or None (not kept, or the cache cannot be read)."""
    if key is None or _backend is None or _redis_resting():
        return None
    try:
        text = _backend.get(key.digest)
    except Exception as exc:  # redis.ConnectionError, TimeoutError…: compute instead
        _rest_redis(exc)
        return None
    if text is None:
        return None
    try:
        value = json.loads(text)
        return CachedResult(value["result"], dict(value["details"]))
    except (ValueError, KeyError, TypeError):
        log.warning("shared cache: entry %s… is not a cached result; computing instead", key.digest[:12])
        return None


def store(key: CacheKey | None, result, details: dict) -> None:
    """Keep ``result`` and its audit ``details`` under ``key``, if the data did not change meanwhile.

    A result whose computation saw a new data version may mix two versions: it is not kept.
    """
    if key is None or _backend is None or _redis_resting():
        return
    from ui.state import get_store

    try:
        if get_store().version != key.data_version:
            return
        text = to_json_plotly({"result": result, "details": details})
    except Exception:  # a value plotly cannot encode: Dash will say so when it answers
        log.exception("shared cache: a result could not be written as JSON; not kept")
        return
    try:
        _backend.set(key.digest, text)
    except Exception as exc:
        _rest_redis(exc)


def _config_fingerprint(settings, events) -> str:
    """A hash of the settings, events and recommendations the pages read besides the data."""
    global _config_memo
    from kpi.summary import RECOMMENDATIONS_PATH

    try:
        recommendations = hashlib.sha256(RECOMMENDATIONS_PATH.read_bytes()).hexdigest()
    except FileNotFoundError:
        recommendations = "-"
    with _state_lock:
        memo = _config_memo
    if memo is not None and memo[0] is settings and memo[1] is events:
        known = memo[2]
    else:
        # Settings and events are frozen dataclasses, loaded once per configuration: their repr is
        # their content, and the same on every server that loads the same files.
        known = hashlib.sha256(f"{settings!r}\n{events!r}".encode()).hexdigest()
        with _state_lock:
            _config_memo = (settings, events, known)
    return f"{known}:{recommendations}"


def _redis_resting() -> bool:
    return _kind == "redis" and time.monotonic() < _down_until


def _rest_redis(exc: Exception) -> None:
    global _down_until
    with _state_lock:
        _down_until = time.monotonic() + RETRY_AFTER_SECONDS
    log.warning(
        "shared cache: Redis did not answer (%s: %s); computing without it for %.0f s",
        type(exc).__name__,
        exc,
        RETRY_AFTER_SECONDS,
    )


def _without_password(url: str) -> str:
    scheme, sep, rest = url.partition("://")
    if "@" in rest:
        rest = "***@" + rest.rsplit("@", 1)[1]
    return scheme + sep + rest
