"""Single sign-on end to end: a real OpenID Connect provider (oidc-provider under node) on loopback,
the app's Authlib client, real codes, signed ID tokens and a JWKS — nothing mocked."""

from __future__ import annotations

import sqlite3

import pytest
import requests

from tests.conftest import _free_port, app_env, running_app
from tests.oidc_provider import sso_login_with_requests, start_oidc_provider

ACCOUNTS = [
    {
        "sub": "u-ana",
        "username": "ana",
        "password": "ana-pw",
        "name": "Ana Analyst",
        "email": "ana@force.example",
        "roles": ["CPD.Analyst"],
        "force": "Dorset",
    },
    {
        "sub": "u-gus",
        "username": "gus",
        "password": "gus-pw",
        "name": "Gus Gold",
        "email": "gus@force.example",
        "roles": ["CPD.Gold", "Some.Other.Role"],
    },
    {
        "sub": "u-nor",
        "username": "nora",
        "password": "nora-pw",
        "name": "Nora Norole",
        "email": "nora@force.example",
    },
]


@pytest.fixture(scope="module")
def sso_app(synthetic_dir, tmp_path_factory):
    root = tmp_path_factory.mktemp("sso")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    client = {
        "client_id": "dashboard",
        "client_secret": "a-client-secret",
        "redirect_uris": [url + "/auth/callback"],
        "token_endpoint_auth_method": "client_secret_basic",
    }
    with start_oidc_provider(clients=[client], accounts=ACCOUNTS) as provider:
        env = app_env(
            synthetic_dir,
            root / "instance",
            CPD_OIDC_ISSUER=provider.issuer,
            CPD_OIDC_CLIENT_ID="dashboard",
            CPD_OIDC_CLIENT_SECRET="a-client-secret",
            CPD_OIDC_ROLE_CLAIM="roles",
            CPD_OIDC_FORCE_CLAIM="force",
            CPD_OIDC_ROLE_MAP="CPD.Gold=gold,CPD.Officer=officer,CPD.Analyst=analyst,CPD.Admin=admin",
        )
        with running_app(synthetic_dir, env, root / "app.log", port=port) as app_url:
            yield app_url, root / "instance"


def _sign_ins(instance):
    with sqlite3.connect(instance / "audit.sqlite") as db:
        db.row_factory = sqlite3.Row
        return [dict(r) for r in db.execute("select * from audit where action = 'sign in' order by id")]


def test_the_login_page_offers_single_sign_on(sso_app):
    url, _ = sso_app
    assert 'id="login-sso"' in requests.get(url + "/login", timeout=10).text


def test_sso_signs_in_and_maps_the_role_and_force_claims(sso_app):
    url, instance = sso_app
    session = requests.Session()
    final = sso_login_with_requests(session, url + "/login/sso?next=/detention", "ana", "ana-pw")
    assert final.status_code == 200 and final.url.startswith(url + "/detention")
    assert session.get(url + "/_dash-layout", timeout=10).status_code == 200
    row = _sign_ins(instance)[-1]
    assert (row["user"], row["role"], row["force"], row["outcome"]) == ("ana", "analyst", "Dorset", "done")
    assert '"sso"' in row["detail"]


def test_the_highest_mapped_role_wins_and_unknown_roles_are_ignored(sso_app):
    url, instance = sso_app
    session = requests.Session()
    sso_login_with_requests(session, url + "/login/sso", "gus", "gus-pw")
    row = _sign_ins(instance)[-1]
    assert (row["user"], row["role"], row["force"]) == ("gus", "gold", None)


def test_an_account_without_an_app_role_is_refused(sso_app):
    url, instance = sso_app
    session = requests.Session()
    final = sso_login_with_requests(session, url + "/login/sso", "nora", "nora-pw")
    assert final.status_code == 403 and "no role" in final.text
    assert session.get(url + "/_dash-layout", timeout=10).status_code == 401
    assert _sign_ins(instance)[-1]["outcome"] == "refused"


def test_a_wrong_password_at_the_provider_never_signs_in(sso_app):
    url, _ = sso_app
    session = requests.Session()
    final = sso_login_with_requests(session, url + "/login/sso", "ana", "not-her-password")
    assert final.status_code == 401
    assert session.get(url + "/_dash-layout", timeout=10).status_code == 401


def test_a_forged_callback_is_refused_without_a_500(sso_app):
    url, _ = sso_app
    response = requests.get(url + "/auth/callback?code=forged&state=forged", timeout=10)
    assert response.status_code == 401 and "did not complete" in response.text
