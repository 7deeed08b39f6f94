"""Snakemake entry point of rule `replication`.

All logic is in consortia.replication.replication_step.
"""

from consortia.replication import replication_step
from consortia.workflow import logged_step

with logged_step(snakemake.log[0]):  # noqa: F821 (injected by Snakemake)
    replication_step(
        provenance_path=snakemake.input.provenance,  # noqa: F821
        readme_path=snakemake.input.readme,  # noqa: F821
        claims_registry_path=snakemake.input.claims_registry,  # noqa: F821
        replication_path=snakemake.output[0],  # noqa: F821
    )
