"""Snakemake entry point of rule `cordis_accounting`: logic in consortia.adapters.accounting."""

from consortia.adapters.accounting import accounting_step
from consortia.workflow import logged_step

with logged_step(snakemake.log[0]):  # noqa: F821 (injected by Snakemake)
    accounting_step(
        source_path=snakemake.input.source,  # noqa: F821
        quality_path=snakemake.input.quality,  # noqa: F821
        out_path=snakemake.output[0],  # noqa: F821
    )
