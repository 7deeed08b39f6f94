"""Snakemake entry point of rule `ingest_cordis`: all logic is in consortia.adapters.cordis."""

from pathlib import Path

from consortia.adapters.cordis import ingest_cordis
from consortia.workflow import logged_step

with logged_step(snakemake.log[0]):  # noqa: F821 (injected by Snakemake)
    ingest_cordis(
        projects_path=snakemake.input.projects,  # noqa: F821
        organizations_path=snakemake.input.organizations,  # noqa: F821
        out_dir=Path(snakemake.output.source).parent,  # noqa: F821
        selection=snakemake.params.selection,  # noqa: F821
        encoding=snakemake.params.encoding,  # noqa: F821
        table_format=snakemake.params.table_format,  # noqa: F821
        programme_parts_path=snakemake.input.get("programme_parts"),  # noqa: F821
    )
