# The run's provenance and its replication README: the workflow's leaves.
# Both depend on every final output, so they are written last and describe
# the run that made the tables and figures. The rule → function → caption
# registry they print is read from the rules themselves (rule_records), not
# typed by hand.
include: "provenance_helpers.smk"


rule provenance:
    """Provenance: versions, resolved config, input hashes, git state, seeds, machine, output → rule → function."""
    input:
        unpack(provenance_inputs),
    output:
        report(PROVENANCE, caption="../report/replication_provenance.rst", category="Replication"),
    log:
        log_path("provenance"),
    conda:
        "../environment.yml"
    params:
        resolved_config=config,
        rule_records=rule_records,
        run=run_record,
    script:
        "scripts/provenance.py"


rule replication:
    """Replication README (data editors' template) of the run, rendered from provenance.json."""
    input:
        provenance=PROVENANCE,
        readme="README.md",
        claims_registry=config["claims"],
    output:
        report(REPLICATION, caption="../report/replication_readme.rst", category="Replication"),
    log:
        log_path("replication"),
    conda:
        "../environment.yml"
    script:
        "scripts/replication.py"


EXTRA_OUTPUTS += [PROVENANCE, REPLICATION]
