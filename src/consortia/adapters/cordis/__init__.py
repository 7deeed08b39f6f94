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

Modules: :mod:`~consortia.adapters.cordis.export` (reading the EC's files),
:mod:`~consortia.adapters.cordis.selection` (what counts as a consortium),
:mod:`~consortia.adapters.cordis.mapping` (the contract tables, the log and the counts),
:mod:`~consortia.adapters.cordis.folder` (the folder written, its plan, the protocol).
"""

from __future__ import annotations

from consortia.adapters.cordis.export import (
    PART_SEPARATOR,
    CordisFormatError,
    read_export,
)
from consortia.adapters.cordis.folder import (
    EXCLUDED_FILE,
    LOG_FILE,
    SOURCE_FILE,
    WORKFLOW_TABLE_FORMAT,
    contract_files,
    ingest,
    ingest_cordis,
    plan,
    sidecars,
    sources,
)
from consortia.adapters.cordis.mapping import (
    ACTIVITY_TYPES,
    COORDINATOR,
    DECISION_WEIGHT_PROXY,
    NO_OUTPUTS_NOTE,
    TASKS_CAVEAT,
    contract_tables,
)
from consortia.adapters.cordis.selection import (
    Selection,
)

__all__ = [
    "ACTIVITY_TYPES",
    "COORDINATOR",
    "DECISION_WEIGHT_PROXY",
    "EXCLUDED_FILE",
    "LOG_FILE",
    "NO_OUTPUTS_NOTE",
    "PART_SEPARATOR",
    "SOURCE_FILE",
    "TASKS_CAVEAT",
    "WORKFLOW_TABLE_FORMAT",
    "CordisFormatError",
    "Selection",
    "contract_files",
    "contract_tables",
    "ingest",
    "ingest_cordis",
    "plan",
    "sidecars",
    "sources",
    "read_export",
]
