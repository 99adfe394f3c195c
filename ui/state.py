"""The app's one DataStore and events file, configured once at start-up and shared by every callback."""

from __future__ import annotations

import threading
from pathlib import Path

from data.settings import load_settings
from kpi.spc import Events, load_events
from queries import DataStore
from queries.kpis import KPI_IDS
from queries.rollup import enabled_by_environment

_lock = threading.Lock()
_store: DataStore | None = None
_events: Events | None = None


def configure(
    data_dir: str | Path | None = None,
    settings_path: str | Path | None = None,
    events_path: str | Path | None = None,
) -> DataStore:
    """Point the app at a data folder, settings file and events file; returns the store.

    Raises:
        SettingsError, EventsError: a settings or events file that cannot be used (named in the message).
    """
    global _store, _events
    with _lock:
        _store = DataStore(data_dir, load_settings(settings_path), rollups=enabled_by_environment())
        _events = load_events(events_path, known_kpis=KPI_IDS)
        return _store


def get_store() -> DataStore:
    """The configured store; configures the default one on first use."""
    with _lock:
        store = _store
    return store if store is not None else configure()


def get_events() -> Events:
    """The step changes and annotations the trends draw."""
    with _lock:
        events = _events
    if events is None:
        configure()
        return get_events()
    return events
