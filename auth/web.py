"""Sign-in and the guard on every route: Flask-Login sessions, local accounts, OpenID Connect, headers.

Dash has no route guard of its own: a page-level check would leave
``/_dash-update-component``, ``/_dash-layout`` and ``/_dash-dependencies``
open. So one ``before_request`` hook decides for every request:

1. the Host must be on the allow-list (``CPD_ALLOWED_HOSTS``), or DNS
   rebinding lets a hostile page read a dashboard on 127.0.0.1;
2. a POST must come from this origin (with ``SameSite=Lax`` cookies, a second
   line against cross-site requests);
3. only the login routes and static files are public; a page redirects to the
   login page, anything else answers 401.

Failed sign-ins are limited twice: per account (``auth.users`` locks it) and per
client address, counted in the audit log, so that one address trying a password
on many account names (password spraying) is refused for a while too.

Configured by environment (see README, "Sign-in"):
``CPD_SECRET_KEY``, ``CPD_IDLE_MINUTES``, ``CPD_HTTPS``, ``CPD_ALLOWED_HOSTS``,
``CPD_PROXY_HOPS``, ``CPD_SIGNIN_FAILURES_PER_ADDRESS``, ``CPD_AUDIT_RETENTION_DAYS``,
``CPD_OIDC_ISSUER``, ``CPD_OIDC_CLIENT_ID``, ``CPD_OIDC_CLIENT_SECRET``,
``CPD_OIDC_ROLE_CLAIM``, ``CPD_OIDC_FORCE_CLAIM``, ``CPD_OIDC_ROLE_MAP``, ``CPD_DEMO_LOGIN``.
"""

from __future__ import annotations

import hmac
import logging
import math
import os
import secrets
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import flask
import flask_login
from flask import Flask, current_app, redirect, render_template_string, request, session, url_for
from flask_talisman import Talisman
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from auth import ROLE_WORDS, ROLES, Principal, audit, instance_dir, private_dir, users

PUBLIC_PREFIXES = ("/assets/", "/_dash-component-suites/")
PUBLIC_PATHS = {"/login", "/login/demo", "/login/sso", "/auth/callback", "/_favicon.ico", "/favicon.ico"}
ABSOLUTE_SESSION_HOURS = 12
DEFAULT_ALLOWED_HOSTS = ("127.0.0.1", "localhost")
MAX_REQUEST_BYTES = 1_000_000  # a callback body is a few kB; an upload route sets its own limit
# Failed password sign-ins from one client address, over any account names, within the account
# lockout's window, after which that address is refused until the oldest of them ages out. Above
# users.MAX_FAILURES, so that one person mistyping never meets it; an office behind one NAT
# address shares it.
DEFAULT_SIGN_IN_FAILURES_PER_ADDRESS = 20
ADDRESS_LIMIT_REASON = "too many failed sign-ins from this address"
RETENTION_RETRY = timedelta(hours=1)  # after a failed retention run (the audit file busy, say)


class SessionUser(flask_login.UserMixin):
    """What Flask-Login keeps per request: the principal, rebuilt from the server's records each time."""

    def __init__(self, principal: Principal):
        self.principal = principal

    def get_id(self) -> str:
        return self.principal.session_id


def current_principal() -> Principal | None:
    """The signed-in principal of this request, or None (also outside a request)."""
    if not flask.has_request_context():
        return None
    user = flask_login.current_user
    return user.principal if user and user.is_authenticated else None


def client_address() -> str | None:
    """The client's address: the peer's, or behind ``$CPD_PROXY_HOPS`` proxies the one they forwarded."""
    return request.remote_addr if flask.has_request_context() else None


# --------------------------------------------------------------------------- configuration


