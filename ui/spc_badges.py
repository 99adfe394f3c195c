"""SPC icons as Making Data Count draws them, with their words: never colour alone.

A variation icon (common cause; special cause improving, concerning or
neither, high or low) and an assurance icon (meets, fails, hit and miss).
Each is a small circle with a letter, its label beside it, and its tooltip as
the element's title and accessible description.
"""

from __future__ import annotations

from dash import html

from kpi.spc import Status

# code prefix -> (letter in the circle, CSS modifier)
VARIATION_ICONS = {
    "common": ("~", "common"),
    "improvement": ("↑", "improvement"),
    "concern": ("!", "concern"),
    "neither": ("•", "neither"),
}
ASSURANCE_ICONS = {
    "meets": ("P", "improvement"),
    "fails": ("F", "concern"),
    "hit_and_miss": ("?", "neither"),
}


def _side_letter(code: str) -> str:
    if code.endswith("_high"):
        return "H"
    if code.endswith("_low"):
        return "L"
    return ""


def variation_parts(status: Status, *, compact: bool = False) -> dict:
    """The variation icon's letter, colour modifier, label and tooltip (what a badge is drawn from)."""
    kind = status.code.split("_")[0]
    symbol, modifier = VARIATION_ICONS.get(kind, ("~", "common"))
    return {
        "letter": _side_letter(status.code) or symbol,
        "modifier": modifier,
        "label": short_variation_label(status) if compact else status.label,
        "tooltip": status.tooltip,
        "aria": f"{status.label}. {status.tooltip}",
    }


def assurance_parts(status: Status) -> dict:
    """The assurance icon's letter, colour modifier, label and tooltip."""
    letter, modifier = ASSURANCE_ICONS.get(status.code, ("?", "neither"))
    return {
        "letter": letter,
        "modifier": modifier,
        "label": status.label,
        "tooltip": status.tooltip,
        "aria": f"{status.label}. {status.tooltip}",
    }


def _badge(parts: dict) -> html.Span:
    # Two components, not three: a page of badges is walked by Dash's renderer on every update.
    return html.Span(
        [
            html.Span(
                parts["letter"], className=f"spc-icon spc-{parts['modifier']}", **{"aria-hidden": "true"}
            ),
            parts["label"],
        ],
        className="spc-badge",
        title=parts["tooltip"],
        **{"aria-label": parts["aria"]},
    )


def variation_badge(status: Status, *, compact: bool = False) -> html.Span:
    """The variation icon of the latest month: ~ common cause; H/L special cause coloured by meaning."""
    return _badge(variation_parts(status, compact=compact))


def assurance_badge(status: Status | None, *, compact: bool = False) -> html.Span | None:
    """The assurance icon against the target: P passes, F fails, ? hit and miss; None without one."""
    if status is None:
        return None
    return _badge(assurance_parts(status))


def short_variation_label(status: Status) -> str:
    """'Common cause', 'Concern (high)', 'Improving (low)', 'Special cause (high)': for a table cell."""
    kind = status.code.split("_")[0]
    side = _side_letter(status.code)
    side_words = {"H": " (high)", "L": " (low)"}.get(side, "")
    words = {
        "common": "Common cause",
        "improvement": "Improving",
        "concern": "Concern",
        "neither": "Special cause",
    }
    return words.get(kind, status.label) + side_words


def spc_badges(variation: Status, assurance: Status | None) -> html.Div:
    """Both icons, side by side, as shown beside a trend."""
    return html.Div(
        [variation_badge(variation), assurance_badge(assurance)],
        className="spc-badges d-flex flex-wrap gap-3 small",
    )
