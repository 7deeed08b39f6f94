"""Snakemake entry point of rule `clean`: all logic is in consortia.workflow.clean_step."""

from consortia.workflow import clean_step, logged_step

with logged_step(snakemake.log[0]):  # noqa: F821 (injected by Snakemake)
    clean_step(
        files=dict(snakemake.input.items()),  # noqa: F821
        clean_paths={table: snakemake.output[table] for table in snakemake.input.keys()},  # noqa: F821
        quarantine_path=snakemake.output.quarantine,  # noqa: F821
        fixes_path=snakemake.output.fixes,  # noqa: F821
        quality_path=snakemake.output.quality,  # noqa: F821
        **snakemake.params,  # noqa: F821
    )
