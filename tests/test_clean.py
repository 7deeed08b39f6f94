"""Each cleaning rule on tiny hand-made tables, with the answer worked out by hand."""

import json

import numpy as np
import pandas as pd
import pytest

from consortia.clean import (
    QUARANTINE_COLUMNS,
    AccountingError,
    TableAccount,
    check_accounting,
    clean_dataset,
)
from consortia.contract import FIX_COLUMNS
from consortia.io import ContractError
from consortia.report import quality_report, summary_text, write_quality

NO_MONEY = {"org_type_synonyms": {}, "industry_map": {}, "money": {"currency": "CNY"}}


def table(**columns) -> pd.DataFrame:
    """A table as read from a file: text, empty cells missing, 1-based source rows."""
    frame = pd.DataFrame(columns, dtype=object)
    frame = frame.where(frame.notna(), np.nan)
    return frame.assign(source_row=np.arange(1, len(frame) + 1))


def consortia(**overrides) -> pd.DataFrame:
    columns = {
        "consortium_id": ["C1", "C2"],
        "lead_type": ["enterprise", "university"],
        "founded_year": ["2016", "2018"],
    }
    return table(**(columns | overrides))


def members(**overrides) -> pd.DataFrame:
    columns = {
        "consortium_id": ["C1", "C1", "C2"],
        "member_id": ["M1", "M2", "M3"],
        "member_type": ["enterprise", "university", "government"],
    }
    return table(**(columns | overrides))


def clean(config=NO_MONEY, **tables):
    tables.setdefault("consortia", consortia())
    tables.setdefault("members", members())
    return clean_dataset(tables, {name: f"{name}.csv" for name in tables}, config)


def quarantined(result, table_name):
    return result.quarantine[result.quarantine["table"] == table_name].reset_index(drop=True)


def only_quarantined(result, table_name):
    """The single quarantined row of a table."""
    rows = quarantined(result, table_name)
    assert len(rows) == 1, rows
    return rows.iloc[0]


# --- output shape -------------------------------------------------------------------------


def test_quarantine_and_fixes_have_the_design_columns():
    result = clean()
    assert list(result.quarantine.columns) == QUARANTINE_COLUMNS
    assert QUARANTINE_COLUMNS == [
        "table",
        "source_file",
        "source_row",
        "rule",
        "column",
        "detail",
        "record",
    ]
    assert list(result.fixes.columns) == FIX_COLUMNS
    assert FIX_COLUMNS[3] == "fix"


def test_clean_tables_are_typed():
    result = clean(
        consortia=consortia(high_tech=["是", "no"], dissolved_year=[None, "2022"]),
        members=members(
            is_lead=["1", "否", " TRUE "],
            decision_weight=["0.6", "0.4", "1"],
            sme=["yes", "0", None],
        ),
        tasks=table(
            consortium_id=["C1"],
            task_id=["T1"],
            start_date=["2019-03-01"],
            end_date=["2020-01-31"],
            status=["Achieved"],
        ),
    )
    c, m, t = result.tables["consortia"], result.tables["members"], result.tables["tasks"]
    assert str(c["founded_year"].dtype) == "Int64"
    assert c["dissolved_year"].tolist()[1] == 2022
    assert str(c["high_tech"].dtype) == "boolean"
    assert c["high_tech"].tolist() == [True, False]
    assert m["is_lead"].tolist() == [True, False, True]
    assert m["sme"].isna().tolist() == [False, False, True]
    assert m["decision_weight"].dtype == float
    assert t["start_date"].dtype == "datetime64[ns]"
    assert t["end_date"].iloc[0] == pd.Timestamp("2020-01-31")
    assert t["status"].tolist() == ["achieved"]
    assert c["source_row"].tolist() == [1, 2]


def test_extra_columns_are_carried_through_untouched():
    result = clean(consortia=consortia(notes=["  keep me ", None]))
    assert result.tables["consortia"]["notes"].tolist()[0] == "  keep me "


