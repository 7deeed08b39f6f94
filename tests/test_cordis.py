"""The CORDIS adapter (consortia.adapters.cordis) and the CORDIS workflow.

Unit tests run the adapter on tests/fixtures/cordis/, a hand-made export in the
EC's layout (BOM, quoted fields with semicolons, quotes and a line break, a
decimal comma, day-first and timestamped dates) whose every answer was worked
out by hand. The end-to-end test runs `snakemake --configfile config/cordis.yaml`
on the real sample in ../shared/data/cordis-sample/ and checks the outputs
against counts derived here from the raw files with plain pandas.
"""

import dataclasses
import fnmatch
import hashlib
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from consortia import measures, workflow
from consortia.adapters import cordis
from consortia.adapters.overrides import registry_with_overrides
from consortia.claims import evaluate_claims

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "cordis"
SAMPLE = ROOT.parent / "shared" / "data" / "cordis-sample"
CORDIS_CONFIG = yaml.safe_load((ROOT / "config" / "cordis.yaml").read_text(encoding="utf-8"))
SELECTION = CORDIS_CONFIG["cordis"]["selection"]


@pytest.fixture(scope="module")
def fixture_ingest():
    projects = cordis.read_export(FIXTURES / "project.csv", "projects")
    organizations = cordis.read_export(FIXTURES / "organization.csv", "organizations")
    return cordis.contract_tables(projects, organizations, cordis.Selection.from_config(SELECTION))


@pytest.fixture(scope="module")
def fixture_folder(tmp_path_factory):
    out = tmp_path_factory.mktemp("cordis_dataset")
    summary = cordis.ingest_cordis(
        FIXTURES / "project.csv", FIXTURES / "organization.csv", out, selection=SELECTION
    )
    return out, summary


@pytest.fixture(scope="module")
def fixture_cleaned(fixture_folder):
    out, _ = fixture_folder
    return clean_folder(out)


def clean_folder(out):
    plan = workflow.plan_dataset(out, {}, {})
    return workflow.read_and_clean(
        plan.files,
        tables_cfg={},
        columns_cfg={},
        org_type_synonyms={},
        industry_map={},
        money=CORDIS_CONFIG["money"],
    )


def by_id(frame, key="consortium_id"):
    return frame.set_index(key)


# --------------------------------------------------------------------------- the adapter


def test_lead_type_and_lead_from_the_coordinator_rows(fixture_ingest):
    consortia = by_id(fixture_ingest.tables["consortia"])
    expected = {
        "101": ("enterprise", "900000001"),  # one coordinator, PRC
        "102": ("university", "900000012"),  # two coordinator rows, only one typed (HES)
        "103": ("research_institute", "900000021"),
        "106": ("", ""),  # two coordinators, PRC and HES: lead type unknown
        "107": ("research_institute", ""),  # two REC coordinators: type known, lead not
        "108": ("", ""),  # no coordinator row
        "109": ("enterprise", "900000081"),
    }
    assert set(consortia.index) == set(expected)
    for project, (lead_type, lead_org) in expected.items():
        assert consortia.loc[project, "lead_type"] == lead_type, project
        assert consortia.loc[project, "lead_org_id"] == lead_org, project
    assert "900000011 (no type)" in consortia.loc["102", "cordis_note"]


def test_project_fields_are_kept(fixture_ingest):
    alpha = by_id(fixture_ingest.tables["consortia"]).loc["101"]
    assert (alpha["founded_year"], alpha["dissolved_year"]) == ("2015", "2017")
    assert (alpha["programme"], alpha["funding_scheme"]) == ("H2020", "RIA")
    assert (alpha["topic"], alpha["legal_basis"], alpha["name"]) == (
        "SC1-2014", "H2020-EU.3.1.", "ALPHA",
    )  # fmt: skip
    assert alpha["participants"] == 4


