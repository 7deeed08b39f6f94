"""The draws as the contract's four tables (current prices, contract units), plus the
latent tables (real money, transfer probabilities, expected counts) kept for diagnostics."""

from __future__ import annotations

import numpy as np
import pandas as pd

from consortia.contract import ORG_TYPES, TABLES, Kind
from consortia.simulate.structure import price_factor

PANEL_COUNTS = [c for c, kind in TABLES["panel"].columns.items() if kind is Kind.COUNT]


def build_frames(truth, cons, mem, pan, perf, first_year):
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
    factor, extrapolated = price_factor(truth, pan["year"])
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
    for col in PANEL_COUNTS:
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
