"""Check a ``/_dash-update-component`` body against the callbacks the app declared, before Dash reads it.

Dash trusts the shape of what the browser sends: a body without ``output``,
an output no callback has, a string where a list of inputs belongs, or the
wrong number of inputs each end in a 500 inside Dash, before any project code
runs. Here the envelope is compared with the app's own callback map — ids,
properties and counts — so a crafted body gets a 400 naming what is wrong.
The *values* are the callbacks' business (``ui.callbacks`` turns a value a
callback cannot use into a 400 too).
"""

from __future__ import annotations

import json
from collections.abc import Mapping

WILDCARDS = ({"ALL"}, {"MATCH"}, {"ALLSMALLER"})
MAX_ITEMS = 500  # pattern-matching inputs on the largest page number a few dozen


class EnvelopeError(ValueError):
    """The body is not a call of a declared callback; the message says which part."""


def _declared_id(text: str) -> str | dict:
    return json.loads(text) if text.startswith("{") else text


def _wildcard(value: object) -> str | None:
    if isinstance(value, list) and len(value) == 1 and value[0] in ("ALL", "MATCH", "ALLSMALLER"):
        return value[0]
    return None


def _kind(declared: str | dict) -> str:
    """ "single", or "many" for an ALL/ALLSMALLER pattern (the body then sends a list)."""
    if isinstance(declared, dict) and any(_wildcard(v) in ("ALL", "ALLSMALLER") for v in declared.values()):
        return "many"
    return "single"


def _matches(declared: str | dict, sent: object) -> bool:
    if isinstance(declared, str):
        return sent == declared
    if not isinstance(sent, Mapping) or set(sent) != set(declared):
        return False
    for key, value in declared.items():
        if _wildcard(value):
            if not isinstance(sent[key], str | int | float | bool) or isinstance(sent[key], bool):
                return False
        elif sent[key] != value:
            return False
    return True


def _check_item(item: object, declared: str | dict, prop: str, where: str) -> None:
    if not isinstance(item, Mapping):
        raise EnvelopeError(f"{where} is not an object")
    sent_prop = item.get("property")
    # An output declared with allow_duplicate is sent as "<prop>@<hash>"; the hash is part of the
    # callback's key, which the body's "output" has already matched exactly.
    if isinstance(sent_prop, str) and "@" in sent_prop:
        sent_prop = sent_prop.split("@", 1)[0]
    if sent_prop != prop:
        raise EnvelopeError(f"{where} has property {item.get('property')!r}, not {prop!r}")
    if not _matches(declared, item.get("id")):
        raise EnvelopeError(f"{where} names a component the callback does not read")


def _check_list(sent: object, declared: list[dict], what: str) -> None:
    if not isinstance(sent, list) or len(sent) != len(declared):
        raise EnvelopeError(f"{what} must be a list of {len(declared)} item(s)")
    for index, (item, spec) in enumerate(zip(sent, declared, strict=True)):
        component = _declared_id(spec["id"])
        where = f"{what}[{index}]"
        if _kind(component) == "many":
            if not isinstance(item, list) or len(item) > MAX_ITEMS:
                raise EnvelopeError(f"{where} must be a list (a pattern-matching input)")
            for n, sub in enumerate(item):
                _check_item(sub, component, spec["property"], f"{where}[{n}]")
        else:
            _check_item(item, component, spec["property"], where)


def _declared_outputs(entry: Mapping) -> tuple[bool, list[tuple[str | dict, str]]]:
    """(whether the callback returns a list of outputs, each output's id and property)."""
    outputs = entry.get("output")
    multi = isinstance(outputs, list | tuple)
    return multi, [
        (_declared_id(output.component_id_str()), output.component_property)
        for output in (outputs if multi else [outputs])
    ]


def check_update_body(body: object, callback_map: Mapping[str, Mapping]) -> None:
    """Raise EnvelopeError unless ``body`` is a well-formed call of a callback in ``callback_map``."""
    if not isinstance(body, Mapping):
        raise EnvelopeError("the body is not a JSON object")
    output = body.get("output")
    if not isinstance(output, str) or output not in callback_map:
        raise EnvelopeError("the body names no callback of this app")
    entry = callback_map[output]
    _check_list(body.get("inputs"), entry.get("inputs", []), "inputs")
    _check_list(body.get("state", []), entry.get("state", []), "state")
    changed = body.get("changedPropIds", [])
    if (
        not isinstance(changed, list)
        or not all(isinstance(c, str) for c in changed)
        or len(changed) > MAX_ITEMS
    ):
        raise EnvelopeError("changedPropIds must be a list of strings")
    if entry.get("no_output"):
        return
    outputs = body.get("outputs")
    multi, declared = _declared_outputs(entry)
    if multi and not isinstance(outputs, list):
        raise EnvelopeError(f"outputs must be a list of {len(declared)} item(s)")
    sent = outputs if multi else [outputs]
    if len(sent) != len(declared):
        raise EnvelopeError(f"outputs must list {len(declared)} item(s)")
    for index, (item, (component, prop)) in enumerate(zip(sent, declared, strict=True)):
        where = f"outputs[{index}]"
        if _kind(component) == "many":
            if not isinstance(item, list) or len(item) > MAX_ITEMS:
                raise EnvelopeError(f"{where} must be a list (a pattern-matching output)")
            for n, sub in enumerate(item):
                _check_item(sub, component, prop, f"{where}[{n}]")
        else:
            _check_item(item, component, prop, where)


def install(dash_app) -> None:
    """Check every ``/_dash-update-component`` body before Dash reads it (after the sign-in guard)."""
    import flask

    server = dash_app.server
    prefix = dash_app.config.requests_pathname_prefix.rstrip("/")

    def check_body():
        request = flask.request
        if request.method != "POST" or request.path != f"{prefix}/_dash-update-component":
            return None
        body = request.get_json(silent=True)
        try:
            check_update_body(body, dash_app.callback_map or _global_callback_map())
        except EnvelopeError as exc:
            response = flask.jsonify({"message": f"Not a request this dashboard can answer: {exc}."})
            response.status_code = 400
            return response
        return None

    server.before_request(check_body)


def _global_callback_map():
    # Before the first request Dash has not yet copied its module-level map into the app.
    from dash._callback import GLOBAL_CALLBACK_MAP

    return GLOBAL_CALLBACK_MAP
