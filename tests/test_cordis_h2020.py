"""The whole Horizon 2020 programme (../shared/data/cordis-h2020/) end to end, and the
README's real-data section against the files the run writes.

One workflow run of the README command (into a temporary folder, about a minute on two
cores); the selection is recomputed from the raw files with plain pandas.
"""

import json
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from consortia.adapters import cordis

ROOT = Path(__file__).resolve().parents[1]
H2020 = ROOT.parent / "shared" / "data" / "cordis-h2020"
README = (ROOT / "README.md").read_text(encoding="utf-8")
BENCHMARK = ROOT / "benchmarks" / "results" / "cordis_h2020.md"
CONFIGS = ["config/cordis.yaml", "config/cordis-h2020.yaml"]

pytestmark = pytest.mark.workflow


def readme_section() -> str:
    start = README.index("## EU framework-programme consortia")
    return README[start : README.index("\n## ", start + 1)]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    if not (H2020 / "project.csv").is_file():
        pytest.skip(f"the H2020 export is not at {H2020}")
    results = tmp_path_factory.mktemp("h2020")
    targets = [
        results / "findings" / "cordis_findings.json",
        results / "claims" / "claims.json",
        results / "data" / "cordis_accounting.md",
        results / "tables" / "table1_descriptives.csv",
    ]
    command = [
        sys.executable, "-m", "snakemake", "--nolock", "--cores", "2", "--configfile", *CONFIGS,
        "--config", f"results={results}", f"dataset={results / 'dataset'}",
        f"claims={results / 'claims' / 'registry.yaml'}", "--", *map(str, targets),
    ]  # fmt: skip
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=900)
    if done.returncode != 0:
        raise AssertionError(f"snakemake failed:\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}")
    return results


def test_the_readme_command_is_the_tested_one():
    command = re.search(r"<!-- h2020-command -->\s*```bash\n(.+?)\n```", README, re.S).group(1)
    assert command.split("--configfile")[1].split() == CONFIGS


def test_every_table_accounts_for_its_rows_and_every_exclusion_names_its_rule(run):
    quality = json.loads((run / "data" / "quality.json").read_text())
    for table, t in quality["tables"].items():
        assert t["identity_holds"], table
        assert t["rows_read"] == t["rows_kept"] + t["rows_quarantined"] + t["duplicates_collapsed"]

    projects = pd.read_csv(H2020 / "project.csv", sep=";", dtype=str, keep_default_na=False)
    rows = pd.read_csv(H2020 / "organization.csv", sep=";", dtype=str, keep_default_na=False)
    parts = pd.read_csv(H2020 / "programme_parts.csv", sep=";", dtype=str)
    beneficiaries = rows[rows["role"].isin(["coordinator", "participant"])]
    few = projects["id"].map(beneficiaries.groupby("projectID")["organisationID"].nunique())
    few = few.fillna(0) < 3
    erc = projects["id"].isin(parts.loc[parts["programmePart"] == "ERC", "projectID"])
    expected = pd.Series("", index=projects["id"].to_numpy())
    expected[(few & ~erc).to_numpy()] = "fewer_participants"
    expected[(few & erc).to_numpy()] = "fewer_participants; programme_part"
    expected[(~few & erc).to_numpy()] = "programme_part"
    expected = expected[expected != ""]

    excluded = pd.read_csv(run / "dataset" / cordis.EXCLUDED_FILE, dtype=str)
    assert excluded.set_index("project_id")["rule"].sort_index().to_dict() == (
        expected.sort_index().to_dict()
    )
    assert quality["tables"]["consortia"]["rows_read"] == len(projects) - len(expected)
    kept_rows = ~rows["projectID"].isin(expected.index)
    assert quality["tables"]["members"]["rows_read"] == kept_rows.sum()
    source = json.loads((run / "dataset" / cordis.SOURCE_FILE).read_text())
    assert source["summary"]["scheme_or_part"]["source"] == "programme_parts"


def test_breakthrough_speed_holds_the_programme_part_fixed(run):
    claims = json.loads((run / "claims" / "claims.json").read_text())["claims"]
    claims = {c["id"]: c for c in claims}
    speed = claims["breakthrough_speed"]
    assert speed["verdict"] in {"supported", "contradicted", "inconclusive"}
    primary = next(t for t in speed["tests"] if t["name"] == "median_ratio")
    assert primary["details"]["controls"] == ["scheme_or_part"]
    consortia = pd.read_parquet(run / "data" / "clean" / "consortia.parquet")
    assert consortia["scheme_or_part"].str.contains("LEIT").any()


def test_network_measures_are_in_table1(run):
    table = pd.read_csv(run / "tables" / "table1_descriptives.csv")
    shown = set(table["variable"])
    assert {"repeat_tie_share", "lead_prior_led", "lead_prior_partners"} <= shown


