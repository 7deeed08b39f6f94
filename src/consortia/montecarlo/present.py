"""The Monte Carlo table (error rates and coverage) and figure (error rates with Wilson
intervals)."""

from __future__ import annotations

import math
from collections.abc import Mapping

import pandas as pd

from consortia.claims.intervals import wilson_interval
from consortia.claims.verdict import CONTRADICTED, INCONCLUSIVE, SUPPORTED
from consortia.montecarlo.batches import CLAIM_LEVEL
from consortia.montecarlo.summary import COVERAGE_TARGET


def _pct(x, decimals: int = 1) -> str:
    from consortia.render.table import MISSING

    return MISSING if x is None or not math.isfinite(x) else f"{100 * x:.{decimals}f}"


def _rate_text(r, column: str) -> str:
    from consortia.render.table import MISSING

    p, se = r[column], r[f"{column}_mc_se"]
    if not math.isfinite(p):
        return MISSING
    return f"{_pct(p)} ({_pct(se)})"


def coverage_table(
    summary: pd.DataFrame, study: Mapping, truths: Mapping, claim_labels: Mapping[str, str]
):
    """The error-rate and coverage table (a :class:`consortia.render.table.Table`; ``data`` =
    ``summary``): claim verdicts and primary tests; ``claim_labels``: the registry's labels
    by claim id."""
    from consortia.claims.outputs import test_label
    from consortia.render.table import MISSING, Table, format_number

    shown = summary[summary["role"].isin(["claim", "primary"])]
    body, index = [], []
    for _, r in shown.iterrows():
        claim = claim_labels.get(r["claim"], r["claim"])
        name = (
            f"{claim} (verdict)"
            if r["test"] == CLAIM_LEVEL
            else f"{claim} · {test_label(r['test'])}"
        )
        true = MISSING
        if r["truth_kind"] == "value":
            true = format_number(r["true_value"], 3)
        elif r["truth_kind"] == "sign":
            true = {1.0: "> 0", -1.0: "< 0", 0.0: "0"}[r["true_value"]]
        body.append(
            {
                "true": true,
                "status": r["claim_status"] or MISSING,
                "coverage": _pct(r["coverage"]),
                "false_support": _rate_text(r, "supported_if_false"),
                "false_contradiction": _rate_text(r, "contradicted_if_true"),
                "power": _pct(r["supported_if_true"]),
                "verdicts": "/".join(
                    _pct(r[f"share_{v}"], 0) for v in (SUPPORTED, INCONCLUSIVE, CONTRADICTED)
                ),
                "n": f"{int(r['estimated'])}/{int(r['worlds'])}"
                if r["test"] != CLAIM_LEVEL
                else f"{int(r['worlds'])}",
            }
        )
        index.append((f"{truths[r['truth']]['label']}, {int(r['n_consortia']):,d} consortia", name))
    frame = pd.DataFrame(body, index=pd.MultiIndex.from_tuples(index))
    world = study["world"]
    lo, hi = COVERAGE_TARGET
    notes = [
        (
            f"{study['worlds_per_truth']} simulated worlds per truth and size, consortia as "
            f"shown × {world.get('n_years', 8)} years, clean tables (no mess); claims "
            "evaluated by consortia.claims.evaluate_claims with the registry, exactly as the "
            f"workflow's claims step; seed {study['seed']}."
        ),
        (
            "True: the estimand in the drawn truth (truth.json), derived by "
            "consortia.montecarlo.TRUE_ESTIMANDS; '0', '> 0', '< 0' where only that is known. "
            "Status: whether the claim is true, false or neither there (the verdict rules' own "
            "sets; a claim is false if one of its primary tests is)."
        ),
        (
            f"Coverage: % of worlds whose 95% CI contains the true value (target "
            f"{100 * lo:.0f}–{100 * hi:.0f}%). Supported | false and Contradicted | true: % of "
            "worlds with that wrong verdict where the claim is false / true (Monte Carlo SE in "
            "parentheses); each should be at most 5%. Supported | true: the power to support a "
            "true claim. S/I/C: % supported / inconclusive / contradicted. N: worlds with an "
            "estimate / worlds."
        ),
        "Truths: "
        + "; ".join(
            f"{v['label']}: {v['description'].strip().rstrip('.')}" for v in truths.values()
        ),
    ]
    return Table(
        body=frame,
        title="Monte Carlo validation of the claims: error rates of the verdicts and coverage",
        column_labels={
            "true": "True",
            "status": "Status",
            "coverage": "Coverage %",
            "false_support": "Supported | false %",
            "false_contradiction": "Contradicted | true %",
            "power": "Supported | true %",
            "verdicts": "S/I/C %",
            "n": "N",
        },
        stub_header=("Truth, world size", "Claim · test"),
        notes=notes,
        label="tab:montecarlo",
        data=summary,
    )


