"""Adding a data adapter (docs/design.md): one module with plan() and ingest(), selected by
the config's `adapter` key. A toy adapter, written here as its own module, turns a made-up
layout of three consortia into a contract folder that the workflow plans, reads and
cleans like any other."""

from pathlib import Path

import jsonschema
import pytest
import yaml

from consortia import adapters, io, workflow
from consortia.clean import clean_dataset
from consortia.cli import main
from consortia.config import load_config

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = yaml.safe_load((ROOT / "config" / "schemas" / "config.schema.yaml").read_text())

# A source's own layout: one line per consortium, "id year: member type, ...", lead first.
TOY_LAYOUT = """\
K1 2019: ENT1 enterprise, UNI1 university, RI1 research_institute
K2 2020: UNI2 university, ENT1 enterprise, GOV1 government
K3 2021: RI1 research_institute, UNI1 university, ENT2 enterprise
"""

TOY_ADAPTER = '''
"""A toy source: one line per consortium, "id year: member type, ...", lead first."""

from pathlib import Path

import pandas as pd

from consortia.workflow import DatasetPlan

COLUMNS = {
    "consortia": ["consortium_id", "lead_type", "founded_year"],
    "members": ["consortium_id", "member_id", "member_type", "is_lead"],
}


def plan(config):
    dataset = Path(config["dataset"])
    return DatasetPlan(
        dataset=str(dataset),
        files={table: str(dataset / f"{table}.csv") for table in COLUMNS},
        columns={table: list(columns) for table, columns in COLUMNS.items()},
        absent_tables=["panel", "tasks"],
    )


def ingest(config, out_dir, table_format="csv"):
    consortia, members = [], []
    for line in Path(config["toy"]["layout"]).read_text().splitlines():
        head, listed = line.split(":")
        consortium_id, year = head.split()
        for position, member in enumerate(listed.split(",")):
            member_id, member_type = member.split()
            members.append((consortium_id, member_id, member_type, position == 0))
            if position == 0:
                consortia.append((consortium_id, member_type, int(year)))
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for table, rows in (("consortia", consortia), ("members", members)):
        frame = pd.DataFrame(rows, columns=COLUMNS[table])
        frame.to_csv(out_dir / f"{table}.csv", index=False)
    return {"consortia": len(consortia), "members": len(members)}
'''


@pytest.fixture
def toy_config(tmp_path, monkeypatch):
    # In the package it would be src/consortia/adapters/toy.py, selected by `adapter: toy`;
    # outside it, a module's dotted path selects it.
    (tmp_path / "toy_source").mkdir()
    (tmp_path / "toy_source" / "__init__.py").write_text("", encoding="utf-8")
    (tmp_path / "toy_source" / "toy.py").write_text(TOY_ADAPTER, encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    layout = tmp_path / "toy_layout.txt"
    layout.write_text(TOY_LAYOUT, encoding="utf-8")
    return {"adapter": "toy_source.toy", "dataset": str(tmp_path / "dataset"),
            "toy": {"layout": str(layout)}}  # fmt: skip


def test_the_adapter_key_finds_plan_and_ingest(toy_config):
    adapter = adapters.adapter_for(toy_config)
    assert adapter.__name__ == "toy_source.toy"
    promised = adapters.plan_for(toy_config)  # before the folder exists
    assert promised.files == {
        "consortia": str(Path(toy_config["dataset"]) / "consortia.csv"),
        "members": str(Path(toy_config["dataset"]) / "members.csv"),
    }
    assert adapter.ingest(toy_config, toy_config["dataset"]) == {"consortia": 3, "members": 9}
    assert promised == workflow.plan_dataset(toy_config["dataset"], {}, {})


def test_the_ingested_folder_reads_cleans_and_validates(toy_config):
    adapters.adapter_for(toy_config).ingest(toy_config, toy_config["dataset"])
    read = io.read_dataset(toy_config["dataset"], {}, {})
    config = load_config(ROOT / "config" / "config.yaml", {"dataset": toy_config["dataset"]})
    cleaned = clean_dataset(read.tables, sources=read.files, config=config)
    assert cleaned.quarantine.empty
    assert sorted(cleaned.tables["consortia"]["consortium_id"]) == ["K1", "K2", "K3"]
    assert cleaned.tables["members"]["is_lead"].sum() == 3
    validate = ["validate", toy_config["dataset"], "--config", str(ROOT / "config" / "config.yaml")]
    assert main(validate) == 0


def test_without_the_key_the_folder_is_planned_from_its_headers():
    config = {"dataset": str(ROOT / "data" / "raw" / "demo")}
    assert adapters.adapter_for(config) is None
    assert adapters.plan_for(config) == workflow.plan_dataset(config["dataset"], {}, {})


def test_an_unknown_adapter_is_named(toy_config):
    with pytest.raises(ValueError, match="no module consortia.adapters.no_such_source"):
        adapters.adapter_for({**toy_config, "adapter": "no_such_source"})
    with pytest.raises(ValueError, match="lacks plan"):
        adapters.adapter_for({**toy_config, "adapter": "consortia.files"})


def test_the_schema_checks_the_adapter_key():
    config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    jsonschema.validate({**config, "adapter": "toy_source.toy"}, SCHEMA)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**config, "adapter": "no such/module"}, SCHEMA)
    with pytest.raises(jsonschema.ValidationError):  # `adapter: cordis` needs its block
        jsonschema.validate({**config, "adapter": "cordis"}, SCHEMA)


def test_the_workflows_ingest_rule_needs_nothing_of_the_adapter_but_its_module(toy_config):
    """rules/ingest.smk runs any adapter: its inputs, outputs and params come from the
    module (the optional sources and sidecars default to none) and the settings block
    named like it, and its script calls adapters.ingest with those params."""
    adapter = adapters.adapter_for(toy_config)
    assert adapters.sources(adapter, toy_config) == {}
    assert adapters.sidecars(adapter, toy_config) == {}
    assert adapters.settings(toy_config) == toy_config["toy"]
    assert adapters.adapter_config({**toy_config, "seed": 1}) == toy_config  # the rule's params
    assert adapters.ingest(adapters.adapter_config(toy_config)) == {"consortia": 3, "members": 9}
    promised = adapters.plan_for(toy_config)
    assert all(Path(path).is_file() for path in promised.files.values())
    rule = (ROOT / "rules" / "ingest.smk").read_text(encoding="utf-8")
    assert "cordis" not in rule.lower()
