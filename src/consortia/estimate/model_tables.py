"""The regression tables of the models config: which terms each shows, notes on what the
fixed effects absorb, the RE/FE test rows, and the models the data did not allow
(:func:`build_regression_table`, over :func:`consortia.estimate.tables.regression_table`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pandas as pd

from consortia import measures

from .planning import SKIPPED, is_skipped

# Consortium attributes come from the `consortia` table unchanged: they never vary
# within a consortium, so consortium fixed effects absorb them.
CONSORTIUM_ATTRIBUTES: tuple[str, ...] = tuple(
    m
    for m, inputs in measures.MEASURE_INPUTS.items()
    if list(inputs) == ["consortia"] and inputs["consortia"] == (m,)
)



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


def format_statistic(value: float | None, decimals: int) -> str:
    from consortia.render.table import MISSING, format_number

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
    from consortia.render.table import MISSING

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
        if is_skipped(test):
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
                cells[col] = (
                    f"{format_statistic(stat, 2)} ({t['df']})" if math.isfinite(stat) else MISSING
                )
                p_cells[col] = format_statistic(p, 3)
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


def skipped_notes(skipped: Iterable[Mapping[str, Any]]) -> list[str]:
    return [f"Not estimated: {r['name']}: {r['reason']}." for r in skipped]


def not_estimated_table(title: str, skipped: Sequence[Mapping[str, Any]], label: str | None):
    from consortia.render.table import Table

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


def labelled_text(text: str, labels: Mapping[str, str]) -> str:
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
    from consortia.render.table import Table

    from .tables import regression_table

    labels = dict(labels or {})
    fits = list(fits)
    if not fits:
        return not_estimated_table(title, skipped, label)
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
        notes=[*short, *skipped_notes(skipped), *notes],
        details=[labelled_text(d, labels) for d in (*test_details, *details)],
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

