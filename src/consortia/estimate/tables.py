"""Regression and mediation tables, built from stored results (no refitting).

Both functions return a :class:`consortia.render.table.Table`; ``write_table`` then
writes LaTeX (booktabs), HTML, Markdown and CSV (the CSV is the long,
machine-readable ``Table.data``).

Regression table (:func:`regression_table`), one column per fit:

* coefficients with significance stars, standard errors in parentheses below;
  stars: ``* p<0.10, ** p<0.05, *** p<0.01`` (two-sided, from each fit's own
  p-values: t(G−1) for linear models, normal for PPML / fractional logit);
* fractional logit: a second panel with the average marginal effects (and
  their delta-method SEs), the coefficients being log-odds;
* control indicator rows for the variables passed as ``controls`` ("Yes" where
  the model estimates a coefficient of that variable; the coefficients
  themselves are in the CSV), as referees read etable / esttab tables;
* fixed-effect indicator rows, one per effect used by any model ("Consortium
  FE", "Year FE": "Yes"/"No", from each fit's ``fixed_effects``; for RE,
  Mundlak and fractional logit the year effects are dummies: still "Yes"),
  the dummies themselves are not shown;
* observations, clusters (per cluster variable), the R² that fits the
  estimator, labelled (R² for pooled OLS, within R² for FE, overall R² for
  RE / Mundlak, McFadden pseudo-R² for PPML / fractional logit);
* notes (every format, short): standard errors and their clustering, the
  stars and the distribution of the p-values, the estimators' abbreviations;
  details (HTML and Markdown): the small-sample correction in full, each
  column's estimator in full, the marginal-effect definition.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import pandas as pd

from consortia.render.table import MISSING, Table, format_count, format_number

from .mediation_result import QUANTITY_LABELS, MediationResult
from .results import FitResult
from .spec import ESTIMATORS

__all__ = [
    "FE_LABELS",
    "STAR_LEVELS",
    "STAR_NOTE",
    "mediation_table",
    "regression_table",
    "stars",
]

STAR_LEVELS: tuple[tuple[float, str], ...] = ((0.01, "***"), (0.05, "**"), (0.10, "*"))
STAR_NOTE = "* p<0.10, ** p<0.05, *** p<0.01"
FE_LABELS: dict[str, str] = {
    "consortium_id": "Consortium",
    "year": "Year",
    "industry": "Industry",
    "region": "Region",
    "programme": "Programme",
    "lead_type": "Lead type",
}
INTERCEPT = "(Intercept)"
# R² rows, in display order: (row key, row label). The R² row holds each column's
# overall R² (pooled OLS, RE, CRE), the within row that of the FE columns; the CSV keeps
# every R² a fit reports.
_R2_ROWS = (
    ("r2", "R²"),
    ("r2_within", "Within R²"),
    ("r2_pseudo", "Pseudo R² (McFadden)"),
)


def _r2_shown(values: dict[str, float]) -> dict[str, float]:
    if "r2_overall" in values:
        return {"r2": values["r2_overall"]}
    return {k: v for k, v in values.items() if k in ("r2", "r2_pseudo")} or values


def stars(p: float) -> str:
    """Significance stars of a p-value (:data:`STAR_NOTE`)."""
    if p is None or not math.isfinite(p):
        return ""
    for level, mark in STAR_LEVELS:
        if p < level:
            return mark
    return ""


def _r2_values(res: FitResult) -> dict[str, float]:
    """The R² that fits the estimator, keyed by the row it goes to."""
    est = res.estimator
    if est == "sur":
        est = res.extra.get("base_estimator", "ols")
    r2 = res.r2
    out: dict[str, float] = {}
    if est in ("ppml", "fraclogit"):
        for k, v in r2.items():
            if k.startswith("pseudo (McFadden"):
                out["r2_pseudo"] = v
                break
    elif est == "twfe":
        if "within" in r2:
            out["r2_within"] = r2["within"]
    elif est in ("re",) or (est == "mundlak" and "between" in r2):
        if "overall" in r2:
            out["r2_overall"] = r2["overall"]
        if "within" in r2:
            out["r2_within"] = r2["within"]
    elif "overall" in r2:  # pooled OLS (and Mundlak on pooled OLS)
        out["r2"] = r2["overall"]
    elif "within" in r2:
        out["r2_within"] = r2["within"]
    return out


def _is_fe_dummy(term: str, res: FitResult) -> bool:
    return any(term.startswith(f"{fe}[") for fe in res.fixed_effects)


def _fe_label(fe: str) -> str:
    return FE_LABELS.get(fe, fe.replace("_", " ").capitalize())


def _fixed_effects_order(results: Sequence[FitResult]) -> list[str]:
    """Every effect used by any fit: the entity first, then time, then the others."""
    seen: dict[str, None] = {}
    for r in results:
        for fe in r.fixed_effects:
            seen.setdefault(fe)
    ent = {r.spec.get("entity", "consortium_id") for r in results}
    tim = {r.spec.get("time", "year") for r in results}
    return sorted(seen, key=lambda f: 0 if f in ent else 1 if f in tim else 2)


def _model_list(cols: Sequence[str]) -> str:
    return ", ".join(cols)


def _inference_text(res: FitResult) -> str:
    if res.stat_kind == "z":
        return "normal"
    if res.n_clusters and not res.clustering.startswith("Driscoll"):
        return "t(G−1)"
    if res.clustering.startswith("Driscoll"):
        return "t(T−1)"
    return "t(N−K)"


def regression_table(
    results: Sequence[FitResult],
    title: str = "",
    *,
    terms: Sequence[str] | None = None,
    labels: Mapping[str, str] | None = None,
    model_labels: Sequence[str] | None = None,
    decimals: int = 3,
    show_intercept: bool = True,
    ame: bool = True,
    show_coefficients: bool = True,
    controls: Sequence[str] = (),
    notes: Sequence[str] = (),
    details: Sequence[str] = (),
    label: str | None = None,
) -> Table:
    """A regression table of fitted results (module docstring for the layout).

    ``terms`` selects and orders the coefficient rows (default: every term
    of every fit in order of first appearance, fixed-effect dummies left out,
    the intercept last); ``controls`` are variables shown as Yes/No rows instead;
    ``show_coefficients=False`` leaves out the coefficient panel of a table whose
    columns all have average marginal effects (``ame``), which then stand alone;
    ``labels`` maps terms, outcome and cluster names to display text;
    ``model_labels`` replaces the column numbers "(1)", "(2)", ….
    """
    results = list(results)
    if not results:
        raise ValueError("regression_table needs at least one FitResult")
    labels = dict(labels or {})
    cols = [f"({j})" for j in range(1, len(results) + 1)]
    if model_labels is not None and len(model_labels) != len(results):
        raise ValueError("model_labels must have one entry per result")
    columns = pd.MultiIndex.from_arrays([[r.outcome for r in results], cols])
    col_labels: dict[str, str] = {r.outcome: labels.get(r.outcome, r.outcome) for r in results}
    if model_labels is not None:
        col_labels.update(dict(zip(cols, model_labels, strict=True)))

    # --- coefficient rows
    if terms is None:
        seen: dict[str, None] = {}
        for r in results:
            for t in r.terms:
                if t == INTERCEPT or _is_fe_dummy(t, r):
                    continue
                seen.setdefault(t)
        terms = list(seen)
        if show_intercept and any(INTERCEPT in r.params for r in results):
            terms.append(INTERCEPT)
    terms = list(terms)
    rows: list[tuple[str, list[str]]] = []
    row_labels: dict[str, str] = {}
    rules: list[int] = []
    ame_terms: list[str] = []
    if ame:
        for r in results:
            for t in r.marginal_effects or {}:
                if t in terms and t not in ame_terms:
                    ame_terms.append(t)
        ame_terms.sort(key=terms.index)
    ame_only = bool(ame_terms) and not show_coefficients
    if ame_only and not all(r.marginal_effects for r in results):
        raise ValueError("show_coefficients=False needs marginal effects in every column")
    if ame_terms and not ame_only:
        rows.append(("panel::coef", [""] * len(results)))
        row_labels["panel::coef"] = "A. Coefficients"
    for t in terms if not ame_only else ():
        coef, se = [], []
        for r in results:
            if t in r.params and math.isfinite(r.params[t]):
                coef.append(format_number(r.params[t], decimals) + stars(r.pvalues.get(t)))
                se.append(f"({format_number(r.std_errors.get(t), decimals)})")
            else:
                coef.append("")
                se.append("")
        rows += [(f"coef::{t}", coef), (f"se::{t}", se)]
        row_labels[f"coef::{t}"] = labels.get(t, t)
        row_labels[f"se::{t}"] = ""
    if not ame_only:
        rules.append(len(rows) - 1)

    # --- AME panel (fractional logit)
    if ame_terms:
        rows.append(("panel::ame", [""] * len(results)))
        row_labels["panel::ame"] = (
            "Average marginal effects" if ame_only else "B. Average marginal effects"
        )
        for t in ame_terms:
            est, se = [], []
            for r in results:
                me = (r.marginal_effects or {}).get(t)
                if me is None:
                    est.append("")
                    se.append("")
                else:
                    est.append(format_number(me["estimate"], decimals) + stars(me["p_value"]))
                    se.append(f"({format_number(me['std_error'], decimals)})")
            rows += [(f"ame::{t}", est), (f"amese::{t}", se)]
            row_labels[f"ame::{t}"] = labels.get(t, t)
            row_labels[f"amese::{t}"] = ""
        rules.append(len(rows) - 1)

    # --- control and fixed-effect indicators
    for c in controls:
        rows.append(
            (f"ctrl::{c}", ["Yes" if _estimates(r, c) else "No" for r in results])
        )
        row_labels[f"ctrl::{c}"] = f"Control: {labels.get(c, c)}"
    fes = _fixed_effects_order(results)
    for fe in fes:
        rows.append((f"fe::{fe}", ["Yes" if fe in r.fixed_effects else "No" for r in results]))
        row_labels[f"fe::{fe}"] = f"{labels.get(fe, _fe_label(fe))} FE"
    if fes or controls:
        rules.append(len(rows) - 1)

    # --- statistics
    rows.append(
        ("stat::estimator", [ESTIMATORS[r.estimator].short for r in results])
    )
    row_labels["stat::estimator"] = "Estimator"
    rows.append(("stat::nobs", [format_count(r.nobs) for r in results]))
    row_labels["stat::nobs"] = "Observations"
    cvars: dict[str, None] = {}
    for r in results:
        if not r.clustering.startswith("Driscoll"):
            for c in r.n_clusters:
                cvars.setdefault(c)
    for c in cvars:
        cells = [
            format_count(r.n_clusters[c])
            if c in r.n_clusters and not r.clustering.startswith("Driscoll")
            else ""
            for r in results
        ]
        rows.append((f"stat::clusters::{c}", cells))
        row_labels[f"stat::clusters::{c}"] = f"Clusters ({labels.get(c, c)})"
    if any(r.clustering.startswith("Driscoll") for r in results):
        rows.append(
            (
                "stat::periods",
                [
                    format_count(next(iter(r.n_clusters.values())))
                    if r.clustering.startswith("Driscoll") and r.n_clusters
                    else ""
                    for r in results
                ],
            )
        )
        row_labels["stat::periods"] = "Time periods (Driscoll–Kraay)"
    r2s = [_r2_shown(_r2_values(r)) for r in results]
    for key, text in _R2_ROWS:
        if any(key in v for v in r2s):
            rows.append(
                (f"stat::{key}", [format_number(v.get(key), 3) if key in v else "" for v in r2s])
            )
            row_labels[f"stat::{key}"] = text

    body = pd.DataFrame([cells for _, cells in rows], index=[k for k, _ in rows], columns=columns)

    # --- notes: short ones for every format, the full conventions as details
    kinds: dict[str, list[str]] = {}
    for c, r in zip(cols, results, strict=True):
        kinds.setdefault(_inference_text(r), []).append(c)
    if len(kinds) == 1:
        inf = next(iter(kinds))
    else:
        inf = "; ".join(f"{k} in {_model_list(v)}" for k, v in kinds.items())
    conventions: dict[tuple[str, str], list[str]] = {}
    for c, r in zip(cols, results, strict=True):
        conventions.setdefault((r.clustering, r.small_sample), []).append(c)

    def named(text: str) -> str:  # "clustered by consortium_id" -> "clustered by consortium"
        for var in {v for r in results for v in r.n_clusters}:
            text = text.replace(var, labels.get(var, var).lower())
        return text

    def who(members: list[str]) -> str:
        if len(conventions) == 1:
            return "all models"
        return f"model {members[0]}" if len(members) == 1 else f"models {_model_list(members)}"

    se_text = "; ".join(
        f"{named(clustering)} ({small.split(':')[0]})"
        + ("" if len(conventions) == 1 else f" in {who(members)}")
        for (clustering, small), members in conventions.items()
    )
    used = dict.fromkeys(r.estimator for r in results)
    all_notes = [f"Standard errors in parentheses, {se_text}. {STAR_NOTE}, two-sided, {inf}."]
    # what the abbreviations of the Estimator row stand for, those that need it
    records = [ESTIMATORS[e] for e in used]
    spelled = [f"{e.short}: {e.note}" for e in records if e.note]
    if spelled:
        all_notes.append("; ".join(spelled) + ".")
    if ame_only:
        all_notes.append(
            "Average marginal effects with delta-method standard errors; the index (log-odds) "
            "coefficients are in the table's CSV."
        )
    elif ame_terms:
        all_notes.append(
            "Panel A: index (log-odds) coefficients; panel B: average marginal effects with "
            "delta-method standard errors."
        )
    all_notes += list(notes)
    all_details = [
        f"{who(members).capitalize()}: standard errors {named(clustering)}; {named(small)}."
        for (clustering, small), members in conventions.items()
    ]
    all_details.append(
        "Estimators: "
        + "; ".join(f"{c} {named(r.estimator_label)}" for c, r in zip(cols, results, strict=True))
        + "."
    )
    if ame_terms:
        all_details.append(
            "Average marginal effects on the conditional mean: the derivative averaged over the "
            "sample for continuous regressors, the average discrete change from 0 to 1 for "
            "binary ones; delta-method standard errors from the same covariance."
        )
    all_details += list(details)

    # --- machine-readable data
    frames = []
    for c, r in zip(cols, results, strict=True):
        f = r.to_frame()
        f.insert(0, "column", c)
        f.insert(2, "outcome", r.outcome)
        f["stars"] = [stars(p) for p in f["p_value"]]
        extra = [
            {
                "column": c,
                "model": r.name,
                "outcome": r.outcome,
                "quantity": "stat",
                "term": "nobs",
                "estimate": float(r.nobs),
            }
        ]
        for cv, g in r.n_clusters.items():
            extra.append(
                {
                    "column": c,
                    "model": r.name,
                    "outcome": r.outcome,
                    "quantity": "stat",
                    "term": f"clusters_{cv}",
                    "estimate": float(g),
                }
            )
        for key, v in _r2_values(r).items():
            extra.append(
                {
                    "column": c,
                    "model": r.name,
                    "outcome": r.outcome,
                    "quantity": "stat",
                    "term": key,
                    "estimate": v,
                }
            )
        for fe in fes:
            extra.append(
                {
                    "column": c,
                    "model": r.name,
                    "outcome": r.outcome,
                    "quantity": "fe",
                    "term": fe,
                    "estimate": float(fe in r.fixed_effects),
                }
            )
        frames += [f, pd.DataFrame(extra)]
    data = pd.concat(frames, ignore_index=True)

    return Table(
        body=body,
        title=title,
        row_labels=row_labels,
        column_labels=col_labels,
        stub_header=("",),
        notes=all_notes,
        details=all_details,
        rule_after=[i for i in rules if i < len(body) - 1],
        label=label,
        data=data,
    )


def _estimates(res: FitResult, variable: str) -> bool:
    """Whether ``res`` has a finite coefficient of ``variable`` (or of one of its levels)."""
    return any(
        (t == variable or t.startswith(f"{variable}[")) and math.isfinite(v)
        for t, v in res.params.items()
    )


# --------------------------------------------------------------------------- #
# Mediation
# --------------------------------------------------------------------------- #

_MED_ROWS = tuple(QUANTITY_LABELS.items())


def _ci(lo_hi: Sequence[float] | None, decimals: int, brackets: str = "[]") -> str:
    if lo_hi is None or not all(math.isfinite(x) for x in lo_hi):
        return MISSING
    a, b = brackets
    return f"{a}{format_number(lo_hi[0], decimals)}, {format_number(lo_hi[1], decimals)}{b}"


def mediation_table(
    results: Sequence[MediationResult],
    title: str = "Mediation: structure, conduct and performance",
    *,
    labels: Mapping[str, str] | None = None,
    decimals: int = 3,
    notes: Sequence[str] = (),
    details: Sequence[str] = (),
    label: str | None = None,
) -> Table:
    """Direct, indirect and total effects (and the a, b paths) of mediation analyses.

    Per quantity: the estimate; in parentheses the cluster-robust SE (for the
    indirect effect the Sobel delta-method SE); in brackets the cluster-bootstrap
    percentile interval; for the indirect effect also the BCa interval in braces.
    Then the Sobel test, N, clusters, bootstrap replicates and seed.
    """
    results = list(results)
    if not results:
        raise ValueError("mediation_table needs at least one MediationResult")
    labels = dict(labels or {})
    cols = [f"({j})" for j in range(1, len(results) + 1)]
    columns = pd.MultiIndex.from_arrays([[r.outcome for r in results], cols])
    col_labels = {r.outcome: labels.get(r.outcome, r.outcome) for r in results}

    def lab(v: str) -> str:
        return labels.get(v, v)

    rows: list[tuple[str, list[str]]] = []
    row_labels: dict[str, str] = {}
    rules: list[int] = []
    rows.append(("var::treatment", [lab(r.treatment) for r in results]))
    rows.append(("var::mediator", [lab(r.mediator) for r in results]))
    row_labels.update({"var::treatment": "Structure (X)", "var::mediator": "Conduct (M)"})
    rules.append(len(rows) - 1)
    for q, text in _MED_ROWS:
        rows.append((f"est::{q}", [format_number(r.estimates[q], decimals) for r in results]))
        rows.append(
            (f"se::{q}", [f"({format_number(r.std_errors[q], decimals)})" for r in results])
        )
        rows.append((f"pct::{q}", [_ci(r.ci_percentile[q], decimals) for r in results]))
        row_labels.update({f"est::{q}": text, f"se::{q}": "", f"pct::{q}": ""})
        if q == "indirect":
            rows.append(
                (f"bca::{q}", [_ci((r.ci_bca or {}).get(q), decimals, "{}") for r in results])
            )
            row_labels[f"bca::{q}"] = ""
        if q == "b":
            rules.append(len(rows) - 1)
    rules.append(len(rows) - 1)
    rows.append(("sobel::z", [format_number(r.sobel["z"], 2) for r in results]))
    rows.append(("sobel::p", [format_number(r.sobel["p"], 3) for r in results]))
    row_labels.update({"sobel::z": "Sobel z", "sobel::p": "Sobel p-value"})
    rules.append(len(rows) - 1)
    rows.append(("stat::nobs", [format_count(r.nobs) for r in results]))
    rows.append(("stat::clusters", [format_count(r.n_clusters) for r in results]))
    rows.append(
        ("stat::fe", [", ".join(_fe_label(f) for f in r.fixed_effects) or "None" for r in results])
    )
    rows.append(("stat::n_boot", [format_count(r.n_boot) for r in results]))
    rows.append(("stat::seed", [str(r.seed) for r in results]))
    cl = sorted({r.cluster for r in results})
    row_labels.update(
        {
            "stat::nobs": "Observations",
            "stat::clusters": f"Clusters ({', '.join(lab(c) for c in cl)})",
            "stat::fe": "Fixed effects",
            "stat::n_boot": "Bootstrap replicates",
            "stat::seed": "Bootstrap seed",
        }
    )
    body = pd.DataFrame([c for _, c in rows], index=[k for k, _ in rows], columns=columns)

    levels = sorted({r.level for r in results})
    lv = "/".join(f"{100 * x:g}%" for x in levels)
    boots = "/".join(sorted({format_count(r.n_boot) for r in results}))
    all_notes = [
        "a: X → M; b: M → Y; c′: X → Y given M (direct); indirect a·b; total c′ + a·b. "
        "Parentheses: cluster-robust standard errors (Sobel for the indirect effect); "
        f"brackets: {lv} cluster-bootstrap percentile intervals ({boots} replicates); braces: "
        "BCa interval of the indirect effect.",
        *notes,
    ]
    all_details = [
        (
            "a: coefficient of X in the conduct (M) equation; b and c': coefficients of M and X in "
            "the performance (Y) equation; both equations with the same controls, fixed effects "
            "and sample; total effect c' + a·b (equal to the coefficient of X without M)."
        ),
        (
            "Parentheses: cluster-robust standard errors (for the indirect effect the Sobel "
            f"first-order delta-method SE). Brackets: {lv} cluster-bootstrap percentile interval "
            "(clusters resampled with replacement; replicates and seed below). Braces: "
            f"{lv} bias-corrected and accelerated (BCa) bootstrap interval of the indirect effect, "
            "acceleration from the leave-one-cluster-out jackknife."
        ),
        (
            "Sobel z = a·b / sqrt(b²·SE(a)² + a²·SE(b)²), with the cluster-robust SEs of a and b; "
            "two-sided normal p-value."
        ),
    ]
    conventions: dict[tuple[str, str], list[str]] = {}
    for c, r in zip(cols, results, strict=True):
        conventions.setdefault((r.clustering, r.small_sample), []).append(c)
    for (clustering, small), members in conventions.items():
        who = "All columns" if len(conventions) == 1 else f"Columns {_model_list(members)}"
        all_details.append(f"{who}: standard errors {clustering}; {small}.")
    all_details += list(details)

    frames = []
    for c, r in zip(cols, results, strict=True):
        f = r.to_frame()
        f.insert(0, "column", c)
        f.insert(2, "treatment", r.treatment)
        f.insert(3, "mediator", r.mediator)
        f.insert(4, "outcome", r.outcome)
        f["sobel_z"] = r.sobel["z"]
        f["sobel_p"] = r.sobel["p"]
        f["nobs"] = r.nobs
        f["n_clusters"] = r.n_clusters
        f["n_boot"] = r.n_boot
        f["seed"] = r.seed
        frames.append(f)
    data = pd.concat(frames, ignore_index=True)
    return Table(
        body=body,
        title=title,
        row_labels=row_labels,
        column_labels=col_labels,
        stub_header=("",),
        notes=all_notes,
        details=all_details,
        # the X and M rows are variable names: paragraph columns wrap them
        widths={c: 0.17 for c in cols},
        rule_after=[i for i in rules if i < len(body) - 1],
        label=label,
        data=data,
    )
