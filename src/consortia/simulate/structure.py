"""The world's structure: consortia, their members and their yearly conduct.

Draws the consortium-level attributes and effects, the members (organisations, decision
weights, funding, spells) and the consortium-years (active members, R&D and subsidy,
task allocation, collaboration); the outcomes on top are :mod:`.outcomes`.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import special

from consortia.contract import CHAIN_POSITIONS, ORG_TYPES

# codes of ORG_TYPES, in its order
ENT, UNI, RI, GOV, OTH = range(5)
_ACADEMIC_CODES = (UNI, RI)

INDUSTRIES = {  # label: (probability, high_tech)
    "semiconductors": (0.12, True),
    "new energy": (0.12, True),
    "biomedicine": (0.10, True),
    "artificial intelligence": (0.08, True),
    "communications": (0.08, True),
    "equipment": (0.14, False),
    "materials": (0.12, False),
    "chemicals": (0.08, False),
    "textiles": (0.08, False),
    "agriculture": (0.08, False),
}
FIELDS = {
    "semiconductors": [
        "lithography",
        "EDA tools",
        "chip design",
        "advanced packaging",
        "photoresist",
    ],
    "new energy": ["power batteries", "photovoltaics", "hydrogen", "energy storage"],
    "biomedicine": ["innovative drugs", "medical devices", "vaccines", "gene therapy"],
    "artificial intelligence": ["foundation models", "computer vision", "intelligent robots"],
    "communications": ["5G-A", "optical communication", "satellite internet"],
    "equipment": ["CNC machine tools", "industrial robots", "precision bearings"],
    "materials": ["high-performance steel", "carbon fibre", "rare-earth materials"],
    "chemicals": ["fine chemicals", "catalysts", "new polymers"],
    "textiles": ["functional fibres", "smart textiles", "green dyeing"],
    "agriculture": ["seed industry", "smart farming", "agricultural machinery"],
}
PROVINCES = {
    "Guangdong": 0.14,
    "Jiangsu": 0.13,
    "Zhejiang": 0.11,
    "Beijing": 0.10,
    "Shanghai": 0.09,
    "Shandong": 0.07,
    "Hubei": 0.05,
    "Anhui": 0.05,
    "Sichuan": 0.05,
    "Shaanxi": 0.04,
    "Fujian": 0.04,
    "Hunan": 0.04,
    "Henan": 0.03,
    "Tianjin": 0.03,
    "Chongqing": 0.03,
}
PROGRAMMES = {
    "National Key R&D Programme": 0.30,
    "MIIT Manufacturing Innovation Centre": 0.10,
    "Provincial Innovation Consortium Programme": 0.40,
    "Municipal Programme": 0.20,
}
FOREIGN_COUNTRIES = ["Germany", "Japan", "United States", "South Korea", "Singapore"]
_ID_PREFIX = {ENT: "ENT", UNI: "UNI", RI: "RI", GOV: "GOV", OTH: "OTH"}


def by_type(mapping: dict, default: float = 0.0) -> np.ndarray:
    return np.array([float(mapping.get(t, default)) for t in ORG_TYPES])


def price_factor(truth: dict, years: np.ndarray) -> tuple[np.ndarray, list[int]]:
    """index[year] / index[base]; years outside the index take the nearest year's index."""
    index = {int(k): float(v) for k, v in truth["money"]["deflator_index"].items()}
    base = int(truth["money"]["base_year"])
    if base not in index:
        raise ValueError(f"base year {base} not in the deflator index")
    known = np.array(sorted(index))
    years = np.asarray(years, dtype=int)
    clipped = np.clip(years, known.min(), known.max())
    values = np.array([index[int(y)] for y in known])
    factor = values[np.searchsorted(known, clipped)] / index[base]
    extrapolated = sorted({int(y) for y in np.unique(years) if int(y) not in index})
    return factor, extrapolated


def _choice(rng, labels, probs, size):
    probs = np.asarray(probs, dtype=float)
    return rng.choice(len(labels), size=size, p=probs / probs.sum())


def _strat_labels(rng, probs, n):
    """Labels 0..k-1 in exactly the proportions ``probs`` (largest remainder), shuffled."""
    probs = np.asarray(probs, dtype=float) / np.sum(probs)
    counts = np.floor(probs * n).astype(int)
    short = n - counts.sum()
    counts[np.argsort(-(probs * n - counts), kind="stable")[:short]] += 1
    return rng.permutation(np.repeat(np.arange(probs.size), counts))


def _strat_uniform(rng, n):
    """Latin-hypercube uniforms: one in each interval [k/n, (k+1)/n), shuffled."""
    return (rng.permutation(n) + rng.random(n)) / n


