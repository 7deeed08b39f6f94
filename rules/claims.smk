rule claims:
    """Verdicts on the review's quantitative claims (config/claims.yaml): table, forest plot, JSON."""
    input:
        unpack(claims_inputs),
    output:
        json=results_path("claims", "claims.json"),
        table=multiext(table_stem("claims"), *wf.TABLE_EXTENSIONS),
        figure=multiext(figure_stem("claims_forest"), *wf.FIGURE_EXTENSIONS),
    params:
        seed=config["seed"],
    log:
        log_path("claims"),
    conda:
        "../environment.yml"
    script:
        "scripts/claims.py"
