"""ModelSpec from plain dicts; validation messages."""

from pathlib import Path

import pytest
import yaml

from consortia.estimate import ModelSpec, SpecError, load_specs, validate_spec
from consortia.estimate.spec import fittable_estimators

BASE = {
    "name": "m1",
    "outcome": "transfer_rate",
    "regressors": ["type_diversity", "lead_type"],
    "controls": ["n_members"],
    "estimator": "fraclogit",
}


def test_from_dict_defaults():
    s = ModelSpec.from_dict(BASE)
    assert s.cluster == ("consortium_id",)
    assert s.fixed_effects == ("year",)
    assert s.vcov.small_sample == "CR1" and s.vcov.G_df == "min"
    t = ModelSpec.from_dict(dict(BASE, estimator="twfe", outcome="rd_per_member"))
    assert t.fixed_effects == ("consortium_id", "year")
    assert ModelSpec.from_dict(s.to_dict()) == s


def test_driscoll_kraay_and_vcov_options():
    s = ModelSpec.from_dict(
        dict(
            BASE,
            estimator="ols",
            outcome="x",
            cluster="driscoll_kraay",
            bandwidth=2,
            vcov={"small_sample": "CR0"},
        )
    )
    assert s.is_driscoll_kraay and s.cluster_vars == () and s.bandwidth == 2
    with pytest.raises(SpecError, match="small_sample"):
        ModelSpec.from_dict(dict(BASE, vcov={"small_sample": "HC9"}))
    with pytest.raises(SpecError, match="at most two"):
        ModelSpec.from_dict(dict(BASE, cluster=["a", "b", "c"]))


@pytest.mark.parametrize(
    "bad,match",
    [
        ({"estimator": "probit"}, "estimator must be one of"),
        ({"colour": "red"}, "unknown key"),
        ({"regressors": []}, "'regressors' is required"),
        ({"controls": ["transfer_rate"]}, "also on the right-hand side"),
        (
            {"estimator": "re", "fixed_effects": ["consortium_id"]},
            "cannot take entity fixed effects",
        ),
        ({"estimator": "twfe", "fixed_effects": ["year"]}, "needs the entity"),
        ({"bandwidth": 3}, "only used with cluster: driscoll_kraay"),
    ],
)
def test_structural_errors(bad, match):
    with pytest.raises(SpecError, match=match):
        ModelSpec.from_dict(dict(BASE, **bad))


def test_validate_names_every_missing_variable():
    cols = ["consortium_id", "year", "transfer_rate", "type_diversity"]
    with pytest.raises(SpecError) as e:
        validate_spec(BASE, cols)
    msg = str(e.value)
    assert "m1" in msg and "skipped" in msg and "lead_type" in msg and "n_members" in msg
    assert validate_spec(BASE, cols + ["lead_type", "n_members"]).name == "m1"


def test_load_specs_rejects_duplicate_names():
    with pytest.raises(SpecError, match="duplicate"):
        load_specs([BASE, BASE])


def test_the_schema_lists_the_estimators_a_spec_may_choose():
    """config/schemas/models.schema.yaml's estimator enum is derived from the records."""

    schema_path = Path(__file__).resolve().parents[2] / "config/schemas/models.schema.yaml"
    schema = yaml.safe_load(schema_path.read_text(encoding="utf-8"))
    enum = schema["definitions"]["model"]["properties"]["estimator"]["enum"]
    assert enum == list(fittable_estimators())
