"""Shares and means over consortia: the share of consortia a lead type leads
(``lead_share``), the lead member's decision weight (``lead_decision_weight``) and the
industrial share of tasks (``industrial_task_share``)."""

from __future__ import annotations

import math

import pandas as pd

from ..catalogue import (
    CID,
    ClaimData,
    Context,
    NotTestable,
    Result,
    Unavailable,
    binomial_estimate,
    evaluator,
    linearised_se,
    ratio_influence,
    wald_estimate,
)
from ..records import ClaimRecord

# --------------------------------------------------------------------------- shares of consortia


def _consortium_leads(data: ClaimData) -> pd.DataFrame:
    src = data.consortia
    if src is None or "lead_type" not in src or CID not in src:
        src = data.panel
    return src[[CID, "lead_type"]].dropna().drop_duplicates(CID)


@evaluator(
    "lead_share",
    tests=("share", "highest"),
    description="share of consortia led by the lead type (exact binomial CI) and its margin "
    "over the next most common lead type",
    allowed_params=("lead",),
    comparisons=(None,),
)
def eval_lead_share(claim: ClaimRecord, data: ClaimData, ctx: Context) -> Result:
    lead = claim.params.get("lead", "enterprise")
    c = _consortium_leads(data)
    n = len(c)
    counts = c["lead_type"].astype(str).value_counts()
    k = int(counts.get(lead, 0))
    src = (
        "consortia table"
        if data.consortia is not None and "lead_type" in data.consortia
        else "distinct consortia of the panel"
    )
    out: Result = {}
    if "share" in ctx.wanted:
        out["share"] = binomial_estimate(
            k,
            n,
            ctx,
            method=f"share of {lead}-led consortia ({src}); exact Clopper–Pearson CI",
            details={"counts": {str(i): int(v) for i, v in counts.items()}},
            short="Share of consortia, exact binomial",
        )
    if "highest" in ctx.wanted:
        others = counts.drop(lead, errors="ignore")
        if n == 0 or others.empty:
            out["highest"] = Unavailable("no other lead type in the data")
        else:
            p1, p2 = k / n, float(others.iloc[0]) / n
            se = math.sqrt(max(p1 + p2 - (p1 - p2) ** 2, 1e-12) / n)
            out["highest"] = wald_estimate(
                p1 - p2,
                se,
                None,
                ctx,
                n_obs=n,
                n_clusters=n,
                method=f"share of {lead}-led minus the share of the next most common lead type "
                f"({others.index[0]}); multinomial SE, normal CI",
                details={
                    "runner_up": str(others.index[0]),
                    "share_lead": p1,
                    "share_runner_up": p2,
                },
                short="Difference of shares, multinomial SE",
            )
    return out


# --------------------------------------------------------------------------- means over consortia


@evaluator(
    "lead_decision_weight",
    tests=("mean", "share_above"),
    description="mean decision weight of the lead member over lead-type-led consortia, and the "
    "share of those consortia whose lead holds more than the threshold",
    allowed_params=("lead", "threshold"),
    comparisons=(None,),
)
def eval_lead_weight(claim: ClaimRecord, data: ClaimData, ctx: Context) -> Result:
    lead = claim.params.get("lead", "enterprise")
    thr = float(claim.params.get("threshold", 0.6))
    p = data.panel
    d = p.loc[p["lead_type"].astype(str) == lead, [CID, "lead_decision_weight"]].dropna()
    x = pd.to_numeric(d["lead_decision_weight"]).astype(float).groupby(d[CID]).mean()
    g = len(x)
    if g < 2:
        raise NotTestable(f"{g} {lead}-led consortia with a known lead decision weight")
    out: Result = {}
    if "mean" in ctx.wanted:
        se = float(x.std(ddof=1) / math.sqrt(g))
        out["mean"] = wald_estimate(
            float(x.mean()),
            se,
            g - 1,
            ctx,
            n_obs=g,
            n_clusters=g,
            method=f"mean over {lead}-led consortia of the lead member's decision weight "
            "(one value per consortium: its mean over years); t(G−1) CI",
            details={"consortia": g},
            short="Mean over consortia, t test",
        )
    if "share_above" in ctx.wanted:
        out["share_above"] = binomial_estimate(
            int((x > thr).sum()),
            g,
            ctx,
            method=f"share of {lead}-led consortia whose lead holds a decision weight > {thr:g}; "
            "exact Clopper–Pearson CI",
            details={"threshold": thr},
            short="Share of consortia, exact binomial",
        )
    return out


@evaluator(
    "industrial_task_share",
    tests=("mean", "pooled"),
    description="industrial share of R&D tasks in lead-type-led consortia: mean of the "
    "consortium-year shares, and the pooled Σ industrial / Σ total",
    allowed_params=("lead",),
    comparisons=(None,),
)
def eval_industrial_share(claim: ClaimRecord, data: ClaimData, ctx: Context) -> Result:
    lead = claim.params.get("lead", "enterprise")
    p = data.panel
    mine = p["lead_type"].astype(str) == lead
    out: Result = {}
    if "mean" in ctx.wanted:
        d = p.loc[mine, [CID, "industrial_task_share"]].dropna()
        if d.empty:
            raise NotTestable(f"no {lead}-led consortium-years with a defined industrial share")
        y = pd.to_numeric(d["industrial_task_share"]).astype(float)
        m, psi = ratio_influence(y, pd.Series(1.0, index=d.index), d[CID])
        se, g = linearised_se([(1.0, psi)])
        out["mean"] = wald_estimate(
            m,
            se,
            g - 1,
            ctx,
            n_obs=len(d),
            n_clusters=g,
            method=f"mean of tasks_industrial / tasks_total over {lead}-led consortium-years; "
            "SE clustered by consortium, t(G−1) CI",
            short="Mean share, cluster-robust",
        )
    if "pooled" in ctx.wanted:
        d = p.loc[mine, [CID, "tasks_industrial", "tasks_total"]].dropna()
        d = d[pd.to_numeric(d["tasks_total"]) > 0]
        if d.empty:
            out["pooled"] = Unavailable("no consortium-years with tasks")
        else:
            r, psi = ratio_influence(
                pd.to_numeric(d["tasks_industrial"]).astype(float),
                pd.to_numeric(d["tasks_total"]).astype(float),
                d[CID],
            )
            se, g = linearised_se([(1.0, psi)])
            out["pooled"] = wald_estimate(
                r,
                se,
                g - 1,
                ctx,
                n_obs=len(d),
                n_clusters=g,
                method=f"Σ tasks_industrial / Σ tasks_total over {lead}-led consortium-years; "
                "linearised SE clustered by consortium, t(G−1) CI",
                short="Pooled ratio, cluster-robust",
            )
    return out

