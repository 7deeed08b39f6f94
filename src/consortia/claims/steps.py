"""The claims steps the workflow's rules call (rules/claims.smk): evaluation and rendering
are two rules, so that a change to a table or the forest plot does not re-run the
evaluation.

* :func:`claims_step` (rule ``claims``) — read the clean data, evaluate the registry, write
  ``claims.json`` and record the verdicts in the history beside it;
* :func:`claims_tables_step` (rule ``claims_tables``) — from ``claims.json`` alone, the
  one-row-per-claim CSV, the claims table and the forest plot.

* :func:`km_figure_step` (rule ``claims_km``), :func:`transfer_figure_step` (rule
  ``claims_transfer_rate``) — the two further figures (:mod:`.figures`), or a placeholder
  naming why one cannot be drawn.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from consortia.files import read_parquet_columns
from consortia.render.figure import draw_or_placeholder

from .driver import evaluate_claims
from .figures import (
    KM_COLUMNS,
    TASK_SURVIVAL,
    TASK_TIME,
    TRANSFER_FIGURE_COLUMNS,
    km_curves,
    time_ratio_summary,
    transfer_rate_vs_claim,
)
from .history import HISTORY_FILE, record_verdicts
from .outputs import read_results, write_outputs, write_results_json
from .registry import load_registry
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


def km_figure_step(
    tasks_path: str | Path,
    figure_stem: str | Path,
    json_path: str | Path | None = None,
    labels: dict | None = None,
) -> str | None:
    """Read ``tasks.parquet`` (and the claims JSON for the speed test); write the KM figure,
    or a placeholder naming why it cannot be drawn (the reason is returned). ``labels``:
    the config's, whose ``task_time`` and ``task_survival`` word the axes."""
    labels = labels or {}
    tasks = read_parquet_columns(tasks_path, KM_COLUMNS)
    return draw_or_placeholder(
        lambda: km_curves(
            tasks,
            time_ratio=time_ratio_summary(json_path),
            time_label=labels.get("task_time", TASK_TIME),
            survival_label=labels.get("task_survival", TASK_SURVIVAL),
        ),
        figure_stem,
        "Kaplan–Meier curves by lead type",
    )


def transfer_figure_step(
    registry_path: str | Path, panel_path: str | Path, figure_stem: str | Path, seed: int = 0
) -> str | None:
    """Read the registry and ``panel.parquet``; write the transfer-rate-vs-claim figure, or
    a placeholder naming why it cannot be drawn (the reason is returned)."""
    panel = read_parquet_columns(panel_path, TRANSFER_FIGURE_COLUMNS)
    registry = load_registry(registry_path)
    return draw_or_placeholder(
        lambda: transfer_rate_vs_claim(panel, registry, seed),
        figure_stem,
        "Technology-transfer rate against the claim",
    )