SIZE_MARKERS = ("o", "s", "^", "D", "v", "P")
ERROR_PANELS = (
    ("supported_if_false", "Supported although the claim is false"),
    ("contradicted_if_true", "Contradicted although the claim is true"),
)


def error_rate_figure(
    summary: pd.DataFrame,
    truths: Mapping,
    claim_labels: Mapping[str, str],
    error_rate: float = 0.05,
):
    """The two error rates of the claims' verdicts with Wilson 95% bars, per truth, claim and
    size: supported where the claim is false (top), contradicted where it is true (bottom);
    the dashed line is the error rate the rules promise. The caption says so."""
    from matplotlib.figure import Figure

    from consortia.render.figure import set_caption, theme

    claims = summary[summary["test"] == CLAIM_LEVEL]
    sizes = sorted(claims["n_consortia"].unique())
    markers = {n: SIZE_MARKERS[k % len(SIZE_MARKERS)] for k, n in enumerate(sizes)}

    def label(r) -> str:
        return f"{truths[r['truth']]['label']} · {claim_labels.get(r['claim'], r['claim'])}"

    rows_of = {column: claims[claims[column].notna()] for column, _ in ERROR_PANELS}
    labels_of = {
        column: list(dict.fromkeys(label(r) for _, r in rows.iterrows()))
        for column, rows in rows_of.items()
    }
    heights = [max(1, len(labels)) for labels in labels_of.values()]
    with theme():
        # one panel above the other: the labels (truth · claim) need the width
        fig = Figure(figsize=(6.5, 1.6 + 0.24 * sum(heights)), layout="constrained")
        axes = fig.subplots(2, 1, height_ratios=heights, sharex=True)
        for ax, (column, title) in zip(axes, ERROR_PANELS, strict=True):
            rows, labels = rows_of[column], labels_of[column]
            for _, r in rows.iterrows():
                k = sizes.index(r["n_consortia"])
                y = labels.index(label(r)) + (k - (len(sizes) - 1) / 2) * 0.15
                n_worlds = int(r[f"{column}_worlds"])
                p = float(r[column])
                lo, hi = wilson_interval(round(p * n_worlds), n_worlds)
                # Wilson bounds at a share of 0 or 1 sit on it up to rounding
                xerr = [[max(0.0, p - lo)], [max(0.0, hi - p)]]
                ax.errorbar(
                    p, y, xerr=xerr, fmt=markers[r["n_consortia"]], ms=3.5, color="0.15", lw=0.8
                )
            ax.axvline(error_rate, color="#D55E00", ls="--", lw=1)
            ax.set_yticks(range(len(labels)), labels, fontsize="x-small")
            ax.set_ylim(max(1, len(labels)) - 0.5, -0.5)
            ax.set_xlim(-0.01, 0.3)
            ax.set_title(title, fontsize="small", loc="left")
            ax.tick_params(axis="x", labelsize="x-small")
        axes[-1].set_xlabel("share of worlds", fontsize="small")
        handles = [
            axes[0].scatter(
                [], [], marker=markers[n], color="0.15", s=14, label=f"{n:,d} consortia"
            )
            for n in sizes
        ]
        fig.legend(
            handles=handles,
            loc="outside lower center",
            ncols=max(1, len(handles)),
            fontsize="x-small",
        )
    worlds = int(claims["worlds"].max()) if len(claims) else 0
    return set_caption(
        fig,
        "Monte Carlo error rates of the claims' verdicts: the share of simulated worlds "
        "in which a claim was supported although it is false there (top) or contradicted "
        f"although it is true (bottom), per truth and claim, {worlds} worlds per truth and "
        "size (markers: consortia per world), with Wilson 95% intervals; dashed: the "
        f"{error_rate:.0%} error rate the verdict rules promise.",
    )
