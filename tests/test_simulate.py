"""The simulator: determinism, a clean world breaks no rule, mess is counted exactly,
and the truth is recovered from a large clean world.

Tolerances. Every recovery test compares an estimate with the truth using the
estimate's own standard error (binomial, cluster-robust by consortium, or the
fitter's), and allows 4 SE: with a fixed seed the test is deterministic, and a
correct DGP would fail it with probability ~6e-5 under normality. Where the
brief asks for a fixed band (e.g. +-0.02 for transfer rates) the test also
asserts that 4 SE fits inside that band, so passing implies the band.
Nothing here is checked through the cleaning (written in parallel): rules are
re-implemented directly with pandas from docs/design.md.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from consortia import simulate as sim
from consortia.contract import ORG_TYPES, TABLES, org_type_lookup
from consortia.simulate.mess import MISSING_OPTIONAL, RULE_ORDER, SYNONYM_LABELS

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "data" / "raw" / "demo"
DEMO_ARGS = {"n_consortia": 300, "n_years": 8, "first_year": 2016, "seed": 20251220}
Z = 4.0  # tolerance in standard errors

# The contract's vocabulary (shared/data-contract.md), typed out independently of the simulator.
VOCAB = {
    "enterprise": [
        "enterprise",
        "firm",
        "company",
        "corporate",
        "business",
        "private",
        "prc",
        "soe",
        "企业",
    ],
    "university": ["university", "college", "higher education", "hes", "高校", "大学"],
    "research_institute": [
        "research institute",
        "institute",
        "research organisation",
        "rec",
        "科研院所",
        "研究院",
        "research_institute",
    ],
    "government": ["government", "public body", "agency", "pub", "政府"],
    "other": ["other", "oth", "association", "ngo"],
}
LABEL_TO_TYPE = {label: t for t, labels in VOCAB.items() for label in labels}
PANEL_COUNTS = [
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
]
PANEL_MONEY = ["rd_expenditure", "subsidy", "new_product_revenue"]


# --------------------------------------------------------------------------- helpers


def read_folder(folder: Path) -> dict[str, pd.DataFrame]:
    """Read the written CSVs as plain strings (empty cell = NA), as a user's reader would see."""
    return {
        t: pd.read_csv(
            folder / f"{t}.csv", dtype=str, keep_default_na=False, na_values=[""], encoding="utf-8"
        )
        for t in TABLES
    }


def num(s: pd.Series) -> pd.Series:
    return pd.to_numeric(s, errors="raise")


