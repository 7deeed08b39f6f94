"""EU framework-programme projects (CORDIS) as a contract dataset.

The European Commission publishes each framework programme (FP7, H2020,
Horizon Europe) on CORDIS as a ``project.csv`` and an ``organization.csv``:
semicolon-separated, UTF-8 (with or without BOM), any field may be quoted
(titles and objectives hold semicolons, quotes and line breaks), amounts may
carry a decimal comma (``1234,5``) and dates are ISO (``2015-01-01``; some
exports add a time, older ones write ``01/01/2015``, read day first).
:func:`ingest_cordis` reads the two files and writes a folder the workflow
runs on unchanged (docs/cordis.md); its three contract tables are CSV, or Parquet
when the workflow writes the folder itself:

``consortia.csv``
    one row per selected project: ``lead_type`` from the coordinator's
    activityType (PRC enterprise, HES university, REC research_institute, PUB
    government, OTH other), ``founded_year`` / ``dissolved_year`` the years of
    the contractual start and end, ``programme`` the framework programme; the
    funding scheme, programme part, topic and legal basis ride along as extra
    columns, and ``scheme_or_part`` is the one of them that sets the kind of
    grant (:func:`scheme_source`).
``members.csv``
    one row per organisation row of a selected project: ``is_lead`` from the
    coordinator role, ``funding`` the ecContribution (EUR), and
    ``decision_weight`` the member's share of the project's EC contribution —
    a proxy for decision rights (:data:`DECISION_WEIGHT_PROXY`).
``tasks.csv``
    the project as one task from its start to its end date: contractual
    dates, not the date a result was achieved (:data:`TASKS_CAVEAT`).
``source.json``
    provenance (file hashes), the mapping, the proxy, the caveat, the
    selection and the counts of every outcome (the summary).
``adapter_log.csv``
    every value the adapter rewrote and every choice it made, row by row.
``excluded_projects.csv``
    every project the selection left out, with the rule(s) it fails and why.

Oddities the contract's cleaning rules handle are written as found, so that
the run's quality report counts them: a repeated organisation row (exact
copies collapse, differing copies are quarantined as conflicting
duplicates), a participant without activityType (``missing_required``), a
missing contribution (an empty ``funding`` and no weight), an unknown
organisation code (``unknown_org_type``), an organisation row whose project
is not in ``project.csv`` (``unknown_consortium_key``). Only what the
contract cannot express is decided here, and logged: which of several
coordinator rows leads (:func:`_resolve_leads`), and the format of amounts
and dates.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from consortia.contract import TABLES
from consortia.workflow import DatasetPlan

# activityType codes of the EC -> the contract's organisation types.
ACTIVITY_TYPES: dict[str, str] = {
    "PRC": "enterprise",
    "HES": "university",
    "REC": "research_institute",
    "PUB": "government",
    "OTH": "other",
}
COORDINATOR = "coordinator"
# Roles whose organisations count towards a project's participants (Selection): the
# beneficiaries that sign the grant agreement and their linked third parties, which are
# funded through them. Other roles (MSCA partner organisations, Horizon Europe associated
# partners) receive no EC contribution: their rows are written as members, but a project
# is not a consortium on their account.
DEFAULT_COUNTED_ROLES: tuple[str, ...] = ("coordinator", "participant", "thirdParty")

# Funding schemes that fund one researcher, one host or one company, matched as
# case-insensitive shell patterns: investigator grants (ERC), individual
# fellowships and reintegration grants (Marie Curie / MSCA), co-funding of one
# body's fellowship programme (COFUND), the SME instrument and EIC accelerator.
DEFAULT_EXCLUDED_SCHEMES: tuple[str, ...] = (
    "ERC-*", "HORIZON-ERC*",
    "MC-IEF", "MC-IIF", "MC-IOF", "MC-IIFR", "MC-CIG", "MC-IRG", "MC-ERG", "MC-COFUND",
    "MSCA-IF*", "*MSCA-PF*", "*MSCA-COFUND*",
    "SME-1", "SME-2*", "*EIC-ACC*",
)  # fmt: skip
# Programme parts that fund one investigator's team, matched the same way; used instead
# of the funding schemes when the export has none. "ERC" as in CORDIS programme-part
# lists; H2020-EU.1.1 (H2020), FP7-IDEAS-ERC (FP7) and HORIZON.1.1 (Horizon Europe) as in
# legalBasis. The MSCA and SME parts mix networks with individual fellowships and
# single-company grants: the participant threshold separates those.
DEFAULT_EXCLUDED_PARTS: tuple[str, ...] = ("ERC", "H2020-EU.1.1*", "FP7-IDEAS-ERC*", "HORIZON.1.1*")

DECISION_WEIGHT_PROXY = (
    "decision_weight is a proxy: the member's share of the project's EC contribution, "
    "ecContribution / the sum of the recorded ecContribution values of the project's "
    "organisation rows (exact copies counted once). A row without a recorded (or with an "
    "unreadable or negative) contribution gets no weight and adds nothing to the sum. The "
    "grant agreement, not the budget, sets decision rights; budget shares only approximate "
    "them."
)
TASKS_CAVEAT = (
    "Each project is one task from its contractual start date to its contractual end date "
    "(status 'achieved' = the contractual end was reached; 'abandoned' = the project status "
    "is TERMINATED; 'ongoing' = no end date). These are the dates the grant agreement fixes, "
    "not dates a result was achieved: durations measure the length of the funded work, "
    "not the speed of a breakthrough."
)
NO_OUTPUTS_NOTE = (
    "CORDIS records no publications, patents, transfers or revenues per project-year here: "
    "there is no panel table, so every claim about performance is not testable on these data."
)
MONEY_NOTE = (
    "funding = ecContribution in EUR at current prices of the grant (nominal, as signed); "
    "only the within-project shares (decision_weight) enter the analysis, and they do not "
    "depend on the price level."
)

# EC column names the adapter reads: required, then optional, per file; headers are
# matched case-insensitively, and the aliases cover older export layouts.
PROJECT_REQUIRED = ("id", "startDate", "endDate", "fundingScheme")
PROJECT_OPTIONAL = (
    "acronym", "status", "frameworkProgramme", "legalBasis", "topics", "ecSignatureDate",
)  # fmt: skip
ORGANIZATION_REQUIRED = ("projectID", "organisationID", "activityType", "role", "ecContribution")
ORGANIZATION_OPTIONAL = ("name", "country", "SME")
# programme_parts.csv (optional; e.g. ../shared/data/cordis-h2020/): a project's programme
# parts, one row each.
PARTS_REQUIRED = ("projectID", "programmePart")
HEADER_ALIASES = {
    "projects": {"projectid": "id"},
    "organizations": {"organizationid": "organisationID", "id": "organisationID"},
    "programme_parts": {},
}
# A project in several programme parts: its parts joined, sorted, by this.
PART_SEPARATOR = "+"
RECORD = "record"  # 1-based data record of the export file (quoted line breaks make it differ
# from the line number)

CONTRACT_TABLES = ("consortia", "members", "tasks")
# The workflow reads the folder it writes itself: Parquet, no CSV round trip between
# stages. The command-line ingest writes CSV by default, for people to open.
TABLE_FORMATS = ("csv", "parquet")
WORKFLOW_TABLE_FORMAT = "parquet"
SOURCE_FILE = "source.json"
LOG_FILE = "adapter_log.csv"
EXCLUDED_FILE = "excluded_projects.csv"

CONSORTIA_COLUMNS = (
    "consortium_id", "lead_type", "founded_year", "dissolved_year", "name", "lead_org_id",
    "programme", "funding_scheme", "programme_part", "scheme_or_part", "topic", "legal_basis",
    "participants", "cordis_note",
)  # fmt: skip
MEMBERS_COLUMNS = (
    "consortium_id", "member_id", "member_type", "is_lead", "decision_weight", "funding",
    "country", "sme", "role", "activity_type", "name",
)  # fmt: skip
TASKS_COLUMNS = ("consortium_id", "task_id", "start_date", "end_date", "status")
TABLE_COLUMNS = {"consortia": CONSORTIA_COLUMNS, "members": MEMBERS_COLUMNS, "tasks": TASKS_COLUMNS}
LOG_COLUMNS = ("file", "record", "project_id", "organisation_id", "outcome", "detail")
TASK_ID = "project"


class CordisFormatError(Exception):
    """An export that cannot be read as the EC layout: the message names the file, the
    column or record, and what was expected."""


# Why a project is not a consortium (excluded_projects.csv `rule`, joined by "; " when
# it fails several).
RULE_FEW_PARTICIPANTS = "fewer_participants"
RULE_FUNDING_SCHEME = "funding_scheme"
RULE_PROGRAMME_PART = "programme_part"
EXCLUSION_RULES = (RULE_FEW_PARTICIPANTS, RULE_FUNDING_SCHEME, RULE_PROGRAMME_PART)


@dataclass(frozen=True)
class Selection:
    """Which projects count as consortia for analysis: at least ``min_participants``
    distinct organisations in a ``counted_roles`` role, and a kind of grant that is
    collaborative: a funding scheme matching none of ``exclude_funding_schemes`` or, in an
    export without funding schemes, programme parts matching none of
    ``exclude_programme_parts`` (:func:`scheme_source`)."""

    min_participants: int = 3
    counted_roles: tuple[str, ...] = DEFAULT_COUNTED_ROLES
    exclude_funding_schemes: tuple[str, ...] = DEFAULT_EXCLUDED_SCHEMES
    exclude_programme_parts: tuple[str, ...] = DEFAULT_EXCLUDED_PARTS

    @classmethod
    def from_config(cls, cfg: Mapping | None) -> Selection:
        cfg = dict(cfg or {})
        keys = {"min_participants", "counted_roles", "exclude_funding_schemes",
                "exclude_programme_parts"}  # fmt: skip
        unknown = sorted(set(cfg) - keys)
        if unknown:
            raise ValueError(f"cordis.selection: unknown key(s) {unknown}")

        def patterns(key: str, default: tuple[str, ...]) -> tuple[str, ...]:
            return tuple(str(p) for p in cfg.get(key, default))

        return cls(
            min_participants=int(cfg.get("min_participants", cls.min_participants)),
            counted_roles=patterns("counted_roles", DEFAULT_COUNTED_ROLES),
            exclude_funding_schemes=patterns("exclude_funding_schemes", DEFAULT_EXCLUDED_SCHEMES),
            exclude_programme_parts=patterns("exclude_programme_parts", DEFAULT_EXCLUDED_PARTS),
        )

    def as_dict(self) -> dict:
        return {
            "min_participants": self.min_participants,
            "counted_roles": list(self.counted_roles),
            "exclude_funding_schemes": list(self.exclude_funding_schemes),
            "exclude_programme_parts": list(self.exclude_programme_parts),
        }

    def excluded_pattern(self, values: pd.Series, source: str) -> pd.Series:
        """The first exclusion pattern each value of ``scheme_or_part`` matches (missing
        where none does): funding schemes against ``exclude_funding_schemes``; programme
        parts (several joined by :data:`PART_SEPARATOR`) part by part against
        ``exclude_programme_parts``."""
        if source == SCHEME_FROM_FUNDING_SCHEME:
            patterns = self.exclude_funding_schemes
        else:
            patterns = self.exclude_programme_parts
        first = {}
        for value in values.unique():
            parts = [value] if source == SCHEME_FROM_FUNDING_SCHEME else value.split(PART_SEPARATOR)
            first[value] = next(
                (
                    p
                    for part in parts
                    for p in patterns
                    if part and fnmatch.fnmatchcase(part.upper(), p.upper())
                ),
                None,
            )
        return values.map(first)


# Where scheme_or_part comes from (source.json `scheme_or_part.source`).
SCHEME_FROM_FUNDING_SCHEME = "fundingScheme"
SCHEME_FROM_PARTS_FILE = "programme_parts"
SCHEME_FROM_LEGAL_BASIS = "legalBasis"


def scheme_source(projects: pd.DataFrame, has_parts_file: bool) -> str:
    """Which column says what kind of grant a project is: the funding scheme when the
    export has any; otherwise the programme part, from the programme-parts file when one is
    given, else from ``legalBasis`` (the code of the programme part in an official
    export)."""
    if (projects["fundingScheme"] != "").any():
        return SCHEME_FROM_FUNDING_SCHEME
    return SCHEME_FROM_PARTS_FILE if has_parts_file else SCHEME_FROM_LEGAL_BASIS


def programme_parts_of(parts: pd.DataFrame) -> pd.Series:
    """Each project's programme parts (rows of a programme-parts file as read by
    :func:`read_export`), distinct, sorted and joined by :data:`PART_SEPARATOR`; indexed
    by projectID."""
    rows = parts.loc[parts["programmePart"] != "", ["projectID", "programmePart"]]
    rows = rows.drop_duplicates().sort_values(["projectID", "programmePart"])
    return rows.groupby("projectID")["programmePart"].agg(PART_SEPARATOR.join)


@dataclass
class Ingest:
    """The contract tables (text, as written) and everything said about how they were made."""

    tables: dict[str, pd.DataFrame]
    log: pd.DataFrame
    excluded: pd.DataFrame
    summary: dict
    selection: Selection = field(default_factory=Selection)


# --------------------------------------------------------------------------- reading


def read_export(path: str | Path, table: str, encoding: str = "utf-8") -> pd.DataFrame:
    """One EC export file (``table``: projects, organizations or programme_parts) as
    trimmed text.

    Columns: the EC names the adapter uses (canonical spelling; optional ones absent
    from the file are empty) and ``record``. Raises CordisFormatError naming the file.
    """
    path = Path(path)
    required, optional = {
        "projects": (PROJECT_REQUIRED, PROJECT_OPTIONAL),
        "organizations": (ORGANIZATION_REQUIRED, ORGANIZATION_OPTIONAL),
        "programme_parts": (PARTS_REQUIRED, ()),
    }[table]
    canonical = {name.lower(): name for name in (*required, *optional)}
    canonical |= HEADER_ALIASES[table]
    if not path.is_file():
        raise CordisFormatError(f"{path}: file not found; expected the EC's {table} export")
    codec = "utf-8-sig" if encoding.lower().replace("_", "-") in ("utf-8", "utf8") else encoding
    try:
        header = pd.read_csv(path, sep=";", nrows=0, encoding=codec).columns
        wanted = _pick_headers(header, canonical, path, table, required)
        frame = pd.read_csv(
            path,
            sep=";",
            dtype=str,
            keep_default_na=False,
            na_filter=False,
            encoding=codec,
            usecols=list(wanted),
        )
    except UnicodeDecodeError as error:
        raise CordisFormatError(
            f"{path}: byte {error.start} is not valid {encoding}; CORDIS exports are UTF-8. "
            f"If the file was re-saved in another encoding, pass it (--encoding, or "
            f"cordis.encoding in the config), e.g. cp1252"
        ) from error
    except pd.errors.ParserError as error:
        raise CordisFormatError(
            f"{path}: not readable as a semicolon-separated CORDIS export ({error}); expected "
            f"';' between fields and double quotes around fields that contain ';' or line breaks"
        ) from error
    except pd.errors.EmptyDataError as error:
        raise CordisFormatError(
            f"{path}: the file is empty; expected the EC's {table} export"
        ) from error
    frame = frame.rename(columns=wanted)
    for name in (*required, *optional):
        frame[name] = frame[name].str.strip() if name in frame else ""
    frame[RECORD] = np.arange(1, len(frame) + 1)
    return frame[[*required, *optional, RECORD]]


def _pick_headers(
    header: Sequence[str], canonical: Mapping[str, str], path: Path, table: str, required
) -> dict[str, str]:
    """File header -> canonical EC name, for the columns the adapter reads."""
    if len(header) == 1 and "," in str(header[0]):
        raise CordisFormatError(
            f"{path}: the header has one column that contains commas ({str(header[0])[:60]}...); "
            f"CORDIS exports are semicolon-separated"
        )
    picked: dict[str, str] = {}
    for name in header:
        target = canonical.get(str(name).strip().lower())
        if target is not None and target not in picked.values():
            picked[name] = target
    missing = [name for name in required if name not in picked.values()]
    if missing:
        raise CordisFormatError(
            f"{path}: the {table} export lacks column(s) {', '.join(missing)}; expected the EC's "
            f"headers ({', '.join(required)} at least; matched ignoring case); found "
            f"{', '.join(map(str, header[:30]))}"
        )
    return picked


# --------------------------------------------------------------------------- values


def _iso_dates(text: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Dates rewritten as YYYY-MM-DD where the EC wrote them with a time or day first;
    anything else unchanged (cleaning then quarantines what is not a date). Returns the
    values and a mask of the rewritten ones."""
    with_time = text.str.match(r"^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}")
    day_first = text.str.extract(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")
    is_day_first = day_first[0].notna()
    out = text.where(~with_time, text.str[:10])
    rebuilt = day_first[2] + "-" + day_first[1].str.zfill(2) + "-" + day_first[0].str.zfill(2)
    out = out.where(~is_day_first, rebuilt)
    return out, with_time | is_day_first


def _year_of(iso_dates: pd.Series) -> pd.Series:
    """The year of an ISO date; other non-empty text passes on as written (cleaning then
    reports it as not a year)."""
    return iso_dates.where(~iso_dates.str.match(r"^\d{4}-\d{2}-\d{2}$"), iso_dates.str[:4])


def _decimal_points(text: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Amounts with a decimal comma (``1234,5``) rewritten with a point; returns the values
    and the mask of rewritten ones."""
    comma = text.str.fullmatch(r"-?\d+,\d+")
    return text.where(~comma, text.str.replace(",", ".", regex=False)), comma


def _format_weight(weights: pd.Series) -> pd.Series:
    text = weights.map(lambda w: f"{w:.12g}", na_action="ignore")
    return text.fillna("").astype(object)


# --------------------------------------------------------------------------- building


def contract_tables(
    projects: pd.DataFrame,
    organizations: pd.DataFrame,
    selection: Selection | None = None,
    programme_parts: pd.DataFrame | None = None,
) -> Ingest:
    """The contract tables from the exports as read by :func:`read_export` (the
    programme-parts file optional)."""
    selection = selection or Selection()
    log_parts: list[pd.DataFrame] = []

    projects = projects.copy()
    for column in ("startDate", "endDate"):
        as_read = projects[column]
        projects[column], rewritten = _iso_dates(as_read)
        log_parts.append(
            _log(
                projects[rewritten],
                "projects",
                "date_rewritten",
                column
                + " "
                + as_read[rewritten]
                + " written as "
                + projects.loc[rewritten, column],
            )
        )

    organizations = organizations.copy()
    contribution_text = organizations["ecContribution"]
    organizations["ecContribution"], comma = _decimal_points(contribution_text)
    log_parts.append(
        _log(
            organizations[comma],
            "organizations",
            "decimal_comma",
            "ecContribution "
            + contribution_text[comma]
            + " read as "
            + organizations.loc[comma, "ecContribution"],
        )
    )

    counted_roles = {role.lower() for role in selection.counted_roles}
    counted = (organizations["organisationID"] != "") & organizations["role"].str.lower().isin(
        counted_roles
    )
    participants = organizations.loc[counted].groupby("projectID")["organisationID"].nunique()
    projects["participants"] = projects["id"].map(participants).fillna(0).astype(int)
    source = scheme_source(projects, programme_parts is not None)
    parts = (
        projects["id"].map(programme_parts_of(programme_parts)).fillna("")
        if programme_parts is not None
        else projects["legalBasis"]
    )
    projects["programme_part"] = parts
    projects["scheme_or_part"] = (
        projects["fundingScheme"] if source == SCHEME_FROM_FUNDING_SCHEME else parts
    )
    excluded = _excluded_projects(projects, organizations, selection, source)
    kept_projects = projects[~projects["id"].isin(excluded["project_id"])]
    # Organisation rows of projects absent from project.csv are passed on: cleaning
    # quarantines them (unknown_consortium_key) and the quality report counts them.
    kept_rows = organizations[~organizations["projectID"].isin(excluded["project_id"])]

    leads, lead_log = _resolve_leads(kept_rows, kept_projects)
    log_parts.append(lead_log)
    members = _members(kept_rows)
    consortia = _consortia(kept_projects, leads)
    tasks = _tasks(kept_projects)
    log = pd.concat([pd.DataFrame(columns=list(LOG_COLUMNS)), *log_parts], ignore_index=True)
    tables = {"consortia": consortia, "members": members, "tasks": tasks}
    summary = _summary(projects, organizations, kept_rows, excluded, tables, log, leads)
    summary["scheme_or_part"] = {
        "source": source,
        "rule": SCHEME_RULES[source],
        "projects_without_one": int((projects["scheme_or_part"] == "").sum()),
    }
    summary["organization_rows"]["by_role"] = {
        str(role): {"rows": int(n), "counted_as_participant": str(role).lower() in counted_roles}
        for role, n in organizations["role"].value_counts().sort_index().items()
    }
    return Ingest(tables=tables, log=log, excluded=excluded, summary=summary, selection=selection)


# What scheme_or_part is, by source (source.json, the accounting page).
SCHEME_RULES = {
    SCHEME_FROM_FUNDING_SCHEME: "scheme_or_part = fundingScheme; projects whose funding scheme "
    "matches selection.exclude_funding_schemes are excluded (rule funding_scheme)",
    SCHEME_FROM_PARTS_FILE: "the export has no fundingScheme: scheme_or_part = the project's "
    "programme parts from the programme-parts file (several joined by '+'); projects with a "
    "part matching selection.exclude_programme_parts are excluded (rule programme_part)",
    SCHEME_FROM_LEGAL_BASIS: "the export has no fundingScheme and no programme-parts file was "
    "given: scheme_or_part = legalBasis (the code of the programme part); projects whose "
    "legalBasis matches selection.exclude_programme_parts are excluded (rule programme_part)",
}


def _log(rows: pd.DataFrame, file: str, outcome: str, detail) -> pd.DataFrame:
    if rows.empty:
        return pd.DataFrame(columns=list(LOG_COLUMNS))
    project = rows["id"] if file == "projects" else rows["projectID"]
    organisation = rows.get("organisationID", "")
    return pd.DataFrame(
        {
            "file": file,
            "record": rows[RECORD],
            "project_id": project,
            "organisation_id": organisation,
            "outcome": outcome,
            "detail": detail,
        }
    )[list(LOG_COLUMNS)]


def _excluded_projects(
    projects: pd.DataFrame, organizations: pd.DataFrame, selection: Selection, source: str
) -> pd.DataFrame:
    """One row per project the selection leaves out: every rule it fails (``rule``) and
    why (``reasons``)."""
    few = projects["participants"] < selection.min_participants
    pattern = selection.excluded_pattern(projects["scheme_or_part"], source)
    kind_rule = RULE_FUNDING_SCHEME if source == SCHEME_FROM_FUNDING_SCHEME else RULE_PROGRAMME_PART
    kind = pattern.notna()
    out = projects.loc[few | kind]
    few, kind, pattern = few[out.index], kind[out.index], pattern[out.index]
    few_text = (
        f"fewer than {selection.min_participants} distinct participants in the roles "
        f"{', '.join(selection.counted_roles)} (" + out["participants"].astype(str) + ")"
    )
    what = "funding scheme" if kind_rule == RULE_FUNDING_SCHEME else "programme part"
    kind_text = what + " " + out["scheme_or_part"] + " is not collaborative (matches "
    kind_text = kind_text + pattern.fillna("") + ")"
    rule = np.select(
        [few & kind, few], [f"{RULE_FEW_PARTICIPANTS}; {kind_rule}", RULE_FEW_PARTICIPANTS],
        kind_rule,
    )  # fmt: skip
    reasons = np.select([few & kind, few], [few_text + "; " + kind_text, few_text], kind_text)
    rows = organizations["projectID"].value_counts()
    return pd.DataFrame(
        {
            "project_id": out["id"],
            "acronym": out["acronym"],
            "funding_scheme": out["fundingScheme"],
            "programme_part": out["programme_part"],
            "framework_programme": out["frameworkProgramme"],
            "start_date": out["startDate"],
            "participants": out["participants"],
            "organization_rows": out["id"].map(rows).fillna(0).astype(int),
            "rule": rule,
            "reasons": reasons,
            "record": out[RECORD],
        }
    ).reset_index(drop=True)


def _mapped_types(codes: pd.Series) -> pd.Series:
    """activityType -> organisation type; unknown codes unchanged (cleaning quarantines them
    as unknown_org_type), empty stays empty (missing_required)."""
    return codes.str.upper().map(ACTIVITY_TYPES).fillna(codes)


def _resolve_leads(rows: pd.DataFrame, projects: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per project: lead_type, lead_org_id and a note, from its coordinator rows.

    One coordinating organisation: it leads (its activityType empty -> lead_type empty,
    and cleaning quarantines the project). Several: the one with an activityType if only
    one has any (the others are then quarantined by cleaning for their missing type);
    several typed ones of one type give that lead_type and no lead_org_id (cleaning sets
    their lead rows aside as multiple_leads); typed ones of different types, or none typed,
    leave lead_type empty. No coordinator row: lead_type empty.
    """
    coordinators = rows.loc[rows["role"].str.lower() == COORDINATOR,
                            ["projectID", "organisationID", "activityType"]]  # fmt: skip
    coordinators = coordinators.drop_duplicates().assign(
        lead_type=lambda c: _mapped_types(c["activityType"])
    )
    by_project = coordinators.groupby("projectID")
    typed = coordinators[coordinators["activityType"] != ""]
    by_typed = typed.groupby("projectID")
    leads = pd.DataFrame(index=pd.Index(projects["id"].unique(), name="projectID"))
    leads["n_orgs"] = by_project["organisationID"].nunique()
    leads["n_typed_orgs"] = by_typed["organisationID"].nunique()
    leads["n_types"] = by_typed["lead_type"].nunique()
    leads["typed_org"] = by_typed["organisationID"].first()
    leads["any_org"] = by_project["organisationID"].first()
    leads["type"] = by_typed["lead_type"].first()
    leads = leads.fillna({"n_orgs": 0, "n_typed_orgs": 0, "n_types": 0}).astype(
        {"n_orgs": int, "n_typed_orgs": int, "n_types": int}
    )

    n_orgs, n_typed, n_types = leads["n_orgs"], leads["n_typed_orgs"], leads["n_types"]
    outcome = np.select(
        [
            n_orgs == 0,
            (n_orgs == 1) & (n_typed == 0),
            (n_orgs == 1) & (n_types > 1),
            n_orgs == 1,
            n_typed == 0,
            n_types > 1,
            n_typed == 1,
        ],
        [
            "no_coordinator",
            "coordinator_without_type",
            "coordinator_rows_disagree",
            "single_coordinator",
            "several_coordinators_none_typed",
            "several_coordinators_different_types",
            "lead_is_the_typed_coordinator",
        ],
        default="several_coordinators_same_type",
    )
    leads["outcome"] = outcome
    type_known = np.isin(outcome, ["single_coordinator", "lead_is_the_typed_coordinator",
                                   "several_coordinators_same_type"])  # fmt: skip
    leads["lead_type"] = np.where(type_known, leads["type"], "")
    leads["lead_org_id"] = np.select(
        [np.isin(outcome, ["single_coordinator", "coordinator_without_type",
                           "coordinator_rows_disagree"]),
         outcome == "lead_is_the_typed_coordinator"],
        [leads["any_org"], leads["typed_org"]],
        default="",
    )  # fmt: skip
    notes = {
        "no_coordinator": "no coordinator row: lead type unknown",
        "coordinator_without_type": "the coordinator has no activityType: lead type unknown",
        "coordinator_rows_disagree": "the coordinator's rows give different activityTypes: {c}",
        "several_coordinators_none_typed": "several coordinator rows, none with an "
        "activityType: {c}",
        "lead_is_the_typed_coordinator": "several coordinator rows: {c}; the lead is the one "
        "with an activityType",
        "several_coordinators_same_type": "several coordinator rows of one type: {c}; lead "
        "type known, lead organisation not",
        "several_coordinators_different_types": "several coordinator rows of different types: "
        "{c}; lead type unknown",
    }
    unusual = leads.index[leads["outcome"] != "single_coordinator"]
    listed = coordinators[coordinators["projectID"].isin(unusual)]
    listing = (
        (listed["organisationID"] + " (" + listed["activityType"].replace("", "no type") + ")")
        .groupby(listed["projectID"])
        .agg(", ".join)
    )
    leads["cordis_note"] = ""
    leads.loc[unusual, "cordis_note"] = [
        notes[o].format(c=listing.get(project, ""))
        for project, o in zip(unusual, leads.loc[unusual, "outcome"])
    ]
    unusual = leads.loc[unusual]
    record = projects.drop_duplicates("id").set_index("id")[RECORD]
    log = pd.DataFrame(
        {
            "file": "projects",
            "record": unusual.index.map(record),
            "project_id": unusual.index,
            "organisation_id": unusual["lead_org_id"],
            "outcome": unusual["outcome"],
            "detail": unusual["cordis_note"],
        }
    )[list(LOG_COLUMNS)]
    return leads[["lead_type", "lead_org_id", "outcome", "cordis_note"]], log


def _decision_weights(rows: pd.DataFrame) -> pd.Series:
    """Each row's share of its project's recorded EC contribution (DECISION_WEIGHT_PROXY)."""
    amount = pd.to_numeric(rows["ecContribution"], errors="coerce")
    usable = amount.where(np.isfinite(amount) & (amount >= 0))
    distinct = ~rows.drop(columns=RECORD).duplicated()
    total = usable.where(distinct).groupby(rows["projectID"]).transform("sum")
    return (usable / total).where(total > 0)


def _members(rows: pd.DataFrame) -> pd.DataFrame:
    role = rows["role"].str.lower()
    return pd.DataFrame(
        {
            "consortium_id": rows["projectID"],
            "member_id": rows["organisationID"],
            "member_type": _mapped_types(rows["activityType"]),
            "is_lead": np.where(role == "", "", np.where(role == COORDINATOR, "true", "false")),
            "decision_weight": _format_weight(_decision_weights(rows)),
            "funding": rows["ecContribution"],
            "country": rows["country"],
            "sme": rows["SME"],
            "role": rows["role"],
            "activity_type": rows["activityType"],
            "name": rows["name"],
        }
    )[list(MEMBERS_COLUMNS)].reset_index(drop=True)


def _consortia(projects: pd.DataFrame, leads: pd.DataFrame) -> pd.DataFrame:
    lead = leads.reindex(projects["id"].to_numpy())
    return pd.DataFrame(
        {
            "consortium_id": projects["id"].to_numpy(),
            "lead_type": lead["lead_type"].to_numpy(),
            "founded_year": _year_of(projects["startDate"]).to_numpy(),
            "dissolved_year": _year_of(projects["endDate"]).to_numpy(),
            "name": projects["acronym"].to_numpy(),
            "lead_org_id": lead["lead_org_id"].to_numpy(),
            "programme": projects["frameworkProgramme"].to_numpy(),
            "funding_scheme": projects["fundingScheme"].to_numpy(),
            "programme_part": projects["programme_part"].to_numpy(),
            "scheme_or_part": projects["scheme_or_part"].to_numpy(),
            "topic": projects["topics"].to_numpy(),
            "legal_basis": projects["legalBasis"].to_numpy(),
            "participants": projects["participants"].to_numpy(),
            "cordis_note": lead["cordis_note"].to_numpy(),
        }
    )[list(CONSORTIA_COLUMNS)]


def _tasks(projects: pd.DataFrame) -> pd.DataFrame:
    end = projects["endDate"]
    terminated = projects["status"].str.upper() == "TERMINATED"
    status = np.where(end == "", "ongoing", np.where(terminated, "abandoned", "achieved"))
    return pd.DataFrame(
        {
            "consortium_id": projects["id"].to_numpy(),
            "task_id": TASK_ID,
            "start_date": projects["startDate"].to_numpy(),
            "end_date": end.to_numpy(),
            "status": status,
        }
    )[list(TASKS_COLUMNS)]


def _summary(
    projects: pd.DataFrame,
    organizations: pd.DataFrame,
    kept_rows: pd.DataFrame,
    excluded: pd.DataFrame,
    tables: dict[str, pd.DataFrame],
    log: pd.DataFrame,
    leads: pd.DataFrame,
) -> dict:
    """Counts of every outcome (JSON-ready)."""
    members = tables["members"]
    exact_copies = members.duplicated()
    distinct = members[~exact_copies]
    repeated_key = distinct.duplicated(["consortium_id", "member_id"], keep=False)
    written_projects = set(tables["consortia"]["consortium_id"])
    orphan = ~kept_rows["projectID"].isin(set(projects["id"]))
    weights = members[members["consortium_id"].isin(written_projects)].assign(
        w=lambda m: m["decision_weight"] != "", lead=lambda m: m["is_lead"] == "true"
    )
    by_project = weights.groupby("consortium_id")
    has_any = by_project["w"].any()
    all_given = by_project["w"].all()
    lead_rows = weights[weights["lead"]]
    lead_weight_known = lead_rows.groupby("consortium_id")["w"].any()
    outcomes = leads.loc[leads.index.isin(written_projects), "outcome"].value_counts()
    return {
        "projects": {
            "read": len(projects),
            "written": len(tables["consortia"]),
            "excluded": len(excluded),
            "excluded_by_rule": {
                str(rule): int(n)
                for rule, n in excluded["rule"].value_counts().sort_index().items()
            },
            "lead_resolution": {str(k): int(v) for k, v in outcomes.items()},
        },
        "organization_rows": {
            "read": len(organizations),
            "written": len(members),
            "of_excluded_projects": int(len(organizations) - len(kept_rows)),
            "without_project_in_project_file": int(orphan.sum()),
        },
        "passed_to_cleaning": {
            "member_rows_exact_copies": int(exact_copies.sum()),
            "member_rows_repeating_a_key_with_other_values": int(repeated_key.sum()),
            "member_rows_without_activity_type": int((members["member_type"] == "").sum()),
            "member_rows_with_unknown_activity_type": int(
                (
                    (members["member_type"] != "")
                    & ~members["member_type"].isin(ACTIVITY_TYPES.values())
                ).sum()
            ),
            "member_rows_without_contribution": int((members["funding"] == "").sum()),
            "member_rows_without_organisation_id": int((members["member_id"] == "").sum()),
            "projects_without_lead_type": int((tables["consortia"]["lead_type"] == "").sum()),
            "projects_without_start_date": int((tables["tasks"]["start_date"] == "").sum()),
        },
        "rewritten": {
            outcome: int(n)
            for outcome, n in log["outcome"].value_counts().items()
            if outcome in ("decimal_comma", "date_rewritten")
        },
        "decision_weight": {
            "projects_with_weights": int(has_any.sum()),
            "projects_with_a_weight_for_every_row": int((has_any & all_given).sum()),
            "projects_without_any_weight": int((~has_any).sum()),
            "projects_whose_lead_rows_have_a_weight": int(lead_weight_known.sum()),
        },
        "tasks": {k: int(v) for k, v in tables["tasks"]["status"].value_counts().items()},
    }


# --------------------------------------------------------------------------- writing


def contract_files(table_format: str = "csv") -> dict[str, str]:
    """File name of each contract table the adapter writes, in ``table_format``."""
    if table_format not in TABLE_FORMATS:
        raise ValueError(f"table_format must be one of {TABLE_FORMATS}, not {table_format!r}")
    return {table: f"{table}.{table_format}" for table in CONTRACT_TABLES}


def ingest_cordis(
    projects_path: str | Path,
    organizations_path: str | Path,
    out_dir: str | Path,
    selection: Selection | Mapping | None = None,
    encoding: str = "utf-8",
    table_format: str = "csv",
    programme_parts_path: str | Path | None = None,
) -> dict:
    """Read the exports (the programme-parts file optional) and write the dataset folder
    (module docstring), its contract tables as ``table_format`` (csv or parquet); returns
    the summary of outcomes that ``source.json`` also records."""
    files = contract_files(table_format)
    if not isinstance(selection, Selection):
        selection = Selection.from_config(selection)
    projects = read_export(projects_path, "projects", encoding)
    organizations = read_export(organizations_path, "organizations", encoding)
    parts = (
        read_export(programme_parts_path, "programme_parts", encoding)
        if programme_parts_path is not None
        else None
    )
    ingest = contract_tables(projects, organizations, selection, parts)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for table, frame in ingest.tables.items():
        # an empty text is a missing value, as an empty CSV cell is read
        frame = frame.replace("", None)
        if table_format == "parquet":
            frame.to_parquet(out_dir / files[table], index=False)
        else:
            frame.to_csv(out_dir / files[table], index=False, lineterminator="\n")
    ingest.log.to_csv(out_dir / LOG_FILE, index=False, lineterminator="\n")
    ingest.excluded.to_csv(out_dir / EXCLUDED_FILE, index=False, lineterminator="\n")
    source = {
        "source": "European Commission, CORDIS open data (EC export layout: project.csv and "
        "organization.csv)",
        "adapter": "consortia.adapters.cordis",
        "inputs": {
            "projects": _file_record(projects_path, len(projects)),
            "organizations": _file_record(organizations_path, len(organizations)),
            **(
                {"programme_parts": _file_record(programme_parts_path, len(parts))}
                if parts is not None
                else {}
            ),
            "encoding": encoding,
        },
        "mapping": {
            "consortium": "one per selected project (project.csv id)",
            "lead_type": "activityType of the coordinator (role = coordinator): "
            + ", ".join(f"{code} -> {kind}" for code, kind in ACTIVITY_TYPES.items()),
            "founded_year": "year of startDate",
            "dissolved_year": "year of endDate (contractual end)",
            "programme": "frameworkProgramme",
            "extra_columns": "funding_scheme (fundingScheme), programme_part (the programme-"
            "parts file, else legalBasis), scheme_or_part (the kind of grant: "
            + SCHEME_RULES[ingest.summary["scheme_or_part"]["source"]]
            + "), topic (topics), legal_basis (legalBasis), participants (distinct "
            "organisationIDs in the counted roles), cordis_note (how the lead was chosen when "
            "the coordinator rows were unusual)",
            "members": "one per organisation row of a selected project, whatever its role "
            "(roles outside selection.counted_roles are members that do not count towards "
            "the participants); member_type from activityType, is_lead = role is "
            "coordinator, funding = ecContribution",
            "tasks": "one per project, task_id 'project'",
        },
        "decision_weight_proxy": DECISION_WEIGHT_PROXY,
        "tasks_caveat": TASKS_CAVEAT,
        "money": MONEY_NOTE,
        "selection": selection.as_dict(),
        "summary": ingest.summary,
        "files": {
            **files,
            "log": LOG_FILE,
            "excluded_projects": EXCLUDED_FILE,
        },
    }
    (out_dir / SOURCE_FILE).write_text(
        json.dumps(source, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    return ingest.summary


def _file_record(path: str | Path, records: int) -> dict:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return {"path": str(path), "sha256": digest.hexdigest(), "records": records}


def plan(config: Mapping, table_format: str = WORKFLOW_TABLE_FORMAT) -> DatasetPlan:
    """The workflow's plan of the folder :func:`ingest` will write into ``config["dataset"]``,
    before it exists (the Snakefile plans at parse time; the ingest rule writes the folder
    later)."""
    dataset = Path(config["dataset"])
    return DatasetPlan(
        dataset=str(dataset),
        files={table: str(dataset / name) for table, name in contract_files(table_format).items()},
        columns={
            table: [c for c in TABLE_COLUMNS[table] if c in TABLES[table].columns]
            for table in CONTRACT_TABLES
        },
        absent_tables=[table for table in TABLES if table not in CONTRACT_TABLES],
    )


def ingest(config: Mapping, out_dir: str | Path, table_format: str = "csv") -> dict:
    """:func:`ingest_cordis` with the exports, selection and encoding of the config's
    ``cordis`` block."""
    cordis = config["cordis"]
    return ingest_cordis(
        cordis["projects"],
        cordis["organizations"],
        out_dir,
        selection=cordis.get("selection"),
        encoding=cordis.get("encoding", "utf-8"),
        table_format=table_format,
        programme_parts_path=cordis.get("programme_parts"),
    )