def _env_flag(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    return default if value is None else value.strip().lower() in ("1", "true", "yes", "on")


def secret_key() -> str:
    """``$CPD_SECRET_KEY``, else a key generated once into the instance folder (owner-only)."""
    if os.environ.get("CPD_SECRET_KEY"):
        return os.environ["CPD_SECRET_KEY"]
    path = private_dir(instance_dir()) / "secret_key"
    try:
        # O_EXCL: two gunicorn workers starting at once agree on the one key the first wrote.
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        for _ in range(50):
            key = path.read_text().strip()
            if key:
                return key
            time.sleep(0.02)
        raise RuntimeError(f"the secret key file {path} is empty: remove it and start again") from None
    key = secrets.token_hex(32)
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key


def proxy_hops() -> int:
    """How many reverse proxies in front of the app append to X-Forwarded-For (default 0: none).

    Only then is that header believed: without a proxy, any client could write in it
    an address of its choosing and so escape the per-address sign-in limit.
    """
    raw = os.environ.get("CPD_PROXY_HOPS", "0").strip() or "0"
    if not raw.isdigit():
        raise ValueError(f"CPD_PROXY_HOPS={raw!r}: give the number of proxies in front of the app (0, 1, …)")
    return int(raw)


def sign_in_failures_per_address() -> int:
    raw = os.environ.get("CPD_SIGNIN_FAILURES_PER_ADDRESS", "").strip()
    if not raw:
        return DEFAULT_SIGN_IN_FAILURES_PER_ADDRESS
    if not raw.isdigit() or int(raw) < 1:
        raise ValueError(f"CPD_SIGNIN_FAILURES_PER_ADDRESS={raw!r}: give a whole number, 1 or more")
    return int(raw)


def allowed_hosts() -> set[str]:
    raw = os.environ.get("CPD_ALLOWED_HOSTS")
    hosts = [h.strip().lower() for h in raw.split(",")] if raw else list(DEFAULT_ALLOWED_HOSTS)
    return {h for h in hosts if h}


def demo_allowed() -> bool:
    """A demo sign-in only on generated data: the generator's marker, and nothing ever ingested."""
    if not _env_flag("CPD_DEMO_LOGIN", True):
        return False
    from data.generate import GENERATED_MARKER
    from data.storage import log_path
    from queries import default_data_dir

    data_dir = default_data_dir()
    return (data_dir / GENERATED_MARKER).is_file() and not log_path(data_dir).exists()


def oidc_settings() -> dict | None:
    issuer = os.environ.get("CPD_OIDC_ISSUER")
    if not issuer:
        return None
    return {
        "issuer": issuer.rstrip("/"),
        "client_id": os.environ.get("CPD_OIDC_CLIENT_ID", ""),
        "client_secret": os.environ.get("CPD_OIDC_CLIENT_SECRET", ""),
        "role_claim": os.environ.get("CPD_OIDC_ROLE_CLAIM", "roles"),
        "force_claim": os.environ.get("CPD_OIDC_FORCE_CLAIM") or None,
        "role_map": _role_map(os.environ.get("CPD_OIDC_ROLE_MAP", "")),
        "scope": os.environ.get("CPD_OIDC_SCOPE", "openid profile email"),
        "label": os.environ.get("CPD_OIDC_LABEL", "Sign in with your force account"),
    }


def _role_map(text: str) -> dict[str, str]:
    """``CPD.Gold=gold,CPD.Officer=officer`` → {"cpd.gold": "gold", ...}; unknown roles are refused."""
    mapping = {}
    for pair in filter(None, (p.strip() for p in text.split(","))):
        claim, _, role = pair.partition("=")
        if role.strip() not in ROLES:
            raise ValueError(f"CPD_OIDC_ROLE_MAP: {role.strip()!r} is not one of {', '.join(ROLES)}")
        mapping[claim.strip().lower()] = role.strip()
    return mapping


def role_from_claims(claims: dict, settings: dict) -> str | None:
    """The highest app role the identity provider grants (Entra ID app roles, not groups)."""
    values = claims.get(settings["role_claim"])
    if isinstance(values, str):
        values = [values]
    if not isinstance(values, list):
        return None
    granted = []
    for value in values:
        if not isinstance(value, str):
            continue
        key = value.strip().lower()
        role = settings["role_map"].get(key) or (key if key in ROLES else None)
        if role:
            granted.append(role)
    return max(granted, key=ROLES.index) if granted else None


def configure(server: Flask) -> None:
    """Give the Flask server sessions, sign-in routes, the route guard and security headers (once)."""
    if server.extensions.get("cpd_auth"):
        return
    server.extensions["cpd_auth"] = True
    https = _env_flag("CPD_HTTPS")
    server.config.update(
        SECRET_KEY=secret_key(),
        SESSION_COOKIE_NAME="cpd_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=https,
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SECURE=https,
        PERMANENT_SESSION_LIFETIME=timedelta(minutes=int(os.environ.get("CPD_IDLE_MINUTES", "30"))),
        SESSION_REFRESH_EACH_REQUEST=True,
        MAX_CONTENT_LENGTH=MAX_REQUEST_BYTES,
    )
    server.config["CPD_SIGNIN_FAILURES_PER_ADDRESS"] = sign_in_failures_per_address()
    hops = proxy_hops()
    if hops:
        server.wsgi_app = ProxyFix(server.wsgi_app, x_for=hops)
    manager = flask_login.LoginManager()
    manager.init_app(server)
    manager.user_loader(_load_user)
    _talisman(server, https)  # before the guard's hook, which may answer a request at once
    _retention["days"] = audit.retention_days()  # a wrong setting stops start-up, with its name
    _apply_retention()  # at start-up; then when a day has passed, on the first request after
    server.before_request(_apply_retention_when_due)
    server.before_request(_guard)
    server.after_request(_security_headers)
    _register_routes(server)
    _register_sso(server)
    from auth.cli import register as register_cli

    register_cli(server)


def _load_user(session_id: str) -> SessionUser | None:
    """Rebuild the principal on every request: a disabled account or a changed role applies at once."""
    source, _, name = session_id.partition(":")
    started = session.get("signed_in_at", 0)
    if time.time() - started > ABSOLUTE_SESSION_HOURS * 3600:
        return None
    if source == "local":
        account = users.get_user(name)
        if account is None or account.disabled:
            return None
        return SessionUser(account.principal())
    if source == "sso":
        claims = session.get("sso") or {}
        if claims.get("name") != name or claims.get("role") not in ROLES:
            return None
        return SessionUser(Principal(name, claims["role"], claims.get("force"), "sso"))
    if source == "demo" and demo_allowed():
        role = name.removeprefix("demo-")
        if role in ROLES:
            return SessionUser(Principal(name, role, None, "demo"))
    return None


# --------------------------------------------------------------------------- audit retention

# This process's view of when retention is next due; the audit file holds the truth, so of
# several processes the first to ask after the due time prunes and the rest only read.
_retention: dict = {"days": None, "next_due": None}
_retention_lock = threading.Lock()


def _apply_retention() -> None:
    days = _retention["days"]
    if days is None:
        _retention["next_due"] = datetime.max.replace(tzinfo=UTC)  # retention is off: keep every row
        return
    from auth.cli import os_account

    try:
        result = audit.apply_retention(days, user=os_account())
    except Exception:
        # Retention failing must not stop sign-in or the pages; it is tried again later.
        logging.getLogger("audit").exception("audit retention failed; retrying in %s", RETENTION_RETRY)
        _retention["next_due"] = datetime.now(UTC) + RETENTION_RETRY
        return
    if result.ran:
        logging.getLogger("audit").info(
            "audit retention: removed %d rows older than %d days", result.removed, days
        )
    _retention["next_due"] = result.next_due


def _apply_retention_when_due() -> None:
    due = _retention["next_due"]
    if due is not None and datetime.now(UTC) < due:
        return
    # One thread of this process asks; the others go on with their requests.
    if _retention_lock.acquire(blocking=False):
        try:
            _apply_retention()
        finally:
            _retention_lock.release()


# --------------------------------------------------------------------------- the guard


def _is_public(path: str) -> bool:
    return path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES)