def rule_flags(tables: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """One boolean column per rule (docs/design.md) per row, computed directly with pandas."""
    cons = tables["consortia"]
    cons_ids = set(cons["consortium_id"])
    life = cons.set_index("consortium_id")[["founded_year", "dissolved_year"]].apply(num)
    flags = {}

    def dup_flags(df, key):
        exact = df.duplicated(keep="first")
        conflict = df[~exact].duplicated(subset=key, keep=False).reindex(df.index, fill_value=False)
        return exact, conflict

    def label_flags(series):
        stripped = series.str.strip().str.lower()
        unknown = ~stripped.isin(LABEL_TO_TYPE)
        synonym = ~series.isin(ORG_TYPES) & ~unknown
        return unknown, synonym

    unknown, synonym = label_flags(cons["lead_type"])
    flags["consortia"] = pd.DataFrame(
        {
            "missing_required": cons[["consortium_id", "lead_type", "founded_year"]]
            .isna()
            .any(axis=1),
            "unknown_org_type": unknown,
            "conflicting_duplicate": cons.duplicated("consortium_id", keep=False),
            "end_before_start": num(cons["dissolved_year"]) < num(cons["founded_year"]),
            "synonym": synonym,
        }
    )

    m = tables["members"]
    exact, conflict = dup_flags(m, ["consortium_id", "member_id"])
    unknown, synonym = label_flags(m["member_type"])
    w = num(m["decision_weight"])
    flags["members"] = pd.DataFrame(
        {
            "missing_required": m[["consortium_id", "member_id", "member_type"]].isna().any(axis=1),
            "unknown_org_type": unknown,
            "exact_duplicate": exact,
            "conflicting_duplicate": conflict,
            "unknown_consortium_key": ~m["consortium_id"].isin(cons_ids),
            "negative_value": num(m["funding"]) < 0,
            "decision_weight_out_of_range": (w < 0) | (w > 1),
            "end_before_start": num(m["exit_year"]) < num(m["join_year"]),
            "synonym": synonym,
        }
    )

    p = tables["panel"]
    exact, conflict = dup_flags(p, ["consortium_id", "year"])
    year = num(p["year"])
    founded = p["consortium_id"].map(life["founded_year"])
    dissolved = p["consortium_id"].map(life["dissolved_year"])
    flags["panel"] = pd.DataFrame(
        {
            "missing_required": p[["consortium_id", "year"]].isna().any(axis=1),
            "exact_duplicate": exact,
            "conflicting_duplicate": conflict,
            "unknown_consortium_key": ~p["consortium_id"].isin(cons_ids),
            "negative_value": (p[PANEL_COUNTS + PANEL_MONEY].apply(num) < 0).any(axis=1),
            "transferred_exceeds_achievements": num(p["achievements_transferred"])
            > num(p["achievements"]),
            "industrial_exceeds_total": num(p["tasks_industrial"]) > num(p["tasks_total"]),
            "year_outside_life": (year < founded) | (dissolved.notna() & (year > dissolved)),
        }
    )

    k = tables["tasks"]
    exact, conflict = dup_flags(k, ["consortium_id", "task_id"])
    flags["tasks"] = pd.DataFrame(
        {
            "missing_required": k[["consortium_id", "task_id"]].isna().any(axis=1),
            "exact_duplicate": exact,
            "conflicting_duplicate": conflict,
            "unknown_consortium_key": ~k["consortium_id"].isin(cons_ids),
            "end_before_start": pd.to_datetime(k["end_date"]) < pd.to_datetime(k["start_date"]),
            "bad_status": ~k["status"].isin(["achieved", "ongoing", "abandoned"])
            | (k["status"].eq("ongoing") != k["end_date"].isna()),
        }
    )
    return flags


def as_strings(world_tables: dict[str, pd.DataFrame], tmp: Path) -> dict[str, pd.DataFrame]:
    for t, df in world_tables.items():
        df.to_csv(tmp / f"{t}.csv", index=False, lineterminator="\n")
    return read_folder(tmp)


def ratio_and_se(num_: pd.Series, den: pd.Series, cluster: pd.Series) -> tuple[float, float]:
    """sum(num)/sum(den) and its linearised standard error, clustered."""
    r = num_.sum() / den.sum()
    z = (num_ - r * den).groupby(cluster).sum()
    g = len(z)
    return r, math.sqrt((z**2).sum() * g / (g - 1)) / den.sum()


def deflate(panel: pd.DataFrame, truth: dict) -> pd.DataFrame:
    money = truth["parameters"]["money"]
    index = {int(y): v for y, v in money["deflator_index"].items()}
    factor = panel["year"].map(index) / index[money["base_year"]]
    out = panel.copy()
    for col in PANEL_MONEY:
        out[col] = out[col] / factor
    return out


def active_members(
    members: pd.DataFrame, consortia: pd.DataFrame, panel: pd.DataFrame
) -> pd.DataFrame:
    """Per consortium-year: active members and has-academic / enterprise-only flags."""
    m = members.merge(consortia[["consortium_id", "founded_year"]], on="consortium_id")
    m["join"] = m["join_year"].fillna(m["founded_year"])
    m["exit"] = m["exit_year"].fillna(10**6)
    x = panel[["consortium_id", "year"]].merge(m, on="consortium_id")
    x = x[(x["join"] <= x["year"]) & (x["year"] <= x["exit"])]
    x = x.assign(
        academic=x["member_type"].isin(["university", "research_institute"]),
        non_enterprise=x["member_type"] != "enterprise",
    )
    g = x.groupby(["consortium_id", "year"])
    out = g.agg(
        n_active=("member_id", "size"),
        academic=("academic", "any"),
        non_enterprise=("non_enterprise", "any"),
    ).reset_index()
    out["enterprise_only"] = ~out.pop("non_enterprise")
    return out


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def demo_world():
    return sim.simulate_world(**DEMO_ARGS)


@pytest.fixture(scope="module")
def big():
    """A large clean world for truth recovery (fixed seed, independent of the demo's).

    5000 consortia: the smallest round size at which 4 cluster-robust SEs of the
    non-enterprise-led transfer rate (~0.0044 here) fit in the +-0.02 band.
    """
    world = sim.simulate_world(n_consortia=5000, n_years=8, seed=31337, mess={})
    panel = world.panel.merge(
        world.consortia[["consortium_id", "lead_type", "high_tech"]], on="consortium_id"
    )
    return world, panel


# --------------------------------------------------------------------------- tests


def test_default_truth_uses_the_config_price_index_and_units():
    config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text(encoding="utf-8"))
    money = sim.default_truth()["money"]
    assert {int(k): v for k, v in money["deflator_index"].items()} == {
        int(k): v for k, v in config["money"]["deflator"]["index"].items()
    }
    assert money["base_year"] == config["money"]["deflator"]["base_year"]
    units = config["money"]["units"]
    assert all(units["panel"][c] == money["panel_unit"] for c in PANEL_MONEY)
    assert units["members"]["funding"] == money["members_unit"]


