"""Seeded simulator: a world of innovation consortia with a known truth and counted mess.

``simulate_world`` draws the four contract tables (consortia, members, panel,
tasks) from a data-generating process whose parameters are the review's claims
(Yan 2025, sections 2.2 and 3.1.1; see ``docs/simulator.md``), then injects
realistic mess (synonym labels, duplicates, impossible values, orphans,
missing optional values, outliers) into copies of them. Every injected row is
logged, and ``World.truth["mess"]`` counts them by table and by the quarantine
rule id of ``docs/design.md`` that cleaning should apply, so that a test can
check that cleaning finds exactly these.

Determinism: all randomness comes from ``numpy.random.Generator(PCG64(.))``
streams spawned from one ``SeedSequence(seed)``; the same seed and arguments
give byte-identical CSV files. The truth (including the calibrated transfer
intercepts) does not depend on the seed.

Money: panel money is written in 10k CNY (万元) at current prices, member
funding in CNY at current prices of the member's entry year. Nominal = real x
index[year] / index[base_year] with the price index in ``truth["money"]``,
which by default is the study config's China GDP deflator (2020 = 100), so that
deflating with the config recovers the real values.
"""

from __future__ import annotations

import copy
import json
import math
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
from pandas.core.dtypes.cast import maybe_box_native
from scipy import optimize, special

ORG_TYPES = ("enterprise", "university", "research_institute", "government", "other")
_ENT, _UNI, _RI, _GOV, _OTH = range(5)
_ACADEMIC_CODES = (_UNI, _RI)

COLUMNS = {
    "consortia": [
        "consortium_id",
        "lead_type",
        "founded_year",
        "name",
        "industry",
        "high_tech",
        "region",
        "dissolved_year",
        "lead_org_id",
        "programme",
    ],
    "members": [
        "consortium_id",
        "member_id",
        "member_type",
        "is_lead",
        "decision_weight",
        "equity_tie",
        "funding",
        "join_year",
        "exit_year",
        "chain_position",
        "country",
        "sme",
    ],
    "panel": [
        "consortium_id",
        "year",
        "rd_expenditure",
        "subsidy",
        "collab_events",
        "personnel_exchange",
        "tasks_total",
        "tasks_industrial",
        "shared_platform",
        "patents_filed",
        "patents_granted",
        "publications",
        "achievements",
        "achievements_transferred",
        "new_product_revenue",
        "standards",
    ],
    "tasks": ["consortium_id", "task_id", "start_date", "end_date", "status", "field"],
}
TABLES = tuple(COLUMNS)
KEYS = {
    "consortia": ["consortium_id"],
    "members": ["consortium_id", "member_id"],
    "panel": ["consortium_id", "year"],
    "tasks": ["consortium_id", "task_id"],
}

# Labels written instead of the vocabulary word: all are in the contract's
# synonym list (matched case-insensitively after trimming), none is
# byte-identical to the canonical word. Kind: chinese / code / synonym / case_or_space.
SYNONYM_LABELS = {
    "enterprise": [
        ("企业", "chinese"),
        ("PRC", "code"),
        ("SOE", "code"),
        ("Firm", "synonym"),
        ("company", "synonym"),
        ("Enterprise", "case_or_space"),
        (" enterprise ", "case_or_space"),
    ],
    "university": [
        ("高校", "chinese"),
        ("大学", "chinese"),
        ("HES", "code"),
        ("higher education", "synonym"),
        ("college", "synonym"),
        (" University ", "case_or_space"),
        ("UNIVERSITY", "case_or_space"),
    ],
    "research_institute": [
        ("科研院所", "chinese"),
        ("研究院", "chinese"),
        ("REC", "code"),
        ("research institute", "synonym"),
        ("Institute", "synonym"),
        ("Research_Institute", "case_or_space"),
    ],
    "government": [
        ("政府", "chinese"),
        ("PUB", "code"),
        ("public body", "synonym"),
        ("agency", "synonym"),
        ("Government ", "case_or_space"),
    ],
    "other": [("OTH", "code"), ("association", "synonym"), ("Other", "case_or_space")],
}

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
CHAIN = ("upstream", "midstream", "downstream")
_ID_PREFIX = {_ENT: "ENT", _UNI: "UNI", _RI: "RI", _GOV: "GOV", _OTH: "OTH"}

# Columns never empty in a clean world, where mess blanks a value (so a count
# of empty cells in the raw file equals the injected count).
MISSING_OPTIONAL = {
    "consortia": ["name", "region", "programme"],
    "members": ["funding", "country", "equity_tie", "sme"],
    "panel": ["new_product_revenue", "standards", "personnel_exchange", "publications"],
    "tasks": ["field"],
}
# Columns that are legitimately empty in a clean world (meaningful blanks).
STRUCTURAL_BLANKS = {
    "consortia": ["dissolved_year"],
    "members": ["join_year", "exit_year", "chain_position"],
    "panel": [],
    "tasks": ["end_date"],
}
_PANEL_SAFE_COUNTS = [
    "collab_events",
    "personnel_exchange",
    "patents_filed",
    "patents_granted",
    "publications",
    "standards",
]


# --------------------------------------------------------------------------- truth


