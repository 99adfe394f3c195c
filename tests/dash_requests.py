"""Build ``/_dash-update-component`` bodies from what ``/_dash-dependencies`` lists, as the renderer does.

The security tests call the callback endpoint directly, as an attacker would,
so they need bodies of the renderer's shape with values of their choosing.
"""

from __future__ import annotations

import json


def parse_id(text: str) -> str | dict:
    return json.loads(text) if text.startswith("{") else text


def id_text(component_id: str | dict) -> str:
    """A component id as Dash writes it in ``changedPropIds`` (dict ids as sorted, compact JSON)."""
    if isinstance(component_id, dict):
        return json.dumps(component_id, sort_keys=True, separators=(",", ":"))
    return component_id


def split_outputs(output: str) -> tuple[bool, list[tuple[str | dict, str]]]:
    """``"..a.b...c.d.."`` → (True, [(a, b), (c, d)]); ``"a.b"`` → (False, [(a, b)])."""
    multi = output.startswith("..") and output.endswith("..")
    parts = output[2:-2].split("...") if multi else [output]
    pairs = []
    for part in parts:
        component, _, prop = part.rpartition(".")
        pairs.append((parse_id(component), prop))
    return multi, pairs


def concrete(component: str | dict, fill: str = "x") -> str | dict:
    """A pattern id with its wildcards replaced by a value (MATCH/ALL → ``fill``)."""
    if isinstance(component, str):
        return component
    return {k: (fill if isinstance(v, list) else v) for k, v in component.items()}


def is_many(component: str | dict) -> bool:
    return isinstance(component, dict) and any(v in (["ALL"], ["ALLSMALLER"]) for v in component.values())


def body_for(
    dependency: dict,
    values: dict[int, object] | None = None,
    *,
    changed: list[int] | None = None,
    fill: str = "x",
    state_values: dict[int, object] | None = None,
) -> dict:
    """A body calling ``dependency`` with input ``i`` set to ``values[i]`` (None elsewhere).

    A pattern-matching ALL input becomes a list of one item carrying the value.
    """
    values = values or {}
    state_values = state_values or {}

    def item(spec: dict, value: object):
        component = parse_id(spec["id"])
        one = {"id": concrete(component, fill), "property": spec["property"], "value": value}
        return [one] if is_many(component) else one

    inputs = [item(spec, values.get(i)) for i, spec in enumerate(dependency["inputs"])]
    state = [item(spec, state_values.get(i)) for i, spec in enumerate(dependency.get("state", []))]
    multi, outputs = split_outputs(dependency["output"])
    out_items = []
    for component, prop in outputs:
        one = {"id": concrete(component, fill), "property": prop}
        out_items.append([one] if is_many(component) else one)
    changed_ids = []
    for i in changed if changed is not None else list(values):
        spec = dependency["inputs"][i]
        changed_ids.append(f"{id_text(concrete(parse_id(spec['id']), fill))}.{spec['property']}")
    return {
        "output": dependency["output"],
        "outputs": out_items if multi else out_items[0],
        "inputs": inputs,
        "state": state,
        "changedPropIds": changed_ids,
    }


def find(dependencies: list[dict], output_contains: str) -> dict:
    matches = [d for d in dependencies if output_contains in d["output"]]
    assert len(matches) == 1, f"{len(matches)} callbacks write {output_contains!r}"
    return matches[0]