def test_members_one_row_per_organisation_row_of_a_selected_project(fixture_ingest):
    members = fixture_ingest.tables["members"]
    # 32 rows read; projects 104 (3 rows) and 105 (2 rows) are excluded; the row of
    # project 999 (absent from project.csv) is passed on for cleaning to quarantine.
    assert len(members) == 27
    alpha = members[members["consortium_id"] == "101"].set_index("member_id")
    assert alpha["member_type"].to_dict() == {
        "900000001": "enterprise",
        "900000002": "university",
        "900000003": "research_institute",
        "900000004": "government",
    }
    assert alpha["is_lead"].to_dict() == {
        "900000001": "true", "900000002": "false", "900000003": "false", "900000004": "false",
    }  # fmt: skip
    assert alpha.loc["900000003", "name"] == 'Institut "Recherche"'
    # Repeated organisation rows and a missing activityType are written as found.
    gamma = members[members["consortium_id"] == "103"]
    assert (gamma["member_id"] == "900000023").sum() == 2
    assert (gamma["member_id"] == "900000024").sum() == 2
    assert gamma.set_index("member_id").loc["900000022", "member_type"] == ""


def test_decision_weights_are_shares_of_the_recorded_contribution(fixture_ingest):
    members = fixture_ingest.tables["members"]
    weight = {
        (row.consortium_id, row.member_id): row.decision_weight for row in members.itertuples()
    }
    # 101: 600 + 300 + 50,5 (decimal comma) + 49.5 = 1000
    assert float(weight["101", "900000001"]) == pytest.approx(0.6, abs=1e-12)
    assert float(weight["101", "900000003"]) == pytest.approx(0.0505, abs=1e-12)
    assert float(weight["101", "900000004"]) == pytest.approx(0.0495, abs=1e-12)
    # 102: the untyped coordinator and the foundation have no contribution: 400 / 500
    assert float(weight["102", "900000012"]) == pytest.approx(0.8, abs=1e-12)
    assert weight["102", "900000011"] == "" and weight["102", "900000014"] == ""
    # 103: the exact copy of Firma AG counts once: 700 + 0 + 300
    assert float(weight["103", "900000021"]) == pytest.approx(0.7, abs=1e-12)
    assert float(weight["103", "900000022"]) == 0.0
    gamma_firma = members[
        (members["consortium_id"] == "103") & (members["member_id"] == "900000023")
    ]
    assert gamma_firma["decision_weight"].astype(float).tolist() == pytest.approx([0.3, 0.3])
    # 109: the coordinator's contribution is missing, so the lead has no weight
    assert weight["109", "900000081"] == ""
    assert float(weight["109", "900000083"]) == pytest.approx(0.75, abs=1e-12)


def test_selection_lists_every_excluded_project_with_its_reason(fixture_ingest):
    excluded = by_id(fixture_ingest.excluded, "project_id")
    assert set(excluded.index) == {"104", "105"}
    assert "ERC-ADG" in excluded.loc["104", "reasons"] and "ERC-*" in excluded.loc["104", "reasons"]
    assert excluded.loc["105", "reasons"] == (
        "fewer than 3 distinct participants in the roles coordinator, participant, "
        "thirdParty (2)"
    )
    assert excluded["rule"].to_dict() == {"104": "funding_scheme", "105": "fewer_participants"}
    projects = fixture_ingest.summary["projects"]
    assert (projects["read"], projects["written"], projects["excluded"]) == (9, 7, 2)
    assert projects["excluded_by_rule"] == {"fewer_participants": 1, "funding_scheme": 1}
    assert fixture_ingest.summary["scheme_or_part"]["source"] == "fundingScheme"
    consortia = by_id(fixture_ingest.tables["consortia"])
    assert (consortia["scheme_or_part"] == consortia["funding_scheme"]).all()


