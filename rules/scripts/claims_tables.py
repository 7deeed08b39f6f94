"""Snakemake entry point of rule `claims_tables`: logic in
consortia.claims.steps.claims_tables_step."""

from consortia.claims.steps import claims_tables_step
from consortia.workflow import logged_step

with logged_step(snakemake.log[0]):  # noqa: F821 (injected by Snakemake)
    claims_tables_step(
        json_path=snakemake.input.json,  # noqa: F821
        table_stem=snakemake.output.table_html.rsplit(".", 1)[0],  # noqa: F821
        figure_stem=snakemake.output.forest.rsplit(".", 1)[0],  # noqa: F821
        csv_path=snakemake.output.csv,  # noqa: F821
    )