def _is_page(path: str) -> bool:
    return request.method == "GET" and not path.startswith("/_")


def _json_error(status: int, message: str):
    response = flask.jsonify({"message": message})
    response.status_code = status
    return response


def _guard():
    host = (request.host or "").rsplit(":", 1)[0].strip("[]").lower()
    if host not in allowed_hosts():
        return _json_error(400, f"Host {host!r} is not served here (set CPD_ALLOWED_HOSTS for a deployment).")
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        origin = request.headers.get("Origin")
        if origin and origin != "null" and urlsplit(origin).netloc.lower() != (request.host or "").lower():
            return _json_error(403, "Cross-site requests are refused.")
    path = request.path
    if _is_public(path):
        return None
    principal = current_principal()
    if principal is None:
        if _is_page(path):
            target = request.full_path.rstrip("?")
            return redirect(url_for("login", next=target))
        return _json_error(401, "Sign in first: your session has ended or you have not signed in.")
    session.permanent = True
    if _is_page(path):
        audit.record(
            "open page",
            user=principal.name,
            role=principal.role,
            force=principal.force,
            client=client_address(),
            page=path,
            filters=request.query_string.decode("utf-8", "replace")[:500] or None,
        )
    return None


def content_security_policy() -> str:
    """As strict as Dash allows. The relaxations, and why Dash needs each:

    - script-src: the hashes of the inline scripts in Dash's index page (its renderer start-up);
      no 'unsafe-inline', no 'unsafe-eval'.
    - style-src 'unsafe-inline': Plotly.js, AG Grid and React set style attributes at run time.
    - img-src data: blob:: Plotly's modebar icons and its "download as PNG" are data/blob URLs.
    """
    from app import app as dash_app  # the Dash app's inline scripts are known once it is built

    hashes = " ".join(dash_app.csp_hashes())  # each already quoted: 'sha256-…'
    sso = oidc_settings()
    form_action = "'self'" + (f" {sso['issuer']}" if sso else "")
    return "; ".join(
        [
            "default-src 'self'",
            f"script-src 'self' {hashes}",
            "style-src 'self' 'unsafe-inline'",
            "img-src 'self' data: blob:",
            "font-src 'self' data:",
            "connect-src 'self'",
            "worker-src 'self' blob:",
            "object-src 'none'",
            "base-uri 'self'",
            f"form-action {form_action}",
            "frame-ancestors 'none'",
        ]
    )


