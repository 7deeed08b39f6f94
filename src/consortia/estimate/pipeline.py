"""The SCP models in the workflow: the models config, what a dataset allows, and one
step function per rule.

``config/models.yaml`` (schema ``config/schemas/models.schema.yaml``, guide
``docs/models.md``) lists the model specifications, the RE/FE test pairs, the
mediation analyses, the SUR systems, and which tables and figures show which
models. The workflow (``rules/models.smk``) uses this module in three ways:

* when it loads: :func:`load_models_config` validates the file (schema, then
  every entry as a :class:`~consortia.estimate.ModelSpec`, then every name a
  test, mediation, system, table or figure refers to) and raises
  :class:`ModelsConfigError` naming each bad entry; :func:`plan_models` then
  decides from the dataset's headers alone (:func:`panel_availability`) which
  models the panel will allow. A model whose variables the dataset cannot
  provide is *skipped*: it gets no rule, and a record naming the missing
  columns (and the contract inputs behind them) goes to the manifest and to
  the notes of the tables it was meant for.
* the estimation steps (:func:`fit_models_step`, :func:`specification_tests_step`,
  :func:`mediation_step`, :func:`system_step`) write one JSON file per
  specification / test pair / mediation / system. A specification that fails
  on the data itself (e.g. no observation left after the sample filter) is
  written as a skipped record with the reason instead of stopping the run.
* the output steps (:func:`tables_step`, :func:`coefficient_plots_step`,
  :func:`path_diagram_step`) read those JSON files only: changing a table or a
  figure never refits a model.

Every function takes explicit arguments (paths, dicts from the config); none
reads the config file or the ``snakemake`` object.
"""

from __future__ import annotations

import copy
import gc
import itertools
import logging
import math
import re
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema
import numpy as np
import pandas as pd
import yaml

from consortia import measures
from consortia.files import parquet_columns, read_json, write_json

from .spec import ESTIMATORS, ModelSpec, NotEstimable, SpecError

__all__ = [
    "CONSORTIUM_ATTRIBUTES",
    "ModelPlan",
    "ModelsConfig",
    "ModelsConfigError",
    "add_derived",
    "build_regression_table",
    "coefficient_plot_step",
    "coefficient_plots_step",
    "fit_model_step",
    "fit_models_step",
    "load_models_config",
    "load_result",
    "mediation_step",
    "mediation_table_step",
    "mundlak_model_of",
    "panel_availability",
    "path_diagram_step",
    "plan_models",
    "re_fe_tests",
    "re_fe_tests_from_fits",
    "read_panel",
    "regression_table_step",
    "specification_tests_step",
    "sur_is_ols",
    "system_step",
    "system_table_step",
    "tables_step",
    "term_labels",
]

log = logging.getLogger("consortia.estimate.pipeline")

SCHEMA_NAME = "models.schema.yaml"
_REPO_SCHEMA = Path(__file__).resolve().parents[3] / "config" / "schemas" / SCHEMA_NAME
TRANSFORMS = ("log", "log1p")
SKIPPED = "skipped"
KEY_COLUMNS = ("consortium_id", "year")
# Consortium attributes come from the `consortia` table unchanged: they never vary
# within a consortium, so consortium fixed effects absorb them.
CONSORTIUM_ATTRIBUTES: tuple[str, ...] = tuple(
    m
    for m, inputs in measures.MEASURE_INPUTS.items()
    if list(inputs) == ["consortia"] and inputs["consortia"] == (m,)
)


class ModelsConfigError(ValueError):
    """A models config that does not follow its schema or refers to unknown names."""


# --------------------------------------------------------------------------- #
# The models config
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class ModelsConfig:
    """``config/models.yaml``, validated. Entries are plain dicts keyed by name, in file order."""

    models: dict[str, dict[str, Any]]  # ModelSpec entries, model_defaults applied
    derived: dict[str, dict[str, str]] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    tests: dict[str, dict[str, Any]] = field(default_factory=dict)
    mediation: dict[str, dict[str, Any]] = field(default_factory=dict)
    system: dict[str, dict[str, Any]] = field(default_factory=dict)
    tables: dict[str, dict[str, Any]] = field(default_factory=dict)
    mediation_table: dict[str, Any] | None = None
    figures: dict[str, dict[str, Any]] = field(default_factory=dict)
    path_diagram: dict[str, Any] | None = None


def default_schema_path(config_path: str | Path | None = None) -> Path:
    """``<config dir>/schemas/models.schema.yaml`` if it exists, else the repository's."""
    if config_path is not None:
        sibling = Path(config_path).parent / "schemas" / SCHEMA_NAME
        if sibling.exists():
            return sibling
    return _REPO_SCHEMA


def _entry_name(raw: Any, path: Sequence[Any]) -> str:
    """'models[3] (sc_collab_re)' for a schema error at models/3/..."""
    if len(path) >= 2 and isinstance(path[1], int):
        section, index = path[0], path[1]
        try:
            name = raw[section][index].get("name")
        except (KeyError, IndexError, TypeError, AttributeError):
            name = None
        where = f"{section}[{index}]" + (f" ({name})" if name else "")
        rest = "/".join(str(p) for p in path[2:])
        return where + (f" → {rest}" if rest else "")
    return "/".join(str(p) for p in path) or "<root>"


def _schema_errors(raw: Any, schema: dict) -> list[str]:
    validator = jsonschema.validators.validator_for(schema)(schema)
    errors = sorted(validator.iter_errors(raw), key=lambda e: [str(p) for p in e.absolute_path])
    return [f"{_entry_name(raw, list(e.absolute_path))}: {e.message}" for e in errors]


def _by_name(entries: Iterable[dict], section: str, problems: list[str]) -> dict[str, dict]:
    out: dict[str, dict] = {}
    for entry in entries:
        if entry["name"] in out:
            problems.append(f"{section}: name {entry['name']!r} is used twice")
        out[entry["name"]] = entry
    return out


def family(estimator: str) -> str:
    """``linear``, ``counts`` or ``rates``: the scale a model's coefficients are on."""
    return ESTIMATORS[estimator].family