def test_the_simulators_labels_and_blanks_follow_the_contract():
    """The simulator keeps its own labels and blanks (what a messy source writes, the oracle
    cleaning is tested against): each label is consortia.contract's synonym of its type and
    not the canonical word, and each blanked column is an optional column of the contract."""
    lookup = org_type_lookup()
    for org_type, labels in SYNONYM_LABELS.items():
        for label, _kind in labels:
            assert label != org_type and lookup[label.strip().lower()] == org_type, label
    for table, columns in MISSING_OPTIONAL.items():
        spec = TABLES[table]
        assert set(columns) <= set(spec.columns) - set(spec.required), table


def test_same_seed_gives_identical_files_and_another_seed_does_not(tmp_path):
    args = {"n_consortia": 60, "n_years": 8, "seed": 11}  # one calibration per process
    a = sim.simulate_to_folder(tmp_path / "a", **args)
    sim.simulate_to_folder(tmp_path / "b", **args)
    names = [f"{t}.csv" for t in TABLES] + ["truth.json"]
    for name in names:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    c = sim.simulate_world(**{**args, "seed": 12})
    for t in TABLES:
        assert not a.raw[t].equals(c.raw[t])
        assert not a.clean[t].equals(c.clean[t])
    # the truth's parameters and calibration do not depend on the seed
    assert a.truth["derived"] == c.truth["derived"]


def test_mess_does_not_change_the_clean_tables():
    messy = sim.simulate_world(n_consortia=80, seed=5)
    clean = sim.simulate_world(n_consortia=80, seed=5, mess={})
    for t in TABLES:
        pd.testing.assert_frame_equal(messy.clean[t], clean.clean[t])
        pd.testing.assert_frame_equal(clean.raw[t], clean.clean[t])
    assert all(
        v["rows_quarantined"] == 0 and v["duplicates_collapsed"] == 0
        for v in clean.truth["mess"]["tables"].values()
    )


