"""The one filter bar shared by every page: month range, force, LPA, local authority.

It lives in the app shell and keeps the URL's query string
(``?from=2022-01&to=2022-03&force=Dorset&lpa=East&local_authority=...``) and
its controls in step, so a copied link opens the same view and the back
button works. Values from the URL are resolved against what the data holds
(:func:`resolve`): an unknown value shows a message and falls back to the
default, and never reaches SQL as text.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import date
from urllib.parse import parse_qs, urlencode

import dash_bootstrap_components as dbc
import pandas as pd
from dash import Input, Output, State, ctx, dcc, html, no_update
from dash.exceptions import PreventUpdate

from auth.web import current_principal
from queries import DataError
from queries.kpis import Filters, Period, PeriodError, add_months, parse_month
from ui import purpose
from ui.callbacks import InputError, dashboard_callback
from ui.formatting import month_label, period_label
from ui.state import get_store

ID_URL = "url"
ID_FROM = "filter-from"
ID_TO = "filter-to"
ID_FORCE = "filter-force"
ID_LPA = "filter-lpa"
ID_LOCAL_AUTHORITY = "filter-local-authority"
ID_RESET = "filter-reset"
ID_MESSAGE = "filter-message"
ID_SUMMARY = "filter-summary"
ID_STATE = "filter-state"
ALL = "__all__"  # the select value meaning "no filter"
QUERY_KEYS = ("from", "to", "force", "lpa", "local_authority")


@dataclass(frozen=True)
class FilterOptions:
    """What the data holds: forces, each force's LPAs and local authorities, and its months."""

    forces: tuple[str, ...]
    lpas: Mapping[str, tuple[str, ...]]
    local_authorities: Mapping[str, tuple[str, ...]]
    coverage: Mapping[str, tuple[str, str]]

    @classmethod
    def from_frame(cls, frame: pd.DataFrame) -> FilterOptions:
        """Build from the ``meta/filter_options`` query."""
        forces = tuple(sorted(frame["force"].dropna().unique()))

        def values(column: str) -> dict[str, tuple[str, ...]]:
            return {
                force: tuple(sorted(frame.loc[frame["force"] == force, column].dropna().unique()))
                for force in forces
            }

        coverage = {}
        for force in forces:
            rows = frame[frame["force"] == force]
            coverage[force] = (
                pd.Timestamp(rows["first_month"].min()).strftime("%Y-%m"),
                pd.Timestamp(rows["last_month"].max()).strftime("%Y-%m"),
            )
        return cls(forces, values("lpa"), values("local_authority"), coverage)

    def limited_to(self, force: str) -> FilterOptions:
        """The same options with one force only (a force-limited user sees no other)."""
        return FilterOptions(
            (force,),
            {force: self.lpas.get(force, ())},
            {force: self.local_authorities.get(force, ())},
            {force: self.coverage[force]},
        )

    def default_period(self, force: str, today: date | None = None) -> tuple[str, str]:
        """The last 12 complete months the force's data covers."""
        first, last = self.coverage[force]
        today = today or date.today()
        last_month = parse_month(last)
        if (last_month.year, last_month.month) >= (today.year, today.month):
            # The current month is still being recorded: not complete.
            last_month = add_months(parse_month(f"{today.year:04d}-{today.month:02d}"), -1)
        start = max(add_months(last_month, -11), parse_month(first))
        return start.strftime("%Y-%m"), last_month.strftime("%Y-%m")