def quotes(run) -> list[str]:
    """Every number the README's real-data section quotes, formatted as there, from the
    files the run (and the benchmark) wrote."""
    source = json.loads((run / "dataset" / cordis.SOURCE_FILE).read_text())
    quality = json.loads((run / "data" / "quality.json").read_text())
    findings = json.loads((run / "findings" / "cordis_findings.json").read_text())
    claims = json.loads((run / "claims" / "claims.json").read_text())["claims"]
    claims = {c["id"]: c for c in claims}

    def test(claim, name):
        return next(t for t in claims[claim]["tests"] if t["name"] == name)

    def pct(x):
        return f"{100 * x:.1f}%"

    def points(x):
        return f"{100 * x:+.1f}".replace("-", "−").lstrip("+")

    summary = source["summary"]
    projects, rows = summary["projects"], summary["organization_rows"]
    members = quality["tables"]["members"]
    share = test("enterprise_led_share", "share")
    led = findings["enterprise_led"]
    weight = findings["lead_contribution_share"]
    median = findings["duration_years"]["median_by_lead_type"]
    ratio = test("breakthrough_speed", "median_ratio")
    aft = test("breakthrough_speed", "time_ratio")
    network, later = findings["network"]["all"], findings["network"]["with_history"]
    diff = network["enterprise_minus_university"]
    bench = BENCHMARK.read_text(encoding="utf-8")
    walls = re.findall(r"^\| (sample|whole H2020)[^|]*\| `[^`]*` \| ([\d.]+) \|", bench, re.M)
    load = re.search(r"^\| whole H2020[^\n]*\| ([\d.]+) \|$", bench, re.M).group(1)
    return [
        f"{projects['read']:,} projects,\n{rows['read']:,} participations",
        f"took {float(dict(walls)['whole H2020']):.0f} s",
        f"beside {float(dict(walls)['sample']):.0f} s for the sample",
        f"load average of {load}",
        f"({rows['by_role']['partner']['rows']:,} rows",
        f"Of the {projects['read']:,} projects, {projects['written']:,} are consortia",
        f"each of the {projects['excluded']:,} others",
        *(f"{n:,} `{rule}`" for rule, n in projects["excluded_by_rule"].items()),
        f"keeps all {quality['tables']['consortia']['rows_kept']:,} consortia",
        f"{members['rows_kept']:,} of\ntheir {members['rows_read']:,} participations",
        f"the {members['quarantined_by_rule']['multiple_leads']} coordinator rows of the "
        f"{projects['lead_resolution']['several_coordinators_same_type']} projects",
        f"{pct(share['estimate'])} of the consortia ({100 * share['ci_lower']:.1f}–"
        f"{pct(share['ci_upper'])})",
        f"*{claims['enterprise_led_share']['verdict']}*",
        *(f"{part} {pct(led['by_part'][part]['share'])}" for part in ("LEIT", "SC4", "SC3", "SC7")),
        *(f"{pct(led['by_part'][part]['share'])}" for part in ("MSCA", "FET", "SEWP")),
        f"{pct(led['by_start_year']['2015']['share'])} of the consortia\nstarted in 2015",
        f"{pct(led['by_start_year']['2020']['share'])} of those started in 2020",
        *(
            f"{pct(weight[lead]['mean'])} of the EC contribution ({100 * weight[lead]['ci'][0]:.1f}"
            f"–{pct(weight[lead]['ci'][1])})" if lead == "enterprise" else
            f"{pct(weight[lead]['mean'])} ({100 * weight[lead]['ci'][0]:.1f}–"
            f"{pct(weight[lead]['ci'][1])})"
            for lead in ("enterprise", "university")
        ),  # fmt: skip
        f"Only {pct(test('lead_decision_weight', 'share_above')['estimate'])} of enterprise-led",
        f"is *{claims['lead_decision_weight']['verdict']}*",
        f"median of {median['enterprise']:.1f}\n  years, university-led ones for "
        f"{median['university']:.1f}",
        f"medians is {ratio['estimate']:.2f} ({ratio['ci_lower']:.2f}–{ratio['ci_upper']:.2f})",
        f"(*{claims['breakthrough_speed']['verdict']}*",
        f"cross-check, is {aft['estimate']:.2f}",
        f"{pct(network['enterprise']['repeat_tie_share']['mean'])} of their member",
        f"against {pct(network['university']['repeat_tie_share']['mean'])}",
        f"({points(diff['repeat_tie_share']['difference'])} points, "
        f"{points(diff['repeat_tie_share']['ci'][0])} to "
        f"{points(diff['repeat_tie_share']['ci'][1])})",
        f"{pct(network['enterprise']['lead_had_led_before']['share'])} of their",
        f"against {pct(network['university']['lead_had_led_before']['share'])} of university",
        f"({points(diff['lead_had_led_before']['difference'])} points, "
        f"{points(diff['lead_had_led_before']['ci'][0])} to "
        f"{points(diff['lead_had_led_before']['ci'][1])})",
        f"started\n  from {findings['network']['started_from']}",
        f"{pct(later['enterprise']['lead_had_led_before']['share'])}\n  against "
        f"{pct(later['university']['lead_had_led_before']['share'])}",
    ]


def test_readme_quotes_match_the_files(run):
    section = readme_section()
    flat = re.sub(r"\s+", " ", section)
    missing = [q for q in quotes(run) if re.sub(r"\s+", " ", q) not in flat]
    assert not missing, missing
