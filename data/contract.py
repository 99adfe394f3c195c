"""The data contract (../shared/spec/data-contract.md) as Python.

One source for the generator, ingest validation and the query runner's views,
so the three can never disagree about a column's name, type or enumeration.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

# Contract type -> (DuckDB type, Arrow type). Timestamps are naive local time
# at second precision; parquet has no second unit, so they are stored as ms.
TYPES: dict[str, tuple[str, pa.DataType]] = {
    "varchar": ("VARCHAR", pa.string()),
    "timestamp": ("TIMESTAMP", pa.timestamp("ms")),
    "date": ("DATE", pa.date32()),
    "boolean": ("BOOLEAN", pa.bool_()),
    "tinyint": ("TINYINT", pa.int8()),
    "integer": ("INTEGER", pa.int32()),
    "double": ("DOUBLE", pa.float64()),
}

RISK_LEVELS = ("low", "medium", "high")
TEAMS = ("impact", "polit", "cait", "cid", "neighbourhood")
AUDIT_AREAS = (
    "initial contact",
    "assessment and help",
    "investigation",
    "decision-making",
    "managing risk",
    "detention",
)
AUDIT_GRADES = ("good", "requires improvement", "inadequate")


@dataclass(frozen=True)
class Column:
    """One column of an extract table.

    Attributes:
        name: column name as the extract spells it.
        type: contract type, a key of ``TYPES``.
        nullable: True where the contract gives a "null = ..." meaning.
        enum: allowed lower-case values, if an enumeration.
        min_value, max_value: inclusive numeric range, if any.
        positive: the value must be strictly greater than 0.
        first_of_month: a date that must fall on the 1st.
        null_meaning: the contract's wording for a null ("not recorded"...).
    """

    name: str
    type: str
    nullable: bool = False
    enum: tuple[str, ...] | None = None
    min_value: float | None = None
    max_value: float | None = None
    positive: bool = False
    first_of_month: bool = False
    null_meaning: str | None = None

    @property
    def duckdb_type(self) -> str:
        return TYPES[self.type][0]

    @property
    def arrow_type(self) -> pa.DataType:
        return TYPES[self.type][1]

    @property
    def is_recording_gap(self) -> bool:
        """A null here is a recording gap the inspection cares about."""
        return self.null_meaning == "not recorded"


@dataclass(frozen=True)
class Table:
    """One extract table.

    Attributes:
        name: folder name under the data directory.
        columns: the contract's columns, in contract order.
        key: columns whose combination is unique (empty: no key).
        coverage_column: the event (or snapshot) column whose months define
            the table's coverage (metrics.md, "Coverage").
        description: the contract's heading for the table.
    """

    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    coverage_column: str
    description: str = ""

    def column(self, name: str) -> Column:
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(f"{self.name} has no column {name!r}")

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def arrow_schema(self) -> pa.Schema:
        return pa.schema([pa.field(c.name, c.arrow_type, nullable=True) for c in self.columns])


def _c(name: str, type_: str, null: str | None = None, **kw) -> Column:
    return Column(name, type_, nullable=null is not None, null_meaning=null, **kw)


_FORCE = _c("force", "varchar")
_LPA = _c("lpa", "varchar")
_LA = _c("local_authority", "varchar")
_RISK = _c("risk_level", "varchar", enum=RISK_LEVELS)

TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        Table(
            "incidents",
            (
                _c("incident_id", "varchar"),
                _FORCE,
                _LPA,
                _LA,
                _c("received_at", "timestamp"),
                _c(
                    "incident_type",
                    "varchar",
                    enum=(
                        "domestic abuse",
                        "concern for welfare",
                        "missing person",
                        "sexual offence",
                        "online abuse",
                        "other",
                    ),
                ),
                _c("grade", "tinyint", min_value=1, max_value=5),
                _c("vulnerability_identified", "boolean"),
                _c("thrive_completed", "boolean"),
                _c("thrive_reassessments", "integer", min_value=0),
                _c("victim_callback", "boolean"),
                _c("arrived_at", "timestamp", "not attended"),
                _c("ppn_submitted_at", "timestamp", "not submitted"),
                _c("voice_of_child_recorded", "boolean"),
                _c("child_spoken_to", "boolean"),
                _c("bwv_used", "boolean"),
            ),
            key=("incident_id",),
            coverage_column="received_at",
            description="command and control: calls involving a child",
        ),
        Table(
            "missing_episodes",
            (
                _c("episode_id", "varchar"),
                _c("child_id", "varchar"),
                _FORCE,
                _LPA,
                _LA,
                _c("age", "tinyint", min_value=0, max_value=17),
                _c("reported_at", "timestamp"),
                _RISK,
                _c("risk_assessment_text", "varchar", "none"),
                _c("risk_ratified_at", "timestamp", "not recorded"),
                _c("first_deployed_at", "timestamp", "not deployed"),
                _c("found_at", "timestamp", "still missing"),
                _c("prevention_interview", "boolean"),
                _c("return_home_interview_at", "timestamp", "not recorded"),
                _c("ppn_submitted", "boolean"),
                _c("strategy_meeting_held", "boolean"),
                _c("csc_referral", "boolean"),
            ),
            key=("episode_id",),
            coverage_column="reported_at",
            description="missing persons system: children only",
        ),
        Table(
            "mash_referrals",
            (
                _c("referral_id", "varchar"),
                _FORCE,
                _LPA,
                _LA,
                _c("received_at", "timestamp"),
                _RISK,
                _c("source", "varchar", enum=("ppn", "partner", "public", "other")),
                _c("completed_at", "timestamp", "still open"),
                _c("strategy_required", "boolean"),
                _c("strategy_held_at", "timestamp", "not held"),
                _c("minutes_received_at", "timestamp", "not received"),
            ),
            key=("referral_id",),
            coverage_column="received_at",
            description="multi-agency safeguarding hub workload",
        ),
        Table(
            "investigations",
            (
                _c("crime_id", "varchar"),
                _c("victim_child_id", "varchar"),
                _FORCE,
                _LPA,
                _c("team", "varchar", enum=TEAMS),
                _c(
                    "category",
                    "varchar",
                    enum=(
                        "exploitation",
                        "sexual abuse",
                        "online abuse",
                        "physical abuse",
                        "neglect",
                        "other",
                    ),
                ),
                _RISK,
                _c("opened_at", "timestamp"),
                _c("closed_at", "timestamp", "open"),
                _c("plan_recorded", "boolean"),
                _c("video_interview_at", "timestamp", "none"),
                # Null unless team = polit (checked as a row rule in ingest).
                _c("kirat_completed", "boolean", "not a polit investigation"),
                _c("csc_informed_at", "timestamp", "not recorded"),
            ),
            key=("crime_id",),
            coverage_column="opened_at",
            description="crime records with a child victim",
        ),
        Table(
            "investigation_reviews",
            (_c("crime_id", "varchar"), _FORCE, _c("reviewed_at", "timestamp")),
            key=(),
            coverage_column="reviewed_at",
            description="supervisory reviews of investigations",
        ),
        Table(
            "team_staffing",
            (
                _c("month", "date", first_of_month=True),
                _FORCE,
                _c("team", "varchar", enum=(*TEAMS, "mosovo")),
                _c("officers_fte", "double", positive=True),
            ),
            key=("month", "force", "team"),
            coverage_column="month",
            description="monthly establishment",
        ),
        Table(
            "police_protection",
            (
                _c("pp_id", "varchar"),
                _c("child_id", "varchar"),
                _FORCE,
                _LPA,
                _c("invoked_at", "timestamp"),
                _c("ended_at", "timestamp", "not recorded"),
                _c("ppn_submitted", "boolean"),
                _c("strategy_discussion_at", "timestamp", "none"),
                _c("template_used", "boolean"),
            ),
            key=("pp_id",),
            coverage_column="invoked_at",
            description="children taken into police protection",
        ),
        Table(
            "rso_register",
            (
                _c("snapshot_month", "date", first_of_month=True),
                _c("rso_id", "varchar"),
                _FORCE,
                _LPA,
                _c("offender_manager_id", "varchar"),
                _c("management", "varchar", enum=("active", "reactive")),
                _c("in_custody", "boolean"),
                _c("whereabouts_unknown", "boolean"),
                _c("arms_required", "boolean"),
                _c("arms_completed_date", "date", "never assessed"),
                # Null exactly when arms_required is false (a row rule in ingest).
                _c("arms_due_date", "date", "arms not required"),
                _c("next_visit_due", "date", "none planned"),
            ),
            key=("snapshot_month", "rso_id"),
            coverage_column="snapshot_month",
            description="monthly snapshot of registered sex offenders",
        ),
        Table(
            "rso_breaches",
            (
                _c("breach_id", "varchar"),
                _c("rso_id", "varchar"),
                _FORCE,
                _LPA,
                _c("recorded_at", "timestamp"),
                _c(
                    "outcome",
                    "varchar",
                    enum=("words of advice", "charged", "cautioned", "no further action", "ongoing"),
                ),
                _c("visor_updated", "boolean"),
            ),
            key=("breach_id",),
            coverage_column="recorded_at",
            description="breaches of notification requirements",
        ),
        Table(
            "custody_detentions",
            (
                _c("detention_id", "varchar"),
                _c("child_id", "varchar"),
                _FORCE,
                _LPA,
                _c("custody_suite", "varchar"),
                _c("age", "tinyint", min_value=10, max_value=17),
                _c("arrived_at", "timestamp"),
                _c("aa_requested_at", "timestamp", "not recorded"),
                _c("aa_arrived_at", "timestamp", "not recorded"),
                _c("rights_given_at", "timestamp", "not recorded"),
                _c("interview_at", "timestamp", "no interview"),
                _c("released_at", "timestamp", "still detained"),
                _c("charged", "boolean"),
                _c("bail_denied", "boolean"),
                _c("held_overnight", "boolean"),
                _c("alt_accommodation_requested", "boolean"),
                _c("alt_accommodation_provided", "boolean"),
                _c("ppn_submitted", "boolean"),
            ),
            key=("detention_id",),
            coverage_column="arrived_at",
            description="children detained in police custody",
        ),
        Table(
            "case_audits",
            (
                _c("audit_id", "varchar"),
                _FORCE,
                _c("audited_at", "date"),
                _c("area", "varchar", enum=AUDIT_AREAS),
                _c("grade", "varchar", enum=AUDIT_GRADES),
            ),
            key=("audit_id",),
            coverage_column="audited_at",
            description="quality audits of child protection cases",
        ),
    )
}

# Filter columns of metrics.md; a table lacking one is not filtered by it.
FILTER_COLUMNS = ("force", "lpa", "local_authority")


def has_column(table: str, column: str) -> bool:
    return column in TABLES[table].column_names


def to_arrow(table: str, frame: pd.DataFrame) -> pa.Table:
    """Convert a frame holding a table's contract columns to its Arrow schema.

    Extra columns are dropped; a missing contract column raises KeyError.
    """
    spec = TABLES[table]
    missing = [c for c in spec.column_names if c not in frame.columns]
    if missing:
        raise KeyError(f"{table}: missing columns {missing}")
    arrays = []
    for col in spec.columns:
        values = frame[col.name]
        if col.type == "timestamp":
            values = pd.to_datetime(values).astype("datetime64[ms]")
        elif col.type == "date":
            values = pd.to_datetime(values).dt.date
        arrays.append(pa.array(values, type=col.arrow_type, from_pandas=True))
    return pa.Table.from_arrays(arrays, schema=spec.arrow_schema())


def write_parquet(table: str, frame: pd.DataFrame, path: str | Path) -> Path:
    """Write ``frame`` as one parquet file of ``table``, typed to the contract."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(to_arrow(table, frame), path)
    return path