def test_clean_world_breaks_no_rule(tmp_path):
    world = sim.simulate_world(n_consortia=400, n_years=8, seed=3, mess={})
    tables = as_strings(world.clean, tmp_path)
    for t, flags in rule_flags(tables).items():
        assert not flags.any().any(), (t, flags.sum()[flags.sum() > 0].to_dict())
    c, m, k = world.consortia, world.members, world.tasks
    # vocabulary, required columns, and the optional columns that mess blanks
    assert c["lead_type"].isin(ORG_TYPES).all() and m["member_type"].isin(ORG_TYPES).all()
    for t, cols in MISSING_OPTIONAL.items():
        assert world.clean[t][cols].notna().all().all(), t
    # exactly one lead per consortium, it is lead_org_id, and its type is lead_type
    leads = m[m["is_lead"]].set_index("consortium_id")
    assert leads.index.is_unique and len(leads) == len(c)
    assert (leads.loc[c["consortium_id"], "member_id"].to_numpy() == c["lead_org_id"]).all()
    assert (leads.loc[c["consortium_id"], "member_type"].to_numpy() == c["lead_type"]).all()
    # decision weights in [0,1] summing to 1; 3-20 members per consortium
    sums = m.groupby("consortium_id")["decision_weight"].sum()
    assert np.allclose(sums, 1.0, atol=1e-9)
    sizes = m.groupby("consortium_id").size()
    assert sizes.between(3, 20).all()
    # member spells inside the consortium's life; tasks inside life and the window
    life = c.set_index("consortium_id")
    end = life["dissolved_year"].fillna(2023).astype(int)
    mj = m["join_year"].fillna(m["consortium_id"].map(life["founded_year"]))
    assert (mj >= m["consortium_id"].map(life["founded_year"])).all()
    assert (mj <= m["consortium_id"].map(end)).all()
    assert (
        m["exit_year"].dropna() <= m.loc[m["exit_year"].notna(), "consortium_id"].map(end)
    ).all()
    start = pd.to_datetime(k["start_date"])
    assert (start.dt.year >= np.maximum(k["consortium_id"].map(life["founded_year"]), 2016)).all()
    assert (pd.to_datetime(k["end_date"]).dropna() <= pd.Timestamp("2023-12-31")).all()
    # unbalanced panel: entry, exit, and consortia founded before the window
    assert (c["founded_year"] < 2016).any() and (c["founded_year"] > 2016).any()
    assert c["dissolved_year"].notna().any()
    assert k["status"].value_counts().gt(0).all() and k["status"].nunique() == 3


def test_nominal_money_deflates_to_the_real_values(demo_world):
    real = deflate(demo_world.panel, demo_world.truth)
    lat = demo_world.latent["panel"]
    for col, lat_col in [
        ("rd_expenditure", "rd_real"),
        ("subsidy", "subsidy_real"),
        ("new_product_revenue", "new_product_revenue_real"),
    ]:
        np.testing.assert_allclose(real[col], lat[lat_col], rtol=1e-6)
    assert demo_world.truth["simulator"]["extrapolated_index_years"] == []


def test_mess_counts_in_truth_match_the_written_files(tmp_path):
    world = sim.simulate_to_folder(tmp_path, n_consortia=300, seed=99)
    truth = json.loads((tmp_path / "truth.json").read_text(encoding="utf-8"))
    assert truth == world.truth
    tables = read_folder(tmp_path)
    flags = rule_flags(tables)
    expected = truth["mess"]["tables"]
    for t in TABLES:
        f, e = flags[t], expected[t]
        assert len(tables[t]) == e["rows_read"]
        # no injected row breaks two rules (the first copy of an exact duplicate is not flagged)
        assert f.sum(axis=1).max() <= 1, t
        assert not f.get("unknown_org_type", pd.Series(False)).any()
        counted = {
            rule: int(f[rule].sum()) for rule in RULE_ORDER if rule in f and f[rule].any()
        }
        assert counted == e["quarantined_by_rule"], t
        assert int(f.get("exact_duplicate", pd.Series(False)).sum()) == e["duplicates_collapsed"]
        assert e["rows_kept"] == e["rows_read"] - e["rows_quarantined"] - e["duplicates_collapsed"]
        n_syn = int(f.get("synonym", pd.Series(False)).sum())
        assert n_syn == e["fixes"].get("org_type_synonym", 0), t
        blanks = {c: int(tables[t][c].isna().sum()) for c in MISSING_OPTIONAL[t]}
        assert {c: n for c, n in blanks.items() if n} == e["missing_optional"], t
        # the row log points at rows that break exactly the logged rule
        for entry in truth["mess"]["rows"][t]:
            row = f.iloc[entry["source_row"] - 1]
            if entry["outcome"] in RULE_ORDER or entry["outcome"] == "duplicates_collapsed":
                rule = (
                    "exact_duplicate"
                    if entry["outcome"] == "duplicates_collapsed"
                    else entry["outcome"]
                )
                assert row[rule] and row.sum() == 1, (t, entry)
    # every kind the default mess lists appears in the default-size world
    for t, kinds in sim.default_mess().items():
        logged = {entry["kind"] for entry in truth["mess"]["rows"][t]}
        assert logged == set(kinds), t
    # outliers are legitimate: 20-60 times the clean value, no rule broken
    raw_rd = num(tables["panel"]["rd_expenditure"])
    assert (raw_rd.max() / world.panel["rd_expenditure"].median()) > 10


