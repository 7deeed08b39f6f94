rule clean:
    """Read, validate and clean every table; quarantine broken rows; write the quality report."""
    input:
        **PLAN.files,
    output:
        **clean_tables(),
        quarantine=report(
            results_path("data", "quarantine.csv"),
            caption="../report/data_quarantine.rst",
            category="Data",
        ),
        fixes=report(
            results_path("data", "fixes.csv"), caption="../report/data_fixes.rst", category="Data"
        ),
        quality=report(
            results_path("data", "quality.json"),
            caption="../report/data_quality.rst",
            category="Data",
        ),
    log:
        log_path("clean"),
    benchmark:
        benchmark_path("clean")
    conda:
        "../environment.yml"
    params:
        tables_cfg=config.get("tables", {}),
        columns_cfg=config.get("columns", {}),
        org_type_synonyms=config.get("org_type_synonyms", {}),
        industry_map=config.get("industry_map", {}),
        money=config["money"],
        censoring_date=config.get("censoring_date"),
        absent_tables=PLAN.absent_tables,
    script:
        "scripts/clean.py"


rule panel:
    """Build the consortium-year panel: structure, conduct and performance measures."""
    input:
        **clean_tables(),
    output:
        panel=results_path("data", "panel.parquet"),
        measures=results_path("data", "panel_measures.json"),
    log:
        log_path("panel"),
    benchmark:
        benchmark_path("panel")
    conda:
        "../environment.yml"
    script:
        "scripts/panel.py"


rule tasks:
    """Breakthrough-cycle durations with their right-censoring flags, one row per task."""
    input:
        tasks=results_path("data", "clean", "tasks.parquet"),
        consortia=results_path("data", "clean", "consortia.parquet"),
    output:
        tasks=results_path("data", "tasks.parquet"),
    log:
        log_path("tasks"),
    benchmark:
        benchmark_path("tasks")
    conda:
        "../environment.yml"
    params:
        censoring_date=config.get("censoring_date"),
    script:
        "scripts/tasks.py"


rule metadata:
    """Describe the clean data: source dataset, money units and base year, row counts."""
    input:
        unpack(metadata_inputs),
    output:
        metadata=report(
            results_path("data", "metadata.json"),
            caption="../report/data_metadata.rst",
            category="Data",
        ),
    log:
        log_path("metadata"),
    benchmark:
        benchmark_path("metadata")
    conda:
        "../environment.yml"
    params:
        dataset=config["dataset"],
        money=config["money"],
        censoring_date=config.get("censoring_date"),
    script:
        "scripts/metadata.py"


# The data products besides the panel, so that provenance.json traces them too.
EXTRA_OUTPUTS += [
    *clean_tables().values(),
    results_path("data", "quarantine.csv"),
    results_path("data", "fixes.csv"),
    results_path("data", "panel_measures.json"),
]
