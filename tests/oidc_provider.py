"""A real OpenID Connect provider on loopback, for single sign-on tests.

Runs tests/oidc/provider.mjs (panva's certified ``oidc-provider`` under
node) so that the dashboard's Authlib client meets real authorization codes,
real signed ID tokens and a real JWKS: nothing in the sign-on path is mocked.

    from tests.oidc_provider import start_oidc_provider, sso_login_with_requests

    with start_oidc_provider(
        clients=[{
            "client_id": "dashboard",
            "client_secret": "s3cret",
            "redirect_uris": [app_url + "/login/sso/callback"],
        }],
        accounts=[{
            "sub": "u-ana", "username": "ana", "password": "pw",
            "name": "Ana Analyst", "email": "ana@example.org",
            "roles": ["CPD.Analyst"], "force": "Dorset",
        }],
    ) as op:
        # point the app at op.issuer (its discovery document is
        # op.metadata_url), then:
        s = requests.Session()
        sso_login_with_requests(s, app_url + "/login/sso", "ana", "pw")
        s.get(app_url + "/")  # signed in

Claims, all in the ID token itself (and at userinfo): scope ``profile``
releases ``name``, ``preferred_username`` (the username), ``roles`` (a list,
like Entra ID app roles) and ``force`` (a string); ``email`` releases
``email`` and ``email_verified``. Scopes ``roles`` and ``force`` release just
those, for an app that asks for them by name. An account without ``roles`` or
``force`` is how a test checks the app without them. Any other key of an
account (apart from ``username`` and ``password``) is a claim too, released if
``claims=`` (a ``{scope: [claim, ...]}`` mapping replacing the default) names it.
"""

from __future__ import annotations

import collections
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import threading
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin

OIDC_DIR = Path(__file__).resolve().parent / "oidc"
PROVIDER_JS = OIDC_DIR / "provider.mjs"
NODE_MODULES = OIDC_DIR / "node_modules"
LOCK_HASH = NODE_MODULES / ".lock-hash"


def _need(tool: str) -> str:
    path = shutil.which(tool)
    if not path:
        raise RuntimeError(
            f"{tool} not found on PATH: the SSO tests run a real OpenID provider "
            "under Node.js (20 or later) and install it with npm; install Node.js "
            "(e.g. apt-get install nodejs npm) or skip the SSO tests."
        )
    return path


def ensure_node_modules() -> None:
    """Install tests/oidc's pinned npm packages unless already in place.

    Installed means node_modules/.lock-hash holds the hash of the current
    package-lock.json, so a changed lock file reinstalls. A file lock keeps
    parallel test workers from running ``npm ci`` over one another.
    """
    _need("node")
    npm = _need("npm")
    want = hashlib.sha256((OIDC_DIR / "package-lock.json").read_bytes()).hexdigest()
    if LOCK_HASH.exists() and LOCK_HASH.read_text().strip() == want:
        return
    # The lock file lives outside the work tree so that it never shows in git.
    lock_name = "oidc-npm-" + hashlib.sha256(str(OIDC_DIR).encode()).hexdigest()[:12]
    with open(Path(tempfile.gettempdir()) / lock_name, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if LOCK_HASH.exists() and LOCK_HASH.read_text().strip() == want:
            return  # another worker installed while we waited
        run = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund"],
            cwd=OIDC_DIR,
            capture_output=True,
            text=True,
            timeout=600,
        )
        if run.returncode:
            raise RuntimeError(f"npm ci in {OIDC_DIR} failed ({run.returncode}):\n{run.stdout}\n{run.stderr}")
        LOCK_HASH.write_text(want + "\n")