def test_without_funding_schemes_the_programme_part_is_the_kind_of_grant():
    """An export without fundingScheme (as the H2020 snapshot): the programme parts of a
    programme-parts file (or else legalBasis) say what kind of grant a project is, an ERC
    part excludes it, and several parts are joined."""
    projects = cordis.read_export(FIXTURES / "project.csv", "projects").assign(fundingScheme="")
    organizations = cordis.read_export(FIXTURES / "organization.csv", "organizations")
    parts = pd.DataFrame(
        {"projectID": ["101", "101", "102", "103", "103", "104", "105"],
         "programmePart": ["SC1", "LEIT", "MSCA", "ERC", "SC2", "ERC", "SC6"]}
    )  # fmt: skip
    ingest = cordis.contract_tables(projects, organizations, cordis.Selection(), parts)
    assert ingest.summary["scheme_or_part"]["source"] == "programme_parts"
    excluded = by_id(ingest.excluded, "project_id")
    assert excluded["rule"].to_dict() == {
        "103": "programme_part", "104": "programme_part", "105": "fewer_participants",
    }  # fmt: skip
    assert "programme part ERC+SC2 is not collaborative (matches ERC)" in excluded.loc[
        "103", "reasons"
    ]
    consortia = by_id(ingest.tables["consortia"])
    assert consortia.loc["101", "scheme_or_part"] == "LEIT+SC1"
    assert consortia.loc["102", "programme_part"] == "MSCA"
    assert consortia.loc["106", "scheme_or_part"] == ""  # no part listed
    # no programme-parts file: legalBasis, matched against the same patterns
    by_basis = cordis.contract_tables(
        projects.assign(legalBasis=np.where(projects["id"] == "101", "H2020-EU.1.1.", "X")),
        organizations,
    )
    assert by_basis.summary["scheme_or_part"]["source"] == "legalBasis"
    assert by_id(by_basis.excluded, "project_id").loc["101", "rule"] == "programme_part"


def test_roles_outside_the_counted_ones_are_members_that_do_not_make_a_consortium():
    """A partner organisation (no grant signed, no EC contribution) is written as a member
    of a selected project but does not count towards its participants."""
    projects = cordis.read_export(FIXTURES / "project.csv", "projects")
    organizations = cordis.read_export(FIXTURES / "organization.csv", "organizations")
    # project 105 has two beneficiaries; a third organisation as partner does not save it
    partner = organizations[organizations["projectID"] == "105"].iloc[[0]].assign(
        organisationID="900000049", role="partner", ecContribution=""
    )
    ingest = cordis.contract_tables(projects, pd.concat([organizations, partner]))
    assert "105" in set(ingest.excluded["project_id"])
    assert ingest.summary["organization_rows"]["by_role"]["partner"] == {
        "rows": 2, "counted_as_participant": False,
    }  # fmt: skip
    # project 103's partner row is written (beside the same organisation's empty row)
    members = ingest.tables["members"]
    assert "partner" in set(members.loc[members["consortium_id"] == "103", "role"])
    counted_too = cordis.Selection(counted_roles=("coordinator", "participant", "partner"))
    kept = cordis.contract_tables(projects, pd.concat([organizations, partner]), counted_too)
    assert "105" in set(kept.tables["consortia"]["consortium_id"])


def test_selection_is_configurable():
    projects = cordis.read_export(FIXTURES / "project.csv", "projects")
    organizations = cordis.read_export(FIXTURES / "organization.csv", "organizations")
    everything = cordis.Selection(min_participants=1, exclude_funding_schemes=())
    assert len(cordis.contract_tables(projects, organizations, everything).excluded) == 0
    strict = cordis.Selection(min_participants=4, exclude_funding_schemes=("c*",))
    kept = cordis.contract_tables(projects, organizations, strict).tables["consortia"]
    # >= 4 distinct organisations: 101, 102, 103; 'c*' (any case) drops CP (103)
    assert sorted(kept["consortium_id"]) == ["101", "102"]


def test_tasks_are_the_projects_contractual_dates(fixture_ingest):
    tasks = by_id(fixture_ingest.tables["tasks"])
    assert tasks.loc["101", ["start_date", "end_date", "status"]].tolist() == [
        "2015-01-01", "2017-12-31", "achieved",
    ]  # fmt: skip
    # day-first and timestamped dates are rewritten as ISO dates
    assert tasks.loc["102", ["start_date", "end_date"]].tolist() == ["2019-02-01", "2021-01-31"]
    assert tasks.loc["103", "end_date"] == "2020-06-30"
    assert tasks.loc["109", "status"] == "abandoned"  # status TERMINATED
    assert set(tasks["task_id"]) == {"project"}


def test_every_rewritten_value_and_lead_choice_is_logged(fixture_ingest):
    log = fixture_ingest.log
    assert log["outcome"].value_counts().to_dict() == {
        "date_rewritten": 3,
        "decimal_comma": 1,
        "lead_is_the_typed_coordinator": 1,
        "several_coordinators_different_types": 1,
        "several_coordinators_same_type": 1,
        "no_coordinator": 1,
    }
    comma = log[log["outcome"] == "decimal_comma"].iloc[0]
    assert (comma["file"], comma["record"], comma["organisation_id"]) == (
        "organizations", 3, "900000003",
    )  # fmt: skip
    # the quoted line break in project 101 does not shift the record numbers
    assert log.loc[log["project_id"] == "108", "record"].tolist() == [8]