_csp_cache: dict[str, str] = {}


def _talisman(server: Flask, https: bool) -> None:
    """Flask-Talisman's headers: frame options, nosniff, the referrer and permissions policies, HSTS.

    Its defaults are changed where this app needs: no redirect to https (TLS ends at the force's
    proxy, and the demo runs on loopback), cookies Secure only under ``CPD_HTTPS`` (Talisman would
    otherwise make them Secure on plain http, and no one could sign in), frame options DENY. The
    Content-Security-Policy holds the hashes of Dash's inline scripts, which exist only once the
    Dash app is built, so it is given to Talisman on the first request (:func:`_policy_when_built`).
    """
    talisman = Talisman(
        server,
        force_https=False,
        frame_options="DENY",
        strict_transport_security=https,
        content_security_policy=None,
        referrer_policy="same-origin",
        permissions_policy={"camera": "()", "microphone": "()", "geolocation": "()", "payment": "()"},
        session_cookie_secure=https,
        session_cookie_http_only=True,
        session_cookie_samesite="Lax",
        x_content_type_options=True,
    )
    server.extensions["cpd_talisman"] = talisman
    # Before the route guard's hook (which may answer at once); Talisman reads the policy when it
    # writes the headers, after the view.
    server.before_request(_policy_when_built)


def _policy_when_built() -> None:
    talisman = current_app.extensions["cpd_talisman"]
    if "policy" not in _csp_cache:
        _csp_cache["policy"] = content_security_policy()
    if talisman.content_security_policy is None:
        talisman.content_security_policy = _csp_cache["policy"]


def _security_headers(response):
    # What Talisman does not set: isolation from other sites' windows and resources, no caching
    # of pages that hold children's data, HSTS on every response under CPD_HTTPS (Talisman sends
    # it only when the request itself came over https, which behind a proxy it does not), and
    # no Server header.
    headers = response.headers
    headers.setdefault("Content-Security-Policy", _csp_cache.get("policy") or "default-src 'none'")
    headers["Cross-Origin-Opener-Policy"] = "same-origin"
    headers["Cross-Origin-Resource-Policy"] = "same-origin"
    if request.path not in PUBLIC_PATHS and not request.path.startswith(PUBLIC_PREFIXES):
        headers["Cache-Control"] = "no-store"  # children's data never sits in a shared or browser cache
    if _env_flag("CPD_HTTPS"):
        headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
    headers.pop("Server", None)
    return response


# --------------------------------------------------------------------------- login page

# The page is plain HTML (no Dash): it must work before anyone may load the app.
LOGIN_PAGE = (Path(__file__).parent / "login.html").read_text()


def _csrf_token() -> str:
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    return session["csrf"]


def _csrf_ok() -> bool:
    sent = request.form.get("csrf_token", "")
    return bool(sent) and hmac.compare_digest(sent, session.get("csrf", ""))