# --- collapse and duplicates --------------------------------------------------------------


def test_exact_duplicates_are_collapsed_and_counted():
    duplicated = table(
        consortium_id=["C1", "C1", " C1 ", "C2"],
        lead_type=["enterprise"] * 3 + ["university"],
        founded_year=["2016", "2016", "2016", "2018"],
    )
    result = clean(consortia=duplicated)
    account = result.accounting["consortia"]
    assert (account.rows_read, account.rows_kept, account.duplicates_collapsed) == (4, 2, 2)
    assert result.tables["consortia"]["source_row"].tolist() == [1, 4]
    assert result.quarantine.empty


def test_conflicting_duplicates_are_all_set_aside():
    conflicting = table(
        consortium_id=["C1", "C2", "C1", "C1"],
        lead_type=["enterprise", "university", "university", "enterprise"],
        founded_year=["2016", "2018", "2016", "2017"],
    )
    result = clean(consortia=conflicting, members=members().iloc[2:])
    rows = quarantined(result, "consortia")
    assert rows["source_row"].tolist() == [1, 3, 4]
    assert set(rows["rule"]) == {"conflicting_duplicate"}
    assert rows["column"].iloc[0] == "consortium_id"
    assert rows["detail"].iloc[0] == (
        "key consortium_id=C1 appears in 3 rows with different values (source rows 1, ..., 4)"
    )
    assert result.tables["consortia"]["consortium_id"].tolist() == ["C2"]


def test_conflicting_duplicate_on_a_two_column_key():
    panel = table(consortium_id=["C1", "C1"], year=["2019", "2019"], patents_filed=["1", "2"])
    row = quarantined(clean(panel=panel), "panel").iloc[0]
    assert row["detail"] == (
        "key consortium_id=C1, year=2019 appears in 2 rows with different values "
        "(source rows 1 and 2)"
    )


# --- parsing -------------------------------------------------------------------------------


def test_unparseable_values_are_type_mismatches_with_the_value():
    panel = table(
        consortium_id=["C1", "C1", "C1", "C1"],
        year=["2019", "2020.5", "2021", "2022"],
        patents_filed=["3", "1", "n/a", "2"],
        shared_platform=["yes", "no", "1", "maybe"],
    )
    result = clean(panel=panel)
    rows = quarantined(result, "panel")
    assert rows["source_row"].tolist() == [2, 3, 4]
    assert set(rows["rule"]) == {"type_mismatch"}
    assert rows["column"].tolist() == ["year", "patents_filed", "shared_platform"]
    assert rows["detail"].tolist() == [
        "year: '2020.5' is not a four-digit year",
        "patents_filed: 'n/a' is not a whole number",
        "shared_platform: 'maybe' is not a flag (true/false, 1/0, yes/no, 是/否)",
    ]
    assert json.loads(rows["record"].iloc[1]) == {
        "consortium_id": "C1",
        "year": "2021",
        "patents_filed": "n/a",
        "shared_platform": "1",
    }


def test_impossible_date_is_a_type_mismatch():
    tasks = table(
        consortium_id=["C1", "C1"], task_id=["T1", "T2"], start_date=["2019-13-45", "2019-02-01"]
    )
    row = only_quarantined(clean(tasks=tasks), "tasks")
    assert (row["rule"], row["source_row"]) == ("type_mismatch", 1)
    assert row["detail"] == "start_date: '2019-13-45' is not a date (YYYY-MM-DD)"


def test_category_outside_its_vocabulary_is_a_type_mismatch():
    result = clean(members=members(chain_position=["Upstream", "sideways", None]))
    row = only_quarantined(result, "members")
    assert (
        row["detail"] == "chain_position: 'sideways' is not one of upstream, midstream, downstream"
    )
    assert result.tables["members"]["chain_position"].tolist()[0] == "upstream"


