"""Snakemake entry point of rule `cordis_claims_registry`: logic in consortia.adapters.overrides."""

from consortia.adapters.overrides import claims_registry_step
from consortia.workflow import logged_step

with logged_step(snakemake.log[0]):  # noqa: F821 (injected by Snakemake)
    claims_registry_step(
        base_path=snakemake.input.base,  # noqa: F821
        overrides=snakemake.params.overrides,  # noqa: F821
        config_block=snakemake.params.config_block,  # noqa: F821
        out_path=snakemake.output.registry,  # noqa: F821
    )