def draw_consortia(truth, n, first_year, last_year, rng, stratified: bool = False):
    """Consortium-level draws. ``stratified`` (calibration only) makes the discrete
    shares exact and the continuous consortium effects Latin-hypercube samples, which
    removes most of the Monte-Carlo noise of population averages."""
    shares = by_type(truth["lead_type_shares"])
    if shares.min() < 0 or not math.isclose(shares.sum(), 1.0, abs_tol=1e-9):
        raise ValueError("lead_type_shares must be non-negative and sum to 1")
    lead = _strat_labels(rng, shares, n) if stratified else rng.choice(5, size=n, p=shares)
    f = truth["founding"]
    p_before = f["share_before_window"]
    before = (
        _strat_labels(rng, [1 - p_before, p_before], n) == 1
        if stratified
        else rng.random(n) < p_before
    )
    founded = np.where(
        before,
        first_year - rng.integers(1, int(f["max_years_before_window"]) + 1, n),
        rng.integers(first_year, last_year + 1, n),
    )
    entry = np.maximum(founded, first_year)
    life = rng.geometric(f["dissolution_hazard"], n)  # years alive from window entry, >= 1
    dissolved = entry + life - 1
    dissolved_obs = np.where(dissolved <= last_year, dissolved, -1)
    ind_names = list(INDUSTRIES)
    ind_probs = [INDUSTRIES[k][0] for k in ind_names]
    industry = (
        _strat_labels(rng, ind_probs, n) if stratified else _choice(rng, ind_names, ind_probs, n)
    )
    high_tech = np.array([INDUSTRIES[k][1] for k in ind_names])[industry]
    prov_names = list(PROVINCES)
    region = _choice(rng, prov_names, list(PROVINCES.values()), n)
    prog_names = list(PROGRAMMES)
    programme = _choice(rng, prog_names, list(PROGRAMMES.values()), n)
    s = truth["structure"]
    m = by_type(s["lead_decision_weight_mean"])[lead]
    kappa = float(s["lead_decision_weight_concentration"])
    p = truth["performance"]
    r = truth["rd"]
    if stratified:
        w_lead = special.betaincinv(m * kappa, (1 - m) * kappa, _strat_uniform(rng, n))
        phi = r["rd_firm_sd"] * special.ndtri(_strat_uniform(rng, n))
        psi = r["subsidy_firm_corr_loading"] * phi + r["subsidy_firm_sd"] * special.ndtri(
            _strat_uniform(rng, n)
        )
    else:
        w_lead = rng.beta(m * kappa, (1 - m) * kappa)
        phi = rng.normal(0, r["rd_firm_sd"], n)
        psi = r["subsidy_firm_corr_loading"] * phi + rng.normal(0, r["subsidy_firm_sd"], n)
    zeta_z = rng.standard_normal(n)  # scaled where used: the calibration never reads them
    u_sd = p["transfer"]["random_effect_sd"]
    u_transfer = (
        u_sd * special.ndtri(_strat_uniform(rng, n)) if stratified else rng.normal(0, u_sd, n)
    )
    v_z = rng.standard_normal(n)
    c = truth["conduct"]
    adopts = rng.random(n) < by_type(c["p_shared_platform"])[lead]
    adopt_year = np.where(
        adopts, founded + rng.geometric(c["shared_platform_adoption_p"], n) - 1, 10**6
    )
    ind_lab = np.array(ind_names, dtype=object)[industry]
    reg_lab = np.array(prov_names, dtype=object)[region]
    if stratified:  # calibration: no labels needed
        ids = names = np.full(n, None, dtype=object)
    else:
        width = max(4, len(str(n)))
        ids = np.array([f"C{i + 1:0{width}d}" for i in range(n)], dtype=object)
        base_names = pd.Series(
            reg_lab + " " + pd.Series(ind_lab).str.title().to_numpy() + " Innovation Consortium"
        )
        number = base_names.groupby(base_names).cumcount().to_numpy() + 1
        names = np.where(number > 1, base_names.to_numpy() + " " + number.astype(str), base_names)
    return {
        "n": n,
        "id": ids,
        "lead": lead,
        "founded": founded,
        "entry": entry,
        "dissolved": dissolved_obs,
        "end": np.where(dissolved_obs > 0, dissolved_obs, last_year),
        "industry": ind_lab,
        "high_tech": high_tech,
        "region": reg_lab,
        "programme": np.array(prog_names, dtype=object)[programme],
        "name": names.astype(object),
        "w_lead_raw": w_lead,
        "phi": phi,
        "psi": psi,
        "zeta_z": zeta_z,
        "u_transfer": u_transfer,
        "v_z": v_z,
        "adopt_year": adopt_year,
    }


