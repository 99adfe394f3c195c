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


def variation_badge(status: Status, *, compact: bool = False) -> html.Span:
    """The variation icon of the latest month: ~ common cause; H/L special cause coloured by meaning."""
    kind = status.code.split("_")[0]
    symbol, modifier = VARIATION_ICONS.get(kind, ("~", "common"))
    letter = _side_letter(status.code) or symbol
    label = short_variation_label(status) if compact else status.label
    return html.Span(
        [
            html.Span(letter, className=f"spc-icon spc-{modifier}", **{"aria-hidden": "true"}),
            html.Span(label),
        ],
        className="spc-badge",
        title=status.tooltip,
        **{"aria-label": f"{status.label}. {status.tooltip}"},
    )


def assurance_badge(status: Status | None, *, compact: bool = False) -> html.Span | None:
    """The assurance icon against the target: P passes, F fails, ? hit and miss; None without one."""
    if status is None:
        return None
    letter, modifier = ASSURANCE_ICONS.get(status.code, ("?", "neither"))
    return html.Span(
        [
            html.Span(letter, className=f"spc-icon spc-{modifier}", **{"aria-hidden": "true"}),
            html.Span(status.label),
        ],
        className="spc-badge",
        title=status.tooltip,
        **{"aria-label": f"{status.label}. {status.tooltip}"},
    )


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
