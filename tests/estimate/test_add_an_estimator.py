"""The walkthrough "add an estimator" (docs/design.md), done by a test: a fit function,
one :class:`Estimator` record passed to :func:`register`, and the name in the schema's
``estimator`` enum (here a patched copy of the schema). Specs, the fit dispatch, the
design, regression tables and figures then know it."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import yaml

from conftest import simulate_panel
from consortia.estimate import ESTIMATORS, Estimator, fit, register
from consortia.estimate.figures import model_family
from consortia.estimate.linear import fit_ols
from consortia.estimate.models_config import load_models_config
from consortia.estimate.spec import ESTIMATOR_LABELS
from consortia.estimate.tables import regression_table

SCHEMA = Path(__file__).resolve().parents[2] / "config" / "schemas" / "models.schema.yaml"
SPEC = {
    "name": "toy",
    "outcome": "rd_per_member",
    "regressors": ["type_diversity"],
    "controls": ["n_members"],
    "estimator": "pooled_again",
}


def fit_pooled_again(design):
    """Pooled OLS under another name: the toy estimator's fit function."""
    result = fit_ols(design)
    return dataclasses.replace(
        result, estimator="pooled_again", estimator_label="Pooled OLS, again"
    )


@pytest.fixture
def toy_estimator():
    record = register(
        Estimator(
            name="pooled_again",
            label="Pooled OLS, again",
            short="Toy OLS",
            note="pooled OLS under another name",
            fit=fit_pooled_again,
            absorbs_fixed_effects=True,
        )
    )
    yield record
    del ESTIMATORS[record.name], ESTIMATOR_LABELS[record.name]


def test_a_registered_estimator_fits_and_shows_in_a_table(toy_estimator):
    panel = simulate_panel(n=30, T=5, seed=3)
    toy = fit(SPEC, panel)
    pooled = fit(dict(SPEC, estimator="ols"), panel)
    assert toy.estimator == "pooled_again"
    assert toy.params == pooled.params and toy.std_errors == pooled.std_errors
    assert toy.fixed_effects == ["year"]  # the default of an estimator without entity effects
    assert model_family(toy) == "linear"

    table = regression_table([pooled, toy])
    assert list(table.body.loc["stat::estimator"]) == ["OLS", "Toy OLS"]
    assert "Toy OLS: pooled OLS under another name." in table.notes


def test_a_models_config_may_name_it_once_the_schema_does(toy_estimator, tmp_path):
    schema = yaml.safe_load(SCHEMA.read_text(encoding="utf-8"))
    schema["definitions"]["model"]["properties"]["estimator"]["enum"].append("pooled_again")
    patched = tmp_path / "models.schema.yaml"
    patched.write_text(yaml.safe_dump(schema, allow_unicode=True), encoding="utf-8")
    config = load_models_config({"models": [SPEC]}, schema_path=patched)
    assert config.models["toy"]["estimator"] == "pooled_again"
