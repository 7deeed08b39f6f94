# EU framework-programme consortia from the EC's CORDIS exports (docs/cordis.md).
# Active when the config selects the adapter, `adapter: cordis` (config/cordis.yaml):
# rule ingest (rules/ingest.smk) writes the dataset folder, and these rules add the
# dataset's claims registry, the accounting page and the CORDIS findings.
if config.get("adapter") == "cordis":
    from consortia.adapters import cordis as cordis_adapter

    CORDIS = config["cordis"]
    CORDIS_DATASET = Path(config["dataset"])
    CORDIS_ACCOUNTING = results_path("data", "cordis_accounting.md")
    CORDIS_EXPORTS = {key: CORDIS[key] for key in ("projects", "organizations", "programme_parts")
                      if key in CORDIS}  # fmt: skip

    rule cordis_claims_registry:
        """The claims registry for CORDIS: the base registry with the cordis block's claims_overrides."""
        input:
            base=CORDIS.get("claims_base", "config/claims.yaml"),
        output:
            registry=config["claims"],
        log:
            log_path("cordis_claims_registry"),
        conda:
            "../environment.yml"
        params:
            overrides=CORDIS.get("claims_overrides", {}),
            config_block="cordis",
        script:
            "scripts/cordis_claims_registry.py"

    rule cordis_accounting:
        """From the EC's rows to the analysis sample: selection, adapter outcomes and cleaning in one page."""
        input:
            source=str(CORDIS_DATASET / cordis_adapter.SOURCE_FILE),
            quality=results_path("data", "quality.json"),
        output:
            CORDIS_ACCOUNTING,
        log:
            log_path("cordis_accounting"),
        conda:
            "../environment.yml"
        script:
            "scripts/cordis_accounting.py"

    CORDIS_FINDINGS = results_path("findings", "cordis_findings.json")
    CORDIS_SHARE_FIGURE = figure_stem("enterprise_led_share_by_part_and_year")

    rule cordis_findings:
        """CORDIS findings: enterprise-led share by kind of grant and start year (figure), lead's contribution share, durations and the prior network by lead type."""
        input:
            consortia=results_path("data", "clean", "consortia.parquet"),
            panel=results_path("data", "panel.parquet"),
            tasks=results_path("data", "tasks.parquet"),
        output:
            json=CORDIS_FINDINGS,
            markdown=results_path("findings", "cordis_findings.md"),
            pdf=f"{CORDIS_SHARE_FIGURE}.pdf",
            caption=f"{CORDIS_SHARE_FIGURE}.txt",
            png=report(
                f"{CORDIS_SHARE_FIGURE}.png",
                caption="../report/cordis_enterprise_share.rst",
                category="Data",
            ),
        log:
            log_path("cordis_findings"),
        benchmark:
            benchmark_path("cordis_findings")
        conda:
            "../environment.yml"
        params:
            history_years=CORDIS["findings"]["history_years"],
            figure_stem=CORDIS_SHARE_FIGURE,
        script:
            "scripts/cordis_findings.py"

    EXTRA_OUTPUTS += [CORDIS_ACCOUNTING, CORDIS_FINDINGS]
