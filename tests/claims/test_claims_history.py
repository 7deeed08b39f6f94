"""A registry changed after results exist is visible: a new hash, the old verdicts kept."""

from __future__ import annotations

import copy

import pytest
import yaml

from consortia.claims.history import HISTORY_FILE, read_verdict_history, record_verdicts
from consortia.claims.outputs import claims_table
from consortia.claims.steps import claims_step
from consortia.replication import _claims_registries


def run(tmp_path, registry_raw, demo_tables, name):
    registry = tmp_path / f"{name}.yaml"
    registry.write_text(yaml.safe_dump(registry_raw, allow_unicode=True), encoding="utf-8")
    for table in ("panel", "tasks", "consortia"):
        demo_tables[table].to_parquet(tmp_path / f"{table}.parquet")
    out = tmp_path / "claims"
    out.mkdir(exist_ok=True)
    return claims_step(
        registry,
        tmp_path / "panel.parquet",
        out / "claims.json",
        tasks_path=tmp_path / "tasks.parquet",
        consortia_path=tmp_path / "consortia.parquet",
        seed=1,
    )


@pytest.mark.slow
def test_a_rule_changed_after_results_exist_leaves_both_hashes_and_both_verdicts(
    tmp_path, registry_raw, demo_tables
):
    registry_raw = copy.deepcopy(registry_raw)
    registry_raw["claims"] = [
        c for c in registry_raw["claims"] if c["id"] == "enterprise_led_share"
    ]
    first = run(tmp_path, registry_raw, demo_tables, "registry")
    again = run(tmp_path, registry_raw, demo_tables, "registry")  # same rules: no new entry
    history_path = tmp_path / "claims" / HISTORY_FILE
    assert len(read_verdict_history(history_path)) == 1
    assert first.verdicts == again.verdicts

    # the band moved after the results were seen: 0.55 ± 0.05 instead of 0.65 ± 0.05
    share = next(t for t in registry_raw["claims"][0]["tests"] if t["name"] == "share")
    share["claimed"] = {"value": 0.55, "tolerance": 0.05, "scale": "absolute"}
    changed = run(tmp_path, registry_raw, demo_tables, "registry")
    history = read_verdict_history(history_path)
    assert len(history) == 2
    assert history[0]["registry_sha256"] != history[1]["registry_sha256"]
    assert history[0]["verdicts"] == first.verdicts
    assert history[1]["verdicts"] == changed.verdicts
    assert changed.registry["sha256"][:16] in " ".join(claims_table(changed).notes)

    text = "\n".join(_claims_registries({"claims_history": history}))
    assert history[1]["registry_sha256"] in text
    assert history[0]["registry_sha256"][:16] in text


def test_the_history_records_nothing_twice(tmp_path):
    path = tmp_path / "h.jsonl"
    record_verdicts("a" * 64, "r.yaml", {"x": "supported"}, path)
    record_verdicts("a" * 64, "r.yaml", {"x": "supported"}, path)
    record_verdicts("a" * 64, "r.yaml", {"x": "contradicted"}, path)  # same rules, other data
    assert [e["verdicts"]["x"] for e in read_verdict_history(path)] == ["supported", "contradicted"]