def test_cleaning_sets_aside_each_oddity_under_the_contract_rule(fixture_cleaned):
    accounting = fixture_cleaned.accounting
    consortia, members, tasks = (accounting[t] for t in ("consortia", "members", "tasks"))
    assert (consortia.rows_read, consortia.rows_kept) == (7, 5)
    assert consortia.quarantined_by_rule == {"missing_required": 2}  # 106 and 108: no lead type
    assert (members.rows_read, members.rows_kept, members.duplicates_collapsed) == (27, 13, 1)
    assert members.quarantined_by_rule == {
        # no activityType: 102's untyped coordinator, 103's Mystery Org and blank row
        "missing_required": 3,
        # the repeated row of 900000024 in 103 that does have a type
        "conflicting_duplicate": 1,
        # members of 106 and 108 (quarantined) and of 999 (absent)
        "unknown_consortium_key": 7,
        # 107's two REC coordinators, no lead_org_id to choose between them
        "multiple_leads": 2,
    }
    assert tasks.quarantined_by_rule == {"unknown_consortium_key": 2}
    assert all(a.identity_holds for a in accounting.values())


def test_panel_lead_weight_is_the_coordinators_share(fixture_cleaned):
    tables = fixture_cleaned.tables
    panel = measures.build_panel(tables["consortia"], tables["members"], None)
    lead_weight = panel.groupby("consortium_id")["lead_decision_weight"].first()
    assert lead_weight["101"] == pytest.approx(0.6)
    assert lead_weight["102"] == pytest.approx(0.8)
    assert math.isnan(lead_weight["109"]) and math.isnan(lead_weight["107"])
    # one panel row per contractual year: 2015, 2016, 2017
    assert sorted(panel.loc[panel["consortium_id"] == "101", "year"]) == [2015, 2016, 2017]


def test_source_json_records_provenance_proxy_caveat_and_selection(fixture_folder):
    out, summary = fixture_folder
    source = json.loads((out / cordis.SOURCE_FILE).read_text(encoding="utf-8"))
    digest = hashlib.sha256((FIXTURES / "organization.csv").read_bytes()).hexdigest()
    assert source["inputs"]["organizations"]["sha256"] == digest
    assert source["inputs"]["organizations"]["records"] == 32
    assert "proxy" in source["decision_weight_proxy"]
    assert "contractual" in source["tasks_caveat"]
    assert source["selection"] == SELECTION
    assert source["summary"] == json.loads(json.dumps(summary))
    excluded = pd.read_csv(out / cordis.EXCLUDED_FILE, dtype=str)
    assert sorted(excluded["project_id"]) == ["104", "105"]


def test_workflow_plan_of_the_promised_folder_matches_the_written_one(fixture_folder):
    out, _ = fixture_folder
    assert cordis.plan({"dataset": out}, "csv") == workflow.plan_dataset(out, {}, {})


def test_parquet_folder_cleans_exactly_as_the_csv_folder(tmp_path, fixture_cleaned):
    """The workflow's own ingest writes Parquet (no CSV round trip between stages)."""
    out = tmp_path / "parquet"
    cordis.ingest_cordis(FIXTURES / "project.csv", FIXTURES / "organization.csv", out,
                         selection=SELECTION, table_format="parquet")  # fmt: skip
    assert cordis.plan({"dataset": out}) == workflow.plan_dataset(out, {}, {})
    from_parquet = clean_folder(out)
    for table, frame in fixture_cleaned.tables.items():
        pd.testing.assert_frame_equal(from_parquet.tables[table], frame)
    pd.testing.assert_frame_equal(
        from_parquet.quarantine.drop(columns="source_file"),
        fixture_cleaned.quarantine.drop(columns="source_file"),
    )
    for table, account in fixture_cleaned.accounting.items():
        assert dataclasses.replace(from_parquet.accounting[table], source_file="") == (
            dataclasses.replace(account, source_file="")
        )


