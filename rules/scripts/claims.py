"""Snakemake entry point of rule `claims`: all logic is in consortia.claims.claims_step."""

from consortia.claims.outputs import claims_step
from consortia.workflow import logged_step

with logged_step(snakemake.log[0]):  # noqa: F821 (injected by Snakemake)
    claims_step(
        registry_path=snakemake.input.registry,  # noqa: F821
        panel_path=snakemake.input.panel,  # noqa: F821
        json_path=snakemake.output.json,  # noqa: F821
        table_stem=snakemake.output.table_html.rsplit(".", 1)[0],  # noqa: F821
        figure_stem=snakemake.output.forest.rsplit(".", 1)[0],  # noqa: F821
        csv_path=snakemake.output.csv,  # noqa: F821
        tasks_path=snakemake.input.get("tasks"),  # noqa: F821
        consortia_path=snakemake.input.consortia,  # noqa: F821
        seed=snakemake.params.seed,  # noqa: F821
    )
