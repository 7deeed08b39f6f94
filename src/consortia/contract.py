"""The data contract (docs/data-contract.md) as data.

Everything else reads the contract from here: which tables exist, their keys
and required columns, each column's kind, the value rules, the vocabulary of
organisation types and the ids of the quarantine rules and fixes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np
import pandas as pd


class Rule(StrEnum):
    """Why a row was set aside, in priority order: a row breaking several rules is
    quarantined under the first of them."""

    MISSING_REQUIRED = "missing_required"
    TYPE_MISMATCH = "type_mismatch"
    VALUE_OVERFLOW = "value_overflow"
    UNKNOWN_ORG_TYPE = "unknown_org_type"
    CONFLICTING_DUPLICATE = "conflicting_duplicate"
    UNKNOWN_CONSORTIUM_KEY = "unknown_consortium_key"
    NEGATIVE_VALUE = "negative_value"
    TRANSFERRED_EXCEEDS_ACHIEVEMENTS = "transferred_exceeds_achievements"
    INDUSTRIAL_EXCEEDS_TOTAL = "industrial_exceeds_total"
    DECISION_WEIGHT_OUT_OF_RANGE = "decision_weight_out_of_range"
    END_BEFORE_START = "end_before_start"
    DATE_FAR_BEYOND_DATA = "date_far_beyond_data"
    YEAR_OUTSIDE_LIFE = "year_outside_life"
    MULTIPLE_LEADS = "multiple_leads"


RULE_PRIORITY: dict[Rule, int] = {rule: rank for rank, rule in enumerate(Rule)}


class Fix(StrEnum):
    """How a kept row was altered (fixes.csv)."""

    ORG_TYPE_SYNONYM = "org_type_synonym"
    INDUSTRY_LABEL = "industry_label"
    MONEY_UNIT = "money_unit"
    DEFLATED = "deflated"
    LEAD_FLAG_RECONCILED = "lead_flag_reconciled"
    TASK_STATUS_INFERRED = "task_status_inferred"


# The columns of fixes.csv: cleaning's fixes and the statuses the task measures infer.
FIX_COLUMNS = ["table", "source_file", "source_row", "fix", "column", "detail", "record"]


class Kind(StrEnum):
    """How a column's text is parsed and typed."""

    STRING = "string"
    INT = "int"
    FLOAT = "float"
    BOOL = "bool"
    CATEGORY = "category"
    MONEY = "money"
    COUNT = "count"
    DATE = "date"
    YEAR = "year"


ORG_TYPES: tuple[str, ...] = (
    "enterprise",
    "university",
    "research_institute",
    "government",
    "other",
)
# The order and the names in which tables and figures show the lead types.
LEAD_TYPE_ORDER: tuple[str, ...] = ORG_TYPES
LEAD_TYPE_LABELS: dict[str, str] = {
    "enterprise": "Enterprise",
    "university": "University",
    "research_institute": "Research institute",
    "government": "Government",
    "other": "Other",
}

# The contract's vocabulary, keys as matched: trimmed and lower-cased.
DEFAULT_SYNONYMS: dict[str, str] = {
    "enterprise": "enterprise",
    "firm": "enterprise",
    "company": "enterprise",
    "corporate": "enterprise",
    "business": "enterprise",
    "private": "enterprise",
    "prc": "enterprise",
    "soe": "enterprise",
    "企业": "enterprise",
    "university": "university",
    "college": "university",
    "higher education": "university",
    "hes": "university",
    "高校": "university",
    "大学": "university",
    "research institute": "research_institute",
    "institute": "research_institute",
    "research organisation": "research_institute",
    "rec": "research_institute",
    "科研院所": "research_institute",
    "研究院": "research_institute",
    "government": "government",
    "public body": "government",
    "agency": "government",
    "pub": "government",
    "政府": "government",
    "other": "other",
    "oth": "other",
    "association": "other",
    "ngo": "other",
}


@dataclass(frozen=True)
class Bound:
    """A closed range a column's values must lie in (None = unbounded)."""

    low: float | None
    high: float | None
    rule: Rule


@dataclass(frozen=True)
class Ordering:
    """``low`` must not exceed ``high`` in a row; ``column`` is the one blamed."""

    low: str
    high: str
    rule: Rule
    column: str


@dataclass(frozen=True)
class TableSpec:
    name: str
    required_table: bool
    key: tuple[str, ...]
    required: tuple[str, ...]
    columns: dict[str, Kind]
    # Closed vocabularies of category columns other than the organisation types.
    categories: dict[str, tuple[str, ...]] = field(default_factory=dict)
    org_type_columns: tuple[str, ...] = ()
    bounds: dict[str, Bound] = field(default_factory=dict)
    orderings: tuple[Ordering, ...] = ()

    @property
    def references_consortia(self) -> bool:
        return self.name != "consortia"

    def columns_of_kind(self, *kinds: Kind) -> list[str]:
        return [column for column, kind in self.columns.items() if kind in kinds]


NOT_NEGATIVE = Bound(0, None, Rule.NEGATIVE_VALUE)


def _not_negative(columns: dict[str, Kind]) -> dict[str, Bound]:
    return {c: NOT_NEGATIVE for c, kind in columns.items() if kind in (Kind.COUNT, Kind.MONEY)}


_CONSORTIA_COLUMNS = {
    "consortium_id": Kind.STRING,
    "lead_type": Kind.CATEGORY,
    "founded_year": Kind.YEAR,
    "name": Kind.STRING,
    "industry": Kind.STRING,
    "high_tech": Kind.BOOL,
    "region": Kind.STRING,
    "dissolved_year": Kind.YEAR,
    "lead_org_id": Kind.STRING,
    "programme": Kind.STRING,
}