@pytest.mark.parametrize(
    "content, message",
    [
        (b"id,acronym,startDate\n1,A,2015-01-01\n", "semicolon-separated"),
        (b"id;acronym;startDate;fundingScheme\n1;A;2015-01-01;CP\n", "endDate"),
        (b"", "empty"),
    ],
)
def test_unreadable_exports_stop_with_the_file_named(tmp_path, content, message):
    path = tmp_path / "project.csv"
    path.write_bytes(content)
    with pytest.raises(cordis.CordisFormatError, match=message) as error:
        cordis.read_export(path, "projects")
    assert str(path) in str(error.value)


def test_other_encodings_are_named_not_guessed(tmp_path):
    path = tmp_path / "organization.csv"
    text = (
        (FIXTURES / "organization.csv")
        .read_text(encoding="utf-8")
        .replace("Universidad", "Università")
    )
    path.write_bytes(text.encode("cp1252"))
    with pytest.raises(cordis.CordisFormatError, match="cp1252"):
        cordis.read_export(path, "organizations")
    names = cordis.read_export(path, "organizations", encoding="cp1252")["name"]
    assert "Università" in set(names)


def test_cli_ingests_with_the_config_selection_and_names_format_errors(tmp_path, capsys):
    from consortia.cli import main

    out = tmp_path / "dataset"
    argv = ["ingest", "cordis", "--projects", str(FIXTURES / "project.csv"),
            "--organizations", str(FIXTURES / "organization.csv"), "--out", str(out)]  # fmt: skip
    assert main([*argv, "--config", str(ROOT / "config" / "cordis.yaml")]) == 0
    assert "2 of 9 projects excluded" in capsys.readouterr().out
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [*cordis.contract_files('csv').values(), cordis.SOURCE_FILE, cordis.LOG_FILE,
         cordis.EXCLUDED_FILE]
    )  # fmt: skip
    comma_file = tmp_path / "project.csv"
    comma_file.write_text("id,acronym\n1,A\n", encoding="utf-8")
    argv[3] = str(comma_file)
    assert main(argv) == 2
    assert "semicolon-separated" in capsys.readouterr().err


# --------------------------------------------------------------------------- claims


def test_registry_overrides_change_measurement_not_claims():
    base = yaml.safe_load((ROOT / "config" / "claims.yaml").read_text(encoding="utf-8"))
    overrides = CORDIS_CONFIG["cordis"]["claims_overrides"]
    derived = registry_with_overrides(base, overrides)
    before = {c["id"]: c for c in base["claims"]}
    after = {c["id"]: c for c in derived["claims"]}
    speed = after["breakthrough_speed"]
    assert speed["params"]["controls"] == ["scheme_or_part"]
    assert speed["params"]["n_boot"] == before["breakthrough_speed"]["params"]["n_boot"]
    assert speed["tests"] == before["breakthrough_speed"]["tests"]
    assert "proxy" in after["lead_decision_weight"]["label"]
    untouched = set(before) - set(overrides)
    assert all(after[i] == before[i] for i in untouched)
    with pytest.raises(ValueError, match="cannot be overridden"):
        registry_with_overrides(base, {"lead_decision_weight": {"tests": []}})
    with pytest.raises(ValueError, match="no claim"):
        registry_with_overrides(base, {"no_such_claim": {"label": "x"}})


