"""Snakemake entry point of rule `specification_tests`: logic in consortia.estimate.steps."""

from consortia.estimate.steps import specification_tests_step
from consortia.workflow import logged_step

with logged_step(snakemake.log[0]):  # noqa: F821 (injected by Snakemake)
    pairs = snakemake.params.pairs  # noqa: F821
    specification_tests_step(
        pairs=pairs,
        re_fits=dict(zip(pairs, snakemake.input.re, strict=True)),  # noqa: F821
        mundlak_fits=dict(zip(pairs, snakemake.input.mundlak, strict=True)),  # noqa: F821
        out_paths=dict(zip(pairs, snakemake.output, strict=True)),  # noqa: F821
    )