_MEMBERS_COLUMNS = {
    "consortium_id": Kind.STRING,
    "member_id": Kind.STRING,
    "member_type": Kind.CATEGORY,
    "is_lead": Kind.BOOL,
    "decision_weight": Kind.FLOAT,
    "equity_tie": Kind.BOOL,
    "funding": Kind.MONEY,
    "join_year": Kind.YEAR,
    "exit_year": Kind.YEAR,
    "chain_position": Kind.CATEGORY,
    "country": Kind.STRING,
    "sme": Kind.BOOL,
}

_PANEL_COLUMNS = {
    "consortium_id": Kind.STRING,
    "year": Kind.YEAR,
    "rd_expenditure": Kind.MONEY,
    "subsidy": Kind.MONEY,
    "collab_events": Kind.COUNT,
    "personnel_exchange": Kind.COUNT,
    "tasks_total": Kind.COUNT,
    "tasks_industrial": Kind.COUNT,
    "shared_platform": Kind.BOOL,
    "patents_filed": Kind.COUNT,
    "patents_granted": Kind.COUNT,
    "publications": Kind.COUNT,
    "achievements": Kind.COUNT,
    "achievements_transferred": Kind.COUNT,
    "new_product_revenue": Kind.MONEY,
    "standards": Kind.COUNT,
}

_TASKS_COLUMNS = {
    "consortium_id": Kind.STRING,
    "task_id": Kind.STRING,
    "start_date": Kind.DATE,
    "end_date": Kind.DATE,
    "status": Kind.CATEGORY,
    "field": Kind.STRING,
}

CHAIN_POSITIONS = ("upstream", "midstream", "downstream")
TASK_STATUSES = ("achieved", "ongoing", "abandoned")


def inferred_task_status(tasks: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """The status of a task without one: ``achieved`` if it has an end date, ``ongoing``
    otherwise. Returns the inferred status of every row and whether it has an end date."""
    has_end = tasks["end_date"].notna() if "end_date" in tasks else pd.Series(False, tasks.index)
    inferred = pd.Series(np.where(has_end, "achieved", "ongoing"), index=tasks.index, dtype=object)
    return inferred, has_end

TABLES: dict[str, TableSpec] = {
    "consortia": TableSpec(
        name="consortia",
        required_table=True,
        key=("consortium_id",),
        required=("consortium_id", "lead_type", "founded_year"),
        columns=_CONSORTIA_COLUMNS,
        org_type_columns=("lead_type",),
        orderings=(
            Ordering("founded_year", "dissolved_year", Rule.END_BEFORE_START, "dissolved_year"),
        ),
    ),
    "members": TableSpec(
        name="members",
        required_table=True,
        key=("consortium_id", "member_id"),
        required=("consortium_id", "member_id", "member_type"),
        columns=_MEMBERS_COLUMNS,
        categories={"chain_position": CHAIN_POSITIONS},
        org_type_columns=("member_type",),
        bounds={
            **_not_negative(_MEMBERS_COLUMNS),
            "decision_weight": Bound(0, 1, Rule.DECISION_WEIGHT_OUT_OF_RANGE),
        },
        orderings=(Ordering("join_year", "exit_year", Rule.END_BEFORE_START, "exit_year"),),
    ),
    "panel": TableSpec(
        name="panel",
        required_table=False,
        key=("consortium_id", "year"),
        required=("consortium_id", "year"),
        columns=_PANEL_COLUMNS,
        bounds=_not_negative(_PANEL_COLUMNS),
        orderings=(
            Ordering(
                "achievements_transferred",
                "achievements",
                Rule.TRANSFERRED_EXCEEDS_ACHIEVEMENTS,
                "achievements_transferred",
            ),
            Ordering(
                "tasks_industrial", "tasks_total", Rule.INDUSTRIAL_EXCEEDS_TOTAL, "tasks_industrial"
            ),
        ),
    ),
    "tasks": TableSpec(
        name="tasks",
        required_table=False,
        key=("consortium_id", "task_id"),
        required=("consortium_id", "task_id"),
        columns=_TASKS_COLUMNS,
        categories={"status": TASK_STATUSES},
        orderings=(Ordering("start_date", "end_date", Rule.END_BEFORE_START, "end_date"),),
    ),
}


def normalise_label(labels: pd.Series) -> pd.Series:
    """Labels as the vocabulary matches them: trimmed and lower-cased (missing stays missing)."""
    text = labels.astype("object")
    text = text.where(text.isna(), text.astype(str)).str.strip().str.lower()
    return text.where(text != "")


def org_type_lookup(extra_synonyms: Mapping[str, str] | None = None) -> dict[str, str]:
    """Matched label -> organisation type: the canonical names, the contract's synonyms and
    the config's extra ones (which win over the defaults)."""
    lookup = {org_type: org_type for org_type in ORG_TYPES} | DEFAULT_SYNONYMS
    for label, org_type in (extra_synonyms or {}).items():
        if org_type not in ORG_TYPES:
            raise ValueError(
                f"org_type_synonyms: {label!r} maps to {org_type!r}, which is not an "
                f"organisation type (expected one of {', '.join(ORG_TYPES)})"
            )
        lookup[str(label).strip().lower()] = org_type
    return lookup


def normalise_org_type(
    labels: pd.Series, extra_synonyms: Mapping[str, str] | None = None
) -> tuple[pd.Series, pd.Series]:
    """Map organisation-type labels onto ``ORG_TYPES``.

    Returns the normalised labels (missing where the label is missing or unknown) and a
    boolean mask of the labels that are given but not in the vocabulary.
    """
    matched = normalise_label(labels)
    normalised = matched.map(org_type_lookup(extra_synonyms))
    unknown = matched.notna() & normalised.isna()
    return normalised, unknown