def default_truth() -> dict:
    """The default parameters: the review's claims (Yan 2025, 2.2 and 3.1.1).

    Every number the generator uses is here; ``simulate_world(truth=...)``
    deep-merges a partial dict of overrides onto it (unknown keys are an error).
    """
    return {
        "lead_type_shares": {
            "enterprise": 0.65,
            "university": 0.13,
            "research_institute": 0.10,
            "government": 0.09,
            "other": 0.03,
        },
        "founding": {
            "share_before_window": 0.40,  # founded 1..max_years_before_window before first_year
            "max_years_before_window": 2,  # keeps entry years inside the config's price index
            "dissolution_hazard": 0.03,  # per year alive in the window (geometric lifetime)
            "panel_gap_rate": 0.02,  # consortium-years missing at random (never the first)
        },
        "members": {
            "n_min": 3,
            "n_max": 20,
            # members = clip(n_min + Poisson(extra_mean[lead_type]), n_min, n_max)
            "extra_mean": {
                "enterprise": 5.0,
                "university": 4.0,
                "research_institute": 4.0,
                "government": 6.0,
                "other": 3.0,
            },
            # P(at least one university / research-institute member) for non-academic leads
            "p_academic_partner": {"enterprise": 0.70, "government": 0.85, "other": 0.60},
            # types of the other members, in consortia with / without an academic partner
            "type_probs_academic": {
                "enterprise": 0.60,
                "university": 0.15,
                "research_institute": 0.12,
                "government": 0.08,
                "other": 0.05,
            },
            "type_probs_non_academic": {"enterprise": 0.95, "government": 0.03, "other": 0.02},
            "p_founding": 0.75,  # else joins in a later year
            "p_join_year_blank": 0.60,  # founding members: join_year left empty
            "p_exit": 0.12,  # non-lead members leaving before the end
            "p_equity_tie": {
                "enterprise_in_enterprise_led": 0.45,
                "enterprise": 0.25,
                "university": 0.10,
                "research_institute": 0.15,
                "government": 0.05,
                "other": 0.05,
            },
            "p_foreign": {
                "enterprise": 0.03,
                "university": 0.05,
                "research_institute": 0.02,
                "government": 0.0,
                "other": 0.05,
            },
            "p_sme_enterprise": 0.45,
            # org pools: size = max(30, members of that type / mean_reuse); popularity ~ rank^-s
            "org_mean_reuse": {
                "enterprise": 1.3,
                "university": 6.0,
                "research_institute": 5.0,
                "government": 4.0,
                "other": 3.0,
            },
            "org_popularity_exponent": 0.8,
            # funding (real CNY, base-year prices) = scale * (0.05 + decision_weight) * LN(0, sd)
            "funding_scale_cny": 2.0e7,
            "funding_log_sd": 0.5,
        },
        "structure": {
            # lead decision weight ~ Beta(mean, concentration) by lead type
            "lead_decision_weight_mean": {
                "enterprise": 0.65,
                "university": 0.45,
                "research_institute": 0.45,
                "government": 0.40,
                "other": 0.35,
            },
            "lead_decision_weight_concentration": 25.0,
            "other_weights_dirichlet_alpha": 2.0,
            "weight_decimals": 4,
        },
        "conduct": {
            # E[industrial_task_share | w, g] = c_g + a_industrial * w,
            # c_g chosen so that the mean over lead type g is industrial_task_share_mean[g]
            "industrial_task_share_mean": {
                "enterprise": 0.85,
                "university": 0.55,
                "research_institute": 0.65,
                "government": 0.60,
                "other": 0.60,
            },
            "a_industrial_share_per_lead_weight": 0.30,
            # the paper's chain (Yan 2025, 2.2.2): member-type composition moves resource
            # allocation; per unit of type diversity (Blau), centred on its mean within the
            # lead type so that industrial_task_share_mean stays the mean of each lead type
            "a_industrial_share_per_type_diversity": 0.10,
            "industrial_share_concentration": 20.0,  # Beta concentration of the yearly share
            "tasks_total_base": 1.0,
            "tasks_total_per_member": 0.5,  # tasks = 1 + Pois(base + per*n)
            # E[collab_intensity | w, g] = k_g + a_collab * w (events per active member)
            "collab_intensity_mean": {
                "enterprise": 2.4,
                "university": 2.0,
                "research_institute": 2.0,
                "government": 1.6,
                "other": 1.5,
            },
            "a_collab_intensity_per_lead_weight": 2.0,
            # ... and the number of members moves collaboration frequency: events per
            # member per active member, centred on the mean within the lead type
            "a_collab_intensity_per_member": 0.06,
            "collab_gamma_shape": 10.0,  # yearly mean-one Gamma multiplier
            "personnel_exchange_per_member": 0.25,  # doubled with an academic partner
            "p_shared_platform": {
                "enterprise": 0.60,
                "university": 0.40,
                "research_institute": 0.45,
                "government": 0.40,
                "other": 0.30,
            },
            "shared_platform_adoption_p": 0.35,  # geometric delay after founding
        },
        "rd": {
            # real money in 10k CNY at base-year prices
            "subsidy_median": 600.0,
            "subsidy_growth": 0.03,
            "subsidy_firm_sd": 0.6,
            "subsidy_firm_corr_loading": 0.5,
            "subsidy_year_sd": 0.45,
            "rd_median": 4000.0,
            "rd_growth": 0.04,
            "rd_firm_sd": 0.8,
            "rd_year_sd": 0.20,
            "rd_size_elasticity": 0.5,  # on log(total members / 8)
            # within-consortium elasticity of R&D expenditure with respect to subsidy
            "subsidy_elasticity": {"traditional": 0.25, "high_tech": 0.35},
        },
        "performance": {
            "mediator_centres": {
                "industrial_task_share": 0.75,
                "collab_intensity": 2.0,
                "lead_decision_weight": 0.60,
            },
            "patents": {  # Poisson, log link, on the measured mediators
                "base": 6.0,
                "size_elasticity": 0.5,
                "rd_elasticity": 0.4,
                "b_industrial_share": 0.8,
                "b_collab_intensity": 0.12,
                "direct_lead_weight": 0.2,
                "random_effect_sd": 0.3,
                "grant_probability": 0.6,
            },
            "achievements": {"base": 3.5, "size_elasticity": 0.5, "rd_elasticity": 0.3},
            "transfer": {
                # calibrated targets: achievement-weighted population transfer rates
                "target_rate_enterprise_led": 0.68,
                "target_rate_other_led": 0.45,
                # rate with an academic member ÷ enterprise-only, among enterprise-led
                # consortium-years (the claim's reading: lead type held fixed)
                "target_academic_ratio_within_enterprise_led": 1.30,
                # fixed logit offsets of the non-enterprise lead types (relative to alpha_rest)
                "type_offsets": {
                    "university": -0.15,
                    "research_institute": 0.15,
                    "government": 0.0,
                    "other": -0.10,
                },
                "b_industrial_share": 1.5,  # log-odds per unit of industrial_task_share
                "b_collab_intensity": 0.15,  # log-odds per event per member
                "random_effect_sd": 0.4,  # consortium random effect on the logit
            },
            "new_product_revenue": {
                "median": 12000.0,
                "firm_sd": 0.5,
                "year_sd": 0.3,
                "rd_elasticity": 0.6,
                # semi-elasticity w.r.t. industrial_task_share: traditional benefit more
                "industrial_share_semi_elasticity": {"traditional": 1.2, "high_tech": 0.4},
            },
            "publications": {"base": 0.5, "per_academic_member": 1.5},
            "standards": {"base": 0.4, "enterprise_led_extra": 0.3},
        },
        "tasks": {
            "extra_per_consortium_mean": 2.0,  # tasks = 1 + Poisson(mean)
            # durations = scale × a draw of unit scale: Weibull(weibull_shape), or
            # exp(lognormal_sigma · N(0, 1)); either way an accelerated failure time model
            "distribution": "weibull",
            "weibull_shape": 1.6,
            "lognormal_sigma": 0.7,
            "university_scale_years": 2.6,  # Weibull scale of a traditional-industry university-led task
            "time_ratio": {
                "enterprise": 0.75,
                "university": 1.0,
                "research_institute": 0.9,
                "government": 1.2,
                "other": 1.1,
            },
            "high_tech_time_ratio": 1.15,
            "abandonment_rate_per_year": 0.06,
        },
        "money": {
            "base_year": 2020,
            "panel_unit": "10k CNY",
            "members_unit": "CNY",
            # China GDP deflator, 2020 = 100 (NBS, rounded): the study config's index
            "deflator_index": {
                "2014": 90.3,
                "2015": 90.3,
                "2016": 91.6,
                "2017": 95.5,
                "2018": 98.8,
                "2019": 100.1,
                "2020": 100.0,
                "2021": 104.5,
                "2022": 106.8,
                "2023": 106.3,
                "2024": 105.5,
            },
            "panel_decimals": 4,
        },
        # transfer intercepts are solved on a large stratified population drawn in chunks
        "calibration": {"n_consortia": 160000, "chunk_size": 20000, "seed": 20250101},
    }


def default_mess() -> dict:
    """Default mess rates: per table, injected rows as a share of the clean table's rows.

    Each kind with a positive rate injects ``max(1, round(rate * rows))`` rows
    (pairs for conflicting duplicates). ``simulate_world(mess={})`` gives a clean
    world; a non-empty dict lists exactly the kinds to inject.
    """
    return {
        "consortia": {"org_type_synonym": 0.05, "missing_optional": 0.03},
        "members": {
            "org_type_synonym": 0.04,
            "exact_duplicate": 0.01,
            "conflicting_duplicate": 0.005,
            "orphan": 0.003,
            "negative_value": 0.004,
            "decision_weight_out_of_range": 0.004,
            "end_before_start": 0.003,
            "missing_optional": 0.02,
        },
        "panel": {
            "exact_duplicate": 0.01,
            "conflicting_duplicate": 0.005,
            "orphan": 0.004,
            "year_outside_life": 0.004,
            "negative_value": 0.004,
            "transferred_exceeds_achievements": 0.005,
            "industrial_exceeds_total": 0.003,
            "outlier": 0.003,
            "missing_optional": 0.02,
        },
        "tasks": {"end_before_start": 0.01, "missing_optional": 0.02},
    }


