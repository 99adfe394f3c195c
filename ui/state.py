"""The app's one DataStore, configured once at start-up and shared by every callback."""

from __future__ import annotations

import threading
from pathlib import Path

from data.settings import load_settings
from queries import DataStore

_lock = threading.Lock()
_store: DataStore | None = None


def configure(data_dir: str | Path | None = None, settings_path: str | Path | None = None) -> DataStore:
    """Point the app at a data folder (and settings file); returns the store."""
    global _store
    with _lock:
        _store = DataStore(data_dir, load_settings(settings_path))
        return _store


def get_store() -> DataStore:
    """The configured store; configures the default one on first use."""
    with _lock:
        store = _store
    return store if store is not None else configure()
