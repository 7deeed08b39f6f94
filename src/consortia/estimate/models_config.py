"""The models config, ``config/models.yaml``, read and validated as a whole.

It lists the model specifications, the RE/FE test pairs, the mediation analyses, the SUR
systems, and which tables and figures show which models (schema
``config/schemas/models.schema.yaml``, guide ``docs/models.md``). :func:`load_models_config`
validates the file (schema, then every entry as a :class:`~consortia.estimate.ModelSpec`,
then every name a test, mediation, system, table or figure refers to) and raises
:class:`ModelsConfigError` naming each bad entry.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from consortia import config, measures
from consortia.config import ConfigError, load_schema, read_yaml, schema_errors

from .spec import ESTIMATORS, ModelSpec, SpecError

SCHEMA_NAME = "models.schema.yaml"
KEY_COLUMNS = ("consortium_id", "year")


class ModelsConfigError(ConfigError):
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
        raw = read_yaml(source, ModelsConfigError, "models config ")
    file = None if isinstance(source, Mapping) else source
    schema = load_schema(schema_path or config.schema_path(SCHEMA_NAME, file))
    problems = schema_errors(raw, schema, named_entries=True)
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