_MESS_KINDS = {
    "consortia": {"org_type_synonym", "missing_optional"},
    "members": {
        "org_type_synonym",
        "exact_duplicate",
        "conflicting_duplicate",
        "orphan",
        "negative_value",
        "decision_weight_out_of_range",
        "end_before_start",
        "missing_optional",
    },
    "panel": {
        "exact_duplicate",
        "conflicting_duplicate",
        "orphan",
        "year_outside_life",
        "negative_value",
        "transferred_exceeds_achievements",
        "industrial_exceeds_total",
        "outlier",
        "missing_optional",
    },
    "tasks": {"end_before_start", "missing_optional"},
}
# kind -> (design.md quarantine rule, or a non-quarantine outcome)
_KIND_OUTCOME = {
    "org_type_synonym": ("fix", "org_type_synonym"),
    "exact_duplicate": ("collapsed", "duplicates_collapsed"),
    "conflicting_duplicate": ("quarantine", "conflicting_duplicate"),
    "orphan": ("quarantine", "unknown_consortium_key"),
    "negative_value": ("quarantine", "negative_value"),
    "transferred_exceeds_achievements": ("quarantine", "transferred_exceeds_achievements"),
    "industrial_exceeds_total": ("quarantine", "industrial_exceeds_total"),
    "decision_weight_out_of_range": ("quarantine", "decision_weight_out_of_range"),
    "end_before_start": ("quarantine", "end_before_start"),
    "year_outside_life": ("quarantine", "year_outside_life"),
    "missing_optional": ("none", "missing_optional"),
    "outlier": ("none", "outlier"),
}
# order of quarantine rules in docs/design.md (a row breaking several is filed under the first)
RULE_ORDER = [
    "missing_required",
    "type_mismatch",
    "unknown_org_type",
    "conflicting_duplicate",
    "unknown_consortium_key",
    "negative_value",
    "transferred_exceeds_achievements",
    "industrial_exceeds_total",
    "decision_weight_out_of_range",
    "end_before_start",
    "year_outside_life",
    "multiple_leads",
]


def _merge(base: dict, overrides: dict, path: str = "truth") -> dict:
    """Deep-merge ``overrides`` onto ``base``; unknown keys raise (nothing is silently ignored).

    ``money.deflator_index`` is replaced as a whole (a user's own index).
    """
    out = copy.deepcopy(base)
    for key, value in overrides.items():
        key = str(key)
        where = f"{path}.{key}"
        if key not in out:
            raise ValueError(f"unknown parameter {where} (known: {sorted(out)})")
        if where == "truth.money.deflator_index":
            out[key] = {str(int(k)): float(v) for k, v in value.items()}
        elif isinstance(out[key], dict):
            if not isinstance(value, dict):
                raise ValueError(f"{where} must be a mapping")
            out[key] = _merge(out[key], value, where)
        else:
            out[key] = value
    return out


def _normalise_mess(mess) -> dict:
    if mess is None:
        return default_mess()
    if mess is False or mess == {}:
        return {t: {} for t in TABLES}
    if not isinstance(mess, dict):
        raise TypeError("mess must be None (default rates), {} / False (clean) or a dict")
    out = {t: {} for t in TABLES}
    for table, kinds in mess.items():
        if table not in _MESS_KINDS:
            raise ValueError(f"unknown mess table {table!r} (known: {list(_MESS_KINDS)})")
        for kind, rate in (kinds or {}).items():
            if kind not in _MESS_KINDS[table]:
                raise ValueError(
                    f"unknown mess kind {table}.{kind} (known: {sorted(_MESS_KINDS[table])})"
                )
            if not 0 <= float(rate) < 0.5:
                raise ValueError(f"mess rate {table}.{kind}={rate} must be in [0, 0.5)")
            out[table][kind] = float(rate)
    return out


# --------------------------------------------------------------------------- world


@dataclass
class World:
    """A simulated dataset: clean tables, the raw (messy) tables as written, and the truth.

    ``consortia, members, panel, tasks`` are the tables before mess (contract
    columns, current prices, contract units); ``raw`` holds the same tables
    after mess, exactly as ``write_world`` writes them; ``truth`` is what
    ``truth.json`` holds; ``latent`` holds unobserved draws (real money,
    transfer probabilities, expected counts) for diagnostics.
    """

    consortia: pd.DataFrame
    members: pd.DataFrame
    panel: pd.DataFrame
    tasks: pd.DataFrame
    raw: dict[str, pd.DataFrame]
    truth: dict
    latent: dict[str, pd.DataFrame] = field(default_factory=dict)

    @property
    def clean(self) -> dict[str, pd.DataFrame]:
        return {
            "consortia": self.consortia,
            "members": self.members,
            "panel": self.panel,
            "tasks": self.tasks,
        }


def _streams(seed: int, n: int) -> list[np.random.Generator]:
    children = np.random.SeedSequence(int(seed)).spawn(n)
    return [np.random.Generator(np.random.PCG64(child)) for child in children]


def _by_type(mapping: dict, default: float = 0.0) -> np.ndarray:
    return np.array([float(mapping.get(t, default)) for t in ORG_TYPES])


def _price_factor(truth: dict, years: np.ndarray) -> tuple[np.ndarray, list[int]]:
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


def _draw_consortia(truth, n, first_year, last_year, rng, stratified: bool = False):
    """Consortium-level draws. ``stratified`` (calibration only) makes the discrete
    shares exact and the continuous consortium effects Latin-hypercube samples, which
    removes most of the Monte-Carlo noise of population averages."""
    shares = _by_type(truth["lead_type_shares"])
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
    m = _by_type(s["lead_decision_weight_mean"])[lead]
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
    adopts = rng.random(n) < _by_type(c["p_shared_platform"])[lead]
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


def _draw_members(truth, cons, rng, light: bool = False):
    """Members of each consortium. ``light`` (calibration) skips identities and attributes."""
    mt = truth["members"]
    n = cons["n"]
    lead = cons["lead"]
    n_tot = np.clip(
        mt["n_min"] + rng.poisson(_by_type(mt["extra_mean"])[lead]), mt["n_min"], mt["n_max"]
    )
    p_acad = _by_type(mt["p_academic_partner"])
    p_acad[_UNI] = p_acad[_RI] = 1.0
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
    probs_a = _by_type(mt["type_probs_academic"])
    probs_n = _by_type(mt["type_probs_non_academic"])
    draw_a = rng.choice(5, size=ci.size, p=probs_a / probs_a.sum())
    draw_n = rng.choice(5, size=ci.size, p=probs_n / probs_n.sum())
    forced_type = np.where(rng.random(ci.size) < 0.6, _UNI, _RI)
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
        size = max(30, math.ceil(sel.size / _by_type(mt["org_mean_reuse"])[t]))
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
        foreign = rng.random(size) < _by_type(mt["p_foreign"])[t]
        country = np.where(
            foreign,
            np.array(FOREIGN_COUNTRIES, dtype=object)[
                rng.integers(0, len(FOREIGN_COUNTRIES), size)
            ],
            "China",
        )
        if t == _ENT:
            chain = np.array(CHAIN, dtype=object)[rng.choice(3, size=size, p=[0.3, 0.4, 0.3])]
            sme = rng.random(size) < mt["p_sme_enterprise"]
        elif t == _UNI:
            chain, sme = np.full(size, "upstream", dtype=object), np.zeros(size, bool)
        elif t == _RI:
            chain = np.array(CHAIN, dtype=object)[rng.choice(2, size=size)]
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
    p_eq_type = _by_type(p_eq)
    p_equity = np.where(
        (mtype == _ENT) & (lead[ci] == _ENT), p_eq["enterprise_in_enterprise_led"], p_eq_type[mtype]
    )
    equity = rng.random(ci.size) < p_equity
    funding_real = (
        mt["funding_scale_cny"]
        * (0.05 + weight)
        * np.exp(rng.normal(0, mt["funding_log_sd"], ci.size))
    )
    factor, extrapolated = _price_factor(truth, join_eff)
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


