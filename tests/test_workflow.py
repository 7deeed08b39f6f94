"""Workflow tests: lint, dry run, and full runs on simulated folders outside the repository.

The expected counts come from the simulator's own record of the mess it
injected (truth.json), not from an earlier run of the pipeline.
"""

import json
import math
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml
from PIL import Image

from consortia.simulate import simulate_to_folder

ROOT = Path(__file__).resolve().parents[1]
SNAKEMAKE = [sys.executable, "-m", "snakemake", "--nolock", "--cores", "2"]

pytestmark = pytest.mark.workflow


def run_snakemake(*args, check=True):
    result = subprocess.run(
        [*SNAKEMAKE, *args], cwd=ROOT, capture_output=True, text=True, timeout=600
    )
    if check and result.returncode != 0:
        raise AssertionError(f"snakemake failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}")
    return result


@pytest.fixture(scope="module")
def small_world(tmp_path_factory):
    dataset = tmp_path_factory.mktemp("dataset")
    world = simulate_to_folder(
        dataset, n_consortia=60, n_years=5, seed=7, truth_overrides=None, fmt="csv"
    )
    results = tmp_path_factory.mktemp("results")
    run = run_snakemake("--config", f"dataset={dataset}", f"results={results}")
    return dataset, results, world, run


def test_lint_is_clean(tmp_path):
    # any Snakemake command but a dry run locks its results folder: a temporary one here
    result = run_snakemake("--lint", "--config", f"results={tmp_path}")
    assert "Congratulations" in result.stdout + result.stderr


def test_dry_run_lists_every_rule(tmp_path):
    result = run_snakemake("-n", "--config", f"results={tmp_path}")
    for rule in ("clean", "panel", "tasks", "metadata", "table1", "figure_transfer_rate"):
        assert rule in result.stdout


def test_quality_report_matches_the_injected_mess(small_world):
    _, results, world, run = small_world
    quality = json.loads((results / "data" / "quality.json").read_text())
    injected = (
        world.truth["mess"]["tables"] if "tables" in world.truth["mess"] else world.truth["mess"]
    )
    for table in ("consortia", "members", "panel", "tasks"):
        got, expected = quality["tables"][table], injected[table]
        assert got["rows_read"] == (
            got["rows_kept"] + got["rows_quarantined"] + got["duplicates_collapsed"]
        )
        for count in ("rows_read", "rows_kept", "rows_quarantined", "duplicates_collapsed"):
            assert got[count] == expected[count], (table, count)
        assert got["quarantined_by_rule"] == expected["quarantined_by_rule"], table
    assert "identity" in run.stdout + run.stderr


def test_quarantine_file_names_rule_and_row(small_world):
    _, results, world, _ = small_world
    quarantine = pd.read_csv(results / "data" / "quarantine.csv")
    quality = json.loads((results / "data" / "quality.json").read_text())
    assert len(quarantine) == sum(t["rows_quarantined"] for t in quality["tables"].values())
    assert quarantine[["table", "source_file", "source_row", "rule"]].notna().all().all()


def test_panel_covers_every_consortium_with_known_structure(small_world):
    dataset, results, world, _ = small_world
    panel = pd.read_parquet(results / "data" / "panel.parquet")
    assert panel["consortium_id"].nunique() == len(world.consortia)
    assert not panel.duplicated(["consortium_id", "year"]).any()
    shares = (
        panel.filter(like="share_").drop(columns=["share_enterprise"]).sum(axis=1)
        + panel["share_enterprise"]
    )
    shares = shares[panel["n_members"] > 0]
    assert shares.sub(1).abs().max() < 1e-12
    rates = panel["transfer_rate"].dropna()
    assert len(rates) and rates.between(0, 1).all()


def test_table1_counts_consortia_by_lead_type(small_world):
    _, results, world, _ = small_world
    table = pd.read_csv(results / "tables" / "table1_descriptives.csv")
    sample = table[(table["variable"] == "sample")]
    expected = world.consortia["lead_type"].value_counts()
    for lead_type, count in expected.items():
        row = sample[sample["lead_type"] == lead_type]
        assert int(row["n_consortia"].iloc[0]) == count
    for ext in (".md", ".html", ".tex"):
        assert (results / "tables" / f"table1_descriptives{ext}").stat().st_size > 0
    assert "\\toprule" in (results / "tables" / "table1_descriptives.tex").read_text()


def test_figure_is_300_dpi(small_world):
    _, results, _, _ = small_world
    with Image.open(results / "figures" / "transfer_rate_by_lead_type.png") as image:
        assert round(image.info["dpi"][0]) == 300
    assert (results / "figures" / "transfer_rate_by_lead_type.pdf").read_bytes().startswith(b"%PDF")


def test_absent_optional_table_is_reported_and_its_steps_skipped(tmp_path):
    dataset = tmp_path / "dataset"
    simulate_to_folder(dataset, n_consortia=30, n_years=4, seed=3, truth_overrides=None, fmt="csv")
    (dataset / "tasks.csv").unlink()
    (dataset / "panel.csv").unlink()
    results = tmp_path / "results"
    run = run_snakemake("--config", f"dataset={dataset}", f"results={results}")
    assert "tasks" in run.stdout and "absent" in run.stdout
    assert (results / "data" / "panel.parquet").exists()
    assert not (results / "data" / "tasks.parquet").exists()
    assert not (results / "figures" / "transfer_rate_by_lead_type.png").exists()
    # no panel table, no conduct or performance measure: no SCP model runs, and the plan says why
    assert not (results / "models").exists()
    assert not list((results / "tables").glob("scp_*"))
    assert "skipped: model sc_collab_ols (variable(s) not available: collab_intensity" in run.stdout
    claims = {
        c["id"]: c for c in json.loads((results / "claims" / "claims.json").read_text())["claims"]
    }
    assert claims["breakthrough_speed"]["verdict"] == "not_testable"
    assert any("end_date" in column or "duration" in column or "tasks" in column
               for column in claims["breakthrough_speed"]["missing_columns"])


