"""The workflow profile (profiles/default) gives every rule that does work its threads,
memory and wall time, as expressions Snakemake can evaluate."""

import re
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
PROFILE = yaml.safe_load((ROOT / "profiles" / "default" / "config.yaml").read_text())
# targets run nothing; the Monte Carlo rules set their own resources in the rule
OWN_OR_NONE = {"all", "montecarlo", "montecarlo_smoke", "montecarlo_batch", "montecarlo_summary"}


def workflow_rules() -> set[str]:
    text = "\n".join(p.read_text() for p in [ROOT / "Snakefile", *(ROOT / "rules").glob("*.smk")])
    return set(re.findall(r"^\s*(?:local)?rule (\w+):", text, flags=re.MULTILINE))


def test_every_working_rule_has_threads_memory_and_runtime():
    rules = workflow_rules() - OWN_OR_NONE
    assert {"clean", "fit_models", "claims", "ingest"} <= rules  # the regex finds rules
    assert rules == set(PROFILE["set-resources"]), "profile and rules disagree"
    assert rules == set(PROFILE["set-threads"]), "profile and rules disagree"
    for rule, resources in PROFILE["set-resources"].items():
        assert set(resources) == {"mem_mb", "runtime"}, rule


@pytest.mark.parametrize("size_mb", [0.0, 0.5, 54.0, 160.0])
def test_requests_are_positive_whole_numbers_that_grow_with_the_input(size_mb):
    def evaluate(expression, size):
        return eval(str(expression), {}, {"input": SimpleNamespace(size_mb=size)})

    for rule, resources in PROFILE["set-resources"].items():
        for name, expression in resources.items():
            value = evaluate(expression, size_mb)
            assert value >= 1, (rule, name, value)
            assert evaluate(expression, size_mb + 100) >= value, (rule, name)