@dataclass(frozen=True)
class FilterState:
    """A resolved, valid filter selection (lpa/local_authority None = all)."""

    period_from: str
    period_to: str
    force: str
    lpa: str | None = None
    local_authority: str | None = None

    @property
    def period(self) -> Period:
        return Period(self.period_from, self.period_to)

    @property
    def filters(self) -> Filters:
        return Filters(self.force, self.lpa, self.local_authority)

    def to_search(self) -> str:
        """The URL query string, keys in a stable order, empty filters left out."""
        pairs = [("from", self.period_from), ("to", self.period_to), ("force", self.force)]
        if self.lpa:
            pairs.append(("lpa", self.lpa))
        if self.local_authority:
            pairs.append(("local_authority", self.local_authority))
        return "?" + urlencode(pairs)

    def describe(self) -> str:
        """The selection in words, for the summary line and chart titles."""
        parts = [period_label(self.period_from, self.period_to), self.force]
        parts.append(f"LPA {self.lpa}" if self.lpa else "all LPAs")
        parts.append(self.local_authority if self.local_authority else "all local authorities")
        return " · ".join(parts)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping) -> FilterState:
        return cls(
            **{k: data.get(k) for k in ("period_from", "period_to", "force", "lpa", "local_authority")}
        )


def require_state(state_data: Mapping | None) -> FilterState:
    """The filter state a page callback acts on, rebuilt by the server from what the user may see.

    The state arrives from the browser, so it is never trusted: its values are resolved
    again against the data and the user's allowed force (:func:`resolve`), exactly as a
    URL is. A force-limited user gets their force whatever the request says; months are
    held to the data's coverage; an unknown LPA becomes "all". No update until the
    filter bar has resolved a state.
    """
    if not state_data:
        raise PreventUpdate
    if not isinstance(state_data, Mapping):
        raise InputError("the filter state must be an object")
    query = {
        key: value if isinstance(value, str) else None
        for key, value in (
            ("from", state_data.get("period_from")),
            ("to", state_data.get("period_to")),
            ("force", state_data.get("force")),
            ("lpa", state_data.get("lpa")),
            ("local_authority", state_data.get("local_authority")),
        )
    }
    state, _messages = resolve(query, load_options(), allowed_force=allowed_force())
    return state


def allowed_force() -> str | None:
    """The one force the signed-in user is limited to, or None for every force."""
    principal = current_principal()
    return principal.force if principal else None


def parse_search(search: str | None) -> dict[str, str]:
    """The filter keys of a URL query string (the last value wins; blanks dropped)."""
    parsed = parse_qs((search or "").lstrip("?"), keep_blank_values=False)
    return {key: values[-1].strip() for key, values in parsed.items() if key in QUERY_KEYS and values}


def resolve(
    query: Mapping[str, str | None],
    options: FilterOptions,
    today: date | None = None,
    *,
    allowed_force: str | None = None,
) -> tuple[FilterState, list[str]]:
    """Turn raw values (from the URL, the controls or a request) into a valid state and messages.

    Every value the data does not hold is replaced by its default, with a
    message naming it; only values taken from ``options`` reach a query.
    ``allowed_force`` limits the choice to one force (a force-limited user),
    and a period is held to the force's months (a far-future month never
    reaches the queries, which would build a history up to it).
    """
    messages: list[str] = []
    if allowed_force is not None:
        if allowed_force not in options.forces:
            raise DataError(
                f"the data holds no records of {allowed_force}, the force your account is limited to"
            )
        options = options.limited_to(allowed_force)
    if not options.forces:
        raise DataError("the data holds no force")
    force = (query.get("force") or "").strip()
    if allowed_force is not None and force and force != allowed_force:
        messages.append(f"Your account shows {allowed_force} only; “{force}” is not shown.")
        force = allowed_force
    if force and force not in options.forces:
        messages.append(f"Force “{force}” is not in the data; showing {options.forces[0]}.")
        force = ""
    force = force or options.forces[0]

    def pick(key: str, allowed: tuple[str, ...], noun: str) -> str | None:
        value = (query.get(key) or "").strip()
        if not value:
            return None
        if value not in allowed:
            messages.append(f"{noun} “{value}” is not in the data for {force}; showing all.")
            return None
        return value

    lpa = pick("lpa", options.lpas.get(force, ()), "LPA")
    local_authority = pick("local_authority", options.local_authorities.get(force, ()), "Local authority")

    default_from, default_to = options.default_period(force, today)
    raw_from, raw_to = (query.get("from") or "").strip(), (query.get("to") or "").strip()
    period_from, period_to = default_from, default_to
    try:
        if raw_from or raw_to:
            candidate = Period(raw_from or default_from, raw_to or default_to)
            period_from, period_to = candidate.start_month, candidate.end_month
    except PeriodError as exc:
        messages.append(f"{str(exc)[0].upper()}{str(exc)[1:]}; showing the last 12 complete months.")
    first, last = options.coverage[force]
    if period_to < first or period_from > last:
        messages.append(
            f"{force}'s data covers {period_label(first, last)}; "
            f"{period_label(period_from, period_to)} has no data, so the last 12 complete months are shown."
        )
        period_from, period_to = default_from, default_to
    elif period_from < first or period_to > last:
        held_from, held_to = max(period_from, first), min(period_to, last)
        messages.append(
            f"{force}'s data covers {period_label(first, last)}; "
            f"showing {period_label(held_from, held_to)} of the "
            f"{period_label(period_from, period_to)} asked for."
        )
        period_from, period_to = held_from, held_to
    return FilterState(period_from, period_to, force, lpa, local_authority), messages


