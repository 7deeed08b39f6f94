"""The functions the workflow's rules call (``rules/models.smk``), one per rule.

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

import gc
import logging
import math
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from consortia.files import parquet_columns, read_json, write_json

from .model_tables import (
    build_regression_table,
    format_statistic,
    labelled_text,
    not_estimated_table,
    skipped_notes,
    term_labels,
)
from .models_config import ModelsConfigError
from .planning import (
    SKIPPED,
    failed_stage,
    is_skipped,
    load_result,
    mediation_variables,
    mundlak_entry,
    skipped_record,
)
from .spec import ESTIMATORS, ModelSpec, SpecError

log = logging.getLogger("consortia.estimate.steps")

TRANSFORMS = ("log", "log1p")


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


def model_columns(entries: Iterable[Mapping[str, Any]]) -> list[str] | None:
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
        columns += mediation_variables(entry)
    return list(dict.fromkeys(columns))





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
        record = skipped_record("model", name, str(exc), stage=failed_stage(exc))
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
    panel = read_panel(panel_path, derived, columns=model_columns(entries), categorical=True)
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
        if is_skipped(stored):
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
    for entry in (re_entry, mundlak_entry(re_entry, f"{re_entry['name']}__mundlak")):
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
            record = skipped_record("mediation", name, str(exc), stage=failed_stage(exc))
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

    panel = read_panel(panel_path, derived, columns=model_columns(equations), categorical=True)
    name = system["name"]
    try:
        results = system_fit(
            [dict(e) for e in equations], panel, method=system.get("method", "auto"), name=name
        )
    except SpecError as exc:
        write_json(skipped_record("system", name, str(exc), stage=failed_stage(exc)), out_json)
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
    from consortia.render.table_writers import write_table

    loaded = [load_result(p) for p in fit_jsons]
    fits = [x for x in loaded if not is_skipped(x)]
    skipped = [*skipped, *(x for x in loaded if is_skipped(x))]
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
    from consortia.render.table_writers import write_table

    from .mediation_result import MediationResult
    from .tables import mediation_table

    payloads = [read_json(p) for p in mediation_jsons]
    results = [MediationResult.from_dict(p) for p in payloads if p.get("status") != SKIPPED]
    skipped = [*skipped, *(p for p in payloads if p.get("status") == SKIPPED)]
    label = f"tab:{Path(stem).name}"
    if not results:
        table = not_estimated_table(title, skipped, label)
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
                *skipped_notes(skipped),
            ],
            details=[
                labelled_text(text, labels)
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
    from consortia.render.table_writers import write_table

    from .results import FitResult

    payload = read_json(system_json)
    label = f"tab:{Path(stem).name}"
    if payload.get("status") == SKIPPED:
        table = not_estimated_table(payload["name"], [payload], label)
        write_table(table, stem)
        return table
    fits = [FitResult.from_dict(d) for d in payload["equations"]]
    corr = fits[0].extra.get("residual_correlation") or []
    pairs = [
        f"({i + 1})–({j + 1}) {format_statistic(corr[i][j], 3)}"
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
    from consortia.render.figure import placeholder_figure, save_figure

    from .figures import coefficient_plot

    loaded = [load_result(p) for p in fit_jsons]
    fits = [x for x in loaded if not is_skipped(x)]
    skipped = [x for x in loaded if is_skipped(x)]
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
    from consortia.render.figure import placeholder_figure, save_figure

    from .figures import scp_path_diagram
    from .mediation_result import MediationResult

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