def test_truth_json_states_the_estimands(demo_world):
    truth = demo_world.truth
    assert set(truth) == {"simulator", "estimands", "claims", "parameters", "derived", "mess"}
    est = truth["estimands"]
    assert est["transfer_rate_enterprise_led"]["value"] == 0.68
    assert est["transfer_rate_other_led"]["value"] == 0.45
    assert est["breakthrough_time_ratio_enterprise_vs_university"]["value"] == 0.75
    cal = truth["derived"]["transfer_calibration"]
    assert cal["rates"]["enterprise_led"] == pytest.approx(0.68, abs=1e-6)
    assert cal["rates"]["other_led"] == pytest.approx(0.45, abs=1e-6)
    assert cal["academic_ratio"] == pytest.approx(1.30, abs=1e-6)
    paths = truth["derived"]["scp_paths"]
    assert paths["indirect_patents"] == pytest.approx(0.3 * 0.8 + 2.0 * 0.12)
    assert paths["indirect_transfer"] > 0 and paths["indirect_patents"] > 0
    assert {c["id"] for c in truth["claims"]} >= {
        "enterprise_led_share",
        "transfer_rate_enterprise_led",
        "breakthrough_25pct_faster",
    }


def test_overrides_change_the_truth_and_unknown_keys_fail(tmp_path):
    world = sim.simulate_to_folder(
        tmp_path,
        n_consortia=50,
        n_years=8,
        seed=1,
        truth_overrides={"tasks": {"time_ratio": {"enterprise": 0.5}}, "mess": {}},
    )
    assert world.truth["parameters"]["tasks"]["time_ratio"]["enterprise"] == 0.5
    assert (
        world.truth["estimands"]["breakthrough_time_ratio_enterprise_vs_university"]["value"] == 0.5
    )
    assert world.truth["mess"]["tables"]["members"]["rows_read"] == len(world.members)
    with pytest.raises(ValueError, match="truth.tasks.time_ratios"):
        sim.simulate_world(n_consortia=10, truth={"tasks": {"time_ratios": {}}})
    with pytest.raises(ValueError, match="panel.typo"):
        sim.simulate_world(n_consortia=10, mess={"panel": {"typo": 0.1}})


def test_committed_demo_is_reproducible(demo_world, tmp_path):
    """data/raw/demo is exactly what the documented command writes."""
    sim.write_world(demo_world, tmp_path)
    for name in [f"{t}.csv" for t in TABLES] + ["truth.json"]:
        assert (DEMO / name).read_bytes() == (tmp_path / name).read_bytes(), name
    assert (
        sum((DEMO / n).stat().st_size for n in [f"{t}.csv" for t in TABLES] + ["truth.json"])
        < 3_000_000
    )


# ---------------------------------------------------------------- truth recovery (3000, clean)


def test_enterprise_lead_share(big):
    world, _ = big
    n = len(world.consortia)
    share = (world.consortia["lead_type"] == "enterprise").mean()
    assert abs(share - 0.65) < Z * math.sqrt(0.65 * 0.35 / n)


def test_transfer_rates_by_lead_type(big):
    """The truth is 0.68 / 0.45 up to the calibration's Monte-Carlo SE, added in quadrature."""
    world, panel = big
    est = world.truth["estimands"]
    for is_e, key, target in [
        (True, "transfer_rate_enterprise_led", 0.68),
        (False, "transfer_rate_other_led", 0.45),
    ]:
        assert est[key]["value"] == target
        d = panel[(panel["lead_type"] == "enterprise") == is_e]
        rate, se = ratio_and_se(
            d["achievements_transferred"], d["achievements"], d["consortium_id"]
        )
        se = math.hypot(se, est[key]["mc_se"])
        assert Z * se <= 0.02, "sample too small to test the +-0.02 band"
        assert abs(rate - target) < Z * se, (rate, target, se)