_options_cache: dict[tuple, FilterOptions] = {}


def load_options() -> FilterOptions:
    """The filter choices from the data, built once per store and data version.

    Every callback resolves its filter state against these (``require_state``), so building
    them in pandas on each call cost 3–10 ms a callback; a new extract is a new version.
    """
    store = get_store()
    key = (id(store), store.version)
    options = _options_cache.get(key)
    if options is None:
        options = FilterOptions.from_frame(store.run("meta/filter_options"))
        _options_cache.clear()
        _options_cache[key] = options
    return options


def _labelled(label: str, control, width: dict) -> dbc.Col:
    return dbc.Col(
        [dbc.Label(label, html_for=control.id, className="form-label small mb-0"), control],
        **width,
    )


def layout() -> html.Div:
    """The filter bar: labelled dbc controls (dcc's dropdowns and pickers fail axe)."""
    controls = dbc.Row(
        [
            _labelled(
                "From", dbc.Input(id=ID_FROM, type="month", debounce=True, size="sm"), {"xs": 6, "md": 2}
            ),
            _labelled("To", dbc.Input(id=ID_TO, type="month", debounce=True, size="sm"), {"xs": 6, "md": 2}),
            _labelled("Force", dbc.Select(id=ID_FORCE, options=[], size="sm"), {"xs": 12, "md": 2}),
            _labelled("LPA", dbc.Select(id=ID_LPA, options=[], size="sm"), {"xs": 6, "md": 2}),
            _labelled(
                "Local authority",
                dbc.Select(id=ID_LOCAL_AUTHORITY, options=[], size="sm"),
                {"xs": 6, "md": 3},
            ),
            dbc.Col(
                dbc.Button(
                    "Reset", id=ID_RESET, color="dark", outline=True, size="sm", title="Reset filters"
                ),
                xs=12,
                md=1,
                className="d-flex align-items-end",
            ),
        ],
        className="g-2 align-items-end",
    )
    return html.Div(
        [
            # A search landmark, not a <form>: Enter in a month box must apply the value, never
            # submit a form and reload the page with the defaults (issue 11).
            html.Div(controls, role="search", **{"aria-label": "Filters"}),
            purpose.layout(),
            html.P(id=ID_SUMMARY, className="small text-body-secondary mt-1 mb-0", role="status"),
            html.Div(id=ID_MESSAGE, role="alert", **{"aria-live": "polite"}),
            dcc.Store(id=ID_STATE),
        ],
        className="filter-bar border-bottom bg-body-tertiary px-3 py-1",
    )


def _select_options(values: tuple[str, ...], all_label: str) -> list[dict]:
    return [{"label": all_label, "value": ALL}] + [{"label": v, "value": v} for v in values]


