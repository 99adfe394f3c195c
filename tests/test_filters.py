"""The filter bar's resolution of URL values against what the data holds (no browser)."""

from datetime import date

import pytest

from ui.filters import FilterOptions, FilterState, parse_search, resolve

OPTIONS = FilterOptions(
    forces=("Dorset", "Wessex"),
    lpas={"Dorset": ("East", "West"), "Wessex": ("North",)},
    local_authorities={"Dorset": ("BCP Council", "Dorset Council"), "Wessex": ("Wessex Council",)},
    coverage={"Dorset": ("2020-04", "2023-03"), "Wessex": ("2021-01", "2023-03")},
)
TODAY = date(2026, 11, 28)


def test_defaults_are_the_first_force_and_its_last_12_complete_months():
    state, messages = resolve({}, OPTIONS, TODAY)
    assert state == FilterState("2022-04", "2023-03", "Dorset", None, None)
    assert messages == []


def test_the_current_month_is_not_complete():
    options = FilterOptions(("Dorset",), {}, {}, {"Dorset": ("2025-01", "2026-11")})
    state, _ = resolve({}, options, TODAY)
    assert (state.period_from, state.period_to) == ("2025-11", "2026-10")


def test_default_period_is_clipped_to_coverage():
    options = FilterOptions(("Dorset",), {}, {}, {"Dorset": ("2022-09", "2023-03")})
    state, _ = resolve({}, options, TODAY)
    assert (state.period_from, state.period_to) == ("2022-09", "2023-03")


def test_valid_values_are_kept():
    query = {"from": "2021-04", "to": "2022-03", "force": "Wessex", "lpa": "North", "local_authority": ""}
    state, messages = resolve(query, OPTIONS, TODAY)
    assert state == FilterState("2021-04", "2022-03", "Wessex", "North", None)
    assert messages == []


@pytest.mark.parametrize(
    ("query", "named"),
    [
        ({"force": "Narnia"}, "Narnia"),
        ({"lpa": "Eastt"}, "Eastt"),
        ({"force": "Wessex", "lpa": "East"}, "East"),  # an LPA of another force
        ({"local_authority": "'; drop table incidents; --"}, "drop table"),
        ({"from": "2022-13"}, "2022-13"),
        ({"from": "March"}, "March"),
        ({"from": "2022-06", "to": "2022-01"}, "before"),
    ],
)
def test_a_value_not_in_the_data_falls_back_with_a_message(query, named):
    state, messages = resolve(query, OPTIONS, TODAY)
    assert any(named in m for m in messages), messages
    assert state.force in OPTIONS.forces
    assert state.lpa in (None, *OPTIONS.lpas[state.force])
    assert state.local_authority in (None, *OPTIONS.local_authorities[state.force])


@pytest.mark.parametrize("months", [("2018-01", "2018-12"), ("3000-01", "3000-01"), ("9999-11", "9999-12")])
def test_a_period_outside_the_data_falls_back_to_the_default_with_a_message(months):
    # Months are held to the data's coverage: a far-future month would make the queries build a
    # monthly history up to it (issue 9 measured 19 GB in 30 s).
    state, messages = resolve({"from": months[0], "to": months[1]}, OPTIONS, TODAY)
    assert (state.period_from, state.period_to) == ("2022-04", "2023-03")
    assert any("has no data" in m for m in messages)


def test_a_period_partly_outside_the_data_is_held_to_it():
    state, messages = resolve({"from": "2019-06", "to": "2024-02"}, OPTIONS, TODAY)
    assert (state.period_from, state.period_to) == ("2020-04", "2023-03")
    assert any("showing Apr 2020 – Mar 2023" in m for m in messages)


def test_a_force_limited_user_gets_their_force_whatever_is_asked():
    state, messages = resolve({"force": "Wessex", "lpa": "North"}, OPTIONS, TODAY, allowed_force="Dorset")
    assert state.force == "Dorset" and state.lpa is None
    assert any("Dorset only" in m for m in messages)
    state, _ = resolve({}, OPTIONS, TODAY, allowed_force="Wessex")
    assert state.force == "Wessex"


def test_search_round_trip():
    state = FilterState("2022-01", "2022-03", "Dorset", "East", "BCP Council")
    assert state.to_search() == "?from=2022-01&to=2022-03&force=Dorset&lpa=East&local_authority=BCP+Council"
    parsed = parse_search(state.to_search())
    assert resolve(parsed, OPTIONS, TODAY) == (state, [])


def test_parse_search_ignores_unknown_keys_and_blanks():
    assert parse_search("?from=2022-01&lpa=&colour=red&force=%20Dorset%20") == {
        "from": "2022-01",
        "force": "Dorset",
    }
