"""The CORDIS accounting page: from the EC's rows to the analysis sample, the adapter's
outcomes (its ``source.json``) and the cleaning's (``quality.json``) in one page."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from consortia.adapters.cordis import NO_OUTPUTS_NOTE
from consortia.files import read_json

# Oddities passed to cleaning as found: summary key, what it is, what cleaning does with it.
PASSED_ODDITIES = (
    ("member_rows_exact_copies", "member rows identical to an earlier row",
     "collapsed (duplicates_collapsed)"),
    ("member_rows_repeating_a_key_with_other_values",
     "member rows repeating a project × organisation key with other values",
     "every copy quarantined (conflicting_duplicate, or missing_required first)"),
    ("member_rows_without_activity_type", "member rows without activityType",
     "quarantined (missing_required)"),
    ("member_rows_with_unknown_activity_type", "member rows with an unknown activityType",
     "quarantined (unknown_org_type)"),
    ("member_rows_without_contribution", "member rows without ecContribution",
     "no rule broken: funding and decision_weight left empty"),
    ("projects_without_lead_type", "projects without a lead type",
     "quarantined (missing_required); their members and task too (unknown_consortium_key)"),
)  # fmt: skip


def accounting_markdown(source: Mapping, quality: Mapping) -> str:
    """From the EC's rows to the clean tables: the adapter's outcomes and the cleaning's,
    in one page."""
    summary = source["summary"]
    projects, rows = summary["projects"], summary["organization_rows"]
    selection, weights = source["selection"], summary["decision_weight"]
    inputs = [
        f"| {f['path']} | {f['records']} | `{f['sha256'][:16]}…` |"
        for name, f in source["inputs"].items()
        if name in ("projects", "organizations", "programme_parts")
    ]
    selected = [
        ("read", projects["read"]),
        *((f"excluded: {rule}", n) for rule, n in projects["excluded_by_rule"].items()),
        (f"written to {source['files']['consortia']}", projects["written"]),
    ]
    roles = ", ".join(
        f"{role} {r['rows']} ({'counted' if r['counted_as_participant'] else 'not counted'})"
        for role, r in rows["by_role"].items()
    )
    kind = summary["scheme_or_part"]
    passed = summary["passed_to_cleaning"]
    cleaning = [
        f"| {table} | {t['rows_read']} | {t['rows_kept']} | {t['rows_quarantined']} | "
        f"{t['duplicates_collapsed']} | "
        f"{', '.join(f'{k} {v}' for k, v in t['quarantined_by_rule'].items()) or '–'} |"
        for table, t in quality["tables"].items()
    ]
    leads = ", ".join(f"{k} {v}" for k, v in sorted(projects["lead_resolution"].items()))
    rows_text = (
        f"Organisation rows: {rows['read']} read = {rows['written']} written to "
        f"{source['files']['members']} + "
        f"{rows['of_excluded_projects']} of excluded projects; "
        f"{rows['without_project_in_project_file']} written rows name a project absent from "
        f"the project file. Every excluded project is listed with its reasons in "
        f"{source['files']['excluded_projects']}."
    )
    weight_text = (
        f"Projects with weights: {weights['projects_with_weights']}; with a weight for every "
        f"row: {weights['projects_with_a_weight_for_every_row']}; whose lead rows have one: "
        f"{weights['projects_whose_lead_rows_have_a_weight']}."
    )
    lines = [
        "# CORDIS: from the EC's rows to the analysis sample",
        "",
        f"Source: {source['source']}.",
        "",
        "| file | records | sha256 |",
        "|---|---:|---|",
        *inputs,
        "",
        "## Selection (what counts as a consortium)",
        "",
        f"At least {selection['min_participants']} distinct participants (organisationIDs in "
        + f"the roles {', '.join(selection['counted_roles'])}) and a collaborative kind of "
        + "grant. Kind of grant: "
        + kind["rule"]
        + f" ({kind['projects_without_one']} projects have none). Excluded funding schemes: "
        + ", ".join(selection["exclude_funding_schemes"])
        + "; excluded programme parts: "
        + ", ".join(selection["exclude_programme_parts"])
        + ".",
        "",
        f"Organisation rows by role: {roles}. Every row of a selected project is written "
        + "as a member; only the counted roles make a project a consortium.",
        "",
        "| projects | count |",
        "|---|---:|",
        *(f"| {label} | {count} |" for label, count in selected),
        "",
        rows_text,
        "",
        "## Passed to cleaning as found",
        "",
        "| oddity | count | outcome in cleaning |",
        "|---|---:|---|",
        *(f"| {label} | {passed[key]} | {outcome} |" for key, label, outcome in PASSED_ODDITIES),
        "",
        f"How the lead was chosen (projects written): {leads}. Values rewritten: "
        + f"{summary['rewritten'] or 'none'} (listed in {source['files']['log']}).",
        "",
        "## Cleaning (quality.json)",
        "",
        "| table | read | kept | quarantined | collapsed | by rule |",
        "|---|---:|---:|---:|---:|---|",
        *cleaning,
        "",
        "## What the data are, and are not",
        "",
        f"- Decision weight (a proxy). {source['decision_weight_proxy']} {weight_text}",
        f"- Durations. {source['tasks_caveat']}",
        f"- Money. {source['money']}",
        f"- Outputs. {NO_OUTPUTS_NOTE}",
        "",
    ]
    return "\n".join(lines)


def accounting_step(
    source_path: str | Path, quality_path: str | Path, out_path: str | Path
) -> None:
    source = read_json(source_path)
    quality = read_json(quality_path)
    Path(out_path).parent.mkdir(parents=True, exist_ok=True)
    Path(out_path).write_text(accounting_markdown(source, quality), encoding="utf-8")
