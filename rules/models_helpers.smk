# Helpers of rules/models.smk: the plan of the SCP models for this dataset (from
# config/models.yaml and the dataset's headers), where their files go, and the
# report flags of the tables and figures.
from consortia.estimate import models_config, planning

SCP = planning.plan_models(
    models_config.load_models_config(config["models"]), planning.panel_availability(PLAN)
)
EXTRA_PLAN_LINES.append(SCP.describe())
SCP_CATEGORY = "SCP models"


def scp_path(*parts):
    return results_path("models", *parts)


def scp_fits():
    return [scp_path("fits", f"{name}.json") for name in SCP.models]


def scp_tests():
    return [scp_path("tests", f"{name}.json") for name in SCP.tests]


def scp_mediations(names=None):
    return [scp_path("mediation", f"{name}.json") for name in names or SCP.mediation]


def scp_test_fits(kind):
    """The stored fits the RE/FE tests read, in the order of the pairs: ``kind`` "re" (the RE
    model) or "mundlak" (the Mundlak model of the same specification)."""
    return [scp_path("fits", f"{pair[kind]}.json") for pair in SCP.tests.values()]


def scp_system_equations():
    """{system: the specifications of its equations}."""
    return {
        name: [SCP.models[eq] for eq in entry["equations"]] for name, entry in SCP.system.items()
    }


def scp_systems():
    return [scp_path("system", f"{name}.json") for name in SCP.system]


def scp_caption(name, kind):
    """report/models/<name>.rst, or the caption of the output's kind for a table or
    figure the models config adds."""
    own = Path(workflow.basedir, "report", "models", f"{name}.rst")
    return str(own if own.exists() else Path(workflow.basedir, "report", "models", f"{kind}.rst"))


def scp_reported(path, name, kind, subcategory, what):
    """``path`` flagged for the report, with its caption, category and labels."""
    return report(
        path,
        caption=scp_caption(name, kind),
        category=SCP_CATEGORY,
        subcategory=subcategory,
        labels={what: name, "format": Path(path).suffix.lstrip(".")},
    )


def scp_table_outputs():
    """{table name: its four files}, each flagged for the report."""
    kinds = {name: ("regression_table", "Regression tables") for name in SCP.tables}
    if SCP.mediation_table:
        kinds[SCP.mediation_table["name"]] = ("mediation_table", "Mediation")
    kinds.update({name: ("system_table", "System (SUR) robustness") for name in SCP.system})
    return {
        name: [
            scp_reported(table_stem(name) + ext, name, kind, subcategory, "table")
            for ext in wf.TABLE_EXTENSIONS
        ]
        for name, (kind, subcategory) in kinds.items()
    }


def scp_figure_outputs(names, kind, subcategory):
    """{figure name: its PNG and PDF}, each flagged for the report."""
    return {
        name: [
            scp_reported(figure_stem(name) + ext, name, kind, subcategory, "figure")
            for ext in wf.FIGURE_EXTENSIONS
        ]
        for name in names
    }