def test_empty_required_value_is_missing_required():
    result = clean(consortia=consortia(lead_type=["enterprise", "   "]))
    row = only_quarantined(result, "consortia")
    assert (row["rule"], row["column"], row["source_row"]) == ("missing_required", "lead_type", 2)
    assert row["detail"] == "required column lead_type is empty"


def test_unparseable_required_value_is_a_type_mismatch_not_missing():
    result = clean(consortia=consortia(founded_year=["2016", "abc"]))
    row = only_quarantined(result, "consortia")
    assert (row["rule"], row["column"]) == ("type_mismatch", "founded_year")


def test_required_column_absent_from_the_frame_is_a_contract_error():
    with pytest.raises(
        ContractError,
        match=r"members\.csv: the members table lacks required column\(s\) member_type",
    ):
        clean(members=members().drop(columns="member_type"))


# --- organisation types --------------------------------------------------------------------


def test_chinese_labels_and_synonyms_are_normalised_and_counted():
    result = clean(
        consortia=consortia(lead_type=["企业", "University"]),
        members=members(member_type=["Firm", "高校", "政府"]),
    )
    assert result.tables["consortia"]["lead_type"].tolist() == ["enterprise", "university"]
    assert result.tables["members"]["member_type"].tolist() == [
        "enterprise",
        "university",
        "government",
    ]
    assert result.accounting["consortia"].fixes == {"org_type_synonym": 2}
    assert result.accounting["members"].fixes == {"org_type_synonym": 3}
    details = result.fixes.loc[result.fixes["table"] == "consortia", "detail"].tolist()
    assert "1 row: '企业' read as enterprise" in details


def test_unknown_org_type_is_quarantined_unless_the_config_adds_it():
    labelled = members(member_type=["enterprise", "国企", "university"])
    row = only_quarantined(clean(members=labelled), "members")
    assert (row["rule"], row["column"], row["source_row"]) == ("unknown_org_type", "member_type", 2)
    assert "'国企' is not an organisation type" in row["detail"]
    assert "org_type_synonyms" in row["detail"]

    config = NO_MONEY | {"org_type_synonyms": {"国企": "enterprise"}}
    result = clean(config=config, members=labelled)
    assert result.quarantine.empty
    assert result.tables["members"]["member_type"].tolist()[1] == "enterprise"


# --- value rules ---------------------------------------------------------------------------


def test_negative_count_and_money_are_set_aside():
    panel = table(
        consortium_id=["C1", "C1"],
        year=["2019", "2020"],
        patents_filed=["-1", "2"],
        subsidy=["5", "-0.5"],
    )
    rows = quarantined(clean(panel=panel), "panel")
    assert rows["rule"].tolist() == ["negative_value", "negative_value"]
    assert rows["column"].tolist() == ["patents_filed", "subsidy"]
    assert rows["detail"].tolist() == [
        "patents_filed = -1 is below zero",
        "subsidy = -0.5 is below zero",
    ]


def test_negative_funding_is_set_aside():
    row = only_quarantined(clean(members=members(funding=["10", "-3", None])), "members")
    assert (row["rule"], row["column"], row["source_row"]) == ("negative_value", "funding", 2)


def test_transferred_above_achievements_and_industrial_above_total():
    panel = table(
        consortium_id=["C1"] * 3,
        year=["2019", "2020", "2021"],
        achievements=["3", "2", "4"],
        achievements_transferred=["3", "5", None],
        tasks_total=["4", "4", "2"],
        tasks_industrial=["4", "1", "3"],
    )
    rows = quarantined(clean(panel=panel), "panel")
    assert rows["source_row"].tolist() == [2, 3]
    assert rows["rule"].tolist() == ["transferred_exceeds_achievements", "industrial_exceeds_total"]
    assert rows["detail"].tolist() == [
        "achievements_transferred 5 exceeds achievements 2",
        "tasks_industrial 3 exceeds tasks_total 2",
    ]


