"""Peer comparison: ranks worked by hand, and every force's figure against pandas on generated data."""

from __future__ import annotations

import pandas as pd
import pytest

import figures
from kpi.summary import peer_ranks
from queries import DataStore
from queries.kpis import Filters, Period, kpi_breakdown, kpi_table


def _monthly(rows):
    return pd.DataFrame(rows, columns=["month", "group", "value"])


def test_ranks_follow_the_improvement_direction():
    monthly = _monthly(
        [
            ("2022-01", "A", 90.0),
            ("2022-01", "B", 80.0),
            ("2022-01", "C", 70.0),
            ("2022-02", "A", 60.0),
            ("2022-02", "B", 80.0),
            ("2022-02", "C", None),  # C has no value: two forces ranked
        ]
    )
    higher = peer_ranks(monthly, "A", "higher")
    assert list(higher["rank"]) == [1, 2]
    assert list(higher["forces"]) == [3, 2]
    lower = peer_ranks(monthly, "A", "lower")
    assert list(lower["rank"]) == [3, 1]
    assert list(peer_ranks(monthly, "C", "higher")["rank"]) == [3, None]


def test_tied_forces_share_the_best_rank():
    monthly = _monthly([("2022-01", "A", 5.0), ("2022-01", "B", 5.0), ("2022-01", "C", 9.0)])
    assert peer_ranks(monthly, "B", "lower")["rank"].iloc[0] == 1
    assert peer_ranks(monthly, "C", "lower")["rank"].iloc[0] == 3


@pytest.fixture(scope="module")
def three_forces(tmp_path_factory):
    from data.generate import generate

    out = tmp_path_factory.mktemp("peers") / "extracts"
    generate(out, forces=3, start="2021-01", end="2022-03")
    return out


def test_every_forces_figure_and_the_national_one_match_pandas(three_forces):
    store = DataStore(three_forces)
    period = Period("2021-04", "2022-03")
    by_force = kpi_breakdown(store, "child_detentions", "force", period, Filters()).set_index("group")
    custody = pd.concat(pd.read_parquet(p) for p in (three_forces / "custody_detentions").glob("*.parquet"))
    arrived = pd.to_datetime(custody["arrived_at"])
    in_period = custody[(arrived >= "2021-04-01") & (arrived < "2022-04-01")]
    expected = in_period.groupby("force").size()
    assert len(expected) == 3
    assert {k: int(v) for k, v in by_force["value"].items()} == expected.to_dict()
    national = kpi_table(store, period, Filters(), kpi_ids=["child_detentions"])["value"].iloc[0]
    assert national == len(in_period)


def test_peer_bar_ranks_best_on_top_and_marks_the_force():
    by_force = pd.DataFrame(
        {"group": ["A", "B", "C"], "value": [50.0, 90.0, 70.0], "denominator": [10, 10, 10]}
    )
    fig = figures.peer_bar(by_force, title="t", unit="pct", selected="C", national=72.0, direction="higher")
    bar = fig.data[0]
    assert list(bar.y) == ["A", "C", "B"]  # Plotly draws the last category on top: B, the best
    assert bar.marker.color[1] == figures.FOCUS_COLOUR
    assert bar.marker.color[0] == bar.marker.color[2] == figures.ACCENT
    lower = figures.peer_bar(by_force, title="t", unit="pct", selected="C", direction="lower")
    assert list(lower.data[0].y) == ["B", "C", "A"]


def test_rank_figure_puts_rank_one_at_the_top_and_has_an_empty_state():
    ranks = pd.DataFrame({"month": ["2022-01", "2022-02"], "rank": [2, 1], "forces": [3, 3]})
    fig = figures.peer_rank_figure(ranks, title="t", forces=3)
    assert list(fig.layout.yaxis.range) == [3.5, 0.5]
    empty = figures.peer_rank_figure(ranks.assign(rank=None), title="t", forces=3)
    assert figures.EMPTY_MESSAGE in empty.layout.annotations[0].text


def test_a_count_is_compared_with_the_average_force_not_the_sum(three_forces, as_user):
    """A count summed over forces dwarfs every bar ("All forces 506" beside bars of at most 115):
    the line is the average force, and says so; a percentage keeps the all-forces figure."""
    import app  # noqa: F401  (the pages and their store)
    from ui import area_page
    from ui.filters import FilterState

    state = FilterState("2021-04", "2022-03", "Dorset", None, None)
    with as_user("admin"), _store_on(three_forces):
        bar, _rank = area_page.peer_figures("missing_episodes", state)
        by_force = kpi_breakdown(
            DataStore(three_forces), "missing_episodes", "force", state.period, Filters()
        )
        (line,) = [a for a in bar.layout.annotations if "force" in a.text.lower()]
        assert line.text == f"Average force {by_force['value'].astype(float).mean():,.1f}"
        pct_bar, _ = area_page.peer_figures("thrive_completion_pct", state)
        assert any(a.text.startswith("All forces") for a in pct_bar.layout.annotations)


def _store_on(data_dir):
    """The app's store pointed at ``data_dir`` for the block, then back to what it was."""
    import contextlib

    from ui import state as app_state

    @contextlib.contextmanager
    def swapped():
        before = app_state._store
        app_state.configure(data_dir)
        try:
            yield
        finally:
            app_state._store = before

    return swapped()
