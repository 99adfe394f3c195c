"""Self-check of the test OpenID provider, against a real OIDC client.

    .venv/bin/python tests/oidc/selfcheck.py

Starts the provider and a throwaway Flask app that signs in with Authlib's
Flask client (the same client the dashboard uses), then checks:
the discovery document; a full authorization-code flow with PKCE S256 whose
ID token Authlib validates against the provider's JWKS (signature, issuer,
audience, nonce) and whose claims include roles and force; that a wrong
password is refused and stays on the form; that a wrong PKCE verifier is
refused at the token endpoint; and client_secret_post as well as basic.
Exits non-zero on the first failure.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import secrets
import sys
import threading
import time
from pathlib import Path

import requests
from authlib.integrations.flask_client import OAuth
from authlib.integrations.requests_client import OAuth2Session
from flask import Flask, jsonify, redirect, request, session, url_for
from joserfc import jwt
from joserfc.jwk import KeySet
from werkzeug.serving import make_server

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from tests.oidc_provider import (
    ensure_node_modules,
    sso_login_with_requests,
    start_oidc_provider,
)

SCOPE = "openid profile email roles force"
ACCOUNTS = [
    {
        "sub": "u-ana",
        "username": "ana",
        "password": "correct horse",
        "name": "Ana Analyst",
        "email": "ana@example.org",
        "email_verified": True,
        "roles": ["CPD.Analyst"],
        "force": "Dorset",
    },
    {
        "sub": "u-max",
        "username": "max",
        "password": "pw2",
        "name": "Max Manager",
        "email": "max@example.org",
        "roles": ["manager"],
        "force": "Wiltshire",
    },
]


def check(ok: bool, what: str) -> None:
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        sys.exit(1)


def make_app(issuer: str) -> Flask:
    """The smallest Flask app that signs in the way the dashboard does."""
    app = Flask(__name__)
    app.secret_key = secrets.token_hex(16)
    oauth = OAuth(app)
    oauth.register(
        "sso",
        client_id="dashboard",
        client_secret="dash-secret",
        server_metadata_url=issuer + "/.well-known/openid-configuration",
        client_kwargs={"scope": SCOPE, "code_challenge_method": "S256"},
    )

    @app.get("/login/sso")
    def login():
        return oauth.sso.authorize_redirect(url_for("callback", _external=True))

    @app.get("/login/sso/callback")
    def callback():
        # Exchanges the code (with the PKCE verifier) and validates the ID
        # token against the JWKS, issuer, audience and nonce.
        token = oauth.sso.authorize_access_token()
        session["user"] = dict(token["userinfo"])
        return redirect("/")

    @app.get("/")
    def home():
        return jsonify(session.get("user"))

    @app.get("/raw-callback")
    def raw_callback():
        # For the manual flows below: just hand back the code.
        return jsonify(request.args)

    return app


def serve(app: Flask):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_port}"


def main() -> None:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    t0 = time.monotonic()
    ensure_node_modules()
    print(f"node_modules ready in {time.monotonic() - t0:.1f} s")

    # The app's port must be known before the provider starts (redirect URIs
    # are registered with the client), so bind the app first.
    app_server, app_url = serve(Flask("placeholder"))
    clients = [
        {
            "client_id": "dashboard",
            "client_secret": "dash-secret",
            "redirect_uris": [app_url + "/login/sso/callback"],
            "token_endpoint_auth_method": "client_secret_basic",
        },
        {
            "client_id": "post-client",
            "client_secret": "post-secret",
            "redirect_uris": [app_url + "/raw-callback"],
            "token_endpoint_auth_method": "client_secret_post",
        },
    ]
    t0 = time.monotonic()
    with start_oidc_provider(clients=clients, accounts=ACCOUNTS) as op:
        print(f"provider {op.issuer} started in {time.monotonic() - t0:.2f} s")
        app_server.app = make_app(op.issuer)  # werkzeug serves .app per request

        meta = requests.get(op.metadata_url, timeout=5).json()
        check(meta["issuer"] == op.issuer, "discovery: issuer is " + op.issuer)
        for key in (
            "authorization_endpoint",
            "token_endpoint",
            "jwks_uri",
            "userinfo_endpoint",
            "end_session_endpoint",
        ):
            check(meta.get(key, "").startswith(op.issuer), f"discovery: {key} {meta.get(key)}")
        check("S256" in meta["code_challenge_methods_supported"], "discovery: PKCE S256")
        check({"roles", "force"} <= set(meta["scopes_supported"]), "discovery: roles and force scopes")

        # 1. The whole flow through the Authlib Flask client.
        s = requests.Session()
        seen: list[str] = []  # every URL visited, to look at the authorization request
        s.hooks["response"].append(lambda resp, *a, **k: seen.append(resp.url))
        sso_login_with_requests(s, app_url + "/login/sso", "ana", "correct horse")
        authorize = next(u for u in seen if u.startswith(meta["authorization_endpoint"] + "?"))
        check(
            "code_challenge_method=S256" in authorize and "code_challenge=" in authorize,
            "the client sent a PKCE S256 challenge",
        )
        user = s.get(app_url + "/", timeout=5).json()
        print("     ID token claims:", json.dumps(user, sort_keys=True))
        check(
            user and user["sub"] == "u-ana" and user["iss"] == op.issuer and user["aud"] == "dashboard",
            "ID token validated by Authlib (sub, iss, aud)",
        )
        check(
            user["roles"] == ["CPD.Analyst"] and user["force"] == "Dorset",
            "roles and force claims in the ID token",
        )
        check(
            user["name"] == "Ana Analyst"
            and user["email"] == "ana@example.org"
            and user["preferred_username"] == "ana",
            "profile and email claims",
        )

        # 2. A wrong password is refused and the form is shown again.
        s2 = requests.Session()
        r = sso_login_with_requests(s2, app_url + "/login/sso", "ana", "wrong")
        check(
            r.status_code == 401 and 'id="oidc-error"' in r.text and "/interaction/" in r.url,
            "wrong password refused, login form shown again (401)",
        )
        check(s2.get(app_url + "/", timeout=5).json() is None, "... and the app is not signed in")
        r = sso_login_with_requests(s2, app_url + "/login/sso", "nobody", "x")
        check(r.status_code == 401, "unknown user refused")

        # 3. client_secret_post, and PKCE is enforced: a wrong verifier fails.
        def code_for(verifier: str, user: str, password: str) -> str:
            challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=")
            # Plain "openid profile", as an Entra ID app would ask: roles and force still come.
            url, _ = OAuth2Session("post-client", scope="openid profile").create_authorization_url(
                meta["authorization_endpoint"],
                redirect_uri=app_url + "/raw-callback",
                code_challenge=challenge.decode(),
                code_challenge_method="S256",
                nonce="n-1",
            )
            return sso_login_with_requests(requests.Session(), url, user, password).json()["code"]

        client = OAuth2Session(
            "post-client",
            "post-secret",
            token_endpoint_auth_method="client_secret_post",
            redirect_uri=app_url + "/raw-callback",
        )
        verifier = secrets.token_urlsafe(48)
        code = code_for(verifier, "max", "pw2")
        try:
            client.fetch_token(meta["token_endpoint"], code=code, code_verifier="x" * 50)
            check(False, "wrong PKCE verifier refused")
        except Exception as err:  # authlib raises OAuthError(invalid_grant)
            check("invalid_grant" in str(err), f"wrong PKCE verifier refused ({err})")
        code = code_for(verifier, "max", "pw2")
        token = client.fetch_token(meta["token_endpoint"], code=code, code_verifier=verifier)
        # Verified by hand here (joserfc is Authlib's own JOSE library).
        jwks = KeySet.import_key_set(requests.get(meta["jwks_uri"], timeout=5).json())
        claims = jwt.decode(token["id_token"], jwks).claims
        jwt.JWTClaimsRegistry(
            iss={"essential": True, "value": op.issuer},
            aud={"essential": True, "value": "post-client"},
            nonce={"essential": True, "value": "n-1"},
            exp={"essential": True},
        ).validate(claims)
        check(
            claims["roles"] == ["manager"] and claims["force"] == "Wiltshire",
            "client_secret_post + PKCE, scope openid profile: ID token verified, roles and force",
        )
        info = client.get(meta["userinfo_endpoint"], timeout=5).json()
        check(
            info["sub"] == "u-max" and info["force"] == "Wiltshire", "userinfo endpoint with the access token"
        )

    check(op.proc.poll() is not None, "provider stopped")
    app_server.shutdown()
    print("all checks passed")


if __name__ == "__main__":
    main()
