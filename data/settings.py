"""Settings: targets, grade target minutes and the language list.

One settings file (TOML) holds them; ``data/settings.toml`` carries the
defaults of metrics.md and a force's own file overrides any part of it.
"""

from __future__ import annotations

import math
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_SETTINGS_PATH = Path(__file__).with_name("settings.toml")
SETTINGS_ENV = "CPD_SETTINGS"

STATUS_ON = "On target"
STATUS_NEAR = "Near target"
STATUS_OFF = "Off target"
STATUS_NONE = "No target"
DIRECTION_HIGHER = "higher"
DIRECTION_LOWER = "lower"
DIRECTION_NEUTRAL = "neutral"
DIRECTIONS = (DIRECTION_HIGHER, DIRECTION_LOWER, DIRECTION_NEUTRAL)


class SettingsError(ValueError):
    """A settings file that cannot be read or holds a wrong value."""


@dataclass(frozen=True)
class Target:
    """A KPI's target: met when ``value <comparison> target``.

    Attributes:
        target: the figure to meet.
        comparison: ">=" (higher is better) or "<=" (lower is better).
        amber_from: the value from which a miss is only "Near target"; None
            means the default band (5 points for a percentage, else 10% of
            the target).
    """

    target: float
    comparison: str = ">="
    amber_from: float | None = None

    def status(self, value: float | None, *, is_percentage: bool) -> str | None:
        """The status words for ``value``; None when there is no value."""
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return None
        higher_is_better = self.comparison == ">="
        met = value >= self.target if higher_is_better else value <= self.target
        if met:
            return STATUS_ON
        if self.amber_from is not None:
            amber_edge = self.amber_from
        else:
            band = 5.0 if is_percentage else abs(self.target) * 0.10
            amber_edge = self.target - band if higher_is_better else self.target + band
        near = value >= amber_edge if higher_is_better else value <= amber_edge
        return STATUS_NEAR if near else STATUS_OFF


@dataclass(frozen=True)
class Settings:
    """Everything a query or a status needs beyond the data itself."""

    grade1_target_min: float = 15
    grade2_target_min: float = 20
    language_phrases: tuple[str, ...] = ()
    targets: dict[str, Target] = field(default_factory=dict)
    stale_after_days: int = 45
    spc_run_length: int = 7
    spc_directions: dict[str, str] = field(default_factory=dict)
    records_purposes: tuple[str, ...] = ("Case review", "Safeguarding concern", "Data quality check")
    source: str = str(DEFAULT_SETTINGS_PATH)

    def direction(self, kpi_id: str) -> str:
        """'higher', 'lower' or 'neutral': which way is improvement for SPC colouring."""
        if kpi_id in self.spc_directions:
            return self.spc_directions[kpi_id]
        target = self.targets.get(kpi_id)
        if target is None:
            return DIRECTION_NEUTRAL
        return DIRECTION_HIGHER if target.comparison == ">=" else DIRECTION_LOWER

    def query_parameters(self) -> dict:
        """The settings as named SQL parameters."""
        return {
            "grade1_target_min": float(self.grade1_target_min),
            "grade2_target_min": float(self.grade2_target_min),
            "language_phrases": [p.lower() for p in self.language_phrases],
        }

    def cache_key(self) -> tuple:
        """A hashable summary, so cached query results key on the settings."""
        return (
            self.grade1_target_min,
            self.grade2_target_min,
            self.language_phrases,
        )


def _merge(base: dict, override: dict) -> dict:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _read_toml(path: Path) -> dict:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise SettingsError(f"settings file {path} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"settings file {path} is not valid TOML: {exc}") from None


def _parse_target(kpi_id: str, raw: dict, path: Path) -> Target:
    if not isinstance(raw, dict) or "target" not in raw:
        raise SettingsError(f"{path}: targets.{kpi_id} needs a 'target' value")
    comparison = raw.get("comparison", ">=")
    if comparison not in (">=", "<="):
        raise SettingsError(f"{path}: targets.{kpi_id}.comparison must be '>=' or '<=', not {comparison!r}")
    try:
        target = float(raw["target"])
        amber = raw.get("amber_from")
        amber = None if amber is None else float(amber)
    except (TypeError, ValueError):
        raise SettingsError(f"{path}: targets.{kpi_id} values must be numbers") from None
    return Target(target=target, comparison=comparison, amber_from=amber)


def load_settings(path: str | Path | None = None) -> Settings:
    """Load the default settings, overridden by ``path`` (or $CPD_SETTINGS).

    Raises:
        SettingsError: the file is missing, not TOML, or holds a wrong value.
    """
    raw = _read_toml(DEFAULT_SETTINGS_PATH)
    chosen = path or os.environ.get(SETTINGS_ENV) or None
    if chosen:
        chosen = Path(chosen)
        raw = _merge(raw, _read_toml(chosen))
    source_path = chosen or DEFAULT_SETTINGS_PATH
    grades = raw.get("grades", {})
    try:
        grade1 = float(grades.get("grade1_target_min", 15))
        grade2 = float(grades.get("grade2_target_min", 20))
    except (TypeError, ValueError):
        raise SettingsError(f"{source_path}: grade targets must be numbers of minutes") from None
    if grade1 <= 0 or grade2 <= 0:
        raise SettingsError(f"{source_path}: grade targets must be positive minutes")
    phrases = raw.get("language", {}).get("phrases", [])
    if not isinstance(phrases, list) or not all(isinstance(p, str) and p.strip() for p in phrases):
        raise SettingsError(f"{source_path}: language.phrases must be a list of non-empty strings")
    targets = {
        kpi_id: _parse_target(kpi_id, spec, source_path) for kpi_id, spec in raw.get("targets", {}).items()
    }
    quality = raw.get("quality", {})
    stale_after_days = quality.get("stale_after_days", 45)
    if not isinstance(stale_after_days, int) or stale_after_days <= 0:
        raise SettingsError(f"{source_path}: quality.stale_after_days must be a positive number of days")
    spc = raw.get("spc", {})
    run_length = spc.get("run_length", 7)
    if run_length not in (6, 7):
        raise SettingsError(f"{source_path}: spc.run_length must be 6 or 7, not {run_length!r}")
    directions = spc.get("direction", {})
    for kpi_id, direction in directions.items():
        if direction not in DIRECTIONS:
            raise SettingsError(
                f"{source_path}: spc.direction.{kpi_id} must be one of {', '.join(DIRECTIONS)}, "
                f"not {direction!r}"
            )
    purposes = raw.get("records", {}).get("purposes", list(Settings.records_purposes))
    if (
        not isinstance(purposes, list)
        or not purposes
        or not all(isinstance(p, str) and p.strip() for p in purposes)
    ):
        raise SettingsError(f"{source_path}: records.purposes must be a non-empty list of non-empty strings")
    return Settings(
        records_purposes=tuple(p.strip() for p in purposes),
        grade1_target_min=grade1,
        grade2_target_min=grade2,
        language_phrases=tuple(p.strip().lower() for p in phrases),
        targets=targets,
        stale_after_days=stale_after_days,
        spc_run_length=run_length,
        spc_directions=dict(directions),
        source=str(source_path),
    )