class OIDCProvider:
    """A running provider; stops on ``stop()`` or leaving its ``with`` block."""

    def __init__(self, proc: subprocess.Popen, issuer: str, config_path: Path, output: collections.deque):
        self.proc = proc
        self.issuer = issuer
        self.metadata_url = issuer + "/.well-known/openid-configuration"
        self._config_path = config_path
        self._output = output

    @property
    def output(self) -> str:
        """The provider's recent stdout and stderr, for failure messages."""
        return "".join(self._output)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if self.proc.stdin:
            self.proc.stdin.close()
        self._config_path.unlink(missing_ok=True)

    def __enter__(self) -> OIDCProvider:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def start_oidc_provider(
    *,
    clients: list[dict],
    accounts: list[dict],
    port: int | None = None,
    claims: dict | None = None,
    timeout: float = 30.0,
) -> OIDCProvider:
    """Start the provider on 127.0.0.1 (a free port unless ``port``) and wait
    until it is serving. Each client dict is oidc-provider client metadata:
    ``client_id``, ``client_secret``, ``redirect_uris`` and optionally
    ``token_endpoint_auth_method`` (client_secret_basic, the default, or
    client_secret_post), ``post_logout_redirect_uris``, ...
    """
    ensure_node_modules()
    config = {"clients": clients, "accounts": accounts}
    if claims is not None:
        config["claims"] = claims
    fd, name = tempfile.mkstemp(prefix="oidc-config-", suffix=".json")
    with os.fdopen(fd, "w") as f:
        json.dump(config, f)
    proc = subprocess.Popen(
        [_need("node"), str(PROVIDER_JS), "--config", name, "--port", str(port or 0), "--watch-stdin"],
        cwd=OIDC_DIR,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        bufsize=1,
    )
    # Keep draining the pipe for the provider's whole life (a full pipe would
    # block node); the last lines are kept for error messages.
    output: collections.deque = collections.deque(maxlen=200)
    ready = threading.Event()
    issuer: list[str] = []

    def pump() -> None:
        for line in proc.stdout:
            output.append(line)
            if line.startswith("READY ") and not ready.is_set():
                issuer.append(line.split()[1])
                ready.set()
        ready.set()  # EOF: the process has ended

    threading.Thread(target=pump, name="oidc-provider-output", daemon=True).start()
    ready.wait(timeout)
    provider = OIDCProvider(proc, issuer[0] if issuer else "", Path(name), output)
    if not issuer:
        why = "exited" if proc.poll() is not None else f"not ready after {timeout:g} s"
        provider.stop()
        raise RuntimeError(f"OIDC provider {why} (exit code {proc.returncode}); output:\n{provider.output}")
    return provider


class _Forms(HTMLParser):
    """Every <form> of a page: its action and the fields it would submit."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict] = []

    def handle_starttag(self, tag, attrs):
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append({"action": a.get("action", ""), "fields": {}})
        elif (
            tag == "input"
            and self.forms
            and a.get("name")
            and a.get("type", "text").lower() not in ("submit", "button", "checkbox", "radio")
        ):
            self.forms[-1]["fields"][a["name"]] = a.get("value", "")


def _forms(html: str) -> list[dict]:
    parser = _Forms()
    parser.feed(html)
    return parser.forms


def sso_login_with_requests(session, start_url: str, username: str, password: str):
    """Sign in through the provider's login page as a browser would.

    Follows redirects from ``start_url`` (the app's SSO start, or an
    authorization URL) into the provider, submits the login form, and follows
    the redirects back to the app's callback; returns the final response,
    with the session holding the app's cookies. A refused password returns
    the provider's login page again, status 401, with ``id="oidc-error"``.
    When the provider already has a session for this ``session`` (no login
    page), the redirects simply go through.
    """
    response = session.get(start_url, allow_redirects=True)
    is_html = "html" in response.headers.get("Content-Type", "")
    login = next((f for f in _forms(response.text) if "password" in f["fields"]), None) if is_html else None
    if login is None:
        return response  # already signed in at the provider, or an error page
    fields = {**login["fields"], "username": username, "password": password}
    # Only the login form is ever submitted (consent is auto-granted), so a
    # form on the app's own landing page is never posted by mistake.
    return session.post(urljoin(response.url, login["action"]), data=fields, allow_redirects=True)
