"""Snakemake entry point of rule `provenance`.

All logic is in consortia.provenance.provenance_step.
"""

from consortia.provenance import provenance_step
from consortia.workflow import logged_step

with logged_step(snakemake.log[0]):  # noqa: F821 (injected by Snakemake)
    provenance_step(
        outputs=list(snakemake.input.outputs),  # noqa: F821
        dataset_files=list(snakemake.input.dataset),  # noqa: F821
        config_files=list(snakemake.input.config_files),  # noqa: F821
        provenance_path=snakemake.output[0],  # noqa: F821
        config=snakemake.params.resolved_config,  # noqa: F821
        rules=snakemake.params.rule_records,  # noqa: F821
        run=snakemake.params.run,  # noqa: F821
    )