def _draw_panel(truth, cons, mem, first_year, last_year, rng):
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
    n_acad = cy[:, _UNI] + cy[:, _RI]
    n_nonent = n_active - cy[:, _ENT]
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
    c_share = _by_type(c["industrial_task_share_mean"]) - a_s * _by_type(
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
    k_collab = _by_type(c["collab_intensity_mean"]) - a_c * _by_type(
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
    offsets = _by_type(tr["type_offsets"])
    offsets[_ENT] = 0.0
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
    is_e = pan["lead"] == _ENT
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


def _calibrate(truth: dict, n_years: int, first_year: int) -> dict:
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
        cons = _draw_consortia(truth, size, first_year, last_year, rng_c, stratified=True)
        mem = _draw_members(truth, cons, rng_m, light=True)
        pan = _draw_panel(truth, cons, mem, first_year, last_year, rng_p)
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
    is_e, acad = pan["lead"] == _ENT, pan["academic"].astype(float)
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


def _draw_performance(truth, cons, pan, calib, rng):
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
        theta, pan["lead"] == _ENT, pan["academic"].astype(float), _transfer_index(truth, cons, pan)
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
    standards = rng.poisson(st["base"] + st["enterprise_led_extra"] * (pan["lead"] == _ENT))
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


def _draw_tasks(truth, cons, first_year, last_year, rng):
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
        * _by_type(tk["time_ratio"])[lead]
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


# --------------------------------------------------------------------------- frames


def _frames(truth, cons, mem, pan, perf, first_year):
    types = np.array(ORG_TYPES, dtype=object)
    dissolved = pd.array(np.where(cons["dissolved"] > 0, cons["dissolved"], 0), dtype="Int64")
    dissolved[cons["dissolved"] <= 0] = pd.NA
    lead_idx = np.flatnonzero(mem["is_lead"])
    consortia = pd.DataFrame(
        {
            "consortium_id": cons["id"],
            "lead_type": types[cons["lead"]],
            "founded_year": cons["founded"].astype(np.int64),
            "name": cons["name"],
            "industry": cons["industry"],
            "high_tech": cons["high_tech"].astype(bool),
            "region": cons["region"],
            "dissolved_year": dissolved,
            "lead_org_id": mem["member_id"][lead_idx],
            "programme": cons["programme"],
        }
    )
    ci = mem["ci"]
    join = pd.array(mem["join"], dtype="Int64")
    join[mem["join"] < 0] = pd.NA
    exit_ = pd.array(mem["exit"], dtype="Int64")
    exit_[mem["exit"] < 0] = pd.NA
    members = pd.DataFrame(
        {
            "consortium_id": cons["id"][ci],
            "member_id": mem["member_id"],
            "member_type": types[mem["type"]],
            "is_lead": mem["is_lead"],
            "decision_weight": mem["weight"],
            "equity_tie": mem["equity"],
            "funding": mem["funding"],
            "join_year": join,
            "exit_year": exit_,
            "chain_position": mem["chain"],
            "country": mem["country"],
            "sme": mem["sme"],
        }
    )
    dec = int(truth["money"]["panel_decimals"])
    factor, extrapolated = _price_factor(truth, pan["year"])
    rd_real, sub_real, npr_real = (
        np.exp(pan["log_rd"]),
        np.exp(pan["log_sub"]),
        np.exp(perf["log_npr"]),
    )
    panel = pd.DataFrame(
        {
            "consortium_id": cons["id"][pan["pi"]],
            "year": pan["year"].astype(np.int64),
            "rd_expenditure": np.round(rd_real * factor, dec),
            "subsidy": np.round(sub_real * factor, dec),
            "collab_events": pan["collab_events"],
            "personnel_exchange": pan["personnel"],
            "tasks_total": pan["tasks_total"],
            "tasks_industrial": pan["tasks_industrial"],
            "shared_platform": pan["platform"].astype(bool),
            "patents_filed": perf["patents_filed"],
            "patents_granted": perf["patents_granted"],
            "publications": perf["publications"],
            "achievements": perf["achievements"],
            "achievements_transferred": perf["achievements_transferred"],
            "new_product_revenue": np.round(npr_real * factor, dec),
            "standards": perf["standards"],
        }
    )
    for col in [
        "collab_events",
        "personnel_exchange",
        "tasks_total",
        "tasks_industrial",
        "patents_filed",
        "patents_granted",
        "publications",
        "achievements",
        "achievements_transferred",
        "standards",
    ]:
        panel[col] = panel[col].astype(np.int64)
    latent_panel = pd.DataFrame(
        {
            "consortium_id": panel["consortium_id"],
            "year": panel["year"],
            "lead_type": types[pan["lead"]],
            "high_tech": pan["high_tech"],
            "n_active": pan["n_active"],
            "academic_partner": pan["academic"],
            "enterprise_only": pan["enterprise_only"],
            "lead_decision_weight": pan["w_lead"],
            "industrial_share_mean": pan["mean_share"],
            "industrial_task_share": pan["share"],
            "collab_intensity": pan["collab_intensity"],
            "rd_real": rd_real,
            "subsidy_real": sub_real,
            "new_product_revenue_real": npr_real,
            "price_factor": factor,
            "p_transfer": perf["p_transfer"],
            "mu_achievements": perf["mu_achievements"],
            "mu_patents": perf["mu_patents"],
        }
    )
    latent_cons = pd.DataFrame(
        {
            "consortium_id": cons["id"],
            "u_transfer": cons["u_transfer"],
            "v_patent": truth["performance"]["patents"]["random_effect_sd"] * cons["v_z"],
            "phi_rd": cons["phi"],
            "psi_subsidy": cons["psi"],
            "zeta_npr": truth["performance"]["new_product_revenue"]["firm_sd"] * cons["zeta_z"],
            "academic_partner": mem["academic"],
            "n_members": mem["n_total"],
        }
    )
    return (
        consortia,
        members,
        panel,
        {"consortia": latent_cons, "panel": latent_panel},
        sorted(set(extrapolated) | set(mem["extrapolated_years"])),
    )


# --------------------------------------------------------------------------- mess


class _Messer:
    """Injects mess into one table; every original row is touched by at most one kind.

    Cell writes are buffered per column and applied in one step by ``finish``
    (per-cell pandas writes made simulating 100k consortia take minutes). This
    is exact because a row is only ever read (``row``, ``value``) before mess
    touches it; a column's dtype still changes at the write that needs it.
    """

    def __init__(self, table: str, df: pd.DataFrame, rng: np.random.Generator):
        self.table = table
        self.df = df.reset_index(drop=True).copy()
        self.rng = rng
        self.n0 = len(self.df)
        self.used = np.zeros(self.n0, dtype=bool)
        self.order = np.arange(self.n0, dtype=float)
        self.tags: dict[int, list[tuple[str, str, str | None]]] = {}
        self.added: list[tuple[float, dict, list]] = []
        self.pending: dict[str, list[tuple[int, object]]] = {}
        self._cells: dict[str, np.ndarray] = {}
        self._dtypes = dict(self.df.dtypes)

    def count(self, rate: float) -> int:
        return 0 if rate <= 0 else max(1, round(rate * self.n0))

    def pick(self, k: int, eligible=None) -> np.ndarray:
        mask = ~self.used if eligible is None else (np.asarray(eligible, dtype=bool) & ~self.used)
        cand = np.flatnonzero(mask)
        k = min(k, cand.size)
        if k == 0:
            return np.array([], dtype=int)
        chosen = np.sort(self.rng.choice(cand, size=k, replace=False))
        self.used[chosen] = True
        return chosen

    def tag(self, i: int, kind: str, column: str | None = None):
        self.tags.setdefault(int(i), []).append((kind, _KIND_OUTCOME[kind][1], column))

    def _retype(self, column: str, dtype) -> None:
        self.df[column] = self.df[column].astype(dtype)
        self._dtypes[column] = self.df[column].dtype
        self._cells.pop(column, None)

    def set(self, i: int, column: str, value):
        dtype = self._dtypes[column]
        if value is None or (isinstance(value, float) and np.isnan(value)):
            if dtype == np.int64:
                self._retype(column, "Int64")
            elif dtype == bool:
                self._retype(column, object)
            value = None if self._dtypes[column] == object else pd.NA
        elif dtype == bool or (dtype == np.int64 and isinstance(value, float)):
            self._retype(column, object if dtype == bool else float)
        self.pending.setdefault(column, []).append((int(i), value))

    def _apply_pending(self) -> None:
        for column, writes in self.pending.items():
            rows = np.array([i for i, _ in writes], dtype=np.intp)
            values = [v for _, v in writes]
            current = self.df[column]
            if isinstance(current.dtype, pd.api.extensions.ExtensionDtype):
                cells = current.array.copy()
                cells[rows] = values
            else:
                cells = current.to_numpy(copy=True)
                if cells.dtype.kind == "f":
                    values = [np.nan if v is pd.NA else v for v in values]
                boxed = np.empty(len(values), dtype=object)
                boxed[:] = values
                cells[rows] = boxed if cells.dtype == object else boxed.astype(cells.dtype)
            self.df[column] = pd.Series(cells, index=current.index, name=column)
        self.pending = {}
        self._cells = {}

    def _column_cells(self, column: str) -> np.ndarray:
        if column not in self._cells:
            self._cells[column] = self.df[column].to_numpy(dtype=object)
        return self._cells[column]

    def value(self, i: int, column: str):
        """Cell (i, column) of a row mess has not touched yet, boxed as ``row`` boxes it."""
        return maybe_box_native(self._column_cells(column)[i])

    def row(self, i: int) -> dict:
        """Row i as ``DataFrame.iloc[i].to_dict()`` gives it (Python scalars, NA kept)."""
        return {column: self.value(i, column) for column in self.df.columns}

    def add(
        self,
        source: int,
        row: dict,
        kind: str,
        column: str | None = None,
        order: float | None = None,
    ):
        pos = source + 0.5 + 1e-3 * len(self.added) if order is None else order
        self.added.append((pos, row, [(kind, _KIND_OUTCOME[kind][1], column)]))

    def finish(self) -> tuple[pd.DataFrame, list[dict]]:
        self._apply_pending()
        frames = [self.df]
        orders = [self.order]
        if self.added:
            extra = pd.DataFrame([r for _, r, _ in self.added], columns=self.df.columns)
            for col in self.df.columns:  # keep the original dtypes where possible
                try:
                    extra[col] = extra[col].astype(self.df[col].dtype)
                except (TypeError, ValueError):
                    pass
            frames.append(extra)
            orders.append(np.array([o for o, _, _ in self.added], dtype=float))
        out = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
        sorted_rows = np.argsort(np.concatenate(orders), kind="stable")
        out = out.iloc[sorted_rows].reset_index(drop=True)
        position = np.empty(len(out), dtype=np.int64)
        position[sorted_rows] = np.arange(len(out))
        tagged = [(int(position[i]), tags) for i, tags in self.tags.items()]
        tagged += [(int(position[self.n0 + k]), t) for k, (_, _, t) in enumerate(self.added)]
        log = []
        for pos, tags in sorted(tagged, key=lambda item: item[0]):
            for kind, outcome, column in tags:
                log.append(
                    {"source_row": pos + 1, "kind": kind, "outcome": outcome, "column": column}
                )
        return out, log


def _synonym(messer, rng, column, k):
    rows = messer.pick(k)
    labels = {}
    for i in rows:
        options = SYNONYM_LABELS[messer.value(i, column)]
        label, _kind = options[int(rng.integers(0, len(options)))]
        messer.set(i, column, label)
        messer.tag(i, "org_type_synonym", column)
        labels[label] = labels.get(label, 0) + 1
    return labels


def _blank(messer, rng, k, eligible=None):
    columns = MISSING_OPTIONAL[messer.table]
    for i in messer.pick(k, eligible):
        col = columns[int(rng.integers(0, len(columns)))]
        messer.set(i, col, None)
        messer.tag(i, "missing_optional", col)


def _inject_mess(
    clean: dict,
    spec: dict,
    rng: np.random.Generator,
    first_year: int,
    last_year: int,
    n_consortia: int,
):
    raw, logs, labels = {}, {}, {}
    width = max(4, len(str(n_consortia)))
    orphan_ids = iter(f"C{n_consortia + j + 1:0{width}d}" for j in range(10**6))

    # consortia: labels and blanks only (no quarantine, so nothing cascades)
    s = spec["consortia"]
    m = _Messer("consortia", clean["consortia"], rng)
    labels["consortia"] = _synonym(m, rng, "lead_type", m.count(s.get("org_type_synonym", 0)))
    _blank(m, rng, m.count(s.get("missing_optional", 0)))
    raw["consortia"], logs["consortia"] = m.finish()
    cons = clean["consortia"].set_index("consortium_id")

    # members: the lead rows never get a quarantine-type mess (no lead cascades)
    s = spec["members"]
    m = _Messer("members", clean["members"], rng)
    df = m.df
    nonlead = ~df["is_lead"].to_numpy()
    for i in m.pick(m.count(s.get("exact_duplicate", 0)), nonlead):
        m.add(i, m.row(i), "exact_duplicate")
    for i in m.pick(m.count(s.get("conflicting_duplicate", 0)), nonlead):
        row = m.row(i)
        row["funding"] = round(row["funding"] * rng.uniform(1.05, 1.5))
        m.tag(i, "conflicting_duplicate", "funding")
        m.add(i, row, "conflicting_duplicate", "funding")
    for i in m.pick(m.count(s.get("orphan", 0)), nonlead):
        row = m.row(i)
        row["consortium_id"] = next(orphan_ids)
        m.add(i, row, "orphan", "consortium_id", order=m.n0 + 1e-3 * len(m.added))
    for i in m.pick(m.count(s.get("negative_value", 0)), nonlead & (df["funding"] > 0).to_numpy()):
        m.set(i, "funding", -int(m.value(i, "funding")))
        m.tag(i, "negative_value", "funding")
    ok_w = nonlead & (df["decision_weight"] >= 0.02).to_numpy()
    for i in m.pick(m.count(s.get("decision_weight_out_of_range", 0)), ok_w):
        m.set(i, "decision_weight", round(float(m.value(i, "decision_weight")) * 100, 2))
        m.tag(i, "decision_weight_out_of_range", "decision_weight")
    has_join = nonlead & df["join_year"].notna().to_numpy()
    for i in m.pick(m.count(s.get("end_before_start", 0)), has_join):
        m.set(i, "exit_year", int(m.value(i, "join_year")) - int(rng.integers(1, 3)))
        m.tag(i, "end_before_start", "exit_year")
    labels["members"] = _synonym(m, rng, "member_type", m.count(s.get("org_type_synonym", 0)))
    _blank(m, rng, m.count(s.get("missing_optional", 0)), nonlead)
    raw["members"], logs["members"] = m.finish()

    # panel
    s = spec["panel"]
    m = _Messer("panel", clean["panel"], rng)
    df = m.df
    for i in m.pick(m.count(s.get("exact_duplicate", 0))):
        m.add(i, m.row(i), "exact_duplicate")
    for i in m.pick(m.count(s.get("conflicting_duplicate", 0))):
        row = m.row(i)
        col = ["rd_expenditure", "collab_events", "patents_filed", "publications"][
            int(rng.integers(0, 4))
        ]
        if col == "rd_expenditure":
            row[col] = round(float(row[col]) * rng.uniform(1.05, 1.3), 4)
        else:
            row[col] = int(row[col]) + int(rng.integers(1, 4))
        m.tag(i, "conflicting_duplicate", col)
        m.add(i, row, "conflicting_duplicate", col)
    for i in m.pick(m.count(s.get("orphan", 0))):
        row = m.row(i)
        row["consortium_id"] = next(orphan_ids)
        m.add(i, row, "orphan", "consortium_id", order=m.n0 + 1e-3 * len(m.added))
    # a year outside the consortium's life, inside the panel window (copy of its nearest row)
    founded = df["consortium_id"].map(cons["founded_year"]).to_numpy()
    dissolved = (
        df["consortium_id"]
        .map(cons["dissolved_year"])
        .astype("Float64")
        .fillna(10**6)
        .to_numpy(dtype=float)
    )
    first_row = ~df["consortium_id"].duplicated().to_numpy()
    last_row = ~df["consortium_id"].duplicated(keep="last").to_numpy()
    before_ok = first_row & (df["year"].to_numpy() == founded) & (founded > first_year)
    after_ok = last_row & (df["year"].to_numpy() == dissolved) & (dissolved < last_year)
    for i in m.pick(m.count(s.get("year_outside_life", 0)), before_ok | after_ok):
        row = m.row(i)
        row["year"] = int(row["year"]) + (-1 if before_ok[i] else 1)
        m.add(i, row, "year_outside_life", "year", order=i + (-0.5 if before_ok[i] else 0.5))
    for i in m.pick(m.count(s.get("negative_value", 0))):
        col = _PANEL_SAFE_COUNTS[int(rng.integers(0, len(_PANEL_SAFE_COUNTS)))]
        m.set(i, col, -max(int(m.value(i, col)), 1))
        m.tag(i, "negative_value", col)
    for i in m.pick(m.count(s.get("transferred_exceeds_achievements", 0))):
        m.set(
            i, "achievements_transferred", int(m.value(i, "achievements")) + int(rng.integers(1, 4))
        )
        m.tag(i, "transferred_exceeds_achievements", "achievements_transferred")
    for i in m.pick(m.count(s.get("industrial_exceeds_total", 0))):
        m.set(i, "tasks_industrial", int(m.value(i, "tasks_total")) + int(rng.integers(1, 3)))
        m.tag(i, "industrial_exceeds_total", "tasks_industrial")
    for i in m.pick(m.count(s.get("outlier", 0))):
        m.set(
            i, "rd_expenditure", round(float(m.value(i, "rd_expenditure")) * rng.uniform(20, 60), 4)
        )
        m.tag(i, "outlier", "rd_expenditure")
    _blank(m, rng, m.count(s.get("missing_optional", 0)))
    raw["panel"], logs["panel"] = m.finish()

    # tasks
    s = spec["tasks"]
    m = _Messer("tasks", clean["tasks"], rng)
    df = m.df
    for i in m.pick(m.count(s.get("end_before_start", 0)), df["end_date"].notna().to_numpy()):
        start, end = m.value(i, "start_date"), m.value(i, "end_date")
        m.set(i, "start_date", end)
        m.set(i, "end_date", start)
        m.tag(i, "end_before_start", "end_date")
    _blank(m, rng, m.count(s.get("missing_optional", 0)))
    raw["tasks"], logs["tasks"] = m.finish()
    return raw, logs, labels


def _mess_summary(clean, raw, logs, labels, spec) -> dict:
    tables = {}
    for t in TABLES:
        q, fixes, missing, outliers = {}, {}, {}, {}
        collapsed = 0
        for entry in logs[t]:
            kind, outcome = entry["kind"], _KIND_OUTCOME[entry["kind"]][0]
            if outcome == "quarantine":
                q[entry["outcome"]] = q.get(entry["outcome"], 0) + 1
            elif outcome == "collapsed":
                collapsed += 1
            elif outcome == "fix":
                fixes[entry["outcome"]] = fixes.get(entry["outcome"], 0) + 1
            elif kind == "missing_optional":
                missing[entry["column"]] = missing.get(entry["column"], 0) + 1
            elif kind == "outlier":
                outliers[entry["column"]] = outliers.get(entry["column"], 0) + 1
        q = {rule: q[rule] for rule in RULE_ORDER if rule in q}
        read, nq = len(raw[t]), sum(q.values())
        tables[t] = {
            "rows_clean": len(clean[t]),
            "rows_read": read,
            "rows_kept": read - nq - collapsed,
            "rows_quarantined": nq,
            "duplicates_collapsed": collapsed,
            "quarantined_by_rule": q,
            "fixes": fixes,
            "synonym_labels": dict(sorted(labels.get(t, {}).items())),
            "missing_optional": dict(sorted(missing.items())),
            "outliers": dict(sorted(outliers.items())),
        }
        if t in ("members", "panel"):
            tables[t]["conflicting_duplicate_pairs"] = q.get("conflicting_duplicate", 0) // 2
    by_rule = {}
    for t in TABLES:
        for rule, k in tables[t]["quarantined_by_rule"].items():
            by_rule.setdefault(rule, {})[t] = k
    return {
        "spec": spec,
        "definitions": {
            "rows_read": "data rows in the written file (header excluded)",
            "quarantined_by_rule": "rows cleaning must set aside, by docs/design.md rule id; "
            "every injected row breaks exactly one rule, and no clean "
            "row breaks any; conflicting_duplicate counts every copy "
            "(2 rows per pair)",
            "duplicates_collapsed": "exact copies of a row, beyond the first",
            "fixes.org_type_synonym": "rows whose lead_type/member_type is a vocabulary "
            "synonym, a Chinese label, or differs from the "
            "canonical word only by case/spaces (none is byte-"
            "identical to the canonical word)",
            "missing_optional": "cells blanked in optional columns that are never empty in "
            "the clean world (not errors)",
            "outliers": "legitimate extreme values (rd_expenditure x 20-60), not errors",
            "rows_kept": "rows_read - rows_quarantined - duplicates_collapsed",
            "rows.source_row": "1-based data row in the written file, header excluded",
        },
        "tables": tables,
        "quarantined_by_rule": by_rule,
        "rows": logs,
    }


# --------------------------------------------------------------------------- public API


def _round_floats(obj, digits=8):
    if obj is None or type(obj) in (str, int, bool):  # most of the mess log: nothing to round
        return obj
    if isinstance(obj, float):
        return float(f"{obj:.{digits}g}")
    if isinstance(obj, dict):
        return {k: _round_floats(v, digits) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_round_floats(v, digits) for v in obj]
    if isinstance(obj, (np.floating,)):
        return float(f"{float(obj):.{digits}g}")
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, np.bool_):
        return bool(obj)
    return obj


def _derived(truth: dict, calib: dict) -> dict:
    c = truth["conduct"]
    pf = truth["performance"]
    wm = truth["structure"]["lead_decision_weight_mean"]
    a_s = c["a_industrial_share_per_lead_weight"]
    a_c = c["a_collab_intensity_per_lead_weight"]
    pt, tr = pf["patents"], pf["transfer"]
    return {
        "industrial_share_intercept": {
            t: c["industrial_task_share_mean"][t] - a_s * wm[t] for t in ORG_TYPES
        },
        "collab_intensity_intercept": {
            t: c["collab_intensity_mean"][t] - a_c * wm[t] for t in ORG_TYPES
        },
        "scp_chain_of_the_paper": {
            "members_to_collaboration": {
                "a": c["a_collab_intensity_per_member"],
                "units": "collab_intensity (events per active member) per active member, "
                "centred within lead type",
                "b_patents": pt["b_collab_intensity"],
            },
            "type_diversity_to_task_allocation": {
                "a": c["a_industrial_share_per_type_diversity"],
                "units": "industrial_task_share per unit of type diversity (Blau), centred "
                "within lead type",
                "b_transfer": tr["b_industrial_share"],
            },
        },
        "scp_paths": {
            "structure": "lead_decision_weight (decision_weight of the lead member, 0-1)",
            "conduct": [
                "industrial_task_share (tasks_industrial / tasks_total)",
                "collab_intensity (collab_events / n_members active)",
            ],
            "a": {
                "industrial_task_share": a_s,
                "collab_intensity": a_c,
                "units": "change in E[mediator | lead weight, lead type] per unit of "
                "lead_decision_weight (linear, exact)",
            },
            "b_patents": {
                "industrial_task_share": pt["b_industrial_share"],
                "collab_intensity": pt["b_collab_intensity"],
                "units": "log E[patents_filed] per unit of the measured mediator "
                "(Poisson log link, holding lead weight, log R&D, "
                "log active members fixed)",
            },
            "direct_patents": pt["direct_lead_weight"],
            "indirect_patents": a_s * pt["b_industrial_share"] + a_c * pt["b_collab_intensity"],
            "indirect_patents_units": "log points of E[patents_filed] per unit of "
            "lead_decision_weight (product of coefficients)",
            "b_transfer": {
                "industrial_task_share": tr["b_industrial_share"],
                "collab_intensity": tr["b_collab_intensity"],
                "units": "log-odds of transfer per unit of the measured mediator "
                "(logit with a consortium random effect)",
            },
            "direct_transfer": 0.0,
            "indirect_transfer": a_s * tr["b_industrial_share"] + a_c * tr["b_collab_intensity"],
            "indirect_transfer_units": "log-odds of a transfer per unit of "
            "lead_decision_weight (product of coefficients)",
        },
        "transfer_calibration": calib,
    }


def _estimands(truth: dict, calib: dict) -> dict:
    tr = truth["performance"]["transfer"]
    tk = truth["tasks"]
    r = truth["rd"]
    shares = truth["lead_type_shares"]
    return {
        "transfer_rate_enterprise_led": {
            "value": tr["target_rate_enterprise_led"],
            "mc_se": calib["mc_se"]["enterprise_led"],
            "definition": "population achievement-weighted transfer rate over enterprise-led "
            "consortium-years in the window: E[achievements_transferred] / "
            "E[achievements] (= sum of transferred / sum of achievements in an "
            "infinite world); not the mean of per-year ratios",
        },
        "transfer_rate_other_led": {
            "value": tr["target_rate_other_led"],
            "mc_se": calib["mc_se"]["other_led"],
            "definition": "the same, over consortium-years led by university, "
            "research_institute, government or other",
        },
        "academic_partner_transfer_ratio": {
            "value": tr["target_academic_ratio_within_enterprise_led"],
            "mc_se": calib["academic_ratio_mc_se"],
            "definition": "among enterprise-led consortium-years: achievement-weighted "
            "transfer rate of those with at least one active university/research-institute "
            "member divided by that of those whose active members are all enterprises "
            "(lead type held fixed)",
            "rates": {
                "academic_enterprise_led": calib["rates"]["academic_enterprise_led"],
                "enterprise_only": calib["rates"]["enterprise_only"],
            },
        },
        "academic_partner_transfer_ratio_pooled": {
            "value": calib["academic_ratio_pooled"],
            "mc_se": calib["academic_ratio_pooled_mc_se"],
            "definition": "the same ratio over every consortium-year with an academic "
            "member, whatever its lead type (lead type not held fixed)",
        },
        "enterprise_lead_share": {
            "value": shares["enterprise"],
            "definition": "P(lead_type = enterprise) per consortium (row of consortia)",
        },
        "breakthrough_time_ratio_enterprise_vs_university": {
            "value": tk["time_ratio"]["enterprise"] / tk["time_ratio"]["university"],
            "definition": "Weibull AFT time ratio exp(beta_enterprise - beta_university) of "
            "task durations to achievement (every quantile of an enterprise-led "
            "task's duration is this multiple of a university-led one, same "
            "industry); abandoned and ongoing tasks are censored",
        },
        "lead_decision_weight_mean": {
            "value": truth["structure"]["lead_decision_weight_mean"],
            "definition": "E[decision_weight of the lead member] by lead type",
        },
        "industrial_task_share_mean": {
            "value": truth["conduct"]["industrial_task_share_mean"],
            "definition": "E[tasks_industrial / tasks_total] over consortium-years, by lead type",
        },
        "subsidy_elasticity_rd": {
            "value": r["subsidy_elasticity"],
            "mean": (r["subsidy_elasticity"]["traditional"] + r["subsidy_elasticity"]["high_tech"])
            / 2,
            "definition": "d log real rd_expenditure / d log real subsidy within a consortium "
            "(two-way fixed effects), traditional vs high-tech industries; the "
            "mean weights them equally (half the industries are high-tech)",
        },
        "industrial_share_semi_elasticity_new_product_revenue": {
            "value": truth["performance"]["new_product_revenue"][
                "industrial_share_semi_elasticity"
            ],
            "definition": "d log real new_product_revenue / d industrial_task_share "
            "(traditional industries benefit more)",
        },
    }


def _claims(truth: dict) -> list[dict]:
    tr = truth["performance"]["transfer"]
    return [
        {
            "id": "enterprise_led_share",
            "source": "Yan 2025, 2.2.3(4), citing Zhang Yufei",
            "quote": "the enterprise-led model accounted for the highest proportion "
            "(approximately 65 percent)",
            "estimand": "enterprise_lead_share",
            "claimed": 0.65,
            "true_in_dgp": truth["lead_type_shares"]["enterprise"],
        },
        {
            "id": "transfer_rate_enterprise_led",
            "source": "Yan 2025, 3.1.1",
            "quote": "enterprise-led innovation consortia achieve a technology transfer rate of "
            "68 percent, far exceeding the industry average of 45 percent",
            "estimand": "transfer_rate_enterprise_led",
            "claimed": 0.68,
            "true_in_dgp": tr["target_rate_enterprise_led"],
        },
        {
            "id": "transfer_rate_other_led",
            "source": "Yan 2025, 3.1.1",
            "quote": "industry average of 45 percent (read here as: non-enterprise-led)",
            "estimand": "transfer_rate_other_led",
            "claimed": 0.45,
            "true_in_dgp": tr["target_rate_other_led"],
        },
        {
            "id": "breakthrough_25pct_faster",
            "source": "Yan 2025, 2.2.1, citing Meng Xinyu et al.",
            "quote": "enterprise-led consortia complete technological breakthrough cycles 25 "
            "percent faster than university-led ones",
            "estimand": "breakthrough_time_ratio_enterprise_vs_university",
            "claimed": 0.75,
            "true_in_dgp": truth["tasks"]["time_ratio"]["enterprise"]
            / truth["tasks"]["time_ratio"]["university"],
        },
        {
            "id": "lead_decision_weight_over_60",
            "source": "Yan 2025, 2.2.2, citing Bai Jinyu",
            "quote": "leading enterprises holding over 60 percent of decision-making weight",
            "estimand": "lead_decision_weight_mean",
            "claimed": "> 0.60",
            "true_in_dgp": truth["structure"]["lead_decision_weight_mean"]["enterprise"],
        },
        {
            "id": "industrial_tasks_over_80",
            "source": "Yan 2025, 2.2.2, citing Bai Jinyu",
            "quote": "over 80 percent of R&D tasks made to cope with industrial demand",
            "estimand": "industrial_task_share_mean",
            "claimed": "> 0.80",
            "true_in_dgp": truth["conduct"]["industrial_task_share_mean"]["enterprise"],
        },
        {
            "id": "scp_chain",
            "source": "Yan 2025, 2.2.2, citing Bian Weijun",
            "quote": "structural characteristics ... directly influence behavioral patterns ..., "
            "which in turn determine innovation performance",
            "estimand": "derived.scp_paths",
            "claimed": "positive indirect effect",
            "true_in_dgp": "see derived.scp_paths",
        },
        {
            "id": "academic_partner_transfer",
            "source": "brief (stylised, not in the review)",
            "quote": "consortia with a university/research-institute member transfer about 1.3x "
            "as much as enterprise-only consortia",
            "estimand": "academic_partner_transfer_ratio",
            "claimed": 1.30,
            "true_in_dgp": tr["target_academic_ratio_within_enterprise_led"],
        },
        {
            "id": "subsidy_rd",
            "source": "Yan 2025, 2.2.3(3) and (2), citing Zhou Yan; Li Chuncheng",
            "quote": "government R&D subsidies can increase corporate innovation investment; "
            "high-tech industries require strong government guidance plus high resource "
            "investment, traditional industries strong market-driven forces",
            "estimand": "subsidy_elasticity_rd",
            "claimed": "about 0.3, larger in high-tech",
            "true_in_dgp": truth["rd"]["subsidy_elasticity"],
        },
    ]


def simulate_world(
    n_consortia: int = 300,
    n_years: int = 8,
    first_year: int = 2016,
    seed: int = 20251220,
    truth: dict | None = None,
    mess: dict | None = None,
) -> World:
    """Draw a world of ``n_consortia`` consortia observed over ``n_years`` years.

    ``truth``: partial overrides of ``default_truth()`` (deep-merged; unknown keys
    raise). ``mess``: ``None`` = ``default_mess()``; ``{}`` or ``False`` = a clean
    world; otherwise a dict ``{table: {kind: rate}}`` listing exactly the kinds
    to inject. Returns a ``World``; nothing is written.
    """
    if n_consortia < 1 or n_years < 1:
        raise ValueError("n_consortia and n_years must be positive")
    full = _merge(default_truth(), truth or {})
    spec = _normalise_mess(mess)
    last_year = first_year + n_years - 1
    calib = _calibrate(full, n_years, first_year)
    rng_c, rng_m, rng_p, rng_o, rng_t, rng_x = _streams(seed, 6)
    cons = _draw_consortia(full, n_consortia, first_year, last_year, rng_c)
    mem = _draw_members(full, cons, rng_m)
    pan = _draw_panel(full, cons, mem, first_year, last_year, rng_p)
    perf = _draw_performance(full, cons, pan, calib, rng_o)
    consortia, members, panel, latent, extrapolated = _frames(
        full, cons, mem, pan, perf, first_year
    )
    tasks, latent_tasks = _draw_tasks(full, cons, first_year, last_year, rng_t)
    latent["tasks"] = latent_tasks
    clean = {"consortia": consortia, "members": members, "panel": panel, "tasks": tasks}
    raw, logs, labels = _inject_mess(clean, spec, rng_x, first_year, last_year, n_consortia)
    max_task_date = max(tasks["start_date"].max(), tasks["end_date"].dropna().max())
    truth_out = {
        "simulator": {
            "module": "consortia.simulate",
            "version": 1,
            "seed": int(seed),
            "n_consortia": int(n_consortia),
            "n_years": int(n_years),
            "first_year": int(first_year),
            "last_year": int(last_year),
            "cutoff_date": f"{last_year}-12-31",
            "latest_date_in_tasks": max_task_date,
            "censoring_note": "ongoing tasks are right-censored at cutoff_date; a config "
            "censoring_date of null uses latest_date_in_tasks instead "
            "(a few days earlier)",
            "money": "panel money in 10k CNY at current prices; members.funding in CNY at "
            "current prices of the member's entry year (join_year, or founded_year "
            "when join_year is empty); nominal = real * index[year] / index[base_year]",
            "extrapolated_index_years": extrapolated,
            "rows": {t: len(clean[t]) for t in TABLES},
        },
        "estimands": _estimands(full, calib),
        "claims": _claims(full),
        "parameters": full,
        "derived": _derived(full, calib),
        "mess": _mess_summary(clean, raw, logs, labels, spec),
    }
    truth_out = _round_floats(truth_out)
    return World(
        consortia=consortia,
        members=members,
        panel=panel,
        tasks=tasks,
        raw=raw,
        truth=truth_out,
        latent=latent,
    )


def write_world(world: World, out_dir, fmt: str = "csv") -> dict[str, Path]:
    """Write the raw tables (contract column names) and ``truth.json`` into ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {}
    for table in TABLES:
        df = world.raw[table]
        if fmt == "csv":
            path = out / f"{table}.csv"
            df.to_csv(path, index=False, lineterminator="\n", encoding="utf-8")
        elif fmt == "parquet":
            path = out / f"{table}.parquet"
            _parquet_ready(df).to_parquet(path, index=False)
        elif fmt == "xlsx":
            path = out / f"{table}.xlsx"
            df.to_excel(path, index=False, sheet_name=table)
        else:
            raise ValueError(f"unknown format {fmt!r}: use csv, parquet or xlsx")
        for other in ("csv", "parquet", "xlsx"):
            stale = out / f"{table}.{other}"
            if other != fmt and stale.exists():
                stale.unlink()  # one file per table, or discovery would be ambiguous
        paths[table] = path
    truth_path = out / "truth.json"
    truth_path.write_text(
        json.dumps(world.truth, indent=1, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    paths["truth"] = truth_path
    return paths


def _parquet_ready(df: pd.DataFrame) -> pd.DataFrame:
    out = df.copy()
    for col in out.columns:
        if out[col].dtype == object:
            kinds = {type(v) for v in out[col] if v is not None and not pd.isna(v)}
            if kinds <= {bool, np.bool_}:
                out[col] = out[col].astype("boolean")
            elif len(kinds) > 1:
                out[col] = out[col].astype("string")
    return out


def simulate_to_folder(
    out_dir,
    n_consortia: int = 300,
    n_years: int = 8,
    seed: int = 20251220,
    truth_overrides: dict | None = None,
    fmt: str = "csv",
    first_year: int = 2016,
    mess=None,
) -> World:
    """``consortia simulate``: draw a world and write it; returns the ``World``.

    ``truth_overrides`` may carry a ``mess`` entry (same form as
    ``simulate_world(mess=...)``) besides parameter overrides.
    """
    overrides = copy.deepcopy(truth_overrides) if truth_overrides else {}
    if "mess" in overrides:
        if mess is not None:
            raise ValueError("mess given both as an argument and in truth_overrides")
        mess = overrides.pop("mess")
    world = simulate_world(
        n_consortia=n_consortia,
        n_years=n_years,
        first_year=first_year,
        seed=seed,
        truth=overrides,
        mess=mess,
    )
    write_world(world, out_dir, fmt=fmt)
    return world