def test_academic_partner_transfer_ratio(big):
    world, panel = big
    act = active_members(world.members, world.consortia, panel)
    d = panel.merge(act, on=["consortium_id", "year"])
    target = world.truth["estimands"]["academic_partner_transfer_ratio"]["value"]
    # lead type held fixed: enterprise-led consortium-years (all enterprise-only ones are)
    enterprise_led = d[d["lead_type"] == "enterprise"]
    a = enterprise_led[enterprise_led["academic"]]
    e = enterprise_led[enterprise_led["enterprise_only"]]
    ra, sa = ratio_and_se(a["achievements_transferred"], a["achievements"], a["consortium_id"])
    re_, se_ = ratio_and_se(e["achievements_transferred"], e["achievements"], e["consortium_id"])
    ratio = ra / re_
    se = ratio * math.hypot(sa / ra, se_ / re_)  # the groups share no consortium
    se = math.hypot(se, world.truth["estimands"]["academic_partner_transfer_ratio"]["mc_se"])
    assert abs(ratio - target) < Z * se, (ratio, se)


@pytest.mark.slow
def test_breakthrough_time_ratio_weibull_aft(big):
    from lifelines import WeibullAFTFitter

    world, _ = big
    k = world.tasks.merge(
        world.consortia[["consortium_id", "lead_type", "high_tech"]], on="consortium_id"
    )
    start = pd.to_datetime(k["start_date"])
    exit_ = pd.to_datetime(k["end_date"]).fillna(pd.Timestamp("2023-12-31"))
    d = pd.DataFrame(
        {
            "T": (exit_ - start).dt.days / 365.25,
            "E": (k["status"] == "achieved").astype(int),
            "high_tech": k["high_tech"].astype(int),
        }
    )
    for t in ["enterprise", "research_institute", "government", "other"]:
        d[t] = (k["lead_type"] == t).astype(int)  # university is the baseline
    assert 0.1 < 1 - d["E"].mean() < 0.8  # censoring present
    fit = WeibullAFTFitter().fit(d, "T", "E")
    coef = fit.summary.loc[("lambda_", "enterprise")]
    assert abs(coef["coef"] - math.log(0.75)) < Z * coef["se(coef)"], coef
    assert Z * coef["se(coef)"] < 0.15  # informative: 4 SE is less than +-15% on the ratio
    shape = fit.summary.loc[("rho_", "Intercept")]
    assert abs(shape["coef"] - math.log(1.6)) < Z * shape["se(coef)"]


def test_lead_weight_and_industrial_share_of_enterprise_led(big):
    world, panel = big
    m = world.members.merge(world.consortia[["consortium_id", "lead_type"]], on="consortium_id")
    w = m[m["is_lead"] & (m["lead_type"] == "enterprise")]["decision_weight"]
    assert w.mean() > 0.6
    assert abs(w.mean() - 0.65) < Z * w.std() / math.sqrt(len(w))
    others = m[m["is_lead"] & (m["lead_type"] != "enterprise")]["decision_weight"]
    assert others.mean() < w.mean()
    e = panel[panel["lead_type"] == "enterprise"]
    share, se = ratio_and_se(
        e["tasks_industrial"] / e["tasks_total"], pd.Series(1.0, e.index), e["consortium_id"]
    )
    assert share > 0.8 and abs(share - 0.85) < Z * se
    rest = panel[panel["lead_type"] != "enterprise"]
    assert (rest["tasks_industrial"] / rest["tasks_total"]).mean() < share


def _within(df, y, xs, group="consortium_id"):
    """Two-way FE by FWL: demean by consortium, year dummies as regressors; clustered SE."""
    years = pd.get_dummies(df["year"], prefix="y", drop_first=True, dtype=float)
    X = pd.concat([df[xs], years], axis=1)
    Xd = X - X.groupby(df[group]).transform("mean")
    yd = df[y] - df[y].groupby(df[group]).transform("mean")
    Xv, yv = Xd.to_numpy(), yd.to_numpy()
    bread = np.linalg.inv(Xv.T @ Xv)
    beta = bread @ Xv.T @ yv
    u = yv - Xv @ beta
    scores = pd.DataFrame(Xv * u[:, None]).groupby(df[group].to_numpy()).sum().to_numpy()
    g, n, k = scores.shape[0], len(yv), Xv.shape[1] + df[group].nunique()
    V = bread @ (scores.T @ scores) @ bread * g / (g - 1) * (n - 1) / (n - k)
    k_ = len(xs)
    return pd.Series(beta[:k_], xs), pd.DataFrame(V[:k_, :k_], xs, xs)


