"""The registry file and its schema: what loads, what is rejected, and why."""

from __future__ import annotations

import re
from pathlib import Path

import jsonschema
import pytest
import yaml

from consortia.claims import EVALUATORS, RegistryError, load_registry
from consortia.config import load_schema

ROOT = Path(__file__).resolve().parents[2]
REGISTRY = ROOT / "config" / "claims.yaml"

EXPECTED_IDS = [
    "transfer_rate", "breakthrough_speed", "academic_partner_conversion", "enterprise_led_share",
    "enterprise_led_best", "lead_decision_weight", "industrial_task_share", "scp_chain",
    "industry_heterogeneity", "subsidy_crowding_in", "chain_commercialisation",
    "organised_research_cycle", "smic_yield_case",
]  # fmt: skip
# Columns a claim names although the data contract lacks them: the claim stays not_testable
# (naming the column) until a dataset brings it.
BEYOND_THE_CONTRACT = {"tasks": {"in_consortium"}}
REQUIRED = [
    "id",
    "label",
    "quote",
    "section",
    "source",
    "estimand",
    "method",
    "comparison",
    "requires",
    "tests",
]


def test_schema_is_a_valid_json_schema():
    schema = load_schema(ROOT / "config" / "schemas" / "claims.schema.yaml")
    jsonschema.validators.validator_for(schema).check_schema(schema)


def test_shipped_registry_loads(registry):
    assert registry.ids == EXPECTED_IDS
    assert registry.ci_level == 0.95 and registry.power == 0.8
    for c in registry.claims:
        assert c.method in EVALUATORS
        assert c.primary, c.id
        assert c.section.split()[0] in {
            "1.3",
            "2.1.2",
            "2.2.1",
            "2.2.2",
            "2.2.3",
            "3.1.1",
            "3.1.4",
            "4.1",
        }


def test_quotes_are_verbatim_from_the_review(registry):
    path = Path(registry.document["file"])
    if not path.exists():
        pytest.skip(f"the review text is not at {path}")
    text = re.sub(r"\s*<sup>[^<]*</sup>", "", path.read_text(encoding="utf-8"))
    text = " ".join(text.split())
    for c in registry.claims:
        assert c.quote in text, f"{c.id}: quote not found verbatim in the review"


@pytest.mark.slow
@pytest.mark.parametrize("field", REQUIRED)
def test_schema_rejects_a_record_missing_a_field(registry_raw, field, tmp_path):
    del registry_raw["claims"][0][field]
    with pytest.raises(RegistryError, match=rf"claims/0: '{field}' is a required property"):
        load_registry(registry_raw)
    # the same from a file next to its schema folder
    path = tmp_path / "claims.yaml"
    path.write_text(yaml.safe_dump(registry_raw, allow_unicode=True), encoding="utf-8")
    with pytest.raises(RegistryError, match=field):
        load_registry(path, schema_path=ROOT / "config" / "schemas" / "claims.schema.yaml")


@pytest.mark.parametrize("field", ["name", "role", "estimand", "claimed"])
def test_schema_rejects_a_test_missing_a_field(registry_raw, field):
    del registry_raw["claims"][1]["tests"][0][field]
    with pytest.raises(RegistryError, match=rf"claims/1/tests/0: '{field}' is a required"):
        load_registry(registry_raw)


@pytest.mark.parametrize(
    ("claimed", "ok"),
    [
        ({"value": 0.9, "tolerance": 0.1, "scale": "absolute"}, True),
        ({"value": 0.5, "scale": "absolute"}, False),  # no tolerance
        ({"value": 0.5, "tolerance": 0.1, "scale": "absolute", "above": 0.3}, False),
        ({"above": 0.5}, True),
        ({"above": 0.5, "direction": "positive"}, False),
        ({"direction": "sideways"}, False),
        ({"value": 0.5, "tolerance": -0.1, "scale": "absolute"}, False),
    ],
)
@pytest.mark.slow
def test_claimed_forms(registry_raw, claimed, ok):
    registry_raw["claims"][0]["tests"][0]["claimed"] = claimed
    if ok:
        load_registry(registry_raw)
    else:
        with pytest.raises(RegistryError):
            load_registry(registry_raw)


def test_unknown_keys_are_rejected(registry_raw):
    registry_raw["claims"][0]["tolerence"] = 0.05  # a typo must not be silently ignored
    with pytest.raises(RegistryError, match="tolerence"):
        load_registry(registry_raw)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda r: r["claims"][0].__setitem__("method", "magic"), "unknown method 'magic'"),
        (lambda r: r["claims"][1].__setitem__("id", "transfer_rate"), "duplicate claim id"),
        (
            lambda r: r["claims"][0]["tests"][0].__setitem__("name", "levels"),
            r"does not compute test\(s\) \['levels'\]",
        ),
        (lambda r: r["claims"][0]["tests"][0].pop("rival"), "needs a 'rival' value"),
        (
            lambda r: r["claims"][0]["tests"][0].__setitem__("rival", 0.7),
            "lies inside the claim region",
        ),
        (lambda r: r["claims"][0]["params"].__setitem__("leed", "x"), r"param\(s\) \['leed'\]"),
        (
            lambda r: r["claims"][0].__setitem__("comparison", "everyone"),
            "comparison must be one of",
        ),
        (
            lambda r: [t.__setitem__("role", "secondary") for t in r["claims"][0]["tests"]],
            "at least one test must have role 'primary'",
        ),
        (
            lambda r: r["claims"][4].__setitem__("comparison", ["government", "university"]),
            "must list the same levels",
        ),
        (
            lambda r: r["claims"][1].__setitem__("comparison", "enterprise"),
            "equals the lead type",
        ),
    ],
)
@pytest.mark.slow
def test_semantic_checks(registry_raw, edit, message):
    edit(registry_raw)
    with pytest.raises(RegistryError, match=message):
        load_registry(registry_raw)


def test_registry_hash_changes_with_content(registry_raw):
    a = load_registry(registry_raw)
    registry_raw["claims"][0]["tests"][0]["claimed"]["value"] = 0.7
    b = load_registry(registry_raw)
    assert a.sha256 != b.sha256
    assert load_registry(REGISTRY).sha256 == load_registry(REGISTRY).sha256


def test_required_columns_exist_in_the_clean_data_design(registry):
    """Registry `requires` may only name columns the measures produce (docs/design.md)."""
    from consortia import measures

    known = {
        "panel": set(measures.PANEL_COLUMNS),
        "tasks": set(measures.TASK_COLUMNS),
        "consortia": {"consortium_id", "lead_type"},
    }
    for c in registry.claims:
        for spec in [c.requires, *(t.requires for t in c.tests)]:
            for table, cols in spec.items():
                extra = set(cols) - known[table] - BEYOND_THE_CONTRACT.get(table, set())
                assert not extra, (c.id, table, extra)