def draw_members(truth, cons, rng, light: bool = False):
    """Members of each consortium. ``light`` (calibration) skips identities and attributes."""
    mt = truth["members"]
    n = cons["n"]
    lead = cons["lead"]
    n_tot = np.clip(
        mt["n_min"] + rng.poisson(by_type(mt["extra_mean"])[lead]), mt["n_min"], mt["n_max"]
    )
    p_acad = by_type(mt["p_academic_partner"])
    p_acad[UNI] = p_acad[RI] = 1.0
    if light:  # calibration: exactly the expected share of academic partners per lead type
        academic = np.zeros(n, dtype=bool)
        for t in range(5):
            idx = np.flatnonzero(lead == t)
            academic[rng.permutation(idx)[: round(p_acad[t] * idx.size)]] = True
    else:
        academic = rng.random(n) < p_acad[lead]
    ci = np.repeat(np.arange(n), n_tot)
    starts = np.concatenate([[0], np.cumsum(n_tot)[:-1]])
    slot = np.arange(ci.size) - np.repeat(starts, n_tot)
    is_lead = slot == 0
    forced = (slot == 1) & academic[ci] & ~np.isin(lead[ci], _ACADEMIC_CODES)
    probs_a = by_type(mt["type_probs_academic"])
    probs_n = by_type(mt["type_probs_non_academic"])
    draw_a = rng.choice(5, size=ci.size, p=probs_a / probs_a.sum())
    draw_n = rng.choice(5, size=ci.size, p=probs_n / probs_n.sum())
    forced_type = np.where(rng.random(ci.size) < 0.6, UNI, RI)
    mtype = np.where(academic[ci], draw_a, draw_n)
    mtype = np.where(forced, forced_type, mtype)
    mtype = np.where(is_lead, lead[ci], mtype)
    protected = is_lead | forced
    founded, end = cons["founded"][ci], cons["end"][ci]
    founding = protected | (rng.random(ci.size) < mt["p_founding"]) | (end <= founded)
    later = founded + 1 + np.floor(rng.random(ci.size) * np.maximum(end - founded, 1)).astype(int)
    blank = rng.random(ci.size) < mt["p_join_year_blank"]
    join = np.where(founding, np.where(blank, -1, founded), later)
    join_eff = np.where(join < 0, founded, join)
    exits = ~protected & (rng.random(ci.size) < mt["p_exit"])
    exit_at = join_eff + np.floor(rng.random(ci.size) * (end - join_eff + 1)).astype(int)
    exit_year = np.where(exits, exit_at, -1)

    s = truth["structure"]
    unit = 10 ** int(s["weight_decimals"])
    lead_units = np.clip(np.rint(cons["w_lead_raw"] * unit).astype(np.int64), 1, unit - (n_tot - 1))
    if light:
        return {
            "ci": ci,
            "type": mtype,
            "join_eff": join_eff,
            "exit": exit_year,
            "academic": academic,
            "n_total": n_tot,
            "w_lead": lead_units / unit,
            "extrapolated_years": [],
        }

    # organisations: pools per type with skewed popularity; unique within a consortium
    org = np.zeros(ci.size, dtype=int)
    pools = {}
    for t in range(5):
        sel = np.flatnonzero(mtype == t)
        size = max(30, math.ceil(sel.size / by_type(mt["org_mean_reuse"])[t]))
        pop = (np.arange(size) + 1.0) ** (-float(mt["org_popularity_exponent"]))
        pop /= pop.sum()
        org[sel] = rng.choice(size, size=sel.size, p=pop)
        for _ in range(1000):
            key = pd.DataFrame({"c": ci[sel], "o": org[sel]})
            dup = key.duplicated().to_numpy()
            if not dup.any():
                break
            org[sel[dup]] = rng.choice(size, size=int(dup.sum()), p=pop)
        else:  # pragma: no cover - pools are >= 30 > n_max
            raise RuntimeError("could not draw distinct organisations")
        foreign = rng.random(size) < by_type(mt["p_foreign"])[t]
        country = np.where(
            foreign,
            np.array(FOREIGN_COUNTRIES, dtype=object)[
                rng.integers(0, len(FOREIGN_COUNTRIES), size)
            ],
            "China",
        )
        if t == ENT:
            chain = np.array(CHAIN_POSITIONS, dtype=object)[
                rng.choice(3, size=size, p=[0.3, 0.4, 0.3])
            ]
            sme = rng.random(size) < mt["p_sme_enterprise"]
        elif t == UNI:
            chain, sme = np.full(size, "upstream", dtype=object), np.zeros(size, bool)
        elif t == RI:
            chain = np.array(CHAIN_POSITIONS, dtype=object)[rng.choice(2, size=size)]
            sme = np.zeros(size, bool)
        else:
            chain, sme = np.full(size, None, dtype=object), np.zeros(size, bool)
        width = max(3, len(str(size)))
        ids = (
            _ID_PREFIX[t] + pd.Series(np.arange(1, size + 1)).astype(str).str.zfill(width)
        ).to_numpy(dtype=object)
        pools[t] = {"id": ids, "country": country, "chain": chain, "sme": sme}
    member_id = np.empty(ci.size, dtype=object)
    country = np.empty(ci.size, dtype=object)
    chain = np.empty(ci.size, dtype=object)
    sme = np.zeros(ci.size, dtype=bool)
    for t in range(5):
        sel = mtype == t
        member_id[sel] = pools[t]["id"][org[sel]]
        country[sel] = pools[t]["country"][org[sel]]
        chain[sel] = pools[t]["chain"][org[sel]]
        sme[sel] = pools[t]["sme"][org[sel]]

    # decision weights in units of 10^-decimals, summing exactly to one per consortium
    rest = unit - lead_units
    g = rng.gamma(float(s["other_weights_dirichlet_alpha"]), 1.0, ci.size)
    g[is_lead] = 0.0
    share = g / np.bincount(ci, weights=g, minlength=n)[ci]
    exact = share * rest[ci]
    floor = np.floor(exact).astype(np.int64)
    floor[is_lead] = 0
    short = rest - np.bincount(ci, weights=floor, minlength=n).astype(np.int64)
    frac = np.where(is_lead, -1.0, exact - floor)
    order = np.lexsort((-frac, ci))  # by consortium, largest remainder first
    rank = np.empty(ci.size, dtype=np.int64)
    rank[order] = np.arange(ci.size) - np.repeat(starts, n_tot)
    floor += ((rank < short[ci]) & ~is_lead).astype(np.int64)
    units = np.where(is_lead, lead_units[ci], floor)
    weight = units / unit
    w_lead = lead_units / unit

    p_eq = mt["p_equity_tie"]
    p_eq_type = by_type(p_eq)
    p_equity = np.where(
        (mtype == ENT) & (lead[ci] == ENT), p_eq["enterprise_in_enterprise_led"], p_eq_type[mtype]
    )
    equity = rng.random(ci.size) < p_equity
    funding_real = (
        mt["funding_scale_cny"]
        * (0.05 + weight)
        * np.exp(rng.normal(0, mt["funding_log_sd"], ci.size))
    )
    factor, extrapolated = price_factor(truth, join_eff)
    funding = np.rint(funding_real * factor).astype(np.int64)
    return {
        "ci": ci,
        "slot": slot,
        "type": mtype,
        "is_lead": is_lead,
        "member_id": member_id,
        "weight": weight,
        "equity": equity,
        "funding": funding,
        "funding_real": funding_real,
        "join": join,
        "join_eff": join_eff,
        "exit": exit_year,
        "chain": chain,
        "country": country,
        "sme": sme,
        "academic": academic,
        "n_total": n_tot,
        "w_lead": w_lead,
        "extrapolated_years": extrapolated,
    }


