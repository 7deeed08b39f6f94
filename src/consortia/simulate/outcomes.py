"""Outcomes drawn on the world's structure: patents, achievements and their transfer,
new-product revenue, standards, and the tasks' durations; and the calibration that solves
the transfer intercepts so that the truth's population transfer rates hold exactly.
"""

from __future__ import annotations

import copy
import json
import math
from functools import lru_cache

import numpy as np
import pandas as pd
from scipy import optimize, special

from consortia.contract import ORG_TYPES
from consortia.simulate.structure import (
    ENT,
    FIELDS,
    by_type,
    draw_consortia,
    draw_members,
    draw_panel,
)


def _achievement_mean(truth, pan):
    a = truth["performance"]["achievements"]
    return np.exp(
        math.log(a["base"])
        + a["size_elasticity"] * np.log(pan["n_active"] / 8.0)
        + a["rd_elasticity"] * (pan["log_rd"] - math.log(truth["rd"]["rd_median"]))
    )


def _transfer_index(truth, cons, pan):
    """Logit index without the calibrated terms (alpha_E, alpha_rest, beta_academic)."""
    tr = truth["performance"]["transfer"]
    ctr = truth["performance"]["mediator_centres"]
    offsets = by_type(tr["type_offsets"])
    offsets[ENT] = 0.0
    return (
        offsets[pan["lead"]]
        + tr["b_industrial_share"] * (pan["share"] - ctr["industrial_task_share"])
        + tr["b_collab_intensity"] * (pan["collab_intensity"] - ctr["collab_intensity"])
        + cons["u_transfer"][pan["pi"]]
    )


def _transfer_p(params, is_e, acad, index):
    alpha_e, alpha_r, beta = params
    return special.expit(np.where(is_e, alpha_e, alpha_r) + beta * acad + index)


def _transfer_rates(p, mu, groups):
    """Achievement-weighted rates sum(mu p) / sum(mu) within each (boolean) group."""
    if isinstance(groups, _GroupMatrix):
        num_, den = (mu * p) @ groups.matrix, groups.mu_totals
        return {name: float(num_[j] / den[j]) for j, name in enumerate(groups.names)}
    return {name: float((mu * p)[g].sum() / mu[g].sum()) for name, g in groups.items()}


class _GroupMatrix:
    """Groups as a 0/1 matrix, so the root finder's rates are one matrix product."""

    def __init__(self, groups: dict, mu: np.ndarray):
        self.names = list(groups)
        self.matrix = np.column_stack([groups[k] for k in self.names]).astype(float)
        self.mu_totals = mu @ self.matrix


def _ratio_se(p, mu, group, cluster):
    """Linearised (cluster = consortium) standard error of sum(mu p)/sum(mu) over a group."""
    p, mu, cluster = p[group], mu[group], cluster[group]
    rate = (mu * p).sum() / mu.sum()
    z = np.bincount(cluster, weights=mu * (p - rate))
    k = np.count_nonzero(np.bincount(cluster))
    return float(math.sqrt((z**2).sum() * k / max(k - 1, 1)) / mu.sum())


def _groups(pan):
    is_e = pan["lead"] == ENT
    return {
        "enterprise_led": is_e,
        "other_led": ~is_e,
        "academic_partner": pan["academic"],
        # enterprise-only consortium-years are enterprise-led (the lead is a member)
        "academic_enterprise_led": is_e & pan["academic"],
        "enterprise_only": pan["enterprise_only"],
    }


# parameters that do not affect the transfer calibration (the draws they govern consume
# the same random numbers whatever their values), left out of the cache key
_NOT_IN_CALIBRATION = {"tasks", "money"}
_PERFORMANCE_NOT_IN_CALIBRATION = {"patents", "new_product_revenue", "publications", "standards"}


