"""Structure → conduct → performance: the standardised indirect effect a·b with its
consortium-bootstrap interval (``mediation``, over :mod:`consortia.estimate.mediation`)."""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
import pandas as pd

from ..catalogue import (
    CID,
    ClaimData,
    Context,
    Estimate,
    NotTestable,
    Result,
    Unavailable,
    evaluator,
    with_tails,
)
from ..cr2 import ROUNDING
from ..inference import BootstrapTails
from ..records import ClaimRecord


@evaluator(
    "mediation",
    tests=(
        "members_via_collaboration",
        "types_via_task_allocation",
        "members_via_task_allocation",
        "types_via_collaboration",
    ),
    description="structure → conduct → performance: standardised indirect effect a·b of a "
    "structural variable on a performance variable through a conduct variable "
    "(consortia.estimate.mediation)",
    allowed_params=("paths", "controls", "fixed_effects", "n_boot"),
    comparisons=(None,),
)
def eval_mediation(claim: ClaimRecord, data: ClaimData, ctx: Context) -> Result:
    from consortia.estimate.mediation import mediation

    p = claim.params
    paths = dict(p.get("paths") or {})
    fes = list(p.get("fixed_effects", ["year"]))
    n_boot = int(p.get("n_boot", 499))
    out: Result = {}
    for k, name in enumerate(t.name for t in claim.tests):
        if name not in ctx.wanted:
            continue
        if name not in paths:
            out[name] = Unavailable(f"params.paths has no path for test {name!r}")
            continue
        path = paths[name]
        treatment, mediator, outcome = path["treatment"], path["mediator"], path["outcome"]
        controls = [c for c in p.get("controls", []) if c not in (treatment, mediator, outcome)]
        seed = int(np.random.SeedSequence(ctx.seed.entropy, spawn_key=(k,)).generate_state(1)[0])
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                res = mediation(
                    data.panel,
                    treatment,
                    mediator,
                    outcome,
                    controls=controls,
                    fixed_effects=fes,
                    cluster=CID,
                    n_boot=n_boot,
                    seed=seed,
                    ci=ctx.ci_level,
                    bca=False,
                )
        except ValueError as exc:  # SpecError is a ValueError
            out[name] = Unavailable(str(exc))
            continue
        sample = data.panel[[treatment, mediator, outcome, *controls, *fes]].dropna()
        sd_treatment, sd_outcome = (
            _standard_deviation(sample[column]) for column in (treatment, outcome)
        )
        both_vary = _varies(sample[treatment], sd_treatment) and _varies(
            sample[outcome], sd_outcome
        )
        scale = sd_treatment / sd_outcome if both_vary else math.nan
        if not (math.isfinite(scale) and scale > 0):
            out[name] = Unavailable(f"{treatment} or {outcome} does not vary in the sample")
            continue
        out[name] = _from_mediation(res, ctx, n_boot, scale)
    return out


def _standard_deviation(values: pd.Series) -> float:
    return float(pd.to_numeric(values, errors="coerce").astype(float).std(ddof=1))


def _varies(values: pd.Series, sd: float) -> bool:
    """A standard deviation beyond rounding (a constant column's SD is ~1e-17, not 0)."""
    level = float(pd.to_numeric(values, errors="coerce").abs().mean())
    return math.isfinite(sd) and sd > ROUNDING * max(1.0, level)


def _from_mediation(res: Any, ctx: Context, n_boot: int, scale: float) -> Estimate:
    """The indirect effect a·b of a MediationResult in standard deviations of the outcome
    per standard deviation of the treatment (``scale`` = SD(treatment) / SD(outcome) in the
    sample, held fixed across replicates), with its cluster-bootstrap intervals."""
    est = scale * float(res.estimates["indirect"])
    reps = scale * np.asarray((res.replicates or {}).get("indirect", []), dtype=float)
    reps = reps[np.isfinite(reps)]
    se = scale * float(res.boot_se["indirect"])
    if not (math.isfinite(est) and math.isfinite(se) and reps.size >= 2):
        raise NotTestable("the mediation estimate or its bootstrap replicates are not finite")
    return with_tails(
        BootstrapTails(reps),
        ctx,
        estimate=est,
        se=se,
        n_obs=int(res.nobs),
        n_clusters=int(res.n_clusters),
        method="standardised product of coefficients a·b × SD(treatment) / SD(outcome) "
        f"(linear a- and b-equations, {res.treatment} → "
        f"{res.mediator} → {res.outcome}"
        + (f", controls: {', '.join(res.controls)}" if res.controls else "")
        + (f", {' + '.join(res.fixed_effects)} effects" if res.fixed_effects else "")
        + f"); percentile CI from {n_boot} consortium-bootstrap replicates "
        "(consortia.estimate.mediation)",
        short="Mediation a·b, cluster bootstrap",
        details={
            "indirect_raw": res.estimates["indirect"],
            "standardisation": scale,
            "a": res.estimates["a"],
            "b": res.estimates["b"],
            "direct": res.estimates["direct"],
            "total": res.estimates["total"],
            "sobel": dict(res.sobel),
            "n_boot": n_boot,
            "seed": int(res.seed),
            "clustering": res.clustering,
            "notes": list(res.notes),
        },
    )
