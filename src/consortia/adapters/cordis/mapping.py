"""The contract tables from the exports as read: the lead of each project, its members
and their decision-weight proxy, the project as one task, the adapter's log of what it
rewrote or decided, and the counts of every outcome."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from consortia.adapters.cordis.export import RECORD, programme_parts_of
from consortia.adapters.cordis.selection import (
    SCHEME_FROM_FUNDING_SCHEME,
    SCHEME_RULES,
    Selection,
    projects_left_out,
    scheme_source,
)

# activityType codes of the EC -> the contract's organisation types.
ACTIVITY_TYPES: dict[str, str] = {
    "PRC": "enterprise",
    "HES": "university",
    "REC": "research_institute",
    "PUB": "government",
    "OTH": "other",
}


COORDINATOR = "coordinator"


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


@dataclass
class Ingest:
    """The contract tables (text, as written) and everything said about how they were made."""

    tables: dict[str, pd.DataFrame]
    log: pd.DataFrame
    excluded: pd.DataFrame
    summary: dict
    selection: Selection = field(default_factory=Selection)


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
    excluded = projects_left_out(projects, organizations, selection, source)
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
