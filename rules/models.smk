# SCP models (docs/models.md): fit every specification of config/models.yaml that
# the dataset allows, one JSON file per specification, test pair, mediation and
# system; then build the tables and figures from those files only, so that a
# change to a table or a figure never refits a model.
#
# What runs is decided here, from the dataset's headers (PLAN): a model whose
# variables the dataset cannot provide has no rule and is listed, with the
# missing columns, in results/models/manifest.json and in the notes of its
# table. Without any panel outcome (e.g. CORDIS data), nothing here runs.
import re


include: "models_helpers.smk"


if SCP.models:

    rule fit_models:
        """Fit every SCP specification the dataset allows: one JSON per spec, and the manifest."""
        input:
            panel=results_path("data", "panel.parquet"),
        output:
            fits=scp_fits(),
            manifest=scp_path("manifest.json"),
        log:
            log_path("fit_models"),
        benchmark:
            benchmark_path("fit_models")
        # the longest job and on the critical path (clean → panel → fit_models → tables):
        # started first once the panel exists, the shorter jobs fill the other cores
        priority: 10
        conda:
            "../environment.yml"
        params:
            specs=list(SCP.models.values()),
            derived=SCP.derived,
            planned_skips=SCP.skipped,
        script:
            "scripts/models_fit.py"

    EXTRA_OUTPUTS += [scp_path("manifest.json")]


if SCP.tests:

    rule specification_tests:
        """Hausman and cluster-robust Mundlak tests of RE against FE, one JSON per pair, from the stored fits."""
        input:
            re=scp_test_fits("re"),
            mundlak=scp_test_fits("mundlak"),
        output:
            scp_tests(),
        log:
            log_path("specification_tests"),
        benchmark:
            benchmark_path("specification_tests")
        conda:
            "../environment.yml"
        params:
            pairs=SCP.tests,
        script:
            "scripts/models_tests.py"


if SCP.mediation:

    rule mediation:
        """One structure → conduct → performance mediation with a seeded cluster bootstrap: a job per mediation, so a cluster spreads them."""
        input:
            panel=results_path("data", "panel.parquet"),
        output:
            scp_path("mediation", "{mediation}.json"),
        log:
            log_path("mediation_{mediation}"),
        benchmark:
            benchmark_path("mediation_{mediation}")
        wildcard_constraints:
            mediation="|".join(re.escape(name) for name in SCP.mediation),
        conda:
            "../environment.yml"
        params:
            entries=lambda wildcards: [SCP.mediation[wildcards.mediation]],
            derived=SCP.derived,
            seed=config["seed"],
        script:
            "scripts/models_mediation.py"


if SCP.system:

    rule system_fit:
        """The S → C and C → P equations estimated jointly (SUR), one JSON per system."""
        input:
            panel=results_path("data", "panel.parquet"),
        output:
            scp_systems(),
        log:
            log_path("system_fit"),
        benchmark:
            benchmark_path("system_fit")
        conda:
            "../environment.yml"
        params:
            systems=list(SCP.system.values()),
            equations=scp_system_equations(),
            derived=SCP.derived,
        script:
            "scripts/models_system.py"


if SCP.tables or SCP.mediation_table or SCP.system:

    rule scp_tables:
        """SCP regression tables (RE/FE tests under each pair), mediation and SUR tables, from the stored fits."""
        input:
            fits=scp_fits(),
            tests=scp_tests(),
            mediation=scp_mediations(),
            systems=scp_systems(),
        output:
            **scp_table_outputs(),
        log:
            log_path("scp_tables"),
        benchmark:
            benchmark_path("scp_tables")
        conda:
            "../environment.yml"
        params:
            fit_names=list(SCP.models),
            test_names=list(SCP.tests),
            mediation_names=list(SCP.mediation),
            system_names=list(SCP.system),
            tables=SCP.tables,
            tests=SCP.tests,
            mediation_table=SCP.mediation_table,
            labels=SCP.labels,
        script:
            "scripts/models_tables.py"

    EXTRA_OUTPUTS += [str(path) for files in scp_table_outputs().values() for path in files]


if SCP.figures:

    rule scp_coefficient_plots:
        """Coefficient plots of the stored fits, one per model family (point estimates, 95% CIs)."""
        input:
            fits=scp_fits(),
        output:
            **scp_figure_outputs(SCP.figures, "coefficient_plot", "Coefficient plots"),
        log:
            log_path("scp_coefficient_plots"),
        benchmark:
            benchmark_path("scp_coefficient_plots")
        conda:
            "../environment.yml"
        params:
            fit_names=list(SCP.models),
            figures=SCP.figures,
            labels=SCP.labels,
        script:
            "scripts/models_coefficient_plots.py"

    EXTRA_OUTPUTS += [
        figure_stem(name) + ext for name in SCP.figures for ext in wf.FIGURE_EXTENSIONS
    ]


if SCP.path_diagram:

    rule scp_path_diagram:
        """The SCP path diagram: estimated a, b and c′ paths of the mediations with 95% CIs."""
        input:
            scp_mediations(SCP.path_diagram["mediation"]),
        output:
            **scp_figure_outputs([SCP.path_diagram["name"]], "path_diagram", "Path diagram"),
        log:
            log_path("scp_path_diagram"),
        benchmark:
            benchmark_path("scp_path_diagram")
        conda:
            "../environment.yml"
        params:
            title=SCP.path_diagram.get("title"),
            labels=SCP.labels,
        script:
            "scripts/models_path_diagram.py"

    EXTRA_OUTPUTS += [figure_stem(SCP.path_diagram["name"]) + ext for ext in wf.FIGURE_EXTENSIONS]
