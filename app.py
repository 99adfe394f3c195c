"""The dashboard: theme, navbar, the shared filter bar, the page container and the server.

    python app.py [--host H] [--port P] [--data DIR] [--settings FILE] [--events FILE]   # a user
    gunicorn app:server                                                 # a deployment

With no ``--data`` (and no $CPD_DATA_DIR) it runs on the synthetic extracts in
``data/extracts/``, generating them on first run.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

import dash
import dash_bootstrap_components as dbc
import plotly.io as pio
from dash import Input, Output, State, dcc, html
from werkzeug.serving import WSGIRequestHandler

import figures
from auth import web as auth_web
from exports.routes import blueprint as exports_blueprint
from queries import DATA_DIR_ENV, DEFAULT_DATA_DIR, default_data_dir
from ui import filters, guard, shared_cache, state

HERE = Path(__file__).parent
LOOPBACK = ("127.0.0.1", "localhost", "::1")
PRODUCT_NAME = "Child protection performance"

pio.templates["dashboard"] = figures.TEMPLATE
pio.templates.default = "dashboard"

# The theme is Bootstrap 5.3 served from assets/ (no CDN: the app must work on
# a closed network with a clean browser console).
app = dash.Dash(
    __name__,
    use_pages=True,
    pages_folder=str(HERE / "pages"),
    assets_folder=str(HERE / "assets"),
    title=PRODUCT_NAME,
    suppress_callback_exceptions=True,
    serve_locally=True,
)
# Dash's page has no language by default (an axe failure): set lang="en".
app.index_string = app.index_string.replace("<html>", '<html lang="en">')
server = app.server
# Logging at import, so that gunicorn (which never calls main()) logs too; the audit log itself
# is the SQLite table of auth.audit, written by every process.
logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
auth_web.configure(server)  # sign-in, the guard on every route, security headers
server.register_blueprint(exports_blueprint)  # /export/...: chart snapshots, chart data, records (analysts)
guard.install(app)  # a /_dash-update-component body must be a call of a declared callback
shared_cache.init_app(server)  # page views shared by every worker and server (Redis when REDIS_URL is set)


def user_menu() -> html.Div:
    """Who is signed in, as what, and a sign-out form (a POST with the session's CSRF token)."""
    principal = auth_web.current_principal()
    if principal is None:
        return html.Div()
    return html.Form(
        [
            # The name gives way below 1600 px so that the pages keep one row (an administrator
            # has ten); the button's tooltip says who.
            html.Span(
                principal.describe(),
                className="navbar-text small me-2 text-nowrap nav-user-name",
                id="nav-user",
            ),
            dcc.Input(type="hidden", name="csrf_token", value=auth_web.logout_form_token()),
            html.Button(
                "Sign out",
                type="submit",
                className="btn btn-outline-light btn-sm text-nowrap",
                id="nav-sign-out",
                title=f"Sign out {principal.describe()}",
            ),
        ],
        method="POST",
        action="/logout",
        className="d-flex align-items-center ms-xl-3",
    )


def navbar() -> dbc.Navbar:
    principal = auth_web.current_principal()
    links = [
        dbc.NavItem(dbc.NavLink(page["name"], href=page["relative_path"], active="exact"))
        for page in dash.page_registry.values()
        # A page for a higher role is left out of the menu (its callbacks refuse it anyway).
        if principal is not None and principal.may(page.get("role", "gold"))
    ]
    return dbc.Navbar(
        dbc.Container(
            [
                dbc.NavbarBrand("Child protection", href="/", className="fw-semibold"),
                dbc.NavbarToggler(id="navbar-toggler"),
                # Below 1200 px the pages fold behind the toggler: unfolded, they took 335 px of
                # a 768 px screen (issue 11).
                dbc.Collapse(
                    [dbc.Nav(links, navbar=True, className="ms-auto"), user_menu()],
                    id="navbar-collapse",
                    navbar=True,
                    is_open=False,
                ),
            ],
            fluid=True,
        ),
        color="dark",
        dark=True,
        expand="xl",
        className="py-1",
    )


dash.clientside_callback(
    "function (clicks, open) { return clicks ? !open : open; }",
    Output("navbar-collapse", "is_open"),
    Input("navbar-toggler", "n_clicks"),
    State("navbar-collapse", "is_open"),
    prevent_initial_call=True,
)


def serve_layout() -> html.Div:
    # A function, so the page registry (filled at start-up) is read at request time.
    return html.Div(
        [
            dcc.Location(id=filters.ID_URL, refresh=False),
            html.A("Skip to content", href="#main", className="visually-hidden-focusable"),
            html.Header(navbar()),
            filters.layout(),
            html.Main(dash.page_container, id="main", className="container-fluid py-3", tabIndex="-1"),
            html.Footer(
                "Pseudonymised extracts only. Definitions follow the force's metric catalogue.",
                className="container-fluid small text-body-secondary border-top py-2",
            ),
        ]
    )


app.layout = serve_layout


def ensure_data(data_dir: Path) -> None:
    """Generate the synthetic extracts on first run when the default folder is empty."""
    if data_dir.resolve() == DEFAULT_DATA_DIR.resolve() and not any(data_dir.glob("*/*.parquet")):
        from data.generate import generate

        print(f"No data in {data_dir}: generating the synthetic extracts (a few seconds)…", flush=True)
        generate(data_dir)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=PRODUCT_NAME)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8050)
    parser.add_argument("--data", help=f"data folder (default: ${DATA_DIR_ENV} or {DEFAULT_DATA_DIR})")
    parser.add_argument("--settings", help="settings TOML overriding data/settings.toml")
    parser.add_argument("--events", help="events TOML (step changes, annotations) replacing data/events.toml")
    parser.add_argument("--debug", action="store_true")
    args = parser.parse_args(argv)
    data_dir = Path(args.data) if args.data else default_data_dir()
    if args.data:
        os.environ[DATA_DIR_ENV] = str(data_dir)
    ensure_data(data_dir)
    if not data_dir.is_dir():
        print(f"error: data folder {data_dir} does not exist", file=sys.stderr)
        return 2
    try:
        state.configure(data_dir, args.settings, args.events)
    except ValueError as exc:  # SettingsError, EventsError: the message names the file and the key
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.debug and args.host not in LOOPBACK:
        # Debug mode serves tracebacks and an interactive debugger: never to the network.
        print(f"error: --debug is only allowed on a loopback host ({', '.join(LOOPBACK)})", file=sys.stderr)
        return 2
    # The development server names no versions in its Server header.
    WSGIRequestHandler.server_version = "dashboard"
    WSGIRequestHandler.sys_version = ""
    app.run(host=args.host, port=args.port, debug=args.debug)
    return 0


if __name__ == "__main__":
    sys.exit(main())
