"""The contract as data must say what docs/data-contract.md and docs/design.md say."""

import pandas as pd
import pytest

from consortia.contract import (
    DEFAULT_SYNONYMS,
    ORG_TYPES,
    RULE_PRIORITY,
    TABLES,
    Fix,
    Kind,
    Rule,
    normalise_org_type,
)


def test_rule_ids_in_design_priority_order():
    assert [str(rule) for rule in Rule] == [
        "missing_required",
        "type_mismatch",
        "value_overflow",
        "unknown_org_type",
        "conflicting_duplicate",
        "unknown_consortium_key",
        "negative_value",
        "transferred_exceeds_achievements",
        "industrial_exceeds_total",
        "decision_weight_out_of_range",
        "end_before_start",
        "date_far_beyond_data",
        "year_outside_life",
        "multiple_leads",
    ]
    assert RULE_PRIORITY[Rule.MISSING_REQUIRED] < RULE_PRIORITY[Rule.MULTIPLE_LEADS]


def test_fix_ids_of_the_design_exist():
    assert {"org_type_synonym", "money_unit", "deflated", "lead_flag_reconciled"} <= {
        str(fix) for fix in Fix
    }


def test_tables_keys_and_required_columns():
    assert list(TABLES) == ["consortia", "members", "panel", "tasks"]
    assert TABLES["consortia"].required == ("consortium_id", "lead_type", "founded_year")
    assert TABLES["members"].required == ("consortium_id", "member_id", "member_type")
    assert TABLES["panel"].key == ("consortium_id", "year")
    assert TABLES["tasks"].key == ("consortium_id", "task_id")
    assert [t for t, spec in TABLES.items() if spec.required_table] == ["consortia", "members"]
    for spec in TABLES.values():
        assert set(spec.key) <= set(spec.required) <= set(spec.columns)


def test_every_count_and_money_column_must_not_be_negative():
    for spec in TABLES.values():
        for column in spec.columns_of_kind(Kind.COUNT, Kind.MONEY):
            assert spec.bounds[column].rule is Rule.NEGATIVE_VALUE
    weight = TABLES["members"].bounds["decision_weight"]
    assert (weight.low, weight.high, weight.rule) == (0, 1, Rule.DECISION_WEIGHT_OUT_OF_RANGE)


def test_money_columns_are_the_contracts():
    money = {t: spec.columns_of_kind(Kind.MONEY) for t, spec in TABLES.items()}
    assert money == {
        "consortia": [],
        "members": ["funding"],
        "panel": ["rd_expenditure", "subsidy", "new_product_revenue"],
        "tasks": [],
    }


def test_default_synonyms_are_exactly_the_contract_vocabulary():
    contract = {
        "enterprise": "enterprise, firm, company, corporate, business, private, PRC, SOE, 企业",
        "university": "university, college, higher education, HES, 高校, 大学",
        "research_institute": "research institute, institute, research organisation, REC, "
        "科研院所, 研究院",
        "government": "government, public body, agency, PUB, 政府",
        "other": "other, OTH, association, NGO",
    }
    expected = {
        label.strip().lower(): org_type
        for org_type, labels in contract.items()
        for label in labels.split(",")
    }
    assert DEFAULT_SYNONYMS == expected
    assert ORG_TYPES == ("enterprise", "university", "research_institute", "government", "other")


def test_normalise_org_type_trims_and_ignores_case():
    labels = pd.Series(["  Firm ", "ENTERPRISE", "research_institute", "Higher Education", "pub"])
    normalised, unknown = normalise_org_type(labels)
    assert normalised.tolist() == [
        "enterprise",
        "enterprise",
        "research_institute",
        "university",
        "government",
    ]
    assert not unknown.any()


def test_normalise_org_type_reads_chinese_labels():
    labels = pd.Series(["企业", "高校", "大学", "科研院所", "研究院", "政府"])
    normalised, _ = normalise_org_type(labels)
    assert normalised.tolist() == [
        "enterprise",
        "university",
        "university",
        "research_institute",
        "research_institute",
        "government",
    ]


def test_unknown_labels_are_flagged_and_missing_ones_are_not():
    normalised, unknown = normalise_org_type(pd.Series(["国企", None, "  ", "firm"]))
    assert normalised.isna().tolist() == [True, True, True, False]
    assert unknown.tolist() == [True, False, False, False]


def test_config_synonyms_add_to_and_override_the_defaults():
    extra = {" 国企 ": "enterprise", "Institute": "other"}
    normalised, unknown = normalise_org_type(pd.Series(["国企", "institute"]), extra)
    assert normalised.tolist() == ["enterprise", "other"]
    assert not unknown.any()


def test_config_synonym_to_a_type_outside_the_vocabulary_is_rejected():
    with pytest.raises(ValueError, match="'国企' maps to 'state'.*expected one of enterprise"):
        normalise_org_type(pd.Series(["国企"]), {"国企": "state"})
