"""The rules' entry points: ``montecarlo_batch`` and ``montecarlo_summary``."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from consortia.claims import load_registry
from consortia.montecarlo.batches import run_batch
from consortia.montecarlo.present import coverage_table, error_rate_figure
from consortia.montecarlo.summary import summarise

log = logging.getLogger("consortia.montecarlo")


def batch_step(
    output_path: str | Path,
    registry_path: str | Path,
    truth_name: str,
    overrides: Mapping,
    batch_index: int,
    n_worlds: int,
    n_consortia: int,
    world: Mapping,
    seed: int,
    claims: Sequence[str] | None = None,
) -> None:
    """Rule ``montecarlo_batch``: one batch of worlds of ``n_consortia`` consortia to
    Parquet (``claims``: the truth's claims, all when None)."""
    slurm_job = os.environ.get("SLURM_JOB_ID")
    log.info(
        "batch %s/%d on %s",
        truth_name,
        batch_index,
        f"SLURM job {slurm_job}" if slurm_job else "the local machine",
    )
    frame = run_batch(
        truth_name,
        batch_index,
        n_worlds,
        int(n_consortia),
        seed,
        overrides=overrides,
        n_years=int(world.get("n_years", 8)),
        first_year=int(world.get("first_year", 2016)),
        registry=registry_path,
        claims=claims,
    )
    Path(output_path).parent.mkdir(parents=True, exist_ok=True)
    frame.to_parquet(output_path, index=False)


def summary_step(
    batch_paths: Sequence[str | Path],
    table_stem: str | Path,
    figure_stem: str | Path,
    study: Mapping,
    truths: Mapping,
    registry_path: str | Path,
) -> pd.DataFrame:
    """Rule ``montecarlo_summary``: the error-rate and coverage table (CSV/MD/HTML/TeX) and
    the error-rate figure, claims named by the registry's labels."""
    from consortia.render.figure import save_figure
    from consortia.render.table_writers import write_table

    slurm_job = os.environ.get("SLURM_JOB_ID")
    if slurm_job:
        log.info("summary on SLURM job %s", slurm_job)
    batches = pd.concat([pd.read_parquet(p) for p in batch_paths], ignore_index=True)
    summary = summarise(batches)
    labelled = {
        name: {"label": spec.get("label", name), "description": spec["description"]}
        for name, spec in truths.items()
    }
    claim_labels = {c.id: c.label for c in load_registry(registry_path).claims}
    write_table(coverage_table(summary, study, labelled, claim_labels), table_stem)
    save_figure(error_rate_figure(summary, labelled, claim_labels), figure_stem)
    return summary
