"""The shipped config must pass its schema, and the schema must reject what it documents."""

import copy
from pathlib import Path

import jsonschema
import pytest
import yaml

from consortia.config import ConfigError, load_config, load_yaml

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


def test_load_yaml_names_every_violation_in_one_message(tmp_path):
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump({**CONFIG, "datset": "typo", "seed": -1}), encoding="utf-8")
    with pytest.raises(ConfigError) as raised:
        load_yaml(path, "config.schema.yaml")
    message = str(raised.value)
    assert message.startswith(f"{path} does not follow config.schema.yaml:")
    assert "datset" in message and "seed: -1" in message


def test_load_config_overrides_and_fills_the_schema_defaults():
    config = load_config(ROOT / "config" / "config.yaml", {"dataset": "elsewhere"})
    assert config["dataset"] == "elsewhere"
    assert config["models"] == SCHEMA["properties"]["models"]["default"]