def _safe_next(target: str | None) -> str:
    """Only a path on this site: an open redirect to another host is a phishing aid."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    parts = urlsplit(target)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _css_href() -> str:
    from app import HERE

    css = sorted((Path(HERE) / "assets").glob("00-bootstrap*.css"))
    return f"/assets/{css[0].name}" if css else ""


def _login_page(message: str | None = None, tone: str = "danger", status: int = 200):
    sso = oidc_settings()
    html = render_template_string(
        LOGIN_PAGE,
        css=_css_href(),
        message=message,
        tone=tone,
        csrf=_csrf_token(),
        next=_safe_next(request.values.get("next")),
        sso=sso["label"] if sso else None,
        demo=demo_allowed(),
        roles=[(role, ROLE_WORDS[role]) for role in ROLES],
    )
    return html, status


def _start_session(principal: Principal, sso_claims: dict | None = None) -> None:
    # A fresh session on sign-in: nothing an earlier visitor put in the cookie survives (session fixation).
    session.clear()
    session.permanent = True
    session["signed_in_at"] = time.time()
    # A key for what the server keeps about this sign-in (the records purpose): set once here, so
    # that no later response can lose it. The cookie holds only the key, never the purpose.
    session["sid"] = secrets.token_urlsafe(24)
    if sso_claims is not None:
        session["sso"] = sso_claims
    flask_login.login_user(SessionUser(principal))
    audit.record(
        "sign in",
        user=principal.name,
        role=principal.role,
        force=principal.force,
        client=client_address(),
        detail={"source": principal.source},
    )


def _register_routes(server: Flask) -> None:
    @server.route("/login", methods=["GET", "POST"], endpoint="login")
    def login():
        if request.method in ("GET", "HEAD"):  # Flask answers HEAD through the GET route
            if current_principal():
                return redirect(_safe_next(request.args.get("next")))
            notice = "You have been signed out." if request.args.get("signed_out") else None
            return _login_page(notice, tone="info")
        if not _csrf_ok():
            return _login_page("The form had expired. Please sign in again.", status=400)
        name = request.form.get("username", "")[:100]
        refused = _refuse_if_address_limited(name)
        if refused:
            return refused
        outcome = users.authenticate(name, request.form.get("password", "")[:1000])
        if outcome.principal is None:
            audit.record(
                "sign in",
                outcome="refused",
                user=name.strip().lower() or None,
                client=client_address(),
                detail={"source": "local", "reason": outcome.reason},
            )
            if outcome.reason == "locked":
                text = (
                    f"Too many failed sign-ins: this account is locked for {users.LOCK_MINUTES} minutes. "
                    "An administrator can unlock it by setting a new password."
                )
                return _login_page(text, status=429)
            return _login_page(
                "The user name or password is not right, or the account is disabled.", status=401
            )
        _start_session(outcome.principal)
        return redirect(_safe_next(request.form.get("next")))

    def _refuse_if_address_limited(name: str):
        """A 429 login page when this address has failed too often lately, else None.

        Checked before the password, so that a refused attempt neither costs an argon2
        verification nor counts against the account it names (a sprayer cannot lock out
        every account from one address). The window is the account lockout's.
        """
        client = client_address()
        if not client:
            return None
        limit = server.config["CPD_SIGNIN_FAILURES_PER_ADDRESS"]
        window_s = users.LOCK_MINUTES * 60
        failures = audit.failed_sign_ins_from(client, window_s, not_reason=ADDRESS_LIMIT_REASON, limit=limit)
        if len(failures) < limit:
            return None
        # Refused until the oldest failure that keeps the count at the limit leaves the window.
        lifts_at = failures[-1] + timedelta(seconds=window_s)
        wait_s = max(1, math.ceil((lifts_at - datetime.now(UTC)).total_seconds()))
        audit.record(
            "sign in",
            outcome="refused",
            user=name.strip().lower() or None,
            client=client,
            detail={"source": "local", "reason": ADDRESS_LIMIT_REASON, "failures": len(failures)},
        )
        minutes = math.ceil(wait_s / 60)
        text = (
            f"Too many failed sign-ins from your address ({client}): sign-in from it is refused for "
            f"{minutes} more minute{'s' if minutes != 1 else ''}. "
            "If they were not yours, tell your IT service desk."
        )
        html, status = _login_page(text, status=429)
        return html, status, {"Retry-After": str(wait_s)}

    @server.route("/login/demo", methods=["POST"], endpoint="login_demo")
    def login_demo():
        role = request.form.get("role", "")
        if not demo_allowed() or role not in ROLES or not _csrf_ok():
            audit.record(
                "sign in",
                outcome="refused",
                user=f"demo-{role}"[:40],
                client=client_address(),
                detail={"source": "demo", "reason": "demo sign-in not offered"},
            )
            return _login_page("The demo sign-in is only offered on generated data.", status=403)
        _start_session(Principal(f"demo-{role}", role, None, "demo"))
        return redirect(_safe_next(request.form.get("next")))

    @server.route("/logout", methods=["POST"], endpoint="logout")
    def logout():
        principal = current_principal()
        if not _csrf_ok():
            return _json_error(400, "The sign-out form had expired; reload the page.")
        if principal:
            audit.record(
                "sign out",
                user=principal.name,
                role=principal.role,
                force=principal.force,
                client=client_address(),
            )
        flask_login.logout_user()
        session.clear()
        return redirect(url_for("login", signed_out=1))

    @server.errorhandler(413)
    def too_large(_error):
        return _json_error(413, f"The request is larger than {MAX_REQUEST_BYTES:,} bytes.")

    @server.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        # A refusal says why in a sentence, as JSON: never Werkzeug's HTML page or a traceback.
        return _json_error(error.code or 400, error.description or error.name)

    @server.errorhandler(Exception)
    def unexpected(error: Exception):
        # What escapes a callback lies in Dash itself: above all, a crafted body that claims a page
        # with another number of pattern-matched outputs than the server's answer has (Dash's
        # InvalidCallbackReturnValue). That is the request's fault: 400. The traceback goes to the
        # server's log only.
        logging.getLogger("audit").error("request %s failed", request.path, exc_info=error)
        principal = current_principal()
        audit.record(
            "request",
            outcome="failed",
            user=principal.name if principal else None,
            client=client_address(),
            page=request.path[:200],
            detail={"error": type(error).__name__},
        )
        if request.path.endswith("/_dash-update-component"):
            return _json_error(400, f"The request does not match this page ({type(error).__name__}).")
        return _json_error(500, "The server could not answer this request; it has been logged.")


def logout_form_token() -> str:
    """The CSRF token for the navbar's sign-out form (the layout is built per request)."""
    return _csrf_token() if flask.has_request_context() else ""


