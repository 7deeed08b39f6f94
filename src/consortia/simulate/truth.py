"""The truth a world is drawn from: the default parameters and the claims they embody
(``truth.yaml`` beside this module), the merge of a user's overrides, and what
``truth.json`` states besides the parameters (estimands, claims, derived quantities such
as the calibrated transfer intercepts and the SCP paths)."""

from __future__ import annotations

import copy
from functools import lru_cache
from pathlib import Path

import numpy as np
import yaml

from consortia.contract import ORG_TYPES

TRUTH_PATH = Path(__file__).with_name("truth.yaml")


@lru_cache(maxsize=1)
def _truth_file() -> dict:
    return yaml.safe_load(TRUTH_PATH.read_text(encoding="utf-8"))


def default_truth() -> dict:
    """The default parameters: the review's claims (Yan 2025, 2.2 and 3.1.1).

    Every number the generator uses is in ``truth.yaml``; ``simulate_world(truth=...)``
    deep-merges a partial dict of overrides onto it (unknown keys are an error).
    """
    return copy.deepcopy(_truth_file()["parameters"])


def claim_truths() -> dict:
    """The claims of ``truth.yaml`` by registry id: their ``statements`` (truth.json's claims)
    and ``true_estimands`` (how a test's true value is read from a world's truth)."""
    return copy.deepcopy(_truth_file()["claims"])


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
    if obj is None or type(obj) in (str, int, bool):  # most of the mess log: nothing to round
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


def claim_records(truth: dict, world_estimands: dict) -> list[dict]:
    """truth.json's claims: every statement of ``truth.yaml``, with its value in this truth."""
    roots = {"parameters": truth, "estimands": world_estimands}
    records = []
    for claim in _truth_file()["claims"].values():
        for statement in claim.get("statements", []):
            record = copy.deepcopy(statement)
            path = record.pop("true_in_dgp_from", None)
            if path is not None:
                root, *keys = path.split(".")
                node = roots[root]
                for key in keys:
                    node = node[key]
                record["true_in_dgp"] = node
            records.append(record)
    return records