def test_decision_weight_outside_unit_interval():
    result = clean(members=members(decision_weight=["1.2", "-0.1", "1"]))
    rows = quarantined(result, "members")
    assert rows["rule"].tolist() == ["decision_weight_out_of_range"] * 2
    assert rows["detail"].tolist() == [
        "decision_weight = 1.2 is outside [0, 1]",
        "decision_weight = -0.1 is outside [0, 1]",
    ]


def test_task_ending_before_it_starts():
    tasks = table(
        consortium_id=["C1", "C1"],
        task_id=["T1", "T2"],
        start_date=["2019-05-01", "2019-05-01"],
        end_date=["2019-04-30", "2019-05-01"],
    )
    row = only_quarantined(clean(tasks=tasks), "tasks")
    assert (row["rule"], row["column"], row["source_row"]) == ("end_before_start", "end_date", 1)
    assert row["detail"] == "end_date 2019-04-30 is before start_date 2019-05-01"


def test_dissolved_before_founded_and_exit_before_join():
    result = clean(
        consortia=consortia(dissolved_year=["2015", None]),
        members=members(join_year=["2017", "2019", None], exit_year=["2018", "2018", "2020"]),
    )
    consortium = only_quarantined(result, "consortia")
    assert (consortium["rule"], consortium["column"]) == ("end_before_start", "dissolved_year")
    rows = quarantined(result, "members")
    # M1 and M2 belong to the dissolved-before-founded C1, so their key rule comes first;
    # M2's own end_before_start is listed in its detail.
    assert rows["rule"].tolist() == ["unknown_consortium_key", "unknown_consortium_key"]
    assert "also breaks: end_before_start (exit_year)" in rows["detail"].iloc[1]


def test_panel_year_outside_the_consortium_life():
    result = clean(
        consortia=consortia(dissolved_year=[None, "2020"]),
        panel=table(consortium_id=["C1", "C2", "C2", "C2"], year=["2015", "2017", "2020", "2021"]),
    )
    rows = quarantined(result, "panel")
    assert rows["source_row"].tolist() == [1, 2, 4]
    assert set(rows["rule"]) == {"year_outside_life"}
    assert rows["detail"].tolist() == [
        "year 2015 is before founded_year 2016 of consortium C1",
        "year 2017 is before founded_year 2018 of consortium C2",
        "year 2021 is after dissolved_year 2020 of consortium C2",
    ]


# --- across tables -------------------------------------------------------------------------


def test_unknown_consortium_key_says_whether_absent_or_quarantined():
    result = clean(
        consortia=consortia(founded_year=["2016", "soon"]),
        members=members(consortium_id=["C1", "C9", "C2"]),
        tasks=table(consortium_id=["C2"], task_id=["T1"]),
    )
    rows = quarantined(result, "members")
    assert rows["source_row"].tolist() == [2, 3]
    assert set(rows["rule"]) == {"unknown_consortium_key"}
    assert rows["detail"].tolist() == [
        "consortium 'C9' is not in the consortia table",
        "consortium 'C2' is quarantined in consortia (type_mismatch)",
    ]
    assert only_quarantined(result, "tasks")["rule"] == "unknown_consortium_key"


def test_several_leads_none_named_by_lead_org_id_are_all_set_aside():
    result = clean(
        consortia=consortia(lead_org_id=["M9", None]),
        members=members(is_lead=["true", "true", "true"]),
    )
    rows = quarantined(result, "members")
    assert rows["source_row"].tolist() == [1, 2]
    assert set(rows["rule"]) == {"multiple_leads"}
    assert rows["detail"].iloc[0] == (
        "2 rows flag is_lead in consortium C1 and none matches consortia.lead_org_id (M9)"
    )
    assert result.tables["members"]["member_id"].tolist() == ["M3"]


