"""Claims outputs: results as JSON, the claims table, and the forest plot.

The JSON file is the stored result; the table and the figure are built from
it (:func:`read_results`) without re-estimating anything, so a change of
layout does not re-run the evaluators.

* :func:`claims_table` — a :class:`consortia.render.table.Table`, one row per test
  (claim id + label, test), with estimate, confidence interval, claimed
  value, rival, verdict, method, N, minimum detectable effect and the
  consortia needed for 80% power; written to CSV / Markdown / HTML / LaTeX by
  :func:`consortia.render.table_writers.write_table`.
* :func:`claims_frame` — one row per claim (``results/claims/claims.csv``):
  the headline test's estimate, CI, claimed value, rival, N and method, the
  claim's p-value and its Holm adjustment across the registry, verdict, MDE
  and the consortia needed for 80% power.
* :func:`forest_plot` — every test on one of two axes: value and threshold
  claims as estimate ÷ claimed value (1 = the claim; the shaded band is the
  tolerance region; × marks the rival value), direction and "best" claims as
  estimate ÷ SE (0 = no effect). Colours are the verdicts. Drawn under the
  project theme and saved with :func:`consortia.render.figure.save_figure`.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from consortia.files import json_safe, json_text, read_json
from consortia.render.figure import save_figure, set_caption, theme
from consortia.render.table import MISSING, STUB, Table, format_count, format_number
from consortia.render.table_writers import write_table

from .results import ClaimResult, ClaimsResults, TestResult
from .verdict import CONTRADICTED, INCONCLUSIVE, NOT_TESTABLE, STATISTICAL_VERDICTS, SUPPORTED

SCHEMA_VERSION = 2

VERDICT_COLOURS = {  # Okabe–Ito
    SUPPORTED: "#009E73",
    CONTRADICTED: "#D55E00",
    INCONCLUSIVE: "#E69F00",
    NOT_TESTABLE: "#999999",
}
VERDICT_LABELS = {
    SUPPORTED: "supported",
    CONTRADICTED: "contradicted",
    INCONCLUSIVE: "inconclusive",
    NOT_TESTABLE: "not testable",
}
ROLE_LABELS = {"primary": "", "secondary": " (secondary)", "cross_check": " (cross-check)"}
# Test names of the registry that are abbreviations; every other name reads as words
# once its underscores are spaces ("median_ratio" -> "median ratio").
TEST_WORDS = {"ame": "average marginal effect"}


def test_label(name: str) -> str:
    """A registry test name as words, for tables and figures."""
    return TEST_WORDS.get(name, name.replace("_", " "))


# --------------------------------------------------------------------------- JSON


def results_to_dict(results: ClaimsResults) -> dict[str, Any]:
    d = dataclasses.asdict(results)
    d["schema_version"] = SCHEMA_VERSION
    d["verdicts"] = results.verdicts
    return json_safe(d)


def write_results_json(results: ClaimsResults, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json_text(results_to_dict(results)) + "\n", encoding="utf-8")
    return path


def results_from_dict(d: dict[str, Any]) -> ClaimsResults:
    if d.get("schema_version", SCHEMA_VERSION) != SCHEMA_VERSION:
        raise ValueError(f"unsupported claims results schema_version {d.get('schema_version')}")
    claims = []
    for c in d["claims"]:
        c = dict(c)
        tests = []
        for t in c["tests"]:
            t = dict(t)
            if t.get("region"):  # JSON has no infinity: open ends were stored as null
                t["region"] = [
                    [-math.inf if a is None else a, math.inf if b is None else b]
                    for a, b in t["region"]
                ]
            tests.append(TestResult(**t))
        c["tests"] = tests
        claims.append(ClaimResult(**c))
    return ClaimsResults(
        claims=claims,
        registry=d["registry"],
        settings=d["settings"],
        data=d["data"],
        software=d["software"],
    )


def read_results(path: str | Path) -> ClaimsResults:
    return results_from_dict(read_json(path))


def claimed_value(t: TestResult) -> float | None:
    """The number the review states for a test (a value or a threshold); None for a
    direction or a ranking, which state no magnitude."""
    ck = t.claimed or {}
    for key in ("value", "above", "below"):
        if key in ck:
            return float(ck[key])
    return None


def results_frame(results: ClaimsResults) -> pd.DataFrame:
    """One row per test, numbers unformatted (the CSV of the claims table)."""
    rows = []
    for c in results.claims:
        for t in c.tests:
            p = t.power or {}
            rows.append(
                {
                    "claim_id": c.id,
                    "claim": c.label,
                    "section": c.section,
                    "test": t.name,
                    "role": t.role,
                    "estimate": t.estimate,
                    "ci_lower": t.ci_lower,
                    "ci_upper": t.ci_upper,
                    "ci_level": t.ci_level,
                    "se": t.se,
                    "scale": t.scale,
                    "claimed": t.claimed_text,
                    "claimed_value": claimed_value(t),
                    "rival": t.rival,
                    "verdict": t.verdict,
                    "claim_verdict": c.verdict,
                    "claim_p_value": c.p_value,
                    "claim_p_holm": c.p_holm,
                    "ci_one_sided_lower": (t.ci_one_sided or [None, None])[0],
                    "ci_one_sided_upper": (t.ci_one_sided or [None, None])[1],
                    "p_support": t.p_support,
                    "p_contradict": t.p_contradict,
                    "contradict_level": t.contradict_level,
                    "n_obs": t.n_obs,
                    "n_consortia": t.n_clusters,
                    "mde": p.get("mde"),
                    "mde_ratio": p.get("mde_ratio"),
                    "power_now": p.get("power_now"),
                    "consortia_needed_to_support": p.get("clusters_needed_to_support"),
                    "dataset_consortia_needed_to_support": p.get(
                        "dataset_consortia_needed_to_support"
                    ),
                    "method": t.method,
                    "reason": t.reason,
                }
            )
    return pd.DataFrame(rows)


def headline_test(c: ClaimResult) -> TestResult:
    """The claim's headline test: its first testable primary test (registry order)."""
    primary = [t for t in c.tests if t.role == "primary"]
    testable = [t for t in primary if t.verdict in STATISTICAL_VERDICTS]
    return (testable or primary or c.tests)[0]


