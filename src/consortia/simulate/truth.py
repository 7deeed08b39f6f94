"""The truth a world is drawn from: the default parameters, the merge of a user's
overrides, and what ``truth.json`` states besides them (estimands, claims, derived
quantities such as the calibrated transfer intercepts and the SCP paths)."""

from __future__ import annotations

import copy

import numpy as np

from consortia.contract import ORG_TYPES


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
            "p_academic_partner": {
                "enterprise": 0.70,
                "government": 0.85,
                "other": 0.60,
            },
            # types of the other members, in consortia with / without an academic partner
            "type_probs_academic": {
                "enterprise": 0.60,
                "university": 0.15,
                "research_institute": 0.12,
                "government": 0.08,
                "other": 0.05,
            },
            "type_probs_non_academic": {
                "enterprise": 0.95,
                "government": 0.03,
                "other": 0.02,
            },
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
                "industrial_share_semi_elasticity": {
                    "traditional": 1.2,
                    "high_tech": 0.4,
                },
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


def merge_overrides(base: dict, overrides: dict, path: str = "truth") -> dict:
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
            out[key] = merge_overrides(out[key], value, where)
        else:
            out[key] = value
    return out


def round_floats(obj, digits=8):
    if obj is None or type(obj) in (
        str,
        int,
        bool,
    ):  # most of the mess log: nothing to round
        return obj
    if isinstance(obj, float):
        return float(f"{obj:.{digits}g}")
    if isinstance(obj, dict):
        return {k: round_floats(v, digits) for k, v in obj.items()}
    if isinstance(obj, list):
        return [round_floats(v, digits) for v in obj]
    if isinstance(obj, (np.floating,)):
        return float(f"{float(obj):.{digits}g}")
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, np.bool_):
        return bool(obj)
    return obj


def derived_quantities(truth: dict, calib: dict) -> dict:
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


def estimands(truth: dict, calib: dict) -> dict:
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


def claim_records(truth: dict) -> list[dict]:
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
