"""The progress bar of a background job (the monthly pack, a data load), one for every page."""

from __future__ import annotations

from dash import html


def progress_bar(percent: int, *, label: str, running: bool, class_name: str = "") -> html.Div:
    """Bootstrap 5.3's progress bar, written out: ``dbc.Progress`` gives its bar no accessible name
    (axe: aria-progressbar-name), and the bar is the one thing a screen reader needs to hear.

    Args:
        percent: 0–100, shown in the bar as well as by its width.
        label: what the bar measures ("Pack built so far"), its accessible name.
        running: striped and moving while the job runs; solid green when it is done.
        class_name: extra classes of the outer element (a page's own hook for tests and styles).
    """
    share = max(0, min(100, int(percent)))
    bar_class = "progress-bar" + (" progress-bar-striped progress-bar-animated" if running else " bg-success")
    return html.Div(
        html.Div(f"{share}%", className=bar_class, style={"width": f"{share}%"}),
        className=f"progress {class_name}".strip(),
        role="progressbar",
        **{"aria-label": label, "aria-valuenow": str(share), "aria-valuemin": "0", "aria-valuemax": "100"},
    )