def _dataset_needed(t: TestResult) -> int | None:
    p = t.power or {}
    return p.get("dataset_consortia_needed_to_support", p.get("clusters_needed_to_support"))


def claims_frame(results: ClaimsResults) -> pd.DataFrame:
    """One row per claim (``results/claims/claims.csv``), numbers unformatted.

    Estimate, CI, claimed value, rival, N, method and MDE are the headline test's
    (the claim's first testable primary test); ``p_value`` is the claim's (the
    largest p-value of "the claim is false" over its testable primary tests,
    one-sided in the claimed direction) and ``p_holm`` its Holm adjustment over
    the registry's testable claims; ``consortia_needed_80`` is the largest number
    of consortia any testable primary test needs to reach *supported* with 80%
    power (the claim is supported only when all of them are), for a dataset of
    the same composition.
    """
    rows = []
    for c in results.claims:
        h = headline_test(c)
        p = h.power or {}
        needs = [
            (_dataset_needed(t), t.name)
            for t in c.tests
            if t.role == "primary"
            and t.verdict in STATISTICAL_VERDICTS
            and _dataset_needed(t) is not None
        ]
        need, need_test = max(needs) if needs else (None, None)
        rows.append(
            {
                "claim_id": c.id,
                "claim": c.label,
                "section": c.section,
                "source": c.source,
                "verdict": c.verdict,
                "test": h.name,
                "estimand": h.estimand,
                "estimate": h.estimate,
                "ci_lower": h.ci_lower,
                "ci_upper": h.ci_upper,
                "ci_level": h.ci_level,
                "scale": h.scale,
                "claimed": h.claimed_text,
                "claimed_value": claimed_value(h),
                "rival": h.rival,
                "p_value": c.p_value,
                "p_holm": c.p_holm,
                "n_obs": h.n_obs,
                "n_consortia": h.n_clusters,
                "method": h.method,
                "mde": p.get("mde"),
                "mde_ratio": p.get("mde_ratio"),
                "consortia_needed_80": need,
                "consortia_needed_80_test": need_test,
                "primary_tests": sum(t.role == "primary" for t in c.tests),
                "registry_sha256": results.registry.get("sha256"),
                "missing_columns": "; ".join(c.missing_columns),
                "reason": c.reason,
            }
        )
    frame = pd.DataFrame(rows)
    counts = ["n_obs", "n_consortia", "consortia_needed_80", "primary_tests"]
    return frame.astype({c: "Int64" for c in counts})