def test_kind_of_grant_control_removes_a_confounded_lead_gap():
    """Simulation truth: within a funding scheme (or programme part) enterprise- and
    university-led projects last equally long; enterprise leads sit mostly in the short
    scheme. With scheme_or_part held fixed the time ratio is 1; without it the short scheme
    makes enterprises look fast."""
    rng = np.random.default_rng(5)
    n = 600
    short_scheme = rng.random(n) < 0.5
    enterprise = rng.random(n) < np.where(short_scheme, 0.8, 0.2)
    scale = np.where(short_scheme, 2.0, 4.0)
    duration = scale * rng.weibull(4.0, n)
    ids = [f"p{i}" for i in range(n)]
    lead = np.where(enterprise, "enterprise", "university")
    tasks = pd.DataFrame(
        {"consortium_id": ids, "lead_type": lead, "duration_years": duration, "event": 1}
    )
    consortia = pd.DataFrame(
        {"consortium_id": ids, "lead_type": lead,
         "scheme_or_part": np.where(short_scheme, "CSA", "CP")}
    )  # fmt: skip
    panel = consortia[["consortium_id", "lead_type"]].assign(year=2020)
    base = yaml.safe_load((ROOT / "config" / "claims.yaml").read_text(encoding="utf-8"))
    overrides = {
        "breakthrough_speed": CORDIS_CONFIG["cordis"]["claims_overrides"]["breakthrough_speed"]
    }

    def time_ratio(controls):
        change = {**overrides["breakthrough_speed"], "params": {"controls": controls}}
        registry = registry_with_overrides(base, {"breakthrough_speed": change})
        results = evaluate_claims(registry, panel, tasks, consortia=consortia, seed=1,
                                  only=["breakthrough_speed"])  # fmt: skip
        test = next(t for t in results.claims[0].tests if t.name == "time_ratio")
        return test.estimate, test.ci_lower, test.ci_upper

    with_scheme = time_ratio(["scheme_or_part"])
    assert with_scheme[1] < 1.0 < with_scheme[2]
    assert with_scheme[0] == pytest.approx(1.0, abs=0.05)
    without = time_ratio([])
    assert without[0] < 0.8 and without[2] < 1.0  # confounded by the short scheme


# --------------------------------------------------------------------------- end to end


def independent_selection():
    """The sample's projects that count as consortia, from the raw files with pandas."""
    projects = pd.read_csv(SAMPLE / "project.csv", sep=";", dtype=str, keep_default_na=False)
    rows = pd.read_csv(SAMPLE / "organization.csv", sep=";", dtype=str, keep_default_na=False)
    counted = rows["role"].str.lower().isin([r.lower() for r in SELECTION["counted_roles"]])
    distinct = (
        rows[(rows["organisationID"] != "") & counted].groupby("projectID")["organisationID"]
    ).nunique()
    patterns = [p.upper() for p in SELECTION["exclude_funding_schemes"]]
    collaborative = ~projects["fundingScheme"].str.upper().map(
        lambda scheme: any(fnmatch.fnmatchcase(scheme, p) for p in patterns)
    )
    enough = projects["id"].map(distinct).fillna(0) >= SELECTION["min_participants"]
    return projects[enough & collaborative], rows


@pytest.fixture(scope="module")
def sample_run(cordis_run):
    """The workflow on the real sample (tests/conftest.py, shared with the print checks)."""
    return cordis_run


@pytest.mark.workflow
def test_sample_counts_match_the_raw_files(sample_run):
    selected, rows = independent_selection()
    quality = json.loads((sample_run / "data" / "quality.json").read_text())
    assert quality["tables"]["consortia"]["rows_read"] == len(selected)
    assert quality["tables"]["members"]["rows_read"] == rows["projectID"].isin(selected["id"]).sum()
    assert quality["tables"]["tasks"]["rows_read"] == len(selected)
    excluded = pd.read_csv(sample_run / "dataset" / cordis.EXCLUDED_FILE, dtype=str)
    projects_read = len(pd.read_csv(SAMPLE / "project.csv", sep=";", dtype=str))
    assert len(excluded) == projects_read - len(selected)
    accounting = (sample_run / "data" / "cordis_accounting.md").read_text(encoding="utf-8")
    assert f"| written to consortia.parquet | {len(selected)} |" in accounting
    # the README's sample paragraph quotes these counts
    readme = " ".join((ROOT / "README.md").read_text(encoding="utf-8").split())
    assert f"{projects_read:,} FP7 and H2020 projects" in readme
    assert f"{quality['tables']['consortia']['rows_read']:,} of them count as consortia" in readme


@pytest.mark.workflow
def test_sample_lead_types_match_the_coordinators_activity_types(sample_run):
    selected, rows = independent_selection()
    coordinators = rows[(rows["role"] == "coordinator") & rows["projectID"].isin(selected["id"])]
    typed = coordinators[coordinators["activityType"] != ""]
    codes = typed.groupby("projectID")["activityType"].agg(frozenset)
    one_type = codes[codes.map(len) == 1].map(lambda c: next(iter(c)))
    expected = one_type.map(cordis.ACTIVITY_TYPES).value_counts().to_dict()

    clean = pd.read_parquet(sample_run / "data" / "clean" / "consortia.parquet")
    assert clean["lead_type"].value_counts().to_dict() == expected
    table1 = pd.read_csv(sample_run / "tables" / "table1_descriptives.csv")
    sample = table1[(table1["variable"] == "sample") & (table1["lead_type"] != "all")]
    assert dict(zip(sample["lead_type"], sample["n_consortia"])) == expected

    claims = {
        c["id"]: c
        for c in json.loads((sample_run / "claims" / "claims.json").read_text())["claims"]
    }
    share = next(t for t in claims["enterprise_led_share"]["tests"] if t["name"] == "share")
    assert (share["details"]["k"], share["details"]["n"]) == (expected["enterprise"], len(one_type))