def calibrate(truth: dict, n_years: int, first_year: int) -> dict:
    relevant = {k: v for k, v in truth.items() if k not in _NOT_IN_CALIBRATION}
    relevant["performance"] = {
        k: v for k, v in truth["performance"].items() if k not in _PERFORMANCE_NOT_IN_CALIBRATION
    }
    key = json.dumps(relevant, sort_keys=True)
    return copy.deepcopy(_calibrate_cached(key, n_years, first_year))


@lru_cache(maxsize=16)
def _calibrate_cached(truth_json: str, n_years: int, first_year: int) -> dict:
    """Solve the transfer intercepts so that the population targets hold exactly.

    The population is approximated by ``calibration.n_consortia`` consortia drawn in
    chunks (bounded memory) with their own seed, independent of the world's seed,
    with exact lead-type / academic-partner shares and Latin-hypercube consortium
    effects; expected achievements and transfer probabilities are used (no
    Poisson/binomial noise), and the three achievement-weighted targets are met
    jointly by a root finder. The reported ``mc_se`` are linearised (cluster =
    consortium) standard errors of those population values, conservative under
    the stratification.
    """
    truth = json.loads(truth_json)
    cal = truth["calibration"]
    last_year = first_year + n_years - 1
    n_total, chunk = int(cal["n_consortia"]), int(cal["chunk_size"])
    sizes = [chunk] * (n_total // chunk) + ([n_total % chunk] if n_total % chunk else [])
    parts = []
    offset = 0
    for size, child in zip(sizes, np.random.SeedSequence(int(cal["seed"])).spawn(len(sizes))):
        rng_c, rng_m, rng_p = (np.random.Generator(np.random.PCG64(c)) for c in child.spawn(3))
        cons = draw_consortia(truth, size, first_year, last_year, rng_c, stratified=True)
        mem = draw_members(truth, cons, rng_m, light=True)
        pan = draw_panel(truth, cons, mem, first_year, last_year, rng_p)
        parts.append(
            {
                "mu": _achievement_mean(truth, pan),
                "index": _transfer_index(truth, cons, pan),
                "lead": pan["lead"],
                "academic": pan["academic"],
                "enterprise_only": pan["enterprise_only"],
                "pi": pan["pi"] + offset,
            }
        )
        offset += size
        del cons, mem, pan
    pan = {k: np.concatenate([part[k] for part in parts]) for k in parts[0]}
    mu, index = pan["mu"], pan["index"]
    is_e, acad = pan["lead"] == ENT, pan["academic"].astype(float)
    groups = _groups(pan)
    tr = truth["performance"]["transfer"]
    targets = np.array(
        [
            tr["target_rate_enterprise_led"],
            tr["target_rate_other_led"],
            tr["target_academic_ratio_within_enterprise_led"],
        ]
    )

    gm = _GroupMatrix(groups, mu)

    def residual(theta):
        rates = _transfer_rates(_transfer_p(theta, is_e, acad, index), mu, gm)
        return [
            rates["enterprise_led"] - targets[0],
            rates["other_led"] - targets[1],
            rates["academic_enterprise_led"] / rates["enterprise_only"] - targets[2],
        ]

    start = [special.logit(targets[0]), special.logit(targets[1]), 0.5]
    sol = optimize.root(residual, start, method="hybr", options={"xtol": 1e-12})
    if not sol.success or max(abs(x) for x in residual(sol.x)) > 1e-7:
        raise ValueError(
            "the transfer targets cannot be met jointly by this DGP: "
            f"{sol.message}; residuals {residual(sol.x)}"
        )
    # rounded to the digits truth.json reports: the world uses exactly the published values,
    # and last-bit differences between machines (BLAS summation order) cannot move a draw
    theta = [float(f"{x:.8g}") for x in sol.x]
    p = _transfer_p(theta, is_e, acad, index)
    rates = _transfer_rates(p, mu, groups)
    ses = {k: _ratio_se(p, mu, g, pan["pi"]) for k, g in groups.items()}
    by_type = {
        t: _transfer_rates(p, mu, {t: pan["lead"] == i})[t]
        for i, t in enumerate(ORG_TYPES)
        if (pan["lead"] == i).any()
    }
    e_acad = is_e & pan["academic"]
    e_non = is_e & ~pan["academic"]
    within = _transfer_rates(p, mu, {"a": e_acad, "n": e_non})

    def ratio_and_se(numerator: str) -> tuple[float, float]:
        ratio = rates[numerator] / rates["enterprise_only"]
        relative = math.hypot(
            ses[numerator] / rates[numerator], ses["enterprise_only"] / rates["enterprise_only"]
        )
        return ratio, ratio * relative

    within_ratio, within_se = ratio_and_se("academic_enterprise_led")
    pooled_ratio, pooled_se = ratio_and_se("academic_partner")
    weights = {k: float(g.mean()) for k, g in groups.items()}
    return {
        "alpha_enterprise": theta[0],
        "alpha_rest": theta[1],
        "beta_academic": theta[2],
        "rates": rates,
        "mc_se": ses,
        "academic_ratio": within_ratio,
        "academic_ratio_mc_se": within_se,
        "academic_ratio_pooled": pooled_ratio,
        "academic_ratio_pooled_mc_se": pooled_se,
        "rates_by_lead_type": by_type,
        "enterprise_led_academic_vs_not": {
            "academic": within["a"],
            "not_academic": within["n"],
            "ratio": within["a"] / within["n"],
        },
        "share_of_consortium_years": weights,
        "calibration_consortium_years": int(pan["pi"].size),
    }


def draw_performance(truth, cons, pan, calib, rng):
    pf = truth["performance"]
    ctr = pf["mediator_centres"]
    rows = pan["pi"].size
    pt = pf["patents"]
    log_rd_dev = pan["log_rd"] - math.log(truth["rd"]["rd_median"])
    v = pt["random_effect_sd"] * cons["v_z"][pan["pi"]]
    mu_pat = np.exp(
        math.log(pt["base"])
        + pt["size_elasticity"] * np.log(pan["n_active"] / 8.0)
        + pt["rd_elasticity"] * log_rd_dev
        + pt["b_industrial_share"] * (pan["share"] - ctr["industrial_task_share"])
        + pt["b_collab_intensity"] * (pan["collab_intensity"] - ctr["collab_intensity"])
        + pt["direct_lead_weight"] * (pan["w_lead"] - ctr["lead_decision_weight"])
        + v
        - pt["random_effect_sd"] ** 2 / 2
    )
    filed = rng.poisson(mu_pat)
    granted = rng.binomial(filed, pt["grant_probability"])
    pub = pf["publications"]
    publications = rng.poisson(pub["base"] + pub["per_academic_member"] * pan["n_acad"])
    mu_ach = _achievement_mean(truth, pan)
    achievements = rng.poisson(mu_ach)
    theta = (calib["alpha_enterprise"], calib["alpha_rest"], calib["beta_academic"])
    p = _transfer_p(
        theta, pan["lead"] == ENT, pan["academic"].astype(float), _transfer_index(truth, cons, pan)
    )
    transferred = rng.binomial(achievements, p)
    npr = pf["new_product_revenue"]
    eta = np.where(
        pan["high_tech"],
        npr["industrial_share_semi_elasticity"]["high_tech"],
        npr["industrial_share_semi_elasticity"]["traditional"],
    )
    zeta = npr["firm_sd"] * cons["zeta_z"][pan["pi"]]
    log_npr = (
        math.log(npr["median"])
        + zeta
        + npr["rd_elasticity"] * log_rd_dev
        + eta * (pan["share"] - ctr["industrial_task_share"])
        + rng.normal(0, npr["year_sd"], rows)
    )
    st = pf["standards"]
    standards = rng.poisson(st["base"] + st["enterprise_led_extra"] * (pan["lead"] == ENT))
    return {
        "patents_filed": filed,
        "patents_granted": granted,
        "publications": publications,
        "achievements": achievements,
        "achievements_transferred": transferred,
        "standards": standards,
        "log_npr": log_npr,
        "p_transfer": p,
        "mu_achievements": mu_ach,
        "mu_patents": mu_pat,
    }


def draw_tasks(truth, cons, first_year, last_year, rng):
    tk = truth["tasks"]
    n = cons["n"]
    n_t = 1 + rng.poisson(tk["extra_per_consortium_mean"], n)
    ti = np.repeat(np.arange(n), n_t)
    starts = np.concatenate([[0], np.cumsum(n_t)[:-1]])
    k = np.arange(ti.size) - np.repeat(starts, n_t) + 1
    win_start = np.array([np.datetime64(f"{y}-01-01", "D") for y in cons["entry"]])
    win_end = np.array([np.datetime64(f"{y}-12-31", "D") for y in cons["end"]])
    cutoff = np.datetime64(f"{last_year}-12-31", "D")
    span = (win_end - win_start).astype(int)  # days, >= 364
    start = win_start[ti] + np.floor(rng.random(ti.size) * span[ti]).astype(int)
    lead = cons["lead"][ti]
    scale = (
        tk["university_scale_years"]
        * by_type(tk["time_ratio"])[lead]
        * np.where(cons["high_tech"][ti], tk["high_tech_time_ratio"], 1.0)
    )
    if tk["distribution"] == "weibull":
        t_years = scale * rng.weibull(tk["weibull_shape"], ti.size)
    elif tk["distribution"] == "lognormal":
        t_years = scale * np.exp(tk["lognormal_sigma"] * rng.standard_normal(ti.size))
    else:
        raise ValueError(
            f"tasks.distribution must be 'weibull' or 'lognormal', not {tk['distribution']!r}"
        )
    t_days = np.maximum(1, np.rint(t_years * 365.25)).astype(int)
    a_days = np.maximum(
        1, np.rint(rng.exponential(1.0 / tk["abandonment_rate_per_year"], ti.size) * 365.25)
    ).astype(int)
    dissolved = cons["dissolved"][ti] > 0
    stop_days = np.where(dissolved, (win_end[ti] - start).astype(int), 10**9)
    cut_days = (cutoff - start).astype(int)
    other = np.minimum(a_days, stop_days)
    achieved = t_days <= np.minimum(other, cut_days)
    abandoned = ~achieved & (other <= cut_days)
    end_days = np.where(achieved, t_days, np.where(abandoned, other, -1))
    status = np.where(achieved, "achieved", np.where(abandoned, "abandoned", "ongoing"))
    end = np.where(end_days >= 0, start + np.maximum(end_days, 0), np.datetime64("NaT"))
    fields = np.array(
        [
            FIELDS[ind][j % len(FIELDS[ind])]
            for ind, j in zip(cons["industry"][ti], rng.integers(0, 60, ti.size))
        ],
        dtype=object,
    )
    df = pd.DataFrame(
        {
            "consortium_id": cons["id"][ti],
            "task_id": [f"{c}-T{j:02d}" for c, j in zip(cons["id"][ti], k)],
            "start_date": pd.Series(start).dt.strftime("%Y-%m-%d").to_numpy(),
            "end_date": pd.Series(end).dt.strftime("%Y-%m-%d").to_numpy(),
            "status": status.astype(object),
            "field": fields,
        }
    )
    df["end_date"] = df["end_date"].where(df["end_date"].notna(), None)
    latent = pd.DataFrame(
        {
            "consortium_id": df["consortium_id"],
            "task_id": df["task_id"],
            "latent_duration_years": t_years,
            "weibull_scale_years": scale,
            "lead_type": np.array(ORG_TYPES)[lead],
        }
    )
    return df, latent