def load_models_config(
    source: str | Path | Mapping[str, Any], schema_path: str | Path | None = None
) -> ModelsConfig:
    """Read (a path) or take (a dict) a models config and validate it completely.

    Raises :class:`ModelsConfigError` listing every problem, each naming its
    entry (section, position and name) and, for a file, the file.
    """
    if isinstance(source, Mapping):
        raw, origin = copy.deepcopy(dict(source)), "models config"
    else:
        origin = str(source)
        try:
            raw = yaml.safe_load(Path(source).read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise ModelsConfigError(f"models config {origin} does not exist") from exc
        except yaml.YAMLError as exc:
            raise ModelsConfigError(f"{origin}: not valid YAML: {exc}") from exc
    schema_file = (
        Path(schema_path)
        if schema_path
        else default_schema_path(None if isinstance(source, Mapping) else source)
    )
    schema = yaml.safe_load(schema_file.read_text(encoding="utf-8"))
    problems = _schema_errors(raw, schema)
    if problems:
        raise ModelsConfigError(_problem_text(origin, problems))

    defaults = raw.get("model_defaults") or {}
    models: dict[str, dict] = {}
    for index, entry in enumerate(raw["models"]):
        merged = {**copy.deepcopy(defaults), **entry}
        try:
            ModelSpec.from_dict(merged)
        except SpecError as exc:
            problems.append(f"models[{index}] ({entry['name']}): {exc}")
        if merged["name"] in models:
            problems.append(f"models[{index}]: name {merged['name']!r} is used twice")
        models[merged["name"]] = merged

    derived = dict(raw.get("derived_variables") or {})
    for name in derived:
        if name in measures.MEASURE_INPUTS or name in KEY_COLUMNS:
            problems.append(
                f"derived_variables: {name!r} is already a panel column; choose another name"
            )

    tests = _by_name(raw.get("tests") or [], "tests", problems)
    for name, pair in tests.items():
        re_, fe = models.get(pair["re"]), models.get(pair["fe"])
        if re_ is None or fe is None:
            unknown = [m for m in (pair["re"], pair["fe"]) if m not in models]
            problems.append(f"tests ({name}): unknown model(s) {unknown}")
            continue
        if re_["estimator"] != "re":
            problems.append(
                f"tests ({name}): 're' model {pair['re']!r} has estimator "
                f"{re_['estimator']!r}, not 're'"
            )
        if fe["estimator"] != "twfe":
            problems.append(
                f"tests ({name}): 'fe' model {pair['fe']!r} has estimator "
                f"{fe['estimator']!r}, not 'twfe'"
            )
        if re_["outcome"] != fe["outcome"]:
            problems.append(
                f"tests ({name}): {pair['re']!r} and {pair['fe']!r} have different "
                f"outcomes ({re_['outcome']!r}, {fe['outcome']!r})"
            )

    mediation = _by_name(raw.get("mediation") or [], "mediation", problems)
    for name, entry in mediation.items():
        trio = [entry["treatment"], entry["mediator"], entry["outcome"]]
        if len(set(trio)) < 3:
            problems.append(
                f"mediation ({name}): treatment, mediator and outcome must differ, got {trio}"
            )

    system = _by_name(raw.get("system") or [], "system", problems)
    for name, entry in system.items():
        for eq in entry["equations"]:
            if eq not in models:
                problems.append(f"system ({name}): unknown model {eq!r}")
            elif models[eq]["estimator"] not in ("ols", "twfe"):
                problems.append(
                    f"system ({name}): {eq!r} has estimator "
                    f"{models[eq]['estimator']!r}; SUR takes 'ols' or 'twfe' models"
                )
        equations = [models[eq] for eq in entry["equations"] if eq in models]
        if len(equations) == len(entry["equations"]) and sur_is_ols(equations):
            problems.append(
                f"system ({name}): SUR would be equation-by-equation OLS exactly (every pair "
                "of equations has the same regressors, or one holds the other's outcome and "
                "regressors, so their residuals are uncorrelated); a table of it would add "
                "nothing: drop the system or give its equations different regressors"
            )

    tables = _by_name(raw.get("tables") or [], "tables", problems)
    for name, entry in tables.items():
        unknown = [m for m in entry["models"] if m not in models]
        if unknown:
            problems.append(f"tables ({name}): unknown model(s) {unknown}")
        elif entry.get("quantity") == "ame" and any(
            models[m]["estimator"] != "fraclogit" for m in entry["models"]
        ):
            problems.append(f"tables ({name}): quantity 'ame' needs fractional-logit models")

    figures = _by_name(raw.get("figures") or [], "figures", problems)
    for name, entry in figures.items():
        unknown = [m for m in entry["models"] if m not in models]
        if unknown:
            problems.append(f"figures ({name}): unknown model(s) {unknown}")
            continue
        fams = {family(models[m]["estimator"]) for m in entry["models"]}
        if len(fams) > 1:
            problems.append(
                f"figures ({name}): models of different families {sorted(fams)} "
                "(coefficients on different scales): one figure per family"
            )
        if entry.get("quantity") == "ame" and fams != {"rates"}:
            problems.append(f"figures ({name}): quantity 'ame' needs fractional-logit models")

    path_diagram = raw.get("path_diagram")
    if path_diagram:
        unknown = [m for m in path_diagram["mediation"] if m not in mediation]
        if unknown:
            problems.append(f"path_diagram: unknown mediation(s) {unknown}")

    stems = [*tables, *system]
    if raw.get("mediation_table"):
        stems.append(raw["mediation_table"]["name"])
    dup_tables = sorted({s for s in stems if stems.count(s) > 1})
    if dup_tables:
        problems.append(
            f"table file names used twice (tables, system, mediation_table): {dup_tables}"
        )
    fig_stems = [*figures, *([path_diagram["name"]] if path_diagram else [])]
    dup_figs = sorted({s for s in fig_stems if fig_stems.count(s) > 1})
    if dup_figs:
        problems.append(f"figure file names used twice (figures, path_diagram): {dup_figs}")

    if problems:
        raise ModelsConfigError(_problem_text(origin, problems))
    return ModelsConfig(
        models=models,
        derived=derived,
        labels=dict(raw.get("labels") or {}),
        tests=tests,
        mediation=mediation,
        system=system,
        tables=tables,
        mediation_table=raw.get("mediation_table"),
        figures=figures,
        path_diagram=path_diagram,
    )


def sur_is_ols(equations: Sequence[Mapping[str, Any]]) -> bool:
    """Whether SUR of these model entries reproduces equation-by-equation OLS exactly.

    It does when the estimated residual covariance is block diagonal over groups of
    equations with identical regressors (Zellner 1962: within such a group GLS is OLS).
    A pair of equations falls in one group when its right-hand sides (regressors,
    controls, fixed effects) are the same set; its residual covariance is exactly zero
    when one equation holds the other's outcome and every one of its right-hand
    variables (the other's residual is then in the span of its regressors, to which its
    own residual is orthogonal), as in a recursive S → C, S + C → P system.
    """

    def rhs(entry):
        return {
            *entry.get("regressors", []),
            *entry.get("controls", []),
            *entry.get("fixed_effects", []),
        }

    for a, b in itertools.combinations(equations, 2):
        ra, rb = rhs(a), rhs(b)
        if ra == rb or {a["outcome"], *ra} <= rb or {b["outcome"], *rb} <= ra:
            continue
        return False
    return True


def _problem_text(origin: str, problems: list[str]) -> str:
    return f"{origin}: {len(problems)} problem(s):\n" + "\n".join(f"  - {p}" for p in problems)


# --------------------------------------------------------------------------- #
# Planning: what the dataset allows
# --------------------------------------------------------------------------- #


def panel_availability(dataset_plan) -> dict[str, list[str]]:
    """Every column the clean panel can have -> the contract inputs the dataset lacks for it.

    An empty list means the panel will have the column. ``dataset_plan`` is a
    :class:`consortia.workflow.DatasetPlan` (read from the headers only).
    """
    out = {key: [] for key in KEY_COLUMNS}
    for measure in measures.MEASURE_INPUTS:
        out[measure] = list(dataset_plan.missing_inputs(measure))
    return out


@dataclass(frozen=True)
class ModelPlan:
    """What runs on this dataset, and why the rest does not."""

    models: dict[str, dict[str, Any]]
    derived: dict[str, dict[str, str]]
    tests: dict[str, dict[str, Any]]
    mediation: dict[str, dict[str, Any]]
    system: dict[str, dict[str, Any]]
    tables: dict[str, dict[str, Any]]  # each with "models" (planned) and "skipped" records
    mediation_table: dict[str, Any] | None
    figures: dict[str, dict[str, Any]]
    path_diagram: dict[str, Any] | None
    labels: dict[str, str]
    skipped: list[dict[str, Any]]  # one record per configured item that will not run

    def describe(self) -> str:
        n_tables = len(self.tables) + bool(self.mediation_table) + len(self.system)
        head = (
            f"SCP models: {len(self.models)} to fit, {len(self.tests)} RE/FE test pair(s), "
            f"{len(self.mediation)} mediation(s), {len(self.system)} system(s), "
            f"{n_tables} table(s), {len(self.figures) + bool(self.path_diagram)} figure(s)"
        )
        lines = [head]
        for record in self.skipped:
            lines.append(f"  skipped: {record['kind']} {record['name']} ({record['reason']})")
        return "\n".join(lines)


def _variable_status(
    var: str, availability: Mapping[str, list[str]], derived: Mapping[str, dict]
) -> tuple[bool, str, list[str]]:
    """(available, why not, contract inputs missing) of one variable."""
    if var in derived:
        ((how, source),) = derived[var].items()
        ok, why, inputs = _variable_status(source, availability, {})
        return ok, f"{var} = {how}({why if not ok else source})", inputs
    if var not in availability:
        return False, f"{var} (not a panel column)", []
    missing = list(availability[var])
    if missing:
        return False, f"{var} (needs {', '.join(missing)})", missing
    return True, var, []


def _missing(
    variables: Iterable[str], availability: Mapping[str, list[str]], derived: Mapping[str, dict]
) -> tuple[list[str], list[str], list[str]]:
    """(missing variables, their explanations, missing contract inputs)."""
    names, texts, inputs = [], [], []
    for var in dict.fromkeys(variables):
        ok, why, missing_inputs = _variable_status(var, availability, derived)
        if not ok:
            names.append(var)
            texts.append(why)
            inputs += [m for m in missing_inputs if m not in inputs]
    return names, texts, inputs


def skipped_record(
    kind: str,
    name: str,
    reason: str,
    *,
    stage: str,
    missing_columns: Sequence[str] = (),
    missing_inputs: Sequence[str] = (),
) -> dict[str, Any]:
    """The record written (or listed) in place of a result that could not be obtained."""
    return {
        "status": SKIPPED,
        "kind": kind,
        "name": name,
        "stage": stage,
        "reason": reason,
        "missing_columns": list(missing_columns),
        "missing_inputs": list(missing_inputs),
    }


def _failed_stage(exc: SpecError) -> str:
    """"identification" when the data cannot identify the model, "fit" otherwise."""
    return "identification" if isinstance(exc, NotEstimable) else "fit"


def _mundlak_entry(re_entry: Mapping[str, Any], name: str) -> dict[str, Any]:
    """The RE specification as the Mundlak (correlated RE) model its test is computed from."""
    spec = ModelSpec.from_dict(dict(re_entry))
    entry = {
        **re_entry,
        "name": name,
        "estimator": "mundlak",
        "fixed_effects": [f for f in spec.fixed_effects if f != spec.entity],
        "description": f"Mundlak test of {re_entry['name']}",
    }
    entry.pop("mundlak_base", None)
    return entry


def mundlak_model_of(
    re_entry: Mapping[str, Any], models: Mapping[str, Mapping[str, Any]]
) -> str | None:
    """The planned Mundlak model (RE base) with the RE entry's specification, if any."""

    def key(entry):
        d = ModelSpec.from_dict(dict(entry)).to_dict()
        return {k: v for k, v in d.items() if k not in ("name", "description", "estimator")}

    wanted = key(_mundlak_entry(re_entry, "-"))
    for name, entry in models.items():
        if entry.get("estimator") == "mundlak" and key(entry) == wanted:
            return name
    return None


def _mediation_variables(entry: Mapping[str, Any]) -> list[str]:
    return [
        entry["treatment"],
        entry["mediator"],
        entry["outcome"],
        *entry.get("controls", []),
        *entry.get("fixed_effects", ["consortium_id", "year"]),
        entry.get("cluster", "consortium_id"),
    ]


def plan_models(
    cfg: ModelsConfig, availability: Mapping[str, list[str]] | Iterable[str]
) -> ModelPlan:
    """Decide which configured items can run on a panel with the given columns.

    ``availability``: :func:`panel_availability` of the dataset (column ->
    missing contract inputs), or simply the panel's column names. Derived
    variables are available when their source column is.
    """
    if not isinstance(availability, Mapping):
        availability = {c: [] for c in availability}
    skipped: list[dict[str, Any]] = []

    def check(kind: str, name: str, variables: Iterable[str]) -> bool:
        cols, texts, inputs = _missing(variables, availability, cfg.derived)
        if cols:
            skipped.append(
                skipped_record(
                    kind,
                    name,
                    "variable(s) not available: " + "; ".join(texts),
                    stage="plan",
                    missing_columns=cols,
                    missing_inputs=inputs,
                )
            )
        return not cols

    models = {
        name: entry
        for name, entry in cfg.models.items()
        if check("model", name, ModelSpec.from_dict(entry).required_columns())
    }
    mediation = {
        name: entry
        for name, entry in cfg.mediation.items()
        if check("mediation", name, _mediation_variables(entry))
    }
    tests = {}
    for name, pair in cfg.tests.items():
        absent = [m for m in (pair["re"], pair["fe"]) if m not in models]
        if absent:
            skipped.append(
                skipped_record("test", name, f"model(s) skipped: {', '.join(absent)}", stage="plan")
            )
        else:
            mundlak = mundlak_model_of(models[pair["re"]], models)
            if mundlak is None:  # the Mundlak test needs the fit: add it (in no table)
                mundlak = f"{pair['re']}__mundlak"
                models[mundlak] = _mundlak_entry(models[pair["re"]], mundlak)
            tests[name] = {**pair, "mundlak": mundlak}
    system = {}
    for name, entry in cfg.system.items():
        absent = [m for m in entry["equations"] if m not in models]
        if absent:
            skipped.append(
                skipped_record(
                    "system", name, f"equation(s) skipped: {', '.join(absent)}", stage="plan"
                )
            )
        else:
            system[name] = entry
    by_name = {(r["kind"], r["name"]): r for r in skipped}
    tables = {}
    for name, entry in cfg.tables.items():
        planned = [m for m in entry["models"] if m in models]
        if not planned:
            skipped.append(
                skipped_record("table", name, "none of its models can be fitted", stage="plan")
            )
            continue
        tables[name] = {
            **entry,
            "models": planned,
            "skipped": [by_name[("model", m)] for m in entry["models"] if m not in models],
        }
    mediation_table = None
    if cfg.mediation_table:
        if mediation:
            mediation_table = {
                **cfg.mediation_table,
                "mediation": list(mediation),
                "skipped": [by_name[("mediation", m)] for m in cfg.mediation if m not in mediation],
            }
        elif cfg.mediation:
            skipped.append(
                skipped_record(
                    "table", cfg.mediation_table["name"], "no mediation can be run", stage="plan"
                )
            )
    figures = {}
    for name, entry in cfg.figures.items():
        planned = [m for m in entry["models"] if m in models]
        if planned:
            figures[name] = {**entry, "models": planned}
        else:
            skipped.append(
                skipped_record("figure", name, "none of its models can be fitted", stage="plan")
            )
    path_diagram = None
    if cfg.path_diagram:
        planned = [m for m in cfg.path_diagram["mediation"] if m in mediation]
        if planned:
            path_diagram = {**cfg.path_diagram, "mediation": planned}
        else:
            skipped.append(
                skipped_record(
                    "figure",
                    cfg.path_diagram["name"],
                    "none of its mediations can be run",
                    stage="plan",
                )
            )
    used = {
        v
        for entry in [*models.values(), *mediation.values()]
        for v in (
            ModelSpec.from_dict(entry).required_columns()
            if "estimator" in entry
            else _mediation_variables(entry)
        )
    }
    derived = {name: how for name, how in cfg.derived.items() if name in used}
    return ModelPlan(
        models=models,
        derived=derived,
        tests=tests,
        mediation=mediation,
        system=system,
        tables=tables,
        mediation_table=mediation_table,
        figures=figures,
        path_diagram=path_diagram,
        labels=dict(cfg.labels),
        skipped=skipped,
    )


# --------------------------------------------------------------------------- #
# Data
# --------------------------------------------------------------------------- #


def add_derived(panel: pd.DataFrame, derived: Mapping[str, Mapping[str, str]]) -> pd.DataFrame:
    """A copy of the panel with the derived variables (log of a value ≤ 0 is missing)."""
    out = panel.copy()
    _derive_into(out, derived)
    return out


def _derive_into(panel: pd.DataFrame, derived: Mapping[str, Mapping[str, str]]) -> None:
    for name, how in derived.items():
        ((transform, source),) = how.items()
        if transform not in TRANSFORMS:
            raise ModelsConfigError(f"derived variable {name!r}: unknown transform {transform!r}")
        values = pd.to_numeric(panel[source], errors="coerce").astype(float)
        if transform == "log":
            panel[name] = np.log(values.where(values > 0))
        else:
            panel[name] = np.log1p(values.where(values > -1))


def read_panel(
    panel_path: str | Path,
    derived: Mapping[str, Mapping[str, str]],
    columns: Iterable[str] | None = None,
    categorical: bool = False,
) -> pd.DataFrame:
    """The panel with the derived variables; only ``columns`` (and the sources of the derived
    ones among them) if given. ``categorical``: text columns as pandas categoricals (a
    million consortium ids hashed once, not in every model)."""
    if columns is not None:
        wanted = list(dict.fromkeys(columns))
        for name in wanted:  # grows: the source of a derived variable may be derived too
            if name in derived:
                wanted += [c for c in derived[name].values() if c not in wanted]
        present = set(parquet_columns(panel_path))
        columns = [c for c in wanted if c in present]
        derived = {k: v for k, v in derived.items() if k in wanted}
    panel = pd.read_parquet(panel_path, columns=columns)
    if categorical:
        for c in panel.columns:
            if pd.api.types.is_object_dtype(panel[c]) or pd.api.types.is_string_dtype(panel[c]):
                panel[c] = panel[c].astype("category")
    _derive_into(panel, derived)
    return panel


def _model_columns(entries: Iterable[Mapping[str, Any]]) -> list[str] | None:
    """Every panel column the specs use (None, i.e. all, if one has a sample filter)."""
    columns: list[str] = []
    for entry in entries:
        spec = ModelSpec.from_dict(dict(entry))
        if spec.sample:
            return None
        columns += [*spec.required_columns(), spec.entity, spec.time]
    return list(dict.fromkeys(columns))


def _mediation_columns(entries: Iterable[Mapping[str, Any]]) -> list[str] | None:
    """Every panel column the mediations use (None, i.e. all, if one has a sample filter)."""
    columns: list[str] = []
    for entry in entries:
        if entry.get("sample"):
            return None
        columns += _mediation_variables(entry)
    return list(dict.fromkeys(columns))


def load_result(path: str | Path):
    """A stored fit: :class:`FitResult`, or the skipped record (a dict) written instead."""
    from .results import FitResult

    payload = read_json(path)
    if payload.get("status") == SKIPPED:
        return payload
    return FitResult.from_dict(payload)


def _is_skipped(obj: Any) -> bool:
    return isinstance(obj, dict) and obj.get("status") == SKIPPED


# --------------------------------------------------------------------------- #
# Estimation steps
# --------------------------------------------------------------------------- #


def fit_model_step(
    entry: Mapping[str, Any], panel: pd.DataFrame, out_json: str | Path
) -> dict[str, Any]:
    """Fit one spec on the panel (derived variables added) and write its JSON.

    A spec the data cannot support (a missing column, no observation left, an
    outcome outside the estimator's range: any :class:`SpecError`) is written as
    a skipped record with the reason. Returns the manifest record.
    """
    from . import fit

    name = entry["name"]
    spec = ModelSpec.from_dict(dict(entry))
    absent = [c for c in spec.required_columns() if c not in panel.columns]
    if absent:
        record = skipped_record(
            "model",
            name,
            "variable(s) not in the panel: " + ", ".join(absent),
            stage="fit",
            missing_columns=absent,
        )
        write_json(record, out_json)
        return record
    start = time.perf_counter()
    try:
        result = fit(spec, panel)
    except SpecError as exc:
        record = skipped_record("model", name, str(exc), stage=_failed_stage(exc))
        write_json(record, out_json)
        log.warning("model %s skipped: %s", name, exc)
        return record
    result.to_json(out_json)
    seconds = time.perf_counter() - start
    log.info("model %s: %s, N = %d (%.2f s)", name, result.estimator_label, result.nobs, seconds)
    return {
        "status": "fitted",
        "kind": "model",
        "name": name,
        "file": str(out_json),
        "estimator": result.estimator,
        "outcome": result.outcome,
        "nobs": result.nobs,
        "n_clusters": result.n_clusters,
        "dropped_terms": result.dropped_terms,
    }


def fit_models_step(
    entries: Sequence[Mapping[str, Any]],
    derived: Mapping[str, Mapping[str, str]],
    panel_path: str | Path,
    fit_paths: Mapping[str, str | Path],
    manifest_path: str | Path,
    planned_skips: Sequence[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    """Fit every spec (one JSON per spec, ``fit_paths[name]``) and write the manifest.

    The manifest lists every configured item: fitted models with N and
    clusters, and every skipped one (at planning, ``planned_skips``, or here)
    with the reason and the missing columns.
    """
    panel = read_panel(panel_path, derived, columns=_model_columns(entries), categorical=True)
    records = []
    for entry in entries:
        records.append(fit_model_step(entry, panel, fit_paths[entry["name"]]))
        # a fit's large arrays can sit in reference cycles (pyfixest's model objects) until
        # the next full collection: free them before the next model allocates its own
        gc.collect()
    manifest = {
        "panel": str(panel_path),
        "models": records,
        "skipped": [*planned_skips, *(r for r in records if r["status"] == SKIPPED)],
    }
    write_json(manifest, manifest_path)
    return manifest


def re_fe_tests_from_fits(
    name: str, pair: Mapping[str, str], re_fit, mundlak_fit
) -> dict[str, Any]:
    """The Hausman and cluster-robust Mundlak tests of one RE/FE pair, as the record the
    tables read, from the stored RE fit and the Mundlak fit of the same specification
    (either a skipped record: the test record is skipped, with the reason).

    Both tests are computed from the RE model's spec (its time-varying regressors;
    :func:`consortia.estimate.re_vs_fe_tests`); the FE model names the column pair
    the tables report them under.
    """
    from .specification_tests import re_vs_fe_tests_from_fits

    for stored in (re_fit, mundlak_fit):
        if _is_skipped(stored):
            return skipped_record(
                "test", name, f"model {stored['name']} not fitted: {stored['reason']}", stage="fit"
            )
    tests = re_vs_fe_tests_from_fits(re_fit, mundlak_fit)
    log.info(
        "tests %s: Hausman %s (df %s), Mundlak %s (df %s)",
        name,
        tests["hausman"].statistic,
        tests["hausman"].df,
        tests["mundlak"].statistic,
        tests["mundlak"].df,
    )
    return {
        "status": "done",
        "kind": "test",
        "name": name,
        "re_model": pair["re"],
        "fe_model": pair["fe"],
        "outcome": re_fit.outcome,
        **{key: test.to_dict() for key, test in tests.items()},
    }


def re_fe_tests(
    name: str, pair: Mapping[str, str], re_entry: Mapping[str, Any], panel: pd.DataFrame
) -> dict[str, Any]:
    """:func:`re_fe_tests_from_fits` with the RE and Mundlak models fitted here on the panel."""
    from . import fit

    fits = []
    for entry in (re_entry, _mundlak_entry(re_entry, f"{re_entry['name']}__mundlak")):
        try:
            fits.append(fit(dict(entry), panel))
        except SpecError as exc:
            return skipped_record("test", name, str(exc), stage="fit")
    return re_fe_tests_from_fits(name, pair, *fits)


def specification_tests_step(
    pairs: Mapping[str, Mapping[str, Any]],
    re_fits: Mapping[str, str | Path],
    mundlak_fits: Mapping[str, str | Path],
    out_paths: Mapping[str, str | Path],
) -> None:
    """:func:`re_fe_tests_from_fits` of each RE/FE pair (its stored RE and Mundlak fits,
    ``re_fits[pair]``, ``mundlak_fits[pair]``), one JSON per pair. Nothing is refitted."""
    for name, pair in pairs.items():
        record = re_fe_tests_from_fits(
            name, pair, load_result(re_fits[name]), load_result(mundlak_fits[name])
        )
        write_json(record, out_paths[name])


def mediation_step(
    entries: Sequence[Mapping[str, Any]],
    derived: Mapping[str, Mapping[str, str]],
    panel_path: str | Path,
    seed: int,
    out_paths: Mapping[str, str | Path],
) -> None:
    """Each mediation (cluster bootstrap seeded with the study seed), one JSON per entry."""
    from .mediation import mediation_from_dict

    panel = read_panel(panel_path, derived, columns=_mediation_columns(entries), categorical=True)
    for entry in entries:
        name = entry["name"]
        try:
            result = mediation_from_dict({**entry, "seed": int(seed)}, panel)
        except SpecError as exc:
            record = skipped_record("mediation", name, str(exc), stage=_failed_stage(exc))
            write_json(record, out_paths[name])
            log.warning("mediation %s skipped: %s", name, exc)
            continue
        log.info(
            "mediation %s: indirect %.4f, percentile CI [%.4f, %.4f], %d replicates (%.2f s)",
            name,
            result.estimates["indirect"],
            *result.ci_percentile["indirect"],
            result.n_boot,
            result.timings.get("total_seconds", math.nan),
        )
        result.to_json(out_paths[name])


def system_step(
    system: Mapping[str, Any],
    equations: Sequence[Mapping[str, Any]],
    derived: Mapping[str, Mapping[str, str]],
    panel_path: str | Path,
    out_json: str | Path,
) -> None:
    """The SUR fit of one system: its equations' FitResults in one JSON file."""
    from .system import system_fit

    panel = read_panel(panel_path, derived, columns=_model_columns(equations), categorical=True)
    name = system["name"]
    try:
        results = system_fit(
            [dict(e) for e in equations], panel, method=system.get("method", "auto"), name=name
        )
    except SpecError as exc:
        write_json(skipped_record("system", name, str(exc), stage=_failed_stage(exc)), out_json)
        log.warning("system %s skipped: %s", name, exc)
        return
    payload = {
        "status": "done",
        "kind": "system",
        "name": name,
        "title": system.get("title", ""),
        "equations": [r.to_dict() for r in results],
    }
    write_json(payload, out_json)


# --------------------------------------------------------------------------- #
# Tables
# --------------------------------------------------------------------------- #

_TERM = re.compile(r"^(?P<var>[^\[\]]+)\[(?P<level>.+)\]$")


def term_labels(terms: Iterable[str], labels: Mapping[str, str]) -> dict[str, str]:
    """Display text of terms: the configured label, or "<label of var>: <level>" for var[level]."""
    out = dict(labels)
    for term in terms:
        if term in labels:
            continue
        match = _TERM.match(term)
        if match and match["var"] in labels:
            out[term] = f"{labels[match['var']]}: {match['level'].replace('_', ' ')}"
    return out


def _shown_terms(fits: Sequence) -> list[str]:
    """Coefficient rows: every term of any fit (no fixed-effect dummies, no Mundlak means),
    in order of first appearance, the intercept last."""
    seen: dict[str, None] = {}
    for r in fits:
        hidden = set(r.extra.get("mean_terms", []))
        for t in r.terms:
            if t == "(Intercept)" or t in hidden:
                continue
            if any(t.startswith(f"{fe}[") for fe in r.fixed_effects):
                continue
            seen.setdefault(t)
    terms = list(seen)
    if any("(Intercept)" in r.params for r in fits):
        terms.append("(Intercept)")
    return terms


def _cols(indices: Sequence[int]) -> str:
    return ", ".join(f"({j + 1})" for j in indices)


def _models_word(indices: Sequence[int]) -> str:
    return ("Model " if len(indices) == 1 else "Models ") + _cols(indices)


def _rhs(res) -> list[str]:
    return [*res.spec.get("regressors", []), *res.spec.get("controls", [])]


def _invariant_notes(fits: Sequence, labels: Mapping[str, str]) -> list[str]:
    """Which columns cannot estimate a consortium attribute (lead type, …) and which do."""
    within = [
        j for j, r in enumerate(fits) if r.spec.get("entity", "consortium_id") in r.fixed_effects
    ]
    others = [j for j in range(len(fits)) if j not in within]
    if not within or not others:
        return []
    shown = [
        v
        for v in CONSORTIUM_ATTRIBUTES
        if any(v in _rhs(fits[j]) for j in others) and not any(v in _rhs(fits[j]) for j in within)
    ]
    notes = []
    if shown:
        notes.append(_attribute_note(fits, shown, within, others, labels))
    # age = year − founded year: a consortium attribute plus the year, so collinear with
    # consortium and year effects together
    two_way = [j for j in within if fits[j].spec.get("time", "year") in fits[j].fixed_effects]
    if (
        two_way
        and any("age" in _rhs(fits[j]) for j in others)
        and not any("age" in _rhs(fits[j]) for j in two_way)
    ):
        notes.append(
            f"{labels.get('age', 'Age')} (year − founding year) is collinear with the consortium "
            f"and year effects of {_models_word(two_way).lower()}, which leave it out."
        )
    return notes


def _attribute_note(fits, shown, within, others, labels) -> str:
    names = [labels.get(v, v) for v in shown]
    text = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    one = len(names) == 1
    with_var = [j for j in others if any(v in _rhs(fits[j]) for v in shown)]
    return (
        f"{text} {'does' if one else 'do'} not change within a consortium: the consortium "
        f"fixed effects of {_models_word(within).lower()} absorb {'it' if one else 'them'}, so "
        f"{'that model leaves' if len(within) == 1 else 'those models leave'} "
        f"{'it' if one else 'them'} out; {'its' if one else 'their'} effects (e.g. the "
        f"lead-type contrasts) come from {_models_word(with_var).lower()}."
    )


def _fmt(value: float | None, decimals: int) -> str:
    from consortia.tables import MISSING, format_number

    if value is None or not math.isfinite(value):
        return MISSING
    return format_number(value, decimals)


def _test_rows(
    fits: Sequence, tests: Sequence[Mapping[str, Any]]
) -> tuple[list[tuple[str, str, list[str]]], list[str], list[str], list[dict]]:
    """Rows (key, label, cells), short notes, details and CSV records of the RE/FE tests.

    A negative classical Hausman statistic (the difference of the covariances is not
    positive semi-definite in the sample) is no chi-squared value: its cells are left
    undefined and a note says to read the Mundlak test; the CSV keeps the number.
    """
    from consortia.tables import MISSING

    names = [r.name for r in fits]
    rows: dict[str, list[str]] = {}
    labels = {
        "test::hausman": "Hausman χ² (df)",
        "test::hausman_p": "Hausman p-value",
        "test::mundlak": "Mundlak χ² (df)",
        "test::mundlak_p": "Mundlak p-value",
    }
    notes, details, records = [], [], []
    pairs, negative = [], []
    for test in tests:
        if _is_skipped(test):
            notes.append(f"RE/FE tests not computed: {test['reason']}.")
            continue
        if test["re_model"] in names:
            col = names.index(test["re_model"])
        elif test["fe_model"] in names:
            col = names.index(test["fe_model"])
        else:
            continue
        other = names.index(test["fe_model"]) if test["fe_model"] in names else None
        pairs.append((col, other))
        for key in ("hausman", "mundlak"):
            t = test[key]
            stat = math.nan if t["statistic"] is None else t["statistic"]
            p = math.nan if t["p_value"] is None else t["p_value"]
            cells = rows.setdefault(f"test::{key}", [""] * len(fits))
            p_cells = rows.setdefault(f"test::{key}_p", [""] * len(fits))
            if math.isfinite(stat) and stat < 0:
                negative.append(col)
                cells[col], p_cells[col] = MISSING, MISSING
            else:
                cells[col] = f"{_fmt(stat, 2)} ({t['df']})" if math.isfinite(stat) else MISSING
                p_cells[col] = _fmt(p, 3)
            records.append(
                {
                    "column": f"({col + 1})",
                    "model": test["re_model"],
                    "outcome": test["outcome"],
                    "quantity": "test",
                    "term": key,
                    "statistic": stat,
                    "df": t["df"],
                    "p_value": p,
                }
            )
            how = [n for n in t.get("notes", []) if not n.startswith(("classical", "covariance:"))]
            if how:  # the general note says the rest once
                details.append(f"{t['name']} test, model ({col + 1}): " + "; ".join(how) + ".")
    if pairs:
        notes.insert(
            0,
            "Hausman (classical) and Mundlak (cluster-robust) tests of RE against FE in the "
            "RE column; a small p-value rejects RE.",
        )
        where = "; ".join(
            f"({c + 1})" + (f" against FE ({o + 1})" if o is not None else "") for c, o in pairs
        )
        details.insert(
            0,
            "RE against FE, shown in the RE column of each pair: " + where + ". Both statistics "
            "are chi-squared with the df in parentheses under H0 (RE consistent). Hausman: "
            "classical (non-robust) covariances, valid only if RE is fully efficient under H0; "
            "df = the time-varying coefficients both estimate. Mundlak: Wald test, with the "
            "cluster-robust covariance of the model, that the consortium means of the "
            "time-varying regressors (and, in an unbalanced panel, of the year dummies) are "
            "jointly zero in the RE equation (Wooldridge 2010, sec. 10.7.3); robust to "
            "heteroskedasticity and serial correlation.",
        )
    if negative:
        notes.append(
            f"{_models_word(sorted(set(negative)))}: the Hausman statistic is negative (the "
            "covariance difference is not positive semi-definite), so it is not shown; read "
            "the Mundlak test."
        )
    ordered = [(k, labels[k], rows[k]) for k in labels if k in rows]
    return ordered, notes, details, records


def _skipped_notes(skipped: Iterable[Mapping[str, Any]]) -> list[str]:
    return [f"Not estimated: {r['name']}: {r['reason']}." for r in skipped]


def _not_estimated_table(title: str, skipped: Sequence[Mapping[str, Any]], label: str | None):
    from consortia.tables import Table

    body = pd.DataFrame(
        {"Reason": [r["reason"] for r in skipped] or ["nothing to show"]},
        index=[r["name"] for r in skipped] or ["-"],
    )
    return Table(
        body=body,
        title=title,
        stub_header=("Model",),
        notes=["None of the models of this table could be estimated on this dataset."],
        label=label,
        data=body.reset_index(names="model").assign(status=SKIPPED),
    )


def _with_labels(text: str, labels: Mapping[str, str]) -> str:
    """``text`` with each variable name (an identifier with an underscore, e.g.
    consortium_id) replaced by its display label: notes written by the estimators name
    variables, tables show labels."""
    names = sorted((k for k in labels if "_" in k), key=len, reverse=True)
    if not names:
        return text
    pattern = re.compile(r"\b(" + "|".join(map(re.escape, names)) + r")\b")
    return pattern.sub(lambda m: labels[m.group(1)].lower(), text)


def _variable_of(term: str) -> str:
    """The variable of a term: ``lead_type`` of ``lead_type[university]``."""
    match = _TERM.match(term)
    return match["var"] if match else term


def build_regression_table(
    fits: Sequence,
    tests: Sequence[Mapping[str, Any]] = (),
    *,
    title: str = "",
    labels: Mapping[str, str] | None = None,
    notes: Sequence[str] = (),
    skipped: Sequence[Mapping[str, Any]] = (),
    label: str | None = None,
    quantity: str = "coef",
):
    """The regression table of fitted results, with the RE/FE tests under their pair.

    On top of :func:`consortia.estimate.regression_table`: coefficient rows for the
    specifications' regressors (the controls as Yes/No rows, the intercept, Mundlak
    means and fixed-effect dummies in the CSV only), display labels for ``var[level]``
    terms, rows for the Hausman / Mundlak tests (in the RE column of each pair), short
    notes on what a column cannot estimate and the models that were not estimated, and
    ``notes``; the longer explanations (collinear terms, dropped singletons, the tests'
    methods) go to the table's details, variable names replaced by their labels.
    ``quantity="ame"``: fractional-logit columns show average marginal effects only.
    """
    from consortia.tables import Table

    from .tables import regression_table

    labels = dict(labels or {})
    fits = list(fits)
    if not fits:
        return _not_estimated_table(title, skipped, label)
    controls = list(dict.fromkeys(c for r in fits for c in r.spec.get("controls", [])))
    terms = [
        t for t in _shown_terms(fits) if t != "(Intercept)" and _variable_of(t) not in controls
    ]
    shown_labels = term_labels(terms, labels)
    rows, test_notes, test_details, test_records = _test_rows(fits, tests)
    short = [*test_notes]
    details = _invariant_notes(fits, labels)
    if details:
        short.append(
            "Empty cell: not estimable under consortium fixed effects (time-invariant)."
        )
    mundlak = [j for j, r in enumerate(fits) if r.extra.get("mean_terms")]
    if mundlak:
        details.append(
            f"{_models_word(mundlak)}: the consortium means of the time-varying regressors "
            "(Mundlak terms) are in the equation and not shown; the coefficients shown are the "
            "within-consortium effects, those of time-invariant regressors are conditional on "
            "the means."
        )
    by_note: dict[str, list[int]] = {}
    for j, r in enumerate(fits):
        for note in r.notes:
            if not note.startswith("dropped as collinear: mean("):
                by_note.setdefault(note, []).append(j)
    details += [f"{_models_word(cols)}: {note}." for note, cols in by_note.items()]
    table = regression_table(
        fits,
        title,
        terms=terms,
        labels=shown_labels,
        controls=controls,
        show_coefficients=quantity != "ame",
        notes=[*short, *_skipped_notes(skipped), *notes],
        details=[_with_labels(d, labels) for d in (*test_details, *details)],
        label=label,
    )
    body = table.body
    row_labels = dict(table.row_labels)
    rule_after = list(table.rule_after)
    if rows:
        rule_after.append(len(body) - 1)
        extra = pd.DataFrame(
            [cells for _, _, cells in rows], index=[k for k, _, _ in rows], columns=body.columns
        )
        body = pd.concat([body, extra])
        row_labels.update({k: text for k, text, _ in rows})
    data = table.data
    if test_records:
        data = pd.concat([data, pd.DataFrame(test_records)], ignore_index=True)
    return Table(
        body=body,
        title=table.title,
        row_labels=row_labels,
        column_labels=table.column_labels,
        stub_header=table.stub_header,
        notes=table.notes,
        details=table.details,
        rule_after=rule_after,
        label=table.label,
        data=data,
    )


def regression_table_step(
    fit_jsons: Sequence[str | Path],
    stem: str | Path,
    *,
    test_jsons: Sequence[str | Path] = (),
    title: str = "",
    labels: Mapping[str, str] | None = None,
    notes: Sequence[str] = (),
    skipped: Sequence[Mapping[str, Any]] = (),
    quantity: str = "coef",
):
    """Write ``stem.{tex,html,md,csv}``: the regression table of the stored fits (no refitting).

    Fits stored as skipped records are listed in the notes with their reason,
    as are ``skipped`` (models skipped when the workflow was planned).
    """
    from consortia.tables import write_table

    loaded = [load_result(p) for p in fit_jsons]
    fits = [x for x in loaded if not _is_skipped(x)]
    skipped = [*skipped, *(x for x in loaded if _is_skipped(x))]
    tests = [read_json(p) for p in test_jsons]
    table = build_regression_table(
        fits,
        tests,
        title=title,
        labels=labels,
        notes=notes,
        skipped=skipped,
        label=f"tab:{Path(stem).name}",
        quantity=quantity,
    )
    write_table(table, stem)
    return table


def mediation_table_step(
    mediation_jsons: Sequence[str | Path],
    stem: str | Path,
    *,
    title: str = "",
    labels: Mapping[str, str] | None = None,
    skipped: Sequence[Mapping[str, Any]] = (),
):
    """Write the mediation table (direct, indirect, total effects) of the stored analyses."""
    from consortia.tables import write_table

    from .mediation import MediationResult
    from .tables import mediation_table

    payloads = [read_json(p) for p in mediation_jsons]
    results = [MediationResult.from_dict(p) for p in payloads if p.get("status") != SKIPPED]
    skipped = [*skipped, *(p for p in payloads if p.get("status") == SKIPPED)]
    label = f"tab:{Path(stem).name}"
    if not results:
        table = _not_estimated_table(title, skipped, label)
    else:
        kwargs = {"title": title} if title else {}
        labels = dict(labels or {})
        controls = {
            j: ", ".join(labels.get(c, c) for c in r.controls) or "none"
            for j, r in enumerate(results, start=1)
        }
        same = len(set(controls.values())) == 1
        table = mediation_table(
            results,
            labels=labels,
            notes=[
                *([f"Controls in both equations: {controls[1]}."] if same else []),
                *_skipped_notes(skipped),
            ],
            details=[
                _with_labels(text, labels)
                for text in (
                    *(
                        f"Column ({j}): controls in both equations: {text}."
                        for j, text in controls.items()
                        if not same
                    ),
                    *(
                        f"Column ({j}): " + "; ".join(r.notes) + "."
                        for j, r in enumerate(results, start=1)
                        if r.notes
                    ),
                )
            ],
            label=label,
            **kwargs,
        )
    write_table(table, stem)
    return table


def system_table_step(
    system_json: str | Path,
    stem: str | Path,
    *,
    labels: Mapping[str, str] | None = None,
    tables_of_equations: Mapping[str, str] | None = None,
):
    """Write the SUR robustness table of a stored system fit (one column per equation)."""
    from consortia.tables import write_table

    from .results import FitResult

    payload = read_json(system_json)
    label = f"tab:{Path(stem).name}"
    if payload.get("status") == SKIPPED:
        table = _not_estimated_table(payload["name"], [payload], label)
        write_table(table, stem)
        return table
    fits = [FitResult.from_dict(d) for d in payload["equations"]]
    corr = fits[0].extra.get("residual_correlation") or []
    pairs = [
        f"({i + 1})–({j + 1}) {_fmt(corr[i][j], 3)}"
        for i in range(len(corr))
        for j in range(i + 1, len(corr))
    ]
    notes = [
        (
            f"Seemingly unrelated regressions ({fits[0].extra.get('method', '')}) on the common "
            f"sample of the {len(fits)} equations; each column is one equation of the system, "
            "estimated jointly."
        )
    ]
    if pairs:
        notes.append("Residual correlations between equations: " + ", ".join(pairs) + ".")
    if tables_of_equations:
        where = sorted(
            {t for e in payload["equations"] if (t := tables_of_equations.get(e["name"]))}
        )
        if where:
            notes.append(
                "The equation-by-equation estimates are in table(s) " + ", ".join(where) + "."
            )
    table = build_regression_table(
        fits,
        title=payload.get("title") or payload["name"],
        labels=labels,
        notes=notes,
        label=label,
    )
    write_table(table, stem)
    return table


def tables_step(
    plan_tables: Mapping[str, Mapping[str, Any]],
    fit_jsons: Mapping[str, str | Path],
    test_jsons: Mapping[str, str | Path],
    table_stems: Mapping[str, str | Path],
    *,
    labels: Mapping[str, str] | None = None,
    tests: Mapping[str, Mapping[str, Any]] | None = None,
    mediation_table: Mapping[str, Any] | None = None,
    mediation_jsons: Mapping[str, str | Path] | None = None,
    systems: Sequence[str] = (),
    system_jsons: Mapping[str, str | Path] | None = None,
) -> None:
    """Every SCP table of the plan: regression tables, the mediation table, the SUR tables.

    ``table_stems`` maps each table's name (a regression table, the mediation
    table, a system) to the stem its four files are written to.
    """
    tests = tests or {}
    for name, entry in plan_tables.items():
        pairs = [t for t, pair in tests.items() if {pair["re"], pair["fe"]} & set(entry["models"])]
        regression_table_step(
            [fit_jsons[m] for m in entry["models"]],
            table_stems[name],
            test_jsons=[test_jsons[t] for t in pairs],
            title=entry.get("title", ""),
            labels=labels,
            notes=entry.get("notes", []),
            skipped=entry.get("skipped", []),
            quantity=entry.get("quantity", "coef"),
        )
        log.info("table %s: %d model(s)", name, len(entry["models"]))
    if mediation_table:
        mediation_table_step(
            [mediation_jsons[m] for m in mediation_table["mediation"]],
            table_stems[mediation_table["name"]],
            title=mediation_table.get("title", ""),
            labels=labels,
            skipped=mediation_table.get("skipped", []),
        )
    where = {m: t for t, entry in plan_tables.items() for m in entry["models"]}
    for name in systems:
        system_table_step(
            system_jsons[name], table_stems[name], labels=labels, tables_of_equations=where
        )


# --------------------------------------------------------------------------- #
# Figures
# --------------------------------------------------------------------------- #


def _plot_terms(fits: Sequence, variables: Sequence[str] | None, quantity: str) -> list[str]:
    """The rows of a coefficient plot: the terms of the variables (default: the regressors)."""
    if variables is None:
        variables = list(dict.fromkeys(v for r in fits for v in r.spec.get("regressors", [])))
    terms: list[str] = []
    for var in variables:
        for r in fits:
            source = (r.marginal_effects or {}) if quantity == "ame" else r.params
            for t in r.terms:
                if t in source and (t == var or t.startswith(f"{var}[")) and t not in terms:
                    terms.append(t)
    return terms


def _model_names(fits: Sequence, labels: Mapping[str, str]) -> list[str]:
    """Legend entries: the models' descriptions, or what tells them apart (estimator,
    outcome, both), else their names."""
    short = [ESTIMATORS[r.estimator].short for r in fits]
    outcomes = [labels.get(r.outcome, r.outcome) for r in fits]
    described = [r.spec.get("description") or "" for r in fits]
    candidates = (
        described if all(described) else [],
        short,
        outcomes,
        [f"{o} ({s})" for s, o in zip(short, outcomes, strict=True)],
    )
    for names in candidates:
        if names and len(set(names)) == len(names):
            return names
    return [f"{r.name} ({s})" for s, r in zip(short, fits, strict=True)]


def coefficient_plot_step(
    fit_jsons: Sequence[str | Path],
    stem: str | Path,
    *,
    title: str | None = None,
    labels: Mapping[str, str] | None = None,
    variables: Sequence[str] | None = None,
    quantity: str = "coef",
) -> None:
    """Write ``stem.{png,pdf}``: point estimates and 95% CIs of the stored fits of one family."""
    from consortia.figures import placeholder_figure, save_figure

    from .figures import coefficient_plot

    loaded = [load_result(p) for p in fit_jsons]
    fits = [x for x in loaded if not _is_skipped(x)]
    skipped = [x for x in loaded if _is_skipped(x)]
    if quantity == "ame":
        fits = [r for r in fits if r.marginal_effects]
    terms = _plot_terms(fits, variables, quantity) if fits else []
    if not terms:
        fig = placeholder_figure(
            title or Path(stem).name,
            [f"not estimated: {r['name']}: {r['reason']}" for r in skipped] or ["nothing to plot"],
        )
    else:
        names = _model_names(fits, dict(labels or {}))
        fig = coefficient_plot(
            fits,
            terms,
            labels=term_labels(terms, dict(labels or {})),
            model_labels=names,
            quantity=quantity,
            title=title,
        )
    save_figure(fig, stem)


def coefficient_plots_step(
    figures: Mapping[str, Mapping[str, Any]],
    fit_jsons: Mapping[str, str | Path],
    figure_stems: Mapping[str, str | Path],
    *,
    labels: Mapping[str, str] | None = None,
) -> None:
    """Every coefficient plot of the plan (``figures``: name -> config entry)."""
    for name, entry in figures.items():
        coefficient_plot_step(
            [fit_jsons[m] for m in entry["models"]],
            figure_stems[name],
            title=entry.get("title"),
            labels=labels,
            variables=entry.get("variables"),
            quantity=entry.get("quantity", "coef"),
        )
        log.info("figure %s: %d model(s)", name, len(entry["models"]))


def path_diagram_step(
    mediation_jsons: Sequence[str | Path],
    stem: str | Path,
    *,
    title: str | None = None,
    labels: Mapping[str, str] | None = None,
) -> None:
    """Write ``stem.{png,pdf}``: the SCP path diagram of the stored mediation analyses."""
    from consortia.figures import placeholder_figure, save_figure

    from .figures import scp_path_diagram
    from .mediation import MediationResult

    payloads = [read_json(p) for p in mediation_jsons]
    results = [MediationResult.from_dict(p) for p in payloads if p.get("status") != SKIPPED]
    if results:
        kwargs = {"title": title} if title else {}
        fig = scp_path_diagram(results, labels=dict(labels or {}), **kwargs)
    else:
        fig = placeholder_figure(
            title or Path(stem).name,
            [f"not estimated: {p['name']}: {p['reason']}" for p in payloads],
        )
    save_figure(fig, stem)