def test_several_leads_one_named_by_lead_org_id_are_reconciled():
    result = clean(
        consortia=consortia(lead_org_id=["M2", None]),
        members=members(is_lead=["1", "1", "0"]),
    )
    assert result.quarantine.empty
    assert result.tables["members"]["is_lead"].tolist() == [False, True, False]
    fix = result.fixes.iloc[0]
    assert (fix["fix"], fix["column"], fix["source_row"]) == ("lead_flag_reconciled", "is_lead", 1)
    assert fix["detail"] == (
        "is_lead set to false: 2 rows flag is_lead in consortium C1 "
        "and consortia.lead_org_id names M2"
    )
    assert json.loads(fix["record"])["is_lead"] == "1"
    assert result.accounting["members"].fixes == {"lead_flag_reconciled": 1}


def test_a_row_breaking_several_rules_is_quarantined_once_under_the_first():
    result = clean(
        members=members(
            member_type=["enterprise", "alien", "university"],
            funding=["1", "-5", "2"],
            decision_weight=[None, "3", None],
        )
    )
    row = only_quarantined(result, "members")
    assert row["rule"] == "unknown_org_type"
    assert row["detail"].endswith(
        "; also breaks: negative_value (funding), decision_weight_out_of_range (decision_weight)"
    )


# --- fixes: labels, status, money ----------------------------------------------------------


def test_industry_labels_are_harmonised_by_the_config_map():
    config = NO_MONEY | {"industry_map": {"ict ": "Information technology"}}
    result = clean(config=config, consortia=consortia(industry=["ICT", "Biotech"]))
    assert result.tables["consortia"]["industry"].tolist() == ["Information technology", "Biotech"]
    assert result.accounting["consortia"].fixes == {"industry_label": 1}


def test_missing_task_status_is_inferred_from_the_end_date():
    tasks = table(
        consortium_id=["C1", "C1", "C1"],
        task_id=["T1", "T2", "T3"],
        end_date=["2020-01-01", None, None],
        status=[None, None, "abandoned"],
    )
    result = clean(tasks=tasks)
    assert result.tables["tasks"]["status"].tolist() == ["achieved", "ongoing", "abandoned"]
    fixes = result.fixes[result.fixes["fix"] == "task_status_inferred"]
    assert fixes["source_row"].tolist() == [1, 2]
    assert fixes["detail"].tolist()[0] == "status empty; set to achieved (end_date given)"


MONEY = {
    "currency": "CNY",
    "default_unit": "CNY",
    "units": {"panel": {"rd_expenditure": "万元", "subsidy": "100M CNY"}},
    "deflator": {"base_year": 2020, "index": {2016: 80.0, 2019: 125.0, 2020: 100.0}},
}


def test_money_is_converted_then_deflated_with_hand_computed_values():
    config = NO_MONEY | {"money": MONEY}
    result = clean(
        config=config,
        consortia=consortia(founded_year=["2016", "2019"]),
        members=members(funding=["400", None, "250"]),
        panel=table(
            consortium_id=["C1", "C1"],
            year=["2019", "2020"],
            rd_expenditure=["2.5", "3"],
            subsidy=["0.01", None],
            new_product_revenue=["1000", "50"],
        ),
    )
    panel = result.tables["panel"]
    # 2.5 万元 = 25,000 CNY at 2019 prices -> 25,000 * 100 / 125 = 20,000 at 2020 prices
    assert panel["rd_expenditure"].tolist() == pytest.approx([20_000.0, 30_000.0])
    # 0.01 亿元 = 1,000,000 CNY -> * 100 / 125 = 800,000
    assert panel["subsidy"].iloc[0] == pytest.approx(800_000.0)
    assert np.isnan(panel["subsidy"].iloc[1])
    # default unit CNY: only deflated; 1000 * 100 / 125 = 800
    assert panel["new_product_revenue"].tolist() == pytest.approx([800.0, 50.0])
    # funding deflated by the consortium's founded_year: C1 2016 (80), C2 2019 (125)
    assert result.tables["members"]["funding"].tolist()[0] == pytest.approx(500.0)
    assert result.tables["members"]["funding"].tolist()[2] == pytest.approx(200.0)
    assert result.accounting["panel"].fixes == {"money_unit": 3, "deflated": 5}
    assert result.accounting["members"].fixes == {"deflated": 2}


