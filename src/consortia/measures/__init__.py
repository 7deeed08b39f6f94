"""Derived measures: the consortium-year panel and the task (breakthrough-cycle) durations.

Inputs are the cleaned tables of ``clean.clean_dataset`` (contract column names, typed,
kept rows only). Extra columns (``source_row``, a user's own) are ignored. Any optional
contract column may be absent: a measure whose inputs are absent is left out of the
output (not filled with NaN), and :func:`panel_metadata` says which measures were
skipped and which ``table.column`` caused it (``MEASURE_INPUTS`` lists the inputs of
every output column; the workflow reads it to plan a run before any data is read).

The clean panel (``build_panel``), one row per consortium x year
----------------------------------------------------------------
Rows (docs/design.md "The clean panel"):

* a consortium with rows in the ``panel`` table gets exactly those years (they lie
  within its life: cleaning quarantines the others, and ``build_panel`` refuses rows
  outside it);
* a consortium without panel rows gets a structure-only row for every year of the
  window it was alive: ``max(founded_year, first) .. min(dissolved_year, last)``.
  The window ``(first, last)`` is the panel table's year range; without a panel table
  (or with an empty one) it runs from the earliest ``founded_year`` to the latest year
  recorded anywhere in ``consortia`` / ``members`` (founded, dissolved, join and exit
  years). ``years=(first, last)`` sets it explicitly (and then also drops panel rows
  outside it, because the caller asked for it).

Membership spells: a member is active in year t when ``join_year <= t <= exit_year``;
an empty ``join_year`` is the consortium's ``founded_year``, an empty ``exit_year``
means still a member. All structure measures are over the members active in the year.

Decisions a user should know:

* zero denominators give NaN, never inf (``safe_ratio``); a consortium-year with no
  active member has ``n_members = 0`` and NaN shares, diversity, HHI, equity-tie share,
  chain coverage, member-based intensities, and ``<NA>`` ``has_academic_partner``;
* ``lead_decision_weight`` is the lead's ``decision_weight`` as given (not renormalised),
  in the years the lead member is active, NaN otherwise or when unknown. The lead is
  the member flagged ``is_lead``; if a consortium has no flagged member (or the column
  is absent) the member whose ``member_id`` is ``consortia.lead_org_id``; if several
  are flagged, the flagged one matching ``lead_org_id``, else unknown;
* ``decision_hhi`` = sum of squared weights of the active members renormalised to sum
  to one; NaN unless every active member has a weight (and their sum is positive);
* ``equity_tie_share`` is over the active members whose ``equity_tie`` is known (a blank
  cell is unknown, not false); NaN when none is known;
* ``chain_coverage`` counts distinct known chain positions among active members / 3
  (members without a position, e.g. government bodies, simply add none);
* besides the design's columns the panel carries the ratio inputs ``collab_events``,
  ``tasks_total`` and ``tasks_industrial`` as given (count models and weights need them);
* the network measures (``lead_prior_led``, ``lead_prior_joined``,
  ``lead_prior_partners``, ``lead_effective_size``, ``repeat_tie_share``) come from the
  graph of organisations across consortia before each consortium was founded
  (:mod:`consortia.network`: definitions, and why nothing looks ahead);
* keys and time: ``year``, ``founded_year``, ``age``, ``n_members`` are int64; counts
  from the panel table keep their nullable Int64, money float64, flags pandas
  ``boolean``; every ratio is float64 with NaN.

Tasks (``build_tasks``), one row per task
-----------------------------------------
``exit_date`` is ``end_date``, or the censoring date when ``end_date`` is empty. The
censoring date is the configured one or, by default, the latest date (start or end) in
the tasks table. ``event`` = 1 iff the task was achieved, else 0; ``censored = 1 - event``
(ongoing tasks are censored at the censoring date, abandoned ones at their end date).
With a configured date earlier than some dates in the data, censoring is administrative:
a task ending after the date is treated as still running then (exit = censoring date,
event 0), and a task starting after it was not yet at risk (no exit date, no duration,
event 0). A closed (achieved/abandoned) task without an end date has no exit date and
no duration. ``duration_days`` = exit - start in days (float64), ``duration_years`` =
days / 365.25. A missing status is inferred (``achieved`` with an end date, ``ongoing``
without) and recorded as a ``task_status_inferred`` fix (consortia.clean already does this, so
after cleaning there is nothing left to infer): ``build_tasks(..., return_fixes=True)``
returns ``(tasks, fixes)``; ``tasks_metadata`` counts censoring reasons.

Everything is vectorised over the tables (no Python loop over consortia, members or
tasks): the membership sums of every consortium-year come from +v / -v events at the
start and one-past-the-end of each member's spell on a dense year grid, cumulated
within each consortium.
"""

from __future__ import annotations

from consortia.measures.formulas import (
    blau_index,
    chain_coverage,
    collab_intensity,
    decision_hhi,
    equity_tie_share,
    has_academic_partner,
    hhi,
    industrial_task_share,
    lead_decision_weight,
    rd_per_member,
    safe_ratio,
    subsidy_share,
    transfer_rate,
    type_shares,
)
from consortia.measures.inputs import (
    ACADEMIC_TYPES,
    MEASURE_ALTERNATIVES,
    MEASURE_INPUTS,
    PANEL_COLUMNS,
    SHARE_COLUMNS,
    TASK_COLUMNS,
    TASK_PASSTHROUGH_COLUMNS,
    MeasureInputError,
    missing_inputs,
)
from consortia.measures.panel import (
    build_panel,
    consortium_measures,
    member_spells,
    network_inputs,
    panel_metadata,
    panel_skeleton,
    panel_window,
    resolve_lead,
    spell_sums,
)
from consortia.measures.tasks import (
    build_tasks,
    censoring_date_of,
    infer_task_status,
    tasks_metadata,
)

__all__ = [
    "ACADEMIC_TYPES",
    "MEASURE_ALTERNATIVES",
    "MEASURE_INPUTS",
    "PANEL_COLUMNS",
    "SHARE_COLUMNS",
    "TASK_COLUMNS",
    "TASK_PASSTHROUGH_COLUMNS",
    "MeasureInputError",
    "blau_index",
    "build_panel",
    "build_tasks",
    "censoring_date_of",
    "chain_coverage",
    "collab_intensity",
    "consortium_measures",
    "decision_hhi",
    "equity_tie_share",
    "has_academic_partner",
    "hhi",
    "industrial_task_share",
    "infer_task_status",
    "lead_decision_weight",
    "member_spells",
    "missing_inputs",
    "network_inputs",
    "panel_metadata",
    "panel_skeleton",
    "panel_window",
    "rd_per_member",
    "resolve_lead",
    "safe_ratio",
    "spell_sums",
    "subsidy_share",
    "tasks_metadata",
    "transfer_rate",
    "type_shares",
]
