CLAIMS_REPORT = "Claims"


rule claims:
    """Verdicts on the review's quantitative claims (config/claims.yaml): the evaluation, as JSON."""
    input:
        unpack(claims_inputs),
    output:
        json=results_path("claims", "claims.json"),
    log:
        log_path("claims"),
    conda:
        "../environment.yml"
    params:
        seed=config["seed"],
    script:
        "scripts/claims.py"


rule claims_tables:
    """The claims CSV, table and forest plot, rendered from claims.json (no re-evaluation)."""
    input:
        json=results_path("claims", "claims.json"),
    output:
        csv=report(
            results_path("claims", "claims.csv"),
            caption="../report/claims_csv.rst",
            category=CLAIMS_REPORT,
        ),
        table=multiext(table_stem("claims"), ".csv", ".md", ".tex"),
        table_html=report(
            table_stem("claims") + ".html",
            caption="../report/claims_table.rst",
            category=CLAIMS_REPORT,
        ),
        forest=report(
            figure_stem("claims_forest") + ".png",
            caption="../report/claims_forest.rst",
            category=CLAIMS_REPORT,
        ),
        forest_pdf=figure_stem("claims_forest") + ".pdf",
        forest_caption=figure_stem("claims_forest") + ".txt",
    log:
        log_path("claims_tables"),
    conda:
        "../environment.yml"
    script:
        "scripts/claims_tables.py"


rule claims_km:
    """Kaplan-Meier curves of the task durations by lead type, with the number at risk."""
    input:
        tasks=results_path("data", "tasks.parquet"),
        claims=results_path("claims", "claims.json"),
    output:
        png=report(
            figure_stem("claims_km") + ".png",
            caption="../report/claims_km.rst",
            category=CLAIMS_REPORT,
        ),
        pdf=figure_stem("claims_km") + ".pdf",
        caption=figure_stem("claims_km") + ".txt",
    log:
        log_path("claims_km"),
    conda:
        "../environment.yml"
    params:
        labels=config["labels"],
    script:
        "scripts/claims_km.py"


rule claims_transfer_rate:
    """Pooled transfer rate by lead type against the claim: reference lines at the claimed and average rates."""
    input:
        registry=config["claims"],
        panel=results_path("data", "panel.parquet"),
    output:
        png=report(
            figure_stem("claims_transfer_rate") + ".png",
            caption="../report/claims_transfer_rate.rst",
            category=CLAIMS_REPORT,
        ),
        pdf=figure_stem("claims_transfer_rate") + ".pdf",
        caption=figure_stem("claims_transfer_rate") + ".txt",
    log:
        log_path("claims_transfer_rate"),
    conda:
        "../environment.yml"
    params:
        seed=config["seed"],
    script:
        "scripts/claims_transfer_rate.py"


EXTRA_OUTPUTS += [results_path("claims", "claims.csv")]
if PLAN.has_table("tasks") and "start_date" in PLAN.columns["tasks"]:
    EXTRA_OUTPUTS += [figure_stem("claims_km") + ext for ext in wf.FIGURE_EXTENSIONS]
if PLAN.can_build("transfer_rate"):
    EXTRA_OUTPUTS += [figure_stem("claims_transfer_rate") + ext for ext in wf.FIGURE_EXTENSIONS]
