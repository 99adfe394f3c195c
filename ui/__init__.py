"""Shared user-interface pieces: the callback decorator, the filter bar, formatting and app state."""