@dashboard_callback(
    Output(ID_URL, "search"),
    Output(ID_FROM, "value"),
    Output(ID_TO, "value"),
    Output(ID_FORCE, "value"),
    Output(ID_FORCE, "options"),
    Output(ID_LPA, "value"),
    Output(ID_LPA, "options"),
    Output(ID_LOCAL_AUTHORITY, "value"),
    Output(ID_LOCAL_AUTHORITY, "options"),
    Output(ID_FROM, "min"),
    Output(ID_FROM, "max"),
    Output(ID_TO, "min"),
    Output(ID_TO, "max"),
    Output(ID_STATE, "data"),
    Output(ID_MESSAGE, "children"),
    Output(ID_SUMMARY, "children"),
    Input(ID_URL, "search"),
    Input(ID_FROM, "value"),
    Input(ID_TO, "value"),
    Input(ID_FORCE, "value"),
    Input(ID_LPA, "value"),
    Input(ID_LOCAL_AUTHORITY, "value"),
    Input(ID_RESET, "n_clicks"),
    State(ID_STATE, "data"),
    action="apply filters",
)
def update_filters(search, period_from, period_to, force, lpa, local_authority, _reset, current):
    """Keep URL, controls and the filter state in step (one callback: they feed each other)."""
    # The values come from the browser: anything but text is treated as not given.
    search, period_from, period_to, force, lpa, local_authority = (
        value if isinstance(value, str) else None
        for value in (search, period_from, period_to, force, lpa, local_authority)
    )
    try:
        options = load_options()
    except DataError as exc:
        alert = dbc.Alert(str(exc), color="danger", className="mt-2 mb-0")
        return (no_update,) * 14 + (alert, "No data loaded")
    trigger = ctx.triggered_id
    if trigger == ID_RESET:
        query: dict = {}
    elif trigger in (ID_FROM, ID_TO, ID_FORCE, ID_LPA, ID_LOCAL_AUTHORITY):
        query = {
            "from": period_from,
            "to": period_to,
            "force": force,
            "lpa": None if lpa == ALL else lpa,
            "local_authority": None if local_authority == ALL else local_authority,
        }
        if trigger == ID_FORCE:
            # A new force has its own areas and months: start from its defaults.
            query = {"force": force}
    else:
        query = parse_search(search)
    limit = allowed_force()
    try:
        state, messages = resolve(query, options, allowed_force=limit)
    except DataError as exc:
        alert = dbc.Alert(str(exc), color="danger", className="mt-2 mb-0")
        return (no_update,) * 14 + (alert, "No data for your account")
    if limit is not None:
        options = options.limited_to(limit)
    first, last = options.coverage[state.force]
    new_search = state.to_search()
    from_url = trigger not in (ID_FROM, ID_TO, ID_FORCE, ID_LPA, ID_LOCAL_AUTHORITY, ID_RESET)
    # On a URL change keep the address as typed (the message explains any
    # fallback); on a control change write the new selection to the URL.
    search_out = no_update if from_url or new_search == search else new_search
    message = (
        dbc.Alert([html.Div(m) for m in messages], color="warning", className="mt-2 mb-0", dismissable=True)
        if messages
        else None
    )
    summary = (
        f"Showing {state.describe()} · {state.force} data {period_label(first, last)}"
        f" (to end of {month_label(last)})"
    )
    data = state.to_dict()
    if data == current:
        # The same selection (a drill-down written to the URL, a control set to its value):
        # the pages need not run again.
        data = no_update
    return (
        search_out,
        state.period_from,
        state.period_to,
        state.force,
        [{"label": f, "value": f} for f in options.forces],
        state.lpa or ALL,
        _select_options(options.lpas.get(state.force, ()), "All LPAs"),
        state.local_authority or ALL,
        _select_options(options.local_authorities.get(state.force, ()), "All local authorities"),
        first,
        last,
        first,
        last,
        data if data != current else no_update,
        message,
        summary,
    )