# --------------------------------------------------------------------------- OpenID Connect


def _register_sso(server: Flask) -> None:
    settings = oidc_settings()

    @server.route("/login/sso", endpoint="login_sso")
    def login_sso():
        if settings is None:
            return _login_page("Single sign-on is not configured on this server.", status=404)
        session["sso_next"] = _safe_next(request.args.get("next"))
        redirect_uri = os.environ.get("CPD_OIDC_REDIRECT_URI") or url_for("auth_callback", _external=True)
        return oauth.sso.authorize_redirect(redirect_uri)

    @server.route("/auth/callback", endpoint="auth_callback")
    def auth_callback():
        if settings is None:
            return _login_page("Single sign-on is not configured on this server.", status=404)
        try:
            token = oauth.sso.authorize_access_token()
        except HTTPException:
            raise
        except Exception as exc:  # the provider refused, or a state/nonce that does not match: never a 500
            audit.record(
                "sign in",
                outcome="refused",
                client=client_address(),
                detail={"source": "sso", "reason": f"{type(exc).__name__}: {exc}"[:300]},
            )
            return _login_page("Single sign-on did not complete. Please try again.", status=401)
        claims = dict(token.get("userinfo") or {})
        name = str(claims.get("preferred_username") or claims.get("email") or claims.get("sub") or "")[:100]
        role = role_from_claims(claims, settings)
        force = claims.get(settings["force_claim"]) if settings["force_claim"] else None
        force = force if isinstance(force, str) and force else None
        if not name or role is None:
            audit.record(
                "sign in",
                outcome="refused",
                user=name or None,
                client=client_address(),
                detail={"source": "sso", "reason": f"no app role in claim {settings['role_claim']!r}"},
            )
            return _login_page(
                "Your force account has no role for this dashboard. Ask its administrator for one.",
                status=403,
            )
        next_url = session.get("sso_next", "/")
        _start_session(Principal(name, role, force, "sso"), {"name": name, "role": role, "force": force})
        return redirect(_safe_next(next_url))

    if settings is None:
        return
    from authlib.integrations.flask_client import OAuth

    oauth = OAuth(server)
    oauth.register(
        "sso",
        client_id=settings["client_id"],
        client_secret=settings["client_secret"],
        server_metadata_url=f"{settings['issuer']}/.well-known/openid-configuration",
        client_kwargs={"scope": settings["scope"], "code_challenge_method": "S256"},
    )
