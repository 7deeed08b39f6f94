rule table1:
    """Table 1: descriptive statistics of the main measures by lead type."""
    input:
        panel=results_path("data", "panel.parquet"),
        metadata=results_path("data", "metadata.json"),
    output:
        multiext(table_stem("table1_descriptives"), ".csv", ".md", ".tex"),
        html=report(
            table_stem("table1_descriptives") + ".html",
            caption="../report/data_table1.rst",
            category="Data",
        ),
    log:
        log_path("table1"),
    benchmark:
        benchmark_path("table1")
    conda:
        "../environment.yml"
    params:
        labels=config["labels"],
    script:
        "scripts/table1.py"


rule figure_transfer_rate:
    """Figure: distribution of the technology-transfer rate by lead type."""
    input:
        panel=results_path("data", "panel.parquet"),
    output:
        pdf=figure_stem("transfer_rate_by_lead_type") + ".pdf",
        caption=figure_stem("transfer_rate_by_lead_type") + ".txt",
        png=report(
            figure_stem("transfer_rate_by_lead_type") + ".png",
            caption="../report/data_transfer_rate.rst",
            category="Data",
        ),
    log:
        log_path("figure_transfer_rate"),
    benchmark:
        benchmark_path("figure_transfer_rate")
    conda:
        "../environment.yml"
    params:
        seed=config["seed"],
    script:
        "scripts/figure_transfer_rate.py"