@pytest.mark.workflow
def test_sample_lead_weight_and_durations_match_the_raw_files(sample_run):
    selected, rows = independent_selection()
    mine = rows[rows["projectID"].isin(selected["id"])]
    distinct = mine.drop_duplicates()
    total = (
        pd.to_numeric(distinct["ecContribution"], errors="coerce")
        .groupby(distinct["projectID"])
        .sum()
    )
    coordinators = mine[(mine["role"] == "coordinator") & (mine["activityType"] != "")]
    single = coordinators.groupby("projectID")["activityType"].transform("nunique") == 1
    enterprise_leads = coordinators[single & (coordinators["activityType"] == "PRC")]
    enterprise_leads = enterprise_leads.drop_duplicates("projectID").set_index("projectID")
    share = pd.to_numeric(enterprise_leads["ecContribution"], errors="coerce") / total
    share = share.dropna()

    claims = {
        c["id"]: c
        for c in json.loads((sample_run / "claims" / "claims.json").read_text())["claims"]
    }
    weight = next(t for t in claims["lead_decision_weight"]["tests"] if t["name"] == "mean")
    assert weight["n_obs"] == len(share)
    assert weight["estimate"] == pytest.approx(share.mean(), rel=1e-9)

    # Medians with every task an event, the survival curves standardised over the funding
    # scheme: each group's curve is Σ_k w_k S_gk(t), S_gk the share of its projects of scheme
    # k still running at t, w_k the scheme's share of both groups' projects (schemes with
    # projects of both groups); the median is the first duration at which the curve is ≤ ½.
    projects = selected.set_index("id")
    years = (
        pd.to_datetime(projects["endDate"]) - pd.to_datetime(projects["startDate"])
    ).dt.days / 365.25
    lead_code = (
        coordinators[single].drop_duplicates("projectID").set_index("projectID")["activityType"]
    )
    pair = pd.DataFrame({"years": years, "lead": lead_code, "scheme": projects["fundingScheme"]})
    pair = pair[pair["lead"].isin(["PRC", "HES"]) & (pair["scheme"] != "")].dropna()
    both = pair.groupby("scheme")["lead"].nunique() == 2
    pair = pair[pair["scheme"].isin(both[both].index)]
    weights = pair["scheme"].value_counts(normalize=True)
    grid = np.sort(pair["years"].unique())

    def standardised_median(code):
        curve = sum(
            weights[k] * np.array([(g["years"] > t).mean() for t in grid])
            for k, g in pair[pair["lead"] == code].groupby("scheme")
        )
        return grid[np.flatnonzero(curve <= 0.5 + 1e-12)[0]]  # exactly one half counts

    speed = next(t for t in claims["breakthrough_speed"]["tests"] if t["name"] == "median_ratio")
    assert speed["details"]["median_lead_years"] == pytest.approx(standardised_median("PRC"))
    assert speed["details"]["median_reference_years"] == pytest.approx(
        standardised_median("HES")
    )


@pytest.mark.workflow
def test_sample_claims_the_data_cannot_speak_to_are_not_testable(sample_run):
    claims = json.loads((sample_run / "claims" / "claims.json").read_text())["claims"]
    tested = {"enterprise_led_share", "lead_decision_weight", "breakthrough_speed"}
    for claim in claims:
        if claim["id"] in tested:
            assert claim["verdict"] in {"supported", "contradicted", "inconclusive"}, claim["id"]
        else:
            assert claim["verdict"] == "not_testable", claim["id"]
            if claim["reason"].startswith("required column(s) missing"):
                assert claim["missing_columns"], claim["id"]
    labels = {c["id"]: c["label"] for c in claims}
    assert "proxy" in labels["lead_decision_weight"]
