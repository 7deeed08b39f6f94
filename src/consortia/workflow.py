"""The workflow's steps as plain functions over paths.

Each Snakemake rule calls exactly one ``*_step`` function here through a
few-line script in ``rules/scripts``; the steps read their inputs, call the
package's DataFrame functions and write their outputs. They also run without
Snakemake (the CLI and the tests call them directly).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from consortia import io, measures
from consortia.files import read_parquet_columns, shared_stem

TABLE_EXTENSIONS = (".csv", ".md", ".html", ".tex")
# PNG and PDF of a figure and its caption (consortia.render.figure.save_figure)
FIGURE_EXTENSIONS = (".png", ".pdf", ".txt")

log = logging.getLogger("consortia")


@contextlib.contextmanager
def logged_step(log_file: str | Path):
    """Send the package's log records and any traceback of the step to ``log_file``."""
    Path(log_file).parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(log_file, mode="w", encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger("consortia")
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    logging.captureWarnings(True)
    logging.getLogger("py.warnings").addHandler(handler)
    try:
        yield
    except Exception:
        root.error("step failed:\n%s", traceback.format_exc())
        raise
    finally:
        root.removeHandler(handler)
        logging.getLogger("py.warnings").removeHandler(handler)
        handler.close()


@dataclass(frozen=True)
class DatasetPlan:
    """What a dataset folder holds, read from file headers when the workflow loads."""

    dataset: str
    files: dict[str, str]
    columns: dict[str, list[str]]
    absent_tables: list[str] = field(default_factory=list)

    def has_table(self, table: str) -> bool:
        return table in self.files

    def missing_inputs(self, measure: str) -> list[str]:
        """Contract columns (as table.column) that ``measure`` needs and the dataset lacks."""
        return measures.missing_inputs(measure, self.columns)

    def can_build(self, measure: str) -> bool:
        return not self.missing_inputs(measure)

    def describe(self) -> str:
        lines = [f"consortia: dataset {self.dataset}"]
        for table, path in self.files.items():
            lines.append(f"  {table:<10} {path} ({len(self.columns[table])} contract columns)")
        for table in self.absent_tables:
            lines.append(f"  {table:<10} absent: steps that need it are skipped")
        for measure in measures.MEASURE_INPUTS:
            missing = self.missing_inputs(measure)
            if missing:
                lines.append(f"  skipped: {measure} (missing {', '.join(missing)})")
        return "\n".join(lines)


def plan_dataset(dataset: str, tables_cfg: dict, columns_cfg: dict) -> DatasetPlan:
    """Find the dataset's tables and their columns; stop with a ContractError if unusable."""
    found = io.discover_dataset(dataset, tables_cfg, columns_cfg)
    return DatasetPlan(
        dataset=str(dataset),
        files={table: str(info["path"]) for table, info in found["tables"].items()},
        columns={table: list(info["columns"]) for table, info in found["tables"].items()},
        absent_tables=list(found["absent_tables"]),
    )


def read_and_clean(
    files: dict[str, str],
    tables_cfg: dict,
    columns_cfg: dict,
    org_type_synonyms: dict,
    industry_map: dict,
    money: dict,
    censoring_date=None,
):
    """Read every table of a dataset and clean it (the CLI's `validate` and rule `clean`)."""
    # Imported here: cleaning pulls in pandera, which the other steps do not need.
    from consortia.clean import clean_dataset

    raw, faults = {}, []
    for table, path in files.items():
        try:
            raw[table] = io.read_table(
                path, table, tables_cfg.get(table, {}), columns_cfg.get(table, {})
            )
        except io.ContractError as fault:  # read every table: name every fault at once
            faults.append(fault)
    if faults:
        raise io.combined(faults, os.path.commonpath([str(Path(p).parent) for p in files.values()]))
    return clean_dataset(
        raw,
        sources=files,
        config={
            "org_type_synonyms": org_type_synonyms,
            "industry_map": industry_map,
            "money": money,
            "censoring_date": censoring_date,
        },
    )


def clean_step(
    files: dict[str, str],
    clean_paths: dict[str, str],
    quarantine_path: str,
    fixes_path: str,
    quality_path: str,
    absent_tables: list[str],
    **cleaning_cfg,
) -> dict:
    """Clean every table and write the kept rows, the set-aside rows and the quality report."""
    from consortia import report

    dataset = os.path.commonpath([str(Path(path).parent) for path in files.values()])
    cleaned = read_and_clean(files, **cleaning_cfg)
    for table, path in clean_paths.items():
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        cleaned.tables[table].to_parquet(path, index=False)
    cleaned.quarantine.to_csv(quarantine_path, index=False)
    cleaned.fixes.to_csv(fixes_path, index=False)
    quality = report.quality_report(cleaned, dataset=dataset, absent_tables=absent_tables)
    report.write_quality(quality, quality_path)
    log.info("\n%s", report.summary_text(quality))
    return quality


def _read_clean(clean_paths: dict[str, str]) -> dict[str, pd.DataFrame]:
    return {table: pd.read_parquet(path) for table, path in clean_paths.items()}


def panel_step(clean_paths: dict[str, str], panel_path: str, measures_path: str) -> None:
    """Build the consortium-year panel and record which measures could be built."""
    tables = _read_clean(clean_paths)
    panel = measures.build_panel(tables["consortia"], tables["members"], tables.get("panel"))
    panel.to_parquet(panel_path, index=False)
    built = measures.panel_metadata(panel, tables)
    _write_json(built, measures_path)
    log.info(
        "panel: %d consortium-years, %d consortia", len(panel), panel["consortium_id"].nunique()
    )


def tasks_step(
    clean_tasks_path: str, clean_consortia_path: str, tasks_path: str, censoring_date: str | None
) -> None:
    """Durations and censoring of every task, with the consortium's lead type attached."""
    tasks = measures.build_tasks(
        pd.read_parquet(clean_tasks_path),
        pd.read_parquet(clean_consortia_path),
        censoring_date=censoring_date,
    )
    tasks.to_parquet(tasks_path, index=False)
    log.info("tasks: %d tasks, %d censored", len(tasks), int(tasks["censored"].sum()))


def metadata_step(
    inputs: dict[str, str], metadata_path: str, dataset: str, money: dict, censoring_date
) -> None:
    """One file that says where the clean data came from and in which units it is."""
    quality = json.loads(Path(inputs["quality"]).read_text())
    panel = pd.read_parquet(inputs["panel"], columns=["consortium_id", "year"])
    deflator = money.get("deflator")
    metadata = {
        "source_dataset": str(dataset),
        "money": {
            "currency": money["currency"],
            "prices": "constant" if deflator else "current",
            "base_year": deflator["base_year"] if deflator else None,
            "units_as_recorded": money.get("units", {}),
            "default_unit_as_recorded": money.get("default_unit", money["currency"]),
        },
        "rows": {
            "panel": len(panel),
            "consortia": int(panel["consortium_id"].nunique()),
            "years": [int(panel["year"].min()), int(panel["year"].max())] if len(panel) else [],
        },
        "measures": json.loads(Path(inputs["measures"]).read_text()),
        "quality": {table: {k: v for k, v in info.items() if k.startswith(("rows", "dup"))}
                    for table, info in quality["tables"].items()},
    }
    if "tasks" in inputs:
        tasks = pd.read_parquet(inputs["tasks"], columns=["exit_date", "censored"])
        metadata["rows"]["tasks"] = len(tasks)
        metadata["tasks"] = {
            "censoring_date": str(tasks["exit_date"].max().date()) if censoring_date is None
            else censoring_date,
            "censored": int(tasks["censored"].sum()),
        }
    _write_json(metadata, metadata_path)


def table1_step(
    panel_path: str, metadata_path: str, outputs: list[str], labels: dict | None = None
) -> None:
    """Table 1; ``labels`` (the config's ``labels:``) renames variables whose meaning depends
    on the data (on CORDIS the lead's "decision weight" is its share of the EC contribution)."""
    from dataclasses import replace

    from consortia import describe
    from consortia.render.table_writers import write_table

    labels = labels or {}
    variables = [
        replace(v, label=labels[v.column]) if v.column in labels else v
        for v in describe.TABLE1_VARIABLES
    ]
    wanted = {"consortium_id", "lead_type", *(v.column for v in variables)}
    panel = read_parquet_columns(panel_path, wanted)
    metadata = json.loads(Path(metadata_path).read_text())
    table = describe.descriptives_by_lead_type(
        panel,
        variables,
        currency=metadata["money"]["currency"],
        base_year=metadata["money"]["base_year"],
    )
    write_table(table, shared_stem(outputs))


def figure_transfer_rate_step(panel_path: str, outputs: list[str], seed: int) -> str | None:
    """The transfer-rate figure, or a placeholder naming why it cannot be drawn (returned)."""
    from consortia.describe import transfer_rate_by_lead_type
    from consortia.render.figure import draw_or_placeholder

    panel = read_parquet_columns(
        panel_path, {"consortium_id", "lead_type", "year", "transfer_rate"}
    )
    return draw_or_placeholder(
        lambda: transfer_rate_by_lead_type(panel, seed=seed),
        shared_stem(outputs),
        "Technology-transfer rate by lead type",
    )


def quality_summary(quality_path: str | Path) -> str:
    from consortia import report

    return report.summary_text(json.loads(Path(quality_path).read_text()))


# The main outputs a run announces at its end: (what, path under the results folder).
MAIN_OUTPUTS = (
    ("clean panel", "data/panel.parquet"),
    ("rows set aside", "data/quarantine.csv"),
    ("tables (.tex .html .md .csv)", "tables"),
    ("figures (.png .pdf, caption .txt)", "figures"),
    ("claims, one row each", "claims/claims.csv"),
    ("fitted models", "models/fits"),
    ("replication README", "REPLICATION.md"),
)


def outputs_summary(results: str | Path) -> str:
    """Where the run's main outputs are, and the command that bundles them into a report
    inside the results folder; the last lines a run prints."""
    results = Path(results)
    lines = [f"Outputs in {results}:"]
    for what, relative in MAIN_OUTPUTS:
        path = results / relative
        if path.exists():
            shown = f"{path}/ ({len(list(path.iterdir()))} files)" if path.is_dir() else str(path)
            lines.append(f"  {what:<36} {shown}")
    lines.append(
        "  report (one HTML file)               snakemake --report "
        f"{results / 'report.html'} (with the run's --config)"
    )
    return "\n".join(lines)


def _write_json(payload: dict, path: str | Path) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(payload, indent=2, sort_keys=True, default=str) + "\n")
