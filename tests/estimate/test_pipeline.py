"""The SCP models in the workflow: config, planning, steps (estimate.models_config,
planning, model_tables, steps).

The step functions run here on a small simulated panel (tests/estimate/conftest.py)
with a models config written for its columns, and on the demo dataset's panel for
the shipped config/models.yaml. Expected values come from fitting the same
specification directly (consortia.estimate.fit), from the config (which columns a
model needs), or from the data contract (which inputs a measure needs) — never
from an earlier run of the pipeline.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from PIL import Image

from conftest import simulate_panel
from consortia import measures
from consortia.estimate import FitResult, fit, model_tables, models_config, planning, steps
from consortia.render.table import format_number
from consortia.render.table_writers import to_latex_booktabs, to_markdown
from consortia.workflow import DatasetPlan, plan_dataset, read_and_clean

ROOT = Path(__file__).resolve().parents[2]
MODELS_YAML = ROOT / "config" / "models.yaml"
DEMO = ROOT / "data" / "raw" / "demo"

RD = {"outcome": "rd_per_member", "controls": ["n_members"]}
LEAD = {"reference_levels": {"lead_type": "enterprise"}}
SIM_CONFIG = {
    "derived_variables": {"log_rd": {"log": "rd_per_member"}},
    "labels": {"type_diversity": "Type diversity", "lead_type": "Lead", "n_members": "Members"},
    "models": [
        {**RD, **LEAD, "name": "rd_ols", "estimator": "ols", "fixed_effects": ["year"],
         "regressors": ["type_diversity", "lead_type"]},
        {**RD, "name": "rd_twfe", "estimator": "twfe", "regressors": ["type_diversity"],
         "fixed_effects": ["consortium_id", "year"]},
        {**RD, **LEAD, "name": "rd_re", "estimator": "re", "fixed_effects": ["year"],
         "regressors": ["type_diversity", "lead_type"]},
        {**RD, **LEAD, "name": "rd_mundlak", "estimator": "mundlak", "fixed_effects": ["year"],
         "regressors": ["type_diversity", "lead_type"]},
        {**RD, "name": "needs_collab", "estimator": "ols", "fixed_effects": ["year"],
         "regressors": ["collab_intensity"]},
        {"name": "log_rd_ols", "outcome": "log_rd", "regressors": ["type_diversity"],
         "controls": ["n_members"], "estimator": "ols", "fixed_effects": ["year"]},
        {"name": "patents_ppml", "outcome": "patents_filed", "regressors": ["type_diversity"],
         "controls": ["n_members"], "estimator": "ppml"},
        {**LEAD, "name": "transfer_frac", "outcome": "transfer_rate", "estimator": "fraclogit",
         "regressors": ["type_diversity", "lead_type"], "fixed_effects": ["year"]},
        {**RD, "name": "empty_sample", "estimator": "re", "regressors": ["type_diversity"],
         "fixed_effects": ["year"], "sample": "n_members > 1000"},
    ],
    "tests": [{"name": "rd", "re": "rd_re", "fe": "rd_twfe"}],
    "mediation": [
        {"name": "med", "treatment": "type_diversity", "mediator": "n_members",
         "outcome": "rd_per_member", "controls": ["lead_type"], "fixed_effects": ["year"],
         "n_boot": 99, **LEAD},
    ],
    "system": [{"name": "sys", "equations": ["rd_ols", "log_rd_ols"]}],
    "tables": [
        {"name": "t_rd", "title": "R&D", "models": ["rd_ols", "rd_twfe", "rd_re", "rd_mundlak",
                                                    "needs_collab"]},
        {"name": "t_other", "models": ["patents_ppml", "transfer_frac", "empty_sample"]},
    ],
    "mediation_table": {"name": "t_med"},
    "figures": [{"name": "f_rd", "models": ["rd_ols", "rd_twfe"]}],
    "path_diagram": {"name": "f_path", "mediation": ["med"]},
}  # fmt: skip


# --------------------------------------------------------------------------- #
# fixtures
# --------------------------------------------------------------------------- #


@pytest.fixture(scope="module")
def sim_panel() -> pd.DataFrame:
    return simulate_panel(n=40, T=6, seed=11)


@pytest.fixture(scope="module")
def sim_plan(sim_panel):
    return planning.plan_models(models_config.load_models_config(SIM_CONFIG), sim_panel.columns)


@pytest.fixture(scope="module")
def sim_run(sim_panel, sim_plan, tmp_path_factory):
    """Every estimation step of the simulated config, written under one folder."""
    out = tmp_path_factory.mktemp("scp")
    panel_path = out / "panel.parquet"
    sim_panel.to_parquet(panel_path, index=False)
    fits = {m: out / "fits" / f"{m}.json" for m in sim_plan.models}
    manifest = steps.fit_models_step(
        list(sim_plan.models.values()),
        sim_plan.derived,
        panel_path,
        fits,
        out / "manifest.json",
        planned_skips=sim_plan.skipped,
    )
    tests = {t: out / "tests" / f"{t}.json" for t in sim_plan.tests}
    steps.specification_tests_step(
        sim_plan.tests,
        {t: fits[pair["re"]] for t, pair in sim_plan.tests.items()},
        {t: fits[pair["mundlak"]] for t, pair in sim_plan.tests.items()},
        tests,
    )
    meds = {m: out / "mediation" / f"{m}.json" for m in sim_plan.mediation}
    steps.mediation_step(list(sim_plan.mediation.values()), sim_plan.derived, panel_path, 7, meds)
    systems = {s: out / "system" / f"{s}.json" for s in sim_plan.system}
    for name, entry in sim_plan.system.items():
        equations = [sim_plan.models[e] for e in entry["equations"]]
        steps.system_step(entry, equations, sim_plan.derived, panel_path, systems[name])
    return {"out": out, "fits": fits, "tests": tests, "mediation": meds, "systems": systems,
            "manifest": manifest,
            "panel": steps.read_panel(panel_path, sim_plan.derived)}  # fmt: skip


@pytest.fixture(scope="module")
def demo_panel() -> pd.DataFrame:
    """The demo dataset's clean panel, built as the workflow's panel rule builds it."""
    config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    plan = plan_dataset(str(DEMO), config["tables"], config["columns"])
    cleaned = read_and_clean(
        plan.files,
        config["tables"],
        config["columns"],
        config["org_type_synonyms"],
        config["industry_map"],
        config["money"],
    )
    t = cleaned.tables
    return measures.build_panel(t["consortia"], t["members"], t.get("panel"))


# --------------------------------------------------------------------------- #
# config and planning
# --------------------------------------------------------------------------- #


def test_shipped_models_config_plans_every_entry_on_the_demo_dataset():
    cfg = models_config.load_models_config(MODELS_YAML)
    config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    plan = planning.plan_models(
        cfg,
        planning.panel_availability(
            plan_dataset(str(DEMO), config["tables"], config["columns"])
        ),
    )
    assert plan.skipped == []
    assert list(plan.models) == list(cfg.models)
    estimators = {e["estimator"] for e in cfg.models.values()}
    assert estimators == {"ols", "twfe", "re", "mundlak", "ppml", "fraclogit"}
    # the FE specifications never carry the time-invariant lead type; the others do
    for entry in cfg.models.values():
        rhs = entry["regressors"] + entry.get("controls", [])
        if "consortium_id" in entry["fixed_effects"]:
            assert "lead_type" not in rhs, entry["name"]
    assert plan.tables and plan.mediation_table and plan.path_diagram
    # no SUR system: on these specifications it would be equation-by-equation OLS
    assert not plan.system


def test_no_panel_table_means_no_model_and_every_skip_names_its_inputs():
    """CORDIS-like data: consortia and members only, so no conduct or performance measure."""
    from consortia.contract import TABLES

    plan_data = DatasetPlan(
        dataset="cordis-like",
        files={"consortia": "c.csv", "members": "m.csv"},
        columns={t: list(TABLES[t].columns) for t in ("consortia", "members")},
        absent_tables=["panel", "tasks"],
    )
    plan = planning.plan_models(
        models_config.load_models_config(MODELS_YAML), planning.panel_availability(plan_data)
    )
    assert plan.models == {} and plan.mediation == {} and plan.tables == {}
    assert plan.system == {} and plan.figures == {} and plan.path_diagram is None
    record = next(r for r in plan.skipped if r["name"] == "sc_collab_ols")
    assert record["missing_columns"] == ["collab_intensity"]
    assert record["missing_inputs"] == ["panel.collab_events"]
    assert "collab_intensity (needs panel.collab_events)" in record["reason"]


def test_a_missing_input_skips_exactly_the_models_that_use_it(sim_panel):
    cfg = models_config.load_models_config(MODELS_YAML)
    availability = {c: [] for c in ("consortium_id", "year")}
    for measure in measures.MEASURE_INPUTS:
        availability[measure] = (
            ["panel.rd_expenditure"] if measure in ("rd_per_member", "rd_expenditure") else []
        )
    plan = planning.plan_models(cfg, availability)
    uses_rd = {
        name
        for name, e in cfg.models.items()
        if "log_rd_per_member" in [e["outcome"], *e["regressors"], *e.get("controls", [])]
    }
    assert uses_rd and set(plan.models) == set(cfg.models) - uses_rd
    skipped = {r["name"]: r for r in plan.skipped if r["kind"] == "model"}
    assert set(skipped) == uses_rd
    assert skipped["sc_rd_ols"]["missing_inputs"] == ["panel.rd_expenditure"]
    assert (
        "log_rd_per_member = log(rd_per_member (needs panel.rd_expenditure))"
        in (skipped["sc_rd_ols"]["reason"])
    )
    assert "scp_sc_rd" not in plan.tables  # every model of that table uses R&D
    assert "scp_sc_collab" in plan.tables


def test_plan_on_column_names_skips_a_model_and_lists_it_under_its_table(sim_plan):
    assert "needs_collab" not in sim_plan.models
    (record,) = [r for r in sim_plan.skipped if r["name"] == "needs_collab"]
    assert record["missing_columns"] == ["collab_intensity"]
    assert sim_plan.tables["t_rd"]["models"] == ["rd_ols", "rd_twfe", "rd_re", "rd_mundlak"]
    assert sim_plan.tables["t_rd"]["skipped"] == [record]
    assert sim_plan.derived == {"log_rd": {"log": "rd_per_member"}}


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda c: c["models"][3].update(estimator="within"), "models[3] (rd_mundlak)"),
        (lambda c: c["models"][1].update(fixed_effects=["year"]), "models[1] (rd_twfe)"),
        (lambda c: c["models"][0].update(regressorz=["x"]), "models[0] (rd_ols)"),
        (lambda c: c["tests"][0].update(re="rd_ols"), "tests (rd)"),
        (lambda c: c["tables"][1]["models"].append("nope"), "tables (t_other)"),
        (lambda c: c["figures"][0]["models"].append("patents_ppml"), "figures (f_rd)"),
        (lambda c: c["system"][0]["equations"].append("patents_ppml"), "system (sys)"),
        (lambda c: c["models"].append(dict(c["models"][0])), "'rd_ols' is used twice"),
        (lambda c: c["mediation"][0].update(mediator="rd_per_member"), "mediation (med)"),
    ],
)
def test_config_errors_name_the_entry(change, message):
    bad = copy.deepcopy(SIM_CONFIG)
    change(bad)
    with pytest.raises(models_config.ModelsConfigError) as err:
        models_config.load_models_config(bad)
    assert message in str(err.value)


def test_model_defaults_apply_unless_an_entry_sets_the_key():
    cfg = copy.deepcopy(SIM_CONFIG)
    cfg["model_defaults"] = {"cluster": [], "vcov": "CR0"}
    cfg["models"][0]["cluster"] = ["consortium_id"]
    models = models_config.load_models_config(cfg).models
    assert models["rd_ols"]["cluster"] == ["consortium_id"] and models["rd_ols"]["vcov"] == "CR0"
    assert models["rd_twfe"]["cluster"] == []


def test_derived_log_is_missing_for_non_positive_values():
    panel = pd.DataFrame({"x": pd.array([2, 0, -1, None], dtype="Int64")})
    out = steps.add_derived(panel, {"log_x": {"log": "x"}, "log1p_x": {"log1p": "x"}})
    assert out["log_x"].iloc[0] == pytest.approx(np.log(2))
    assert out["log_x"].iloc[1:].isna().all()
    assert out["log1p_x"].tolist()[:2] == pytest.approx([np.log(3), 0.0])
    assert out["log1p_x"].iloc[2:].isna().all()
    assert "log_x" not in panel


def test_read_panel_reads_the_columns_asked_for_with_their_derived_sources(tmp_path):
    path = tmp_path / "panel.parquet"
    pd.DataFrame(
        {"id": ["a", "b", "a"], "x": [1.0, np.e, 0.0], "unused": [1, 2, 3], "t": ["u", "v", "u"]}
    ).to_parquet(path)
    derived = {"log_x": {"log": "x"}, "log1p_x": {"log1p": "x"}}
    panel = steps.read_panel(path, derived, columns=["id", "log_x", "absent"], categorical=True)
    assert set(panel.columns) == {"id", "x", "log_x"}  # no unused column, no other derived one
    assert isinstance(panel["id"].dtype, pd.CategoricalDtype)
    assert panel["id"].tolist() == ["a", "b", "a"]
    assert panel["log_x"].tolist()[:2] == pytest.approx([0.0, 1.0])
    assert np.isnan(panel["log_x"].iloc[2])


# --------------------------------------------------------------------------- #
# estimation steps
# --------------------------------------------------------------------------- #


@pytest.mark.slow
def test_one_json_per_spec_each_equal_to_a_direct_fit(sim_run, sim_plan):
    panel = sim_run["panel"]
    for name, entry in sim_plan.models.items():
        path = sim_run["fits"][name]
        assert path.exists()
        stored = planning.load_result(path)
        if name == "empty_sample":
            continue
        direct = fit(entry, panel)
        assert isinstance(stored, FitResult)
        assert stored.terms == direct.terms
        np.testing.assert_allclose(
            stored.params_series.to_numpy(), direct.params_series.to_numpy(), rtol=1e-12
        )
        np.testing.assert_allclose(
            stored.se_series.to_numpy(), direct.se_series.to_numpy(), rtol=1e-12
        )
        assert stored.spec["regressors"] == entry["regressors"]


def test_a_spec_the_data_cannot_support_is_written_as_a_skipped_record(sim_run):
    record = json.loads(sim_run["fits"]["empty_sample"].read_text())
    assert record["status"] == "skipped" and record["stage"] == "fit"
    assert "no observations" in record["reason"]
    manifest = json.loads((sim_run["out"] / "manifest.json").read_text())
    skipped = {r["name"]: r for r in manifest["skipped"]}
    assert set(skipped) == {"empty_sample", "needs_collab"}
    assert skipped["needs_collab"]["missing_columns"] == ["collab_intensity"]
    fitted = {r["name"]: r for r in manifest["models"] if r["status"] == "fitted"}
    assert fitted["log_rd_ols"]["nobs"] == int(
        (sim_run["panel"]["rd_per_member"] > 0).sum()
    )  # rows with R&D ≤ 0 have no log: out of the sample


def test_fit_step_names_columns_missing_from_the_panel(tmp_path, sim_panel):
    entry = {"name": "m", "outcome": "rd_per_member", "regressors": ["decision_hhi", "age"],
             "estimator": "ols", "fixed_effects": ["year"]}  # fmt: skip
    record = steps.fit_model_step(entry, sim_panel, tmp_path / "m.json")
    assert record["status"] == "skipped"
    assert record["missing_columns"] == ["decision_hhi", "age"]
    assert json.loads((tmp_path / "m.json").read_text())["missing_columns"] == [
        "decision_hhi",
        "age",
    ]


def test_mediation_and_system_records(sim_run, sim_plan):
    med = json.loads(sim_run["mediation"]["med"].read_text())
    assert med["seed"] == 7 and med["n_boot"] == 99
    assert med["estimates"]["indirect"] == pytest.approx(
        med["estimates"]["a"] * med["estimates"]["b"], rel=1e-12
    )
    system = json.loads(sim_run["systems"]["sys"].read_text())
    assert [e["name"] for e in system["equations"]] == ["rd_ols", "log_rd_ols"]
    assert all(e["estimator"] == "sur" for e in system["equations"])


# --------------------------------------------------------------------------- #
# tables and figures from the stored results
# --------------------------------------------------------------------------- #


def _in_memory_table(sim_run, sim_plan, table="t_rd"):
    """The same table from fits and tests computed here, never written to disk."""
    panel = sim_run["panel"]
    entry = sim_plan.tables[table]
    fits = [fit(sim_plan.models[m], panel) for m in entry["models"]]
    tests = [
        steps.re_fe_tests(name, pair, sim_plan.models[pair["re"]], panel)
        for name, pair in sim_plan.tests.items()
        if pair["re"] in entry["models"]
    ]
    return model_tables.build_regression_table(
        fits, tests, title=entry.get("title", ""), labels=sim_plan.labels,
        skipped=entry["skipped"], label=f"tab:{table}",
    )  # fmt: skip


def _write_tables(sim_run, sim_plan, out):
    stems = {name: out / name for name in [*sim_plan.tables, "t_med", *sim_plan.system]}
    steps.tables_step(
        sim_plan.tables,
        {m: str(p) for m, p in sim_run["fits"].items()},
        {t: str(p) for t, p in sim_run["tests"].items()},
        stems,
        labels=sim_plan.labels,
        tests=sim_plan.tests,
        mediation_table=sim_plan.mediation_table,
        mediation_jsons=sim_run["mediation"],
        systems=list(sim_plan.system),
        system_jsons=sim_run["systems"],
    )
    return stems


def test_tables_built_from_the_json_files_equal_tables_from_in_memory_fits(
    sim_run, sim_plan, tmp_path
):
    stems = _write_tables(sim_run, sim_plan, tmp_path)
    expected = _in_memory_table(sim_run, sim_plan)
    assert (tmp_path / "t_rd.md").read_text(encoding="utf-8") == to_markdown(expected)
    assert (tmp_path / "t_rd.tex").read_text(encoding="utf-8") == to_latex_booktabs(expected)
    for stem in stems.values():
        for ext in (".csv", ".md", ".html", ".tex"):
            assert Path(f"{stem}{ext}").stat().st_size > 0


def test_regression_table_states_what_it_is(sim_run, sim_plan, tmp_path):
    _write_tables(sim_run, sim_plan, tmp_path)
    md = (tmp_path / "t_rd.md").read_text(encoding="utf-8")
    rows = {line.split("|")[1].strip(): [c.strip() for c in line.split("|")[2:-1]]
            for line in md.splitlines() if line.startswith("| ")}  # fmt: skip
    assert rows["Consortium FE"] == ["No", "Yes", "No", "No"]
    assert rows["Year FE"] == ["Yes", "Yes", "Yes", "Yes"]
    assert rows["Estimator"] == ["OLS", "FE", "RE", "CRE"]
    assert rows["Clusters (consortium\\_id)"] == ["40"] * 4
    # the RE/FE tests sit in the RE column, with the statistic of the stored test
    test = json.loads(sim_run["tests"]["rd"].read_text())
    hausman = rows["Hausman χ² (df)"]
    assert hausman[0] == hausman[1] == hausman[3] == ""
    stat = test["hausman"]["statistic"]
    # a negative classical statistic is no chi-squared value: left undefined, with a note
    expected = "–" if stat < 0 else f"{format_number(stat, 2)} ({test['hausman']['df']})"
    assert hausman[2] == expected
    assert (stat < 0) == ("the Hausman statistic is negative" in md)
    assert rows["Mundlak p-value"][2] == format_number(test["mundlak"]["p_value"], 3)
    assert r"\* p\<0.10, \*\* p\<0.05, \*\*\* p\<0.01" in md
    assert "CR1" in md and "clustered by consortium\\_id" in md
    assert "Lead does not change within a consortium" in md  # a detail, by its label
    assert "Not estimated: needs\\_collab: variable(s) not available: collab\\_intensity" in md
    assert "Mundlak terms" in md
    # no Mundlak means and no year dummies as coefficient rows
    assert not any(k.startswith(("mean(", "year[")) for k in rows)
    data = pd.read_csv(tmp_path / "t_rd.csv")
    tests = data[data["quantity"] == "test"].set_index("term")
    assert tests.loc["hausman", "statistic"] == pytest.approx(test["hausman"]["statistic"])


def test_other_tables_note_skips_and_carry_their_estimates(sim_run, sim_plan, tmp_path):
    _write_tables(sim_run, sim_plan, tmp_path)
    other = (tmp_path / "t_other.md").read_text(encoding="utf-8")
    assert "Not estimated: empty\\_sample" in other and "no observations" in other
    assert "B. Average marginal effects" in other and "Pseudo R² (McFadden)" in other
    med = (tmp_path / "t_med.md").read_text(encoding="utf-8")
    stored = json.loads(sim_run["mediation"]["med"].read_text())
    assert f"{stored['estimates']['indirect']:.3f}".replace("-", "−")[:5] in med.replace("-", "−")
    assert "Controls in both equations: Lead" in med
    sur = (tmp_path / "sys.md").read_text(encoding="utf-8")
    assert "Residual correlations between equations: (1)–(2)" in sur
    assert "SUR" in sur and "t\\_rd" in sur


def test_pipeline_table_snapshot(sim_run, sim_plan, assert_snapshot):
    assert_snapshot(to_markdown(_in_memory_table(sim_run, sim_plan)), "scp_pipeline_tiny.md")


@pytest.mark.slow
def test_figures_from_the_stored_fits(sim_run, sim_plan, tmp_path):
    steps.coefficient_plots_step(
        sim_plan.figures, sim_run["fits"], {"f_rd": tmp_path / "f_rd"}, labels=sim_plan.labels
    )
    steps.path_diagram_step([sim_run["mediation"]["med"]], tmp_path / "f_path")
    for stem in ("f_rd", "f_path"):
        with Image.open(tmp_path / f"{stem}.png") as image:
            assert round(image.info["dpi"][0]) == 300
        assert (tmp_path / f"{stem}.pdf").read_bytes().startswith(b"%PDF")


# --------------------------------------------------------------------------- #
# specifications are data: editing config/models.yaml changes the fit
# --------------------------------------------------------------------------- #


@pytest.mark.slow
def test_editing_a_spec_in_a_copy_of_models_yaml_changes_the_fitted_json(tmp_path, demo_panel):
    raw = yaml.safe_load(MODELS_YAML.read_text(encoding="utf-8"))
    edited = copy.deepcopy(raw)
    entry = next(e for e in edited["models"] if e["name"] == "sc_industrial_ols")
    entry["controls"] = ["log_n_members"]
    entry["sample"] = "n_members >= 5"
    (tmp_path / "schemas").mkdir()
    (tmp_path / "schemas" / "models.schema.yaml").write_text(
        (ROOT / "config" / "schemas" / "models.schema.yaml").read_text(encoding="utf-8")
    )
    (tmp_path / "models.yaml").write_text(yaml.safe_dump(edited), encoding="utf-8")

    outputs = {}
    for label, source in (("shipped", MODELS_YAML), ("edited", tmp_path / "models.yaml")):
        cfg = models_config.load_models_config(source)
        panel = steps.add_derived(demo_panel, cfg.derived)
        path = tmp_path / label / "sc_industrial_ols.json"
        steps.fit_model_step(cfg.models["sc_industrial_ols"], panel, path)
        outputs[label] = FitResult.from_json(path)

    shipped, changed = outputs["shipped"], outputs["edited"]
    assert "age" in shipped.terms and "age" not in changed.terms
    assert changed.sample == "n_members >= 5"
    assert changed.nobs == int((demo_panel["n_members"] >= 5).sum()) < shipped.nobs
    direct = fit(
        {**entry, "cluster": ["consortium_id"], "vcov": {"small_sample": "CR1"}},
        steps.add_derived(demo_panel, raw["derived_variables"]),
    )
    np.testing.assert_allclose(changed.params_series, direct.params_series, rtol=1e-12)


def test_each_test_pair_reads_the_mundlak_fit_of_its_re_spec(sim_plan):
    assert sim_plan.tests["rd"]["mundlak"] == "rd_mundlak"
    config = copy.deepcopy(SIM_CONFIG)
    config["models"] = [m for m in config["models"] if m["name"] != "rd_mundlak"]
    config["tables"][0]["models"].remove("rd_mundlak")
    plan = planning.plan_models(models_config.load_models_config(config),
                                sim_plan.models["rd_re"].keys()
                                | {"consortium_id", "year", "rd_per_member", "type_diversity",
                                   "lead_type", "n_members", "patents_filed",
                                   "transfer_rate"})  # fmt: skip
    added = plan.tests["rd"]["mundlak"]
    assert added == "rd_re__mundlak" and plan.models[added]["estimator"] == "mundlak"
    assert planning.mundlak_model_of(plan.models["rd_re"], plan.models) == added


def test_stored_tests_equal_tests_fitted_on_the_panel(sim_run, sim_plan):
    from consortia.estimate import re_vs_fe_tests

    stored = json.loads(sim_run["tests"]["rd"].read_text())
    direct = re_vs_fe_tests(sim_plan.models["rd_re"], sim_run["panel"])
    for key in ("hausman", "mundlak"):
        assert stored[key]["name"] == direct[key].name
        assert stored[key]["statistic"] == pytest.approx(direct[key].statistic, rel=1e-12)
        assert stored[key]["df"] == direct[key].df and stored[key]["terms"] == direct[key].terms
