"""The dataset folder the adapter writes (the contract tables, ``source.json``, the log
and the excluded projects), the workflow's plan of it, and the adapter protocol
(:func:`plan`, :func:`ingest`; :mod:`consortia.adapters`)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path

from consortia.adapters.cordis.export import read_export
from consortia.adapters.cordis.mapping import (
    ACTIVITY_TYPES,
    DECISION_WEIGHT_PROXY,
    MONEY_NOTE,
    TABLE_COLUMNS,
    TASKS_CAVEAT,
    contract_tables,
)
from consortia.adapters.cordis.selection import SCHEME_RULES, Selection
from consortia.contract import TABLES
from consortia.workflow import DatasetPlan

CONTRACT_TABLES = ("consortia", "members", "tasks")


# The workflow reads the folder it writes itself: Parquet, no CSV round trip between
# stages. The command-line ingest writes CSV by default, for people to open.
TABLE_FORMATS = ("csv", "parquet")


WORKFLOW_TABLE_FORMAT = "parquet"


SOURCE_FILE = "source.json"


LOG_FILE = "adapter_log.csv"


EXCLUDED_FILE = "excluded_projects.csv"
# The EC's files a config's cordis block names (programme_parts is optional).
EXPORTS = ("projects", "organizations", "programme_parts")


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


def sources(config: Mapping) -> dict[str, str]:
    """The EC's files the config's ``cordis`` block names."""
    cordis = config["cordis"]
    return {key: cordis[key] for key in EXPORTS if key in cordis}


def sidecars(config: Mapping) -> dict[str, str]:
    """What :func:`ingest` writes beside the contract tables."""
    dataset = Path(config["dataset"])
    return {
        "source": str(dataset / SOURCE_FILE),
        "adapter_log": str(dataset / LOG_FILE),
        "excluded": str(dataset / EXCLUDED_FILE),
    }


def ingest(
    config: Mapping, out_dir: str | Path, table_format: str = WORKFLOW_TABLE_FORMAT
) -> dict:
    """:func:`ingest_cordis` with the exports, selection and encoding of the config's
    ``cordis`` block, in the format :func:`plan` promises."""
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
