"""The walkthrough "add a claim with an existing method": one record appended to
config/claims.yaml, and no Python file, gives the claim a verdict from that method."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import yaml

from consortia.claims import EVALUATORS, evaluate_claims, load_registry
from consortia.claims.verdict import SUPPORTED

ROOT = Path(__file__).resolve().parents[2]

# The toy claim: a record like every other in the registry, for the lead_share method.
TOY_CLAIM = {
    "id": "toy_university_led_share",
    "label": "Share of university-led consortia (toy)",
    "quote": "About one consortium in eight is led by a university.",
    "section": "walkthrough",
    "source": "none (a toy claim of the add-a-claim walkthrough)",
    "estimand": "Share of consortia whose lead_type is university.",
    "method": "lead_share",
    "comparison": None,
    "requires": {"panel": ["consortium_id", "lead_type"]},
    "params": {"lead": "university"},
    "tests": [
        {
            "name": "share",
            "role": "primary",
            "estimand": "share of university-led consortia",
            "claimed": {"value": 0.13, "tolerance": 0.05, "scale": "absolute"},
            "rival": 0.25,
            "rival_label": "one consortium in four",
        }
    ],
}


def test_a_claim_with_an_existing_method_is_one_record_in_the_registry(tmp_path, make_world):
    methods_before = dict(EVALUATORS)
    registry_path = tmp_path / "claims.yaml"
    shutil.copy(ROOT / "config" / "claims.yaml", registry_path)
    record = yaml.safe_dump([TOY_CLAIM], allow_unicode=True, sort_keys=False)
    with registry_path.open("a", encoding="utf-8") as registry_file:  # the list under claims:
        registry_file.write("\n" + textwrap.indent(record, "  "))

    registry = load_registry(registry_path)
    assert registry.ids[-1] == TOY_CLAIM["id"]

    # the simulator's default truth: 13% of consortia university-led
    world = make_world(400, seed=7)
    results = evaluate_claims(
        registry, world.panel, world.tasks, consortia=world.consortia, only=[TOY_CLAIM["id"]]
    )
    toy = results[TOY_CLAIM["id"]]
    share = toy.test("share")
    leads = world.consortia.drop_duplicates("consortium_id")["lead_type"].astype(str)
    assert toy.method == "lead_share"
    assert share.estimate == (leads == "university").mean()
    assert share.method_short == "Share of consortia, exact binomial"
    assert toy.verdict == share.verdict == SUPPORTED
    # no method was added or replaced: the record alone made the claim testable
    assert EVALUATORS == methods_before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["claims.yaml"]
