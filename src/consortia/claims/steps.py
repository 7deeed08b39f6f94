"""The claims steps the workflow's rules call (rules/claims.smk): evaluation and rendering
are two rules, so that a change to a table or the forest plot does not re-run the
evaluation.

* :func:`claims_step` (rule ``claims``) — read the clean data, evaluate the registry, write
  ``claims.json`` and record the verdicts in the history beside it;
* :func:`claims_tables_step` (rule ``claims_tables``) — from ``claims.json`` alone, the
  one-row-per-claim CSV, the claims table and the forest plot.

The two further figures have their steps in :mod:`.figures`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from .driver import evaluate_claims
from .history import HISTORY_FILE, record_verdicts
from .outputs import read_results, write_outputs, write_results_json
from .results import ClaimsResults


def claims_step(
    registry_path: str | Path,
    panel_path: str | Path,
    json_path: str | Path,
    *,
    tasks_path: str | Path | None = None,
    consortia_path: str | Path | None = None,
    seed: int = 0,
) -> ClaimsResults:
    """Read the clean data, evaluate every claim, write ``json_path`` and add the verdicts
    to the history beside it (once per evaluation).

    ``panel_path`` / ``tasks_path``: ``panel.parquet`` / ``tasks.parquet`` of the
    measures step (``tasks_path`` None when the dataset has no tasks table);
    ``consortia_path``: the clean consortia table (optional, for the lead-type share).
    """
    panel = pd.read_parquet(panel_path)
    tasks = pd.read_parquet(tasks_path) if tasks_path is not None else None
    consortia = pd.read_parquet(consortia_path) if consortia_path is not None else None
    results = evaluate_claims(registry_path, panel, tasks, consortia=consortia, seed=seed)
    write_results_json(results, json_path)
    record_verdicts(
        results.registry["sha256"],
        results.registry["source"],
        results.verdicts,
        Path(json_path).with_name(HISTORY_FILE),
    )
    return results


def claims_tables_step(
    json_path: str | Path,
    table_stem: str | Path,
    figure_stem: str | Path,
    csv_path: str | Path | None = None,
) -> dict[str, Any]:
    """From ``json_path`` (written by :func:`claims_step`): ``csv_path`` (one row per
    claim; not written when None), ``table_stem``.{tex,html,md,csv} (one row per test) and
    the forest plot ``figure_stem``.{png,pdf}."""
    return write_outputs(read_results(json_path), table_stem, figure_stem, csv_path=csv_path)