def test_money_without_deflator_keeps_current_prices():
    config = NO_MONEY | {"money": MONEY | {"deflator": None}}
    panel = table(consortium_id=["C1"], year=["2019"], rd_expenditure=["2.5"])
    result = clean(config=config, panel=panel)
    assert result.tables["panel"]["rd_expenditure"].tolist() == [25_000.0]
    assert "deflated" not in result.accounting["panel"].fixes


def test_money_unit_in_another_currency_stops_the_run():
    config = NO_MONEY | {"money": {"currency": "CNY", "units": {"members": {"funding": "k EUR"}}}}
    with pytest.raises(ValueError, match=r"members\.funding.*does not convert between currencies"):
        clean(config=config)


def test_money_unit_for_a_column_that_is_not_money_is_rejected():
    config = NO_MONEY | {"money": {"currency": "CNY", "units": {"panel": {"patents": "CNY"}}}}
    with pytest.raises(ValueError, match=r"money\.units\.panel\.patents: not a money column"):
        clean(config=config)


def test_deflating_a_year_outside_the_index_names_it():
    config = NO_MONEY | {"money": MONEY}
    panel = table(consortium_id=["C1"], year=["2023"], subsidy=["1"])
    with pytest.raises(ValueError, match=r"panel\.subsidy.*year\(s\) 2023"):
        clean(config=config, panel=panel)


# --- warnings ------------------------------------------------------------------------------


def test_decision_weights_not_summing_to_one_are_a_warning_not_a_quarantine():
    result = clean(members=members(decision_weight=["0.5", "0.3", "0.995"]))
    assert result.quarantine.empty
    assert len(result.warnings) == 1
    assert "in 1 consortia" in result.warnings[0]
    assert "C1 (0.8)" in result.warnings[0]


def test_decision_weights_partly_given_are_not_checked():
    assert clean(members=members(decision_weight=["0.5", None, "1"])).warnings == []


# --- accounting and report ------------------------------------------------------------------


def test_accounting_identity_on_a_messy_dataset():
    result = clean(
        consortia=consortia(lead_type=["enterprise", "???"]),
        members=table(
            consortium_id=["C1", "C1", "C1", "C2", None],
            member_id=["M1", "M1", "M2", "M3", "M4"],
            member_type=["firm", "firm", "university", "government", "other"],
        ),
    )
    account = result.accounting["members"]
    assert (
        account.rows_read,
        account.rows_kept,
        account.rows_quarantined,
        account.duplicates_collapsed,
    ) == (5, 2, 2, 1)
    assert account.quarantined_by_rule == {"missing_required": 1, "unknown_consortium_key": 1}
    assert account.identity_holds


def test_check_accounting_raises_when_rows_go_missing():
    broken = TableAccount(
        "members",
        "members.csv",
        rows_read=10,
        rows_kept=7,
        rows_quarantined=2,
        duplicates_collapsed=0,
    )
    with pytest.raises(AccountingError, match=r"members \(members\.csv\): 10 != 7 \+ 2 \+ 0"):
        check_accounting({"members": broken})


