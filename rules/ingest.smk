# The dataset folder written by a data adapter (config key `adapter`; consortia.adapters):
# one rule for every adapter. Its outputs are the tables the adapter promises, which
# rules/common.smk planned the workflow from, and the files it writes beside them.
ADAPTER = adapters.adapter_for(config)
if ADAPTER is not None:

    rule ingest:
        """Write the dataset folder from the source the config names (the data adapter's ingest)."""
        input:
            **adapters.sources(ADAPTER, config),
        output:
            **PLAN.files,
            **adapters.sidecars(ADAPTER, config),
        log:
            log_path("ingest"),
        conda:
            "../environment.yml"
        params:
            adapter_config=adapters.adapter_config(config),
        script:
            "scripts/ingest.py"