def test_claims_step_gives_a_verdict_for_every_registered_claim(small_world):
    _, results, _, _ = small_world
    registry = yaml.safe_load((ROOT / "config" / "claims.yaml").read_text())
    records = registry["claims"] if isinstance(registry, dict) else registry
    claims = json.loads((results / "claims" / "claims.json").read_text())["claims"]
    assert [c["id"] for c in claims] == [r["id"] for r in records]
    allowed = {"supported", "contradicted", "inconclusive", "not_testable"}
    assert {c["verdict"] for c in claims} <= allowed
    # a longtable: its header once on the first page and once for every page after
    tex = (results / "tables" / "claims.tex").read_text()
    assert "\\begin{longtable}" in tex and tex.count("\\toprule") == 2


def test_missing_required_column_stops_with_a_named_error(tmp_path):
    dataset = tmp_path / "dataset"
    simulate_to_folder(dataset, n_consortia=20, n_years=3, seed=5, truth_overrides=None, fmt="csv")
    members = pd.read_csv(dataset / "members.csv").drop(columns=["member_type"])
    members.to_csv(dataset / "members.csv", index=False)
    run = run_snakemake(
        "--config", f"dataset={dataset}", f"results={tmp_path / 'out'}", check=False
    )
    assert run.returncode != 0
    message = run.stdout + run.stderr
    assert "members.csv" in message and "member_type" in message


def test_scp_models_are_fitted_once_each_and_tabulated_from_their_json(small_world):
    _, results, _, run = small_world
    models = yaml.safe_load((ROOT / "config" / "models.yaml").read_text())
    names = [m["name"] for m in models["models"]]
    assert f"SCP models: {len(names)} to fit" in run.stdout
    manifest = json.loads((results / "models" / "manifest.json").read_text())
    assert [r["name"] for r in manifest["models"]] == names
    assert {r["status"] for r in manifest["models"]} == {"fitted"} and manifest["skipped"] == []
    for entry in models["models"]:
        fit = json.loads((results / "models" / "fits" / f"{entry['name']}.json").read_text())
        assert fit["estimator"] == entry["estimator"] and fit["outcome"] == entry["outcome"]
        assert fit["spec"]["regressors"] == entry["regressors"]
    tables = [t["name"] for t in models["tables"]] + [models["mediation_table"]["name"]]
    for name in tables + [s["name"] for s in models.get("system", [])]:
        for ext in (".csv", ".md", ".html"):
            assert (results / "tables" / f"{name}{ext}").stat().st_size > 0, name
        tex = (results / "tables" / f"{name}.tex").read_text()
        assert tex.count("\\toprule") == 1 and "\\bottomrule" in tex, name
    md = (results / "tables" / "scp_sc_industrial.md").read_text()
    for text in ("Hausman χ² (df)", "Mundlak p-value", "Consortium FE", "Clusters (Consortium)",
                 "not change within a consortium", "CR1", "p\\<0.10"):
        assert text in md, text
    for name in [f["name"] for f in models["figures"]] + [models["path_diagram"]["name"]]:
        with Image.open(results / "figures" / f"{name}.png") as image:
            assert round(image.info["dpi"][0]) == 300
        assert (results / "figures" / f"{name}.pdf").read_bytes().startswith(b"%PDF")


def test_latex_tables_are_plain_ascii(small_world):
    """pdflatex's default encodings lack glyphs such as → or ·: every symbol must be escaped."""
    _, results, _, _ = small_world
    for tex in sorted((results / "tables").glob("*.tex")):
        text = tex.read_text(encoding="utf-8")
        offending = sorted({ch for ch in text if ord(ch) > 127})
        assert not offending, f"{tex.name}: unescaped {offending}"


def test_network_measures_are_in_table1_and_an_scp_model(small_world):
    """The simulator's organisations recur across consortia: the prior-network measures
    reach Table 1 (by lead type) and the structure block of the network model."""
    _, results, _, _ = small_world
    table = pd.read_csv(results / "tables" / "table1_descriptives.csv").set_index(
        ["variable", "lead_type"]
    )
    for measure in ("repeat_tie_share", "lead_prior_led", "lead_prior_partners"):
        assert table.loc[(measure, "all"), "n"] > 0, measure
    assert table.loc[("lead_prior_partners", "all"), "mean"] > 0
    fit = json.loads((results / "models" / "fits" / "sc_collab_network_ols.json").read_text())
    for measure in ("repeat_tie_share", "lead_prior_led", "lead_prior_partners"):
        assert measure in fit["spec"]["regressors"] and math.isfinite(fit["params"][measure])
    md = (results / "tables" / "scp_sc_network.md").read_text()
    assert "Member pairs tied before" in md and "Consortia the lead had led" in md