def test_quality_report_layout_and_summary(tmp_path):
    result = clean(
        consortia=consortia(lead_type=["企业", "???"]),
        members=members(decision_weight=["0.5", "0.5", None]),
    )
    quality = quality_report(
        result, dataset="data/raw/x", absent_tables=["panel", "tasks"], warnings=["extra warning"]
    )
    assert quality["dataset"] == "data/raw/x"
    assert quality["absent_tables"] == ["panel", "tasks"]
    assert quality["warnings"] == ["extra warning"]
    assert quality["tables"]["consortia"] == {
        "file": "consortia.csv",
        "rows_read": 2,
        "rows_kept": 1,
        "rows_quarantined": 1,
        "duplicates_collapsed": 0,
        "identity_holds": True,
        "quarantined_by_rule": {"unknown_org_type": 1},
        "fixes": {"org_type_synonym": 1},
    }
    path = tmp_path / "out" / "quality.json"
    write_quality(quality, path)
    assert json.loads(path.read_text(encoding="utf-8")) == quality
    text = summary_text(quality)
    assert "consortia" in text and "OK (2 = 1 + 1 + 0)" in text
    assert "members.unknown_consortium_key 1" in text
    assert "absent tables: panel, tasks" in text
    assert "warning: extra warning" in text


def test_lead_flags_are_reconciled_in_one_consortium_and_set_aside_in_another():
    result = clean(
        consortia=consortia(lead_org_id=["M1", None]),
        members=members(
            consortium_id=["C1", "C1", "C2", "C2"],
            member_id=["M1", "M2", "M3", "M4"],
            member_type=["enterprise"] * 4,
            is_lead=["yes"] * 4,
        ),
    )
    assert quarantined(result, "members")["source_row"].tolist() == [3, 4]
    assert result.fixes["source_row"].tolist() == [2]
    assert result.tables["members"]["is_lead"].tolist() == [True, False]


def test_trimming_distinct_values_matches_str_strip():
    # The vectorised pre-check must never skip a value that Python's str.strip would change
    # (ASCII and Unicode blanks, control separators), nor alter one it would leave alone.
    from consortia.clean.parsing import _stripped_text

    values = [
        "12", " 12", "12 ", "\t1\n", "企业", " 企业 ", "a\u3000", "\u00a0x", "", "   ",
        "x\x1c", "\x1fy", "\x0bq", "q\x0c", "\u2028z", "ok\u200b", "a b", "-3", "1.5e3",
    ]  # fmt: skip
    assert _stripped_text(np.array(values, dtype=object)).tolist() == [v.strip() for v in values]


# --- values and dates that would move results silently (issue 12) ----------------------------

MONEY_10K_CNY = {
    "org_type_synonyms": {},
    "industry_map": {},
    "money": {
        "currency": "CNY",
        "units": {"panel": {"new_product_revenue": "10k CNY"}},
        "deflator": {"base_year": 2020, "index": {2019: 50.0, 2020: 100.0}},
    },
}


def test_a_money_value_that_overflows_after_conversion_is_quarantined_with_its_own_rule():
    # 1e305 in 10k CNY is 1e309 CNY: finite in the file, inf after conversion
    panel = table(
        consortium_id=["C1", "C1", "C2"],
        year=["2019", "2020", "2020"],
        new_product_revenue=["1e305", "1e12", "5e95"],
    )
    result = clean(MONEY_10K_CNY, panel=panel)
    row = only_quarantined(result, "panel")
    assert (row["rule"], row["column"], row["source_row"]) == (
        "value_overflow", "new_product_revenue", 1
    )
    assert "new_product_revenue = 1e305 10k CNY is inf in CNY" in row["detail"]
    kept = result.tables["panel"]["new_product_revenue"]
    # 1e12 × 1e4 kept; 5e95 × 1e4 = 5e99 in 2020 prices, just inside the ±1e100 bound
    assert kept.tolist() == pytest.approx([1e16, 5e99])
    assert np.isfinite(kept).all()
    assert result.accounting["panel"].identity_holds


def test_the_overflow_bound_applies_after_deflation():
    # 6e95 in 10k CNY of 2019 is 6e99 CNY then, 1.2e100 at 2020 prices (index 50 -> 100)
    panel = table(consortium_id=["C1", "C2"], year=["2019", "2020"],
                  new_product_revenue=["6e95", "6e95"])
    row = only_quarantined(clean(MONEY_10K_CNY, panel=panel), "panel")
    assert row["source_row"] == 1 and row["rule"] == "value_overflow"
    assert "at constant prices" in row["detail"]


