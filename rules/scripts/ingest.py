"""Snakemake entry point of rule `ingest`: all logic is in the data adapter (consortia.adapters)."""

from consortia import adapters
from consortia.workflow import logged_step

with logged_step(snakemake.log[0]):  # noqa: F821 (injected by Snakemake)
    adapters.ingest(snakemake.params.adapter_config)  # noqa: F821