def _centred_within(x: np.ndarray, group: np.ndarray) -> np.ndarray:
    """``x`` minus its mean within each group (the consortium-years of one lead type)."""
    x = np.asarray(x, dtype=float)
    sums = np.bincount(group, weights=x, minlength=5)
    counts = np.bincount(group, minlength=5)
    return x - (sums / np.maximum(counts, 1))[group]


def draw_panel(truth, cons, mem, first_year, last_year, rng):
    n = cons["n"]
    n_years = last_year - first_year + 1
    start, end = cons["entry"], cons["end"]
    n_y = end - start + 1
    pi = np.repeat(np.arange(n), n_y)
    starts = np.concatenate([[0], np.cumsum(n_y)[:-1]])
    offset = np.arange(pi.size) - np.repeat(starts, n_y)
    year = start[pi] + offset
    keep = (offset == 0) | (rng.random(pi.size) >= truth["founding"]["panel_gap_rate"])
    pi, year = pi[keep], year[keep]

    # active members per consortium-year and type
    ci = mem["ci"]
    lo = np.maximum(mem["join_eff"], start[ci])
    hi = np.where(mem["exit"] >= 0, np.minimum(mem["exit"], end[ci]), end[ci])
    length = np.maximum(hi - lo + 1, 0)
    rep = np.repeat(np.arange(ci.size), length)
    mstarts = np.concatenate([[0], np.cumsum(length)[:-1]])
    myear = lo[rep] + np.arange(rep.size) - np.repeat(mstarts, length)
    counts = np.zeros((n, n_years, 5), dtype=np.int64)
    np.add.at(counts, (ci[rep], myear - first_year, mem["type"][rep]), 1)
    cy = counts[pi, year - first_year]
    n_active = cy.sum(axis=1)
    n_acad = cy[:, UNI] + cy[:, RI]
    n_nonent = n_active - cy[:, ENT]
    if (n_active < 1).any():  # pragma: no cover - the lead is always active
        raise RuntimeError("a consortium-year without active members")

    lead = cons["lead"][pi]
    ht = cons["high_tech"][pi]
    w = mem["w_lead"][pi]
    t_idx = year - first_year
    rows = pi.size

    r = truth["rd"]
    log_sub_med = math.log(r["subsidy_median"])
    log_sub = (
        log_sub_med
        + cons["psi"][pi]
        + r["subsidy_growth"] * t_idx
        + rng.normal(0, r["subsidy_year_sd"], rows)
    )
    elasticity = np.where(
        ht, r["subsidy_elasticity"]["high_tech"], r["subsidy_elasticity"]["traditional"]
    )
    log_rd_med = math.log(r["rd_median"])
    log_rd = (
        log_rd_med
        + cons["phi"][pi]
        + r["rd_size_elasticity"] * np.log(mem["n_total"][pi] / 8.0)
        + r["rd_growth"] * t_idx
        + elasticity * (log_sub - log_sub_med)
        + rng.normal(0, r["rd_year_sd"], rows)
    )

    c = truth["conduct"]
    a_s = float(c["a_industrial_share_per_lead_weight"])
    c_share = by_type(c["industrial_task_share_mean"]) - a_s * by_type(
        truth["structure"]["lead_decision_weight_mean"]
    )
    shares = cy / n_active[:, None]
    diversity = 1.0 - (shares**2).sum(axis=1)
    mean_share = (
        c_share[lead]
        + a_s * w
        + float(c["a_industrial_share_per_type_diversity"]) * _centred_within(diversity, lead)
    )
    if mean_share.min() <= 0.005 or mean_share.max() >= 0.995:
        raise ValueError(
            "industrial_task_share_mean, a_industrial_share_per_lead_weight and "
            "a_industrial_share_per_type_diversity give a mean share outside (0, 1)"
        )
    kappa = float(c["industrial_share_concentration"])
    share_latent = rng.beta(mean_share * kappa, (1 - mean_share) * kappa)
    tasks_total = 1 + rng.poisson(c["tasks_total_base"] + c["tasks_total_per_member"] * n_active)
    tasks_ind = rng.binomial(tasks_total, share_latent)
    a_c = float(c["a_collab_intensity_per_lead_weight"])
    k_collab = by_type(c["collab_intensity_mean"]) - a_c * by_type(
        truth["structure"]["lead_decision_weight_mean"]
    )
    if k_collab.min() < 0:
        raise ValueError("collab_intensity_mean too small for a_collab_intensity_per_lead_weight")
    per_member = float(c["a_collab_intensity_per_member"]) * _centred_within(n_active, lead)
    mean_collab = k_collab[lead] + a_c * w + per_member
    if mean_collab.min() <= 0:
        raise ValueError(
            "collab_intensity_mean too small for a_collab_intensity_per_lead_weight and "
            "a_collab_intensity_per_member: a non-positive collaboration intensity"
        )
    lam = mean_collab * rng.gamma(c["collab_gamma_shape"], 1.0 / c["collab_gamma_shape"], rows)
    collab = rng.poisson(n_active * lam)
    personnel = rng.poisson(c["personnel_exchange_per_member"] * n_active * (1 + (n_acad > 0)))
    platform = year >= cons["adopt_year"][pi]
    return {
        "pi": pi,
        "year": year,
        "n_active": n_active,
        "n_acad": n_acad,
        "academic": n_acad > 0,
        "enterprise_only": n_nonent == 0,
        "lead": lead,
        "high_tech": ht,
        "w_lead": w,
        "log_sub": log_sub,
        "log_rd": log_rd,
        "tasks_total": tasks_total,
        "tasks_industrial": tasks_ind,
        "share_latent": share_latent,
        "share": tasks_ind / tasks_total,
        "collab_events": collab,
        "collab_intensity": collab / n_active,
        "personnel": personnel,
        "platform": platform,
        "mean_share": mean_share,
    }