def write_claims_csv(results: ClaimsResults, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    claims_frame(results).to_csv(path, index=False, lineterminator="\n")
    return path


# --------------------------------------------------------------------------- table


def _fmt(x: float | None, decimals: int = 3) -> str:
    return format_number(x, decimals) if x is not None else MISSING


def _decimals(t: TestResult) -> int:
    vals = [
        abs(v) for v in (t.estimate, t.ci_lower, t.ci_upper) if v is not None and math.isfinite(v)
    ]
    m = max(vals, default=0)
    return 2 if m >= 10 else 3


def _needed(p: dict[str, Any]) -> str:
    n = p.get("dataset_consortia_needed_to_support", p.get("clusters_needed_to_support"))
    return format_count(n) if n is not None else MISSING


def _few_clusters_note(t: TestResult) -> str:
    """" (consortia: 978 / 6)" when the test used the few-cluster inference."""
    if "CR2" not in str((t.details or {}).get("inference", "")):
        return ""
    groups = (t.details or {}).get("consortia_by_group") or {}
    return " (consortia: " + " / ".join(format_count(n) for n in groups.values()) + ")"


def _fmt_p(p: float | None) -> str:
    """"p = 0.012" or "p < 0.001": the relation is part of the text."""
    if p is None:
        return f"p = {MISSING}"
    return "p < 0.001" if p < 0.001 else f"p = {format_number(p, 3)}"


def claims_table(results: ClaimsResults) -> Table:
    """The claims table: one row per test, grouped by claim."""
    rows, index = [], []
    level = results.settings.get("ci_level", 0.95)
    target = results.settings.get("power", 0.8)
    alpha = results.settings.get("error_rate", 0.05)
    for c in results.claims:
        head = f"{c.label} (§{c.section}): {VERDICT_LABELS[c.verdict]}"
        if c.p_value is not None:
            head += f" ({_fmt_p(c.p_value)}; Holm {_fmt_p(c.p_holm)})"
        for t in c.tests:
            # index values are the display text; the role of a test that is not primary
            # is part of its name, as in the forest plot
            index.append((head, test_label(t.name) + ROLE_LABELS[t.role]))
            if t.estimate is None:
                est = ci = n = mde = need = MISSING
                verdict = VERDICT_LABELS[t.verdict]
            else:
                dec = _decimals(t)
                est = _fmt(t.estimate, dec)
                ci = f"[{_fmt(t.ci_lower, dec)}, {_fmt(t.ci_upper, dec)}]"
                verdict = VERDICT_LABELS[t.verdict]
                n = f"{format_count(t.n_clusters)} / {format_count(t.n_obs)}"
                p = t.power or {}
                mde = (
                    f"×{_fmt(p.get('mde_ratio'), 2)}"
                    if t.scale == "log"
                    else _fmt(p.get("mde"), dec)
                )
                need = _needed(p)
            rows.append(
                {
                    "estimate": est,
                    "ci": ci,
                    "claimed": t.claimed_text,
                    "rival": MISSING if t.rival is None else format_number(t.rival, 2),
                    "verdict": verdict,
                    "method": (t.method_short or t.method.split(";")[0])
                    + _few_clusters_note(t),
                    "n": n,
                    "mde": mde,
                    "needed": need,
                }
            )
    body = pd.DataFrame(rows, index=pd.MultiIndex.from_tuples(index))
    labels = {
        "estimate": "Estimate",
        "ci": f"{level:.0%} CI",
        "claimed": "Claimed",
        "rival": "Rival",
        "verdict": "Verdict",
        "method": "Method",
        "n": "N",
        "mde": "MDE",
        "needed": f"Consortia for\n{target:.0%} power",
    }
    # The note every format prints: what a reader of the paper needs to read the rows.
    # The rules behind the verdicts, the power columns and the registry's hash follow in
    # the details (HTML, Markdown; docs/claims.md), not in the LaTeX a paper inputs.
    notes = [
        f"Estimates with {level:.0%} confidence intervals, standard errors clustered by "
        "consortium; N: consortia / observations. Each claim's verdict rests on its primary "
        f"tests and is wrong at most {alpha:.0%} of the time; p: one-sided p-value of the claim "
        "being false, Holm: adjusted across the claims.",
        f"Registry {results.registry.get('source')} (sha256 "
        f"{str(results.registry.get('sha256'))[:16]}…): the rules, bands and smallest effects "
        "these verdicts were judged by.",
    ]
    details = [
        (
            "Verdicts (docs/claims.md), each wrong at most "
            f"{alpha:.0%} of the time: supported when the data rule out every value at which "
            "the claim is false (a claimed band: the "
            f"{1 - 2 * alpha:.0%} CI inside it; a threshold or direction: the one-sided "
            f"{alpha:.0%} test against it); contradicted when they rule out every value at "
            f"which it is true (a band: the {1 - alpha:.0%} CI misses it; a threshold: the "
            "one-sided test; a direction or ranking: an effect below the smallest of interest "
            "in the claimed column), each of a claim's m primary tests at "
            f"{alpha:.0%}/m; inconclusive otherwise; not testable when the data lack the "
            "columns the estimand needs (named in claims.csv) or the claim rests on a single "
            "case. Primary tests make a claim's verdict; secondary tests and cross-checks are "
            "reported beside it."
        ),
        (
            "Standard errors clustered by consortium throughout. Ratios (log scale): MDE is a "
            "multiplicative factor. 'best' claims: estimate = the enterprise − other contrast "
            "nearest to failing; supported only if every contrast is positive "
            "(intersection–union). A claim's p: the p-value of 'the claim is false', one-sided "
            "in the claimed direction (the largest over its primary tests); Holm p: adjusted "
            "over the registry's testable claims."
        ),
        (
            f"MDE: smallest distance from the edge of the claim detectable with {target:.0%} "
            f"power by a one-sided {alpha:.0%} test at the current sample. Consortia for "
            f"{target:.0%} power: consortia the dataset would need for the test to reach "
            "supported if the truth were the claimed value (a band) or the estimate (at least "
            "the smallest effect of interest); analytic, assuming SE ∝ 1/√G and the same "
            "composition."
        ),
        (
            "Standard errors clustered by consortium: tests comparing groups of consortia "
            "(rates, their ratios, the best-level OLS contrasts) CR2 with Bell–McCaffrey "
            "degrees of freedom; the other models CR1 with G/(G − 1) and t(G − 1) (named in "
            "the method column)."
        ),
        *(
            f"{c.label}: {line}." for c in results.claims for line in c.disagreements
        ),
    ]
    return Table(
        body=body,
        title="Claims of Yan (2025) tested on the consortium data",
        column_labels=labels,
        stub_header=("Claim", "Test"),
        notes=notes,
        details=details,
        label="tab:claims",
        data=results_frame(results),
        # print: one claim per group row, the key columns in paragraph columns, across pages
        latex_columns=["estimate", "ci", "claimed", "verdict", "n"],
        widths={STUB: 0.17, "claimed": 0.18},
        long=True,
    )


# --------------------------------------------------------------------------- figure


def _forest_rows(results: ClaimsResults) -> list[dict[str, Any]]:
    rows = []
    for c in results.claims:
        for t in c.tests:
            kind = "ratio"
            ref = None
            ck = t.claimed or {}
            if "value" in ck:
                ref = float(ck["value"])
            elif "above" in ck or "below" in ck:
                ref = float(ck.get("above", ck.get("below")))
            if ref is None or ref == 0:
                kind = "z"
            row = {
                "label": f"{c.label}: {test_label(t.name)}{ROLE_LABELS[t.role]}",
                "verdict": t.verdict,
                "kind": kind,
                "testable": t.estimate is not None,
                "reason": t.reason,
            }
            if t.estimate is not None:
                # an open CI end (a bootstrap median not reached) is stored as null
                ci_lo = -math.inf if t.ci_lower is None else t.ci_lower
                ci_hi = math.inf if t.ci_upper is None else t.ci_upper
                if kind == "ratio":
                    row.update(
                        x=t.estimate / ref,
                        lo=ci_lo / ref,
                        hi=ci_hi / ref,
                        rival=None if t.rival is None else t.rival / ref,
                        region=[[a / ref, b / ref] for a, b in (t.region or [])],
                    )
                else:
                    se = t.se if t.se and t.se > 0 else math.nan
                    row.update(
                        x=t.estimate / se,
                        lo=ci_lo / se,
                        hi=ci_hi / se,
                        rival=0.0,
                        region=[],
                    )
            rows.append(row)
    return rows


def forest_plot(results: ClaimsResults, title: str | None = None) -> Figure:
    """Estimates with CIs relative to the claims, coloured by verdict (module docstring)."""
    rows = _forest_rows(results)
    groups = {
        "ratio": [r for r in rows if r["kind"] == "ratio"],
        "z": [r for r in rows if r["kind"] == "z"],
    }
    heights = [max(len(g), 1) for g in groups.values()]
    level = results.settings.get("ci_level", 0.95)
    with theme():
        fig = Figure(figsize=(8.6, 1.2 + 0.32 * sum(heights)), layout="constrained")
        axes = fig.subplots(2, 1, height_ratios=heights)
        for ax, (kind, grp) in zip(axes, groups.items(), strict=True):
            n = len(grp)
            centre = 1.0 if kind == "ratio" else 0.0
            finite = [
                v
                for r in grp
                if r["testable"]
                for v in (r["lo"], r["hi"], r["x"], r.get("rival"))
                if v is not None and np.isfinite(v)
            ]
            xmin, xmax = min([*finite, centre]), max([*finite, centre])
            pad = 0.05 * (xmax - xmin or 1.0)
            xmin, xmax = xmin - pad, xmax + pad
            for i, r in enumerate(grp):
                y = n - 1 - i
                col = VERDICT_COLOURS[r["verdict"]]
                if not r["testable"]:
                    ax.text(
                        0.01,
                        y,
                        VERDICT_LABELS[r["verdict"]],
                        color=col,
                        va="center",
                        fontsize="x-small",
                        transform=ax.get_yaxis_transform(),
                    )
                    continue
                for a, b in r["region"]:
                    a, b = max(a, xmin), min(b, xmax)
                    if b > a:
                        ax.fill_betweenx([y - 0.35, y + 0.35], a, b, color=col, alpha=0.12, lw=0)
                # open CI ends (infinite) run to the edge of the axis
                lo, hi = max(r["lo"], xmin), min(r["hi"], xmax)
                ax.plot([lo, hi], [y, y], color=col, lw=1.6, solid_capstyle="butt")
                ax.plot(r["x"], y, "o", color=col, ms=5)
                if r.get("rival") is not None and kind == "ratio":
                    ax.plot(r["rival"], y, "x", color="#444444", ms=5, mew=1.2)
            ax.set_yticks(range(n), [r["label"] for r in reversed(grp)], fontsize="x-small")
            ax.axvline(centre, color="#333333", lw=0.8, ls="--")
            if kind == "z":
                for z in (-1.96, 1.96):
                    ax.axvline(z, color="#999999", lw=0.6, ls=":")
            ax.set_xlim(xmin, xmax)
            ax.set_ylim(-0.6, n - 0.4)
            ax.grid(axis="y", visible=False)
            ax.set_xlabel(
                f"estimate ÷ claimed value, {level:.0%} CI (band: claim region; ×: rival)"
                if kind == "ratio"
                else f"estimate ÷ SE, {level:.0%} CI ÷ SE (0: no effect; dotted: ±1.96)",
                fontsize="small",
            )
        handles = [
            Line2D([], [], color=VERDICT_COLOURS[v], marker="o", lw=1.6, label=VERDICT_LABELS[v])
            for v in (SUPPORTED, INCONCLUSIVE, CONTRADICTED, NOT_TESTABLE)
        ]
        fig.legend(
            handles=handles, loc="outside lower center", ncol=4, fontsize="small", frameon=False
        )
        if title:
            fig.suptitle(title)
    return set_caption(
        fig,
        "Claims of Yan (2025): each test's estimate with its "
        f"{level:.0%} CI, coloured by verdict. Top: claims of a value or threshold, as "
        "estimate ÷ claimed value (1 = the claim; band: the claim's region; ×: the rival "
        "value). Bottom: direction and ranking claims, as estimate ÷ standard error.",
    )


# --------------------------------------------------------------------------- all outputs


def write_outputs(
    results: ClaimsResults,
    table_stem: str | Path | None = None,
    figure_stem: str | Path | None = None,
    json_path: str | Path | None = None,
    csv_path: str | Path | None = None,
) -> dict[str, Any]:
    """Write the JSON results, then the claims CSV, table and figure built from the JSON."""
    if csv_path is not None and table_stem is not None:
        table_csv = Path(str(table_stem) + ".csv")
        if Path(csv_path).resolve() == table_csv.resolve():
            raise ValueError(
                f"csv_path {csv_path} is the claims table's own CSV ({table_csv}): the "
                "one-row-per-claim file and the per-test table need different paths"
            )
    out: dict[str, Any] = {}
    stored = results
    if json_path is not None:
        out["json"] = write_results_json(results, json_path)
        stored = read_results(out["json"])
    if csv_path is not None:
        out["csv"] = write_claims_csv(stored, csv_path)
    if table_stem is not None:
        out["table"] = write_table(claims_table(stored), table_stem)
    if figure_stem is not None:
        out["figure"] = save_figure(forest_plot(stored), figure_stem)
    return out