def test_subsidy_elasticity_within_consortium(big):
    world, panel = big
    d = deflate(panel, world.truth)
    d["log_rd"] = np.log(d["rd_expenditure"])
    d["log_sub"] = np.log(d["subsidy"])
    d["log_sub_x_ht"] = d["log_sub"] * d["high_tech"]
    beta, V = _within(d, "log_rd", ["log_sub", "log_sub_x_ht"])
    se = np.sqrt(np.diag(V))
    el = world.truth["parameters"]["rd"]["subsidy_elasticity"]
    assert abs(beta["log_sub"] - el["traditional"]) < Z * se[0]
    assert abs(beta["log_sub_x_ht"] - (el["high_tech"] - el["traditional"])) < Z * se[1]
    # the headline "about 0.3": the mean of the two elasticities, (2 b_sub + b_int) / 2
    c = np.array([1.0, 0.5])
    mean_el, mean_se = c @ beta.to_numpy(), math.sqrt(c @ V.to_numpy() @ c)
    target = world.truth["estimands"]["subsidy_elasticity_rd"]["mean"]
    assert target == pytest.approx(0.30) and abs(mean_el - target) < Z * mean_se
    # traditional industries gain more from industrial-task share (new-product revenue)
    d["share"] = d["tasks_industrial"] / d["tasks_total"]
    d["share_x_ht"] = d["share"] * d["high_tech"]
    d["log_npr"] = np.log(d["new_product_revenue"])
    b2, V2 = _within(d, "log_npr", ["log_rd", "share", "share_x_ht"])
    semi = world.truth["parameters"]["performance"]["new_product_revenue"][
        "industrial_share_semi_elasticity"
    ]
    s2 = np.sqrt(np.diag(V2))
    assert abs(b2["share"] - semi["traditional"]) < Z * s2[1]
    assert abs(b2["share_x_ht"] - (semi["high_tech"] - semi["traditional"])) < Z * s2[2]


def test_scp_paths(big):
    import statsmodels.api as sm

    world, panel = big
    act = active_members(world.members, world.consortia, panel)
    leads = world.members[world.members["is_lead"]][["consortium_id", "decision_weight"]]
    d = (
        deflate(panel, world.truth)
        .merge(act, on=["consortium_id", "year"])
        .merge(leads.rename(columns={"decision_weight": "w"}), on="consortium_id")
    )
    d["share"] = d["tasks_industrial"] / d["tasks_total"]
    d["collab"] = d["collab_events"] / d["n_active"]
    dummies = pd.get_dummies(d["lead_type"], drop_first=True, dtype=float)
    paths = world.truth["derived"]["scp_paths"]
    groups = d["consortium_id"].astype("category").cat.codes
    for mediator, col in [("industrial_task_share", "share"), ("collab_intensity", "collab")]:
        X = sm.add_constant(pd.concat([d[["w"]], dummies], axis=1))
        fit = sm.OLS(d[col], X).fit(cov_type="cluster", cov_kwds={"groups": groups})
        assert abs(fit.params["w"] - paths["a"][mediator]) < Z * fit.bse["w"], mediator
    X = sm.add_constant(
        pd.concat(
            [
                d[["share", "collab", "w"]],
                np.log(d["n_active"] / 8).rename("log_n"),
                np.log(d["rd_expenditure"]).rename("log_rd"),
                dummies,
            ],
            axis=1,
        )
    )
    fit = sm.GLM(d["patents_filed"], X, family=sm.families.Poisson()).fit(
        cov_type="cluster", cov_kwds={"groups": groups}
    )
    for mediator, col in [("industrial_task_share", "share"), ("collab_intensity", "collab")]:
        b = paths["b_patents"][mediator]
        assert abs(fit.params[col] - b) < Z * fit.bse[col], (mediator, fit.params[col], b)
    assert abs(fit.params["w"] - paths["direct_patents"]) < Z * fit.bse["w"]
