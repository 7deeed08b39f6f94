"""The shipped config must pass its schema, and the schema must reject what it documents."""

import copy
from pathlib import Path

import jsonschema
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = yaml.safe_load((ROOT / "config" / "schemas" / "config.schema.yaml").read_text())
CONFIG = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())


def test_default_config_passes_schema():
    jsonschema.validate(CONFIG, SCHEMA)


@pytest.mark.parametrize(
    "path, bad_value",
    [
        (("org_type_synonyms",), {"国企": "state"}),
        (("censoring_date",), "31/12/2023"),
        (("money", "deflator"), {"base_year": 2020}),
        (("tables",), {"panels": {"file": "x.csv"}}),
        (("seed",), -1),
    ],
)
def test_schema_rejects_invalid_values(path, bad_value):
    config = copy.deepcopy(CONFIG)
    target = config
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = bad_value
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(config, SCHEMA)


def test_unknown_top_level_key_is_rejected():
    with pytest.raises(jsonschema.ValidationError, match="datset"):
        jsonschema.validate({**CONFIG, "datset": "typo"}, SCHEMA)
