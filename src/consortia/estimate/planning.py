"""What a dataset allows: which models of the models config the panel will support,
decided from the dataset's headers alone (:func:`panel_availability`,
:func:`plan_models`). A model whose variables the dataset cannot provide is *skipped*: it
gets no rule, and a record naming the missing columns (and the contract inputs behind
them) goes to the manifest and to the notes of the tables it was meant for.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from consortia import measures
from consortia.files import read_json

from .models_config import KEY_COLUMNS, ModelsConfig
from .spec import ModelSpec, NotEstimable, SpecError

SKIPPED = "skipped"


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


def failed_stage(exc: SpecError) -> str:
    """"identification" when the data cannot identify the model, "fit" otherwise."""
    return "identification" if isinstance(exc, NotEstimable) else "fit"


def mundlak_entry(re_entry: Mapping[str, Any], name: str) -> dict[str, Any]:
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

    wanted = key(mundlak_entry(re_entry, "-"))
    for name, entry in models.items():
        if entry.get("estimator") == "mundlak" and key(entry) == wanted:
            return name
    return None


def mediation_variables(entry: Mapping[str, Any]) -> list[str]:
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
        if check("mediation", name, mediation_variables(entry))
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
                models[mundlak] = mundlak_entry(models[pair["re"]], mundlak)
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
            else mediation_variables(entry)
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


def load_result(path: str | Path):
    """A stored fit: :class:`FitResult`, or the skipped record (a dict) written instead."""
    from .results import FitResult

    payload = read_json(path)
    if payload.get("status") == SKIPPED:
        return payload
    return FitResult.from_dict(payload)


def is_skipped(obj: Any) -> bool:
    return isinstance(obj, dict) and obj.get("status") == SKIPPED