def tasks_table(ends: list[str | None]) -> pd.DataFrame:
    n = len(ends)
    return table(
        consortium_id=["C1"] * n,
        task_id=[f"T{i}" for i in range(n)],
        start_date=["2019-01-01"] * n,
        end_date=ends,
    )


def test_a_task_dated_far_beyond_the_rest_is_quarantined_and_does_not_move_the_cutoff():
    from consortia.measures import build_tasks

    result = clean(
        tasks=tasks_table(["2020-06-30", "2021-03-01", None, "2099-01-01", "2088-05-05"])
    )
    rows = quarantined(result, "tasks")
    assert rows["rule"].tolist() == ["date_far_beyond_data"] * 2
    assert rows["source_row"].tolist() == [4, 5]
    assert "latest 2021-03-01" in rows["detail"].iloc[0]
    assert any("date_far_beyond_data" in w for w in result.warnings)
    tasks = build_tasks(result.tables["tasks"], result.tables["consortia"])
    # the running task is censored at the latest date of the data, not in 2099
    assert tasks["exit_date"].max() == pd.Timestamp("2021-03-01")


def test_a_late_task_within_the_gap_is_kept():
    # 9.9 years after the others: late, but no gap of more than ten years
    result = clean(tasks=tasks_table(["2020-06-30", "2030-05-01"]))
    assert quarantined(result, "tasks").empty


def test_with_a_configured_cutoff_late_tasks_are_kept_and_warned_about():
    config = {**NO_MONEY, "censoring_date": "2020-12-31"}
    result = clean(config, tasks=tasks_table(["2020-06-30", "2099-01-01"]))
    assert quarantined(result, "tasks").empty
    assert any("1 task(s) have a date after the configured censoring date 2020-12-31" in w
               for w in result.warnings)


def test_blank_lines_are_each_quarantined_not_collapsed_as_duplicates():
    blank = {"consortium_id": [np.nan], "member_id": [np.nan], "member_type": [np.nan]}
    rows = table(**{k: ["C1", np.nan, "C2", np.nan] if k == "consortium_id" else
                    (["M1", np.nan, "M3", np.nan] if k == "member_id" else
                     ["enterprise", np.nan, "government", np.nan]) for k in blank})
    result = clean(members=rows)
    account = result.accounting["members"]
    assert account.duplicates_collapsed == 0
    blank_rows = quarantined(result, "members")
    assert blank_rows["source_row"].tolist() == [2, 4]
    assert set(blank_rows["rule"]) == {"missing_required"}


def test_a_year_outside_the_price_index_is_a_price_index_gap_naming_table_and_column():
    from consortia.money import PriceIndexGap

    panel = table(consortium_id=["C1"], year=["2018"], new_product_revenue=["10"])
    with pytest.raises(PriceIndexGap, match=r"deflating panel\.new_product_revenue: .*2018"):
        clean(MONEY_10K_CNY, panel=panel)


def test_the_clean_rule_names_every_unreadable_table_at_once(tmp_path):
    from consortia.workflow import read_and_clean

    (tmp_path / "consortia.csv").write_text("consortium_id,lead_type,founded_year\nC1,firm,2019\n")
    (tmp_path / "members.csv").write_text("consortium_id,member_id\nC1,M1\n")  # no member_type
    (tmp_path / "panel.csv").write_text("consortium_id,year,year\nC1,2019,2019\n")  # twice
    files = {t: str(tmp_path / f"{t}.csv") for t in ("consortia", "members", "panel")}
    with pytest.raises(ContractError) as raised:
        read_and_clean(files, {}, {}, {}, {}, {"currency": "CNY"})
    message = str(raised.value)
    assert "2 faults" in message and "members.csv" in message and "panel.csv" in message
