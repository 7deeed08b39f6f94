"""Snakemake entry point of rule `scp_tables`: all logic is in consortia.estimate.steps."""

from consortia.estimate.steps import tables_step
from consortia.files import stems_by_name
from consortia.workflow import logged_step

with logged_step(snakemake.log[0]):  # noqa: F821 (injected by Snakemake)
    inputs, params = snakemake.input, snakemake.params  # noqa: F821
    tables_step(
        plan_tables=params.tables,
        fit_jsons=dict(zip(params.fit_names, inputs.fits, strict=True)),
        test_jsons=dict(zip(params.test_names, inputs.tests, strict=True)),
        table_stems=stems_by_name(snakemake.output),  # noqa: F821
        labels=params.labels,
        tests=params.tests,
        mediation_table=params.mediation_table,
        mediation_jsons=dict(zip(params.mediation_names, inputs.mediation, strict=True)),
        systems=params.system_names,
        system_jsons=dict(zip(params.system_names, inputs.systems, strict=True)),
    )
