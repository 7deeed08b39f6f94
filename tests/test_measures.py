"""Tests of consortia.measures: every measure checked against arithmetic done by hand.

The hand-made world (``tables()``), panel window 2019-2021:

consortium A: enterprise-led, founded 2019, panel rows 2019, 2020, 2021, lead flagged
    a1 enterprise  is_lead  w 0.5  equity True   downstream  2019-            (founding)
    a2 university           w 0.3  equity False  upstream    2019-2020        (exits 2020)
    a3 enterprise           w 0.2  equity True   midstream   2020-            (joins 2020)
consortium B: university-led, founded 2020, dissolved 2021, a panel row for 2020 only
    b1 university  is_lead  w  -   equity -      upstream
    b2 research_institute   w 0.5  equity -      upstream
    b3 government           w 0.5  equity -      -
consortium C: government-led, founded 2018, no panel rows, lead only via lead_org_id c2
    c1 enterprise           w 0.25 equity False  upstream    2018-2019
    c2 research_institute   w 0.75 equity True   upstream    2018-
consortium D: founded 2023, after the window: no rows.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from consortia import measures, network
from consortia.contract import FIX_COLUMNS, ORG_TYPES

NA = pd.NA


def _int(values):
    return pd.array(values, dtype="Int64")


def _bool(values):
    return pd.array(values, dtype="boolean")


def consortia_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "consortium_id": ["A", "B", "C", "D"],
            "lead_type": ["enterprise", "university", "government", "other"],
            "founded_year": _int([2019, 2020, 2018, 2023]),
            "name": ["Alpha", "Beta", "Gamma", "Delta"],
            "industry": ["ict", "materials", "energy", "ict"],
            "high_tech": _bool([True, False, NA, True]),
            "region": ["R1", "R2", "R1", "R3"],
            "dissolved_year": _int([NA, 2021, NA, NA]),
            "lead_org_id": ["a1", "b1", "c2", NA],
            "programme": ["P1", "P2", "P1", "P2"],
            "source_row": [1, 2, 3, 4],
        }
    )


def members_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "consortium_id": ["A", "A", "A", "B", "B", "B", "C", "C", "D"],
            "member_id": ["a1", "a2", "a3", "b1", "b2", "b3", "c1", "c2", "d1"],
            "member_type": [
                "enterprise",
                "university",
                "enterprise",
                "university",
                "research_institute",
                "government",
                "enterprise",
                "research_institute",
                "other",
            ],
            "is_lead": _bool([True, False, False, True, False, False, False, NA, True]),
            "decision_weight": [0.5, 0.3, 0.2, np.nan, 0.5, 0.5, 0.25, 0.75, 1.0],
            "equity_tie": _bool([True, False, True, NA, NA, NA, False, True, False]),
            "funding": [1.0] * 9,
            "join_year": _int([NA, NA, 2020, NA, NA, NA, NA, NA, NA]),
            "exit_year": _int([NA, 2020, NA, NA, NA, NA, 2019, NA, NA]),
            "chain_position": [
                "downstream",
                "upstream",
                "midstream",
                "upstream",
                "upstream",
                None,
                "upstream",
                "upstream",
                None,
            ],
            "source_row": range(1, 10),
        }
    )


def panel_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "consortium_id": ["A", "A", "A", "B"],
            "year": _int([2019, 2020, 2021, 2020]),
            "rd_expenditure": [100.0, 0.0, 300.0, 50.0],
            "subsidy": [20.0, 10.0, 0.0, 5.0],
            "collab_events": _int([4, 6, 0, 3]),
            "personnel_exchange": _int([1, 2, NA, 0]),
            "tasks_total": _int([4, 0, 5, 2]),
            "tasks_industrial": _int([1, 0, 5, 1]),
            "shared_platform": _bool([True, False, NA, True]),
            "patents_filed": _int([2, 3, 4, 1]),
            "patents_granted": _int([1, 1, 2, 0]),
            "publications": _int([0, 1, 2, 3]),
            "achievements": _int([4, 0, 3, 2]),
            "achievements_transferred": _int([1, 0, 3, 1]),
            "new_product_revenue": [10.0, np.nan, 30.0, 0.0],
            "standards": _int([0, 0, 1, 0]),
            "source_row": [1, 2, 3, 4],
        }
    )


def tables() -> dict[str, pd.DataFrame]:
    return {"consortia": consortia_frame(), "members": members_frame(), "panel": panel_frame()}


@pytest.fixture
def panel() -> pd.DataFrame:
    t = tables()
    return measures.build_panel(t["consortia"], t["members"], t["panel"])


def row(panel: pd.DataFrame, consortium: str, year: int) -> pd.Series:
    hit = panel[(panel["consortium_id"] == consortium) & (panel["year"] == year)]
    assert len(hit) == 1, f"{consortium} {year}: {len(hit)} rows"
    return hit.iloc[0]


# --------------------------------------------------------------------------- #
# single measures
# --------------------------------------------------------------------------- #


def test_blau_index_by_hand():
    shares = pd.DataFrame(
        [
            [2 / 3, 1 / 3, 0, 0, 0],  # 1 - (4/9 + 1/9) = 4/9
            [1 / 3, 1 / 3, 1 / 3, 0, 0],  # 1 - 3 * 1/9 = 2/3
            [1, 0, 0, 0, 0],  # 1 - 1 = 0
            [np.nan] * 5,  # no member: undefined
        ]
    )
    result = measures.blau_index(shares)
    np.testing.assert_allclose(result.to_numpy(), [4 / 9, 2 / 3, 0.0, np.nan])


def test_safe_ratio_zero_denominator_is_nan_not_inf():
    result = measures.safe_ratio(pd.Series([1, 0, 3, NA], dtype="Int64"), [0, 0, 2, 1])
    np.testing.assert_array_equal(np.isnan(result.to_numpy()), [True, True, False, True])
    assert result.iloc[2] == 1.5
    assert not np.isinf(result.to_numpy()).any()
    for function in (
        measures.transfer_rate,
        measures.industrial_task_share,
        measures.subsidy_share,
        measures.collab_intensity,
        measures.rd_per_member,
    ):
        assert np.isnan(function(pd.Series([5.0]), pd.Series([0.0])).iloc[0])


def test_hhi_of_weights_renormalised():
    # (0.5, 0.3) renormalised: (5/8, 3/8) -> 25/64 + 9/64 = 34/64 = 17/32
    assert measures.hhi([0.5, 0.3]) == pytest.approx(17 / 32)
    # (0.25, 0.25, 0.5) already sums to 1: 1/16 + 1/16 + 1/4 = 3/8
    assert measures.hhi([0.25, 0.25, 0.5]) == pytest.approx(3 / 8)
    assert np.isnan(measures.hhi([0.5, None]))
    assert np.isnan(measures.hhi([0.0, 0.0]))
    assert np.isnan(measures.hhi([]))


def test_decision_hhi_from_sums():
    # sums of (0.5, 0.3): w = 0.8, w^2 = 0.34 -> 0.34 / 0.64 = 17/32; one missing -> NaN;
    # all weights zero -> NaN (nothing to renormalise)
    result = measures.decision_hhi([0.8, 0.8, 0.0], [0.34, 0.34, 0.0], [0, 1, 0])
    np.testing.assert_allclose(result.to_numpy(), [17 / 32, np.nan, np.nan])


def test_small_structure_functions():
    counts = pd.DataFrame({t: [0, 0] for t in ORG_TYPES})
    counts.loc[0, "enterprise"], counts.loc[0, "university"] = 2, 1
    shares = measures.type_shares(counts, [3, 0])
    assert shares.loc[0, "share_enterprise"] == pytest.approx(2 / 3)
    assert shares.loc[1].isna().all()  # no member: NaN, not 0/0 = inf or 0
    positions = pd.DataFrame({"upstream": [2, 0], "midstream": [0, 0], "downstream": [1, 0]})
    np.testing.assert_allclose(measures.chain_coverage(positions, [3, 0]), [2 / 3, np.nan])
    np.testing.assert_allclose(measures.equity_tie_share([1, 0], [2, 0]), [0.5, np.nan])
    academic = measures.has_academic_partner([0, 1, 0], [0, 0, 0], [2, 2, 0])
    assert academic.dtype == "boolean"
    assert academic.tolist() == [False, True, NA]
    np.testing.assert_allclose(measures.lead_decision_weight([0.4, 0.0], [1, 0]), [0.4, np.nan])


# --------------------------------------------------------------------------- #
# the panel
# --------------------------------------------------------------------------- #


def test_panel_rows_follow_the_year_rule(panel):
    keys = list(zip(panel["consortium_id"], panel["year"]))
    assert keys == [
        ("A", 2019),
        ("A", 2020),
        ("A", 2021),  # its panel rows
        ("B", 2020),  # its one panel row (2021 has none, so no row)
        ("C", 2019),
        ("C", 2020),
        ("C", 2021),  # no panel rows: window 2019-2021, alive
    ]  # D, founded 2023, is after the window: no row
    assert list(panel.index) == list(range(len(panel)))
    assert list(panel.columns) == [c for c in measures.PANEL_COLUMNS if c in panel.columns]
    assert set(panel.columns) == set(measures.PANEL_COLUMNS)


def test_structure_by_hand(panel):
    a19, a20, a21 = (row(panel, "A", y) for y in (2019, 2020, 2021))
    # 2019: a1 (enterprise) + a2 (university); a3 joins only in 2020
    assert a19["n_members"] == 2
    assert a19["share_enterprise"] == pytest.approx(1 / 2)
    assert a19["share_university"] == pytest.approx(1 / 2)
    assert a19["type_diversity"] == pytest.approx(1 - (1 / 4 + 1 / 4))
    assert a19["decision_hhi"] == pytest.approx(17 / 32)  # (0.5, 0.3)/0.8 -> 25/64 + 9/64
    assert a19["lead_decision_weight"] == pytest.approx(0.5)
    assert a19["equity_tie_share"] == pytest.approx(1 / 2)  # a1 True, a2 False
    assert a19["chain_coverage"] == pytest.approx(2 / 3)  # downstream, upstream
    assert a19["has_academic_partner"]
    # 2021: a2 left after 2020 (exit year inclusive); a1 + a3 both enterprises
    assert a21["n_members"] == 2
    assert a21["share_enterprise"] == 1.0 and a21["share_university"] == 0.0
    assert a21["type_diversity"] == pytest.approx(0.0)
    assert a21["decision_hhi"] == pytest.approx(29 / 49)  # (5/7)^2 + (2/7)^2
    assert a21["equity_tie_share"] == 1.0
    assert a21["chain_coverage"] == pytest.approx(2 / 3)  # downstream, midstream
    assert not a21["has_academic_partner"]
    # type shares always sum to one where there are members
    shares = panel[list(measures.SHARE_COLUMNS)].sum(axis=1)
    np.testing.assert_allclose(shares[panel["n_members"] > 0], 1.0)
    assert (a20["age"], a21["age"], row(panel, "C", 2019)["age"]) == (1, 2, 1)


def test_member_joining_in_year_two_changes_counts_and_shares_from_then(panel):
    a19, a20 = row(panel, "A", 2019), row(panel, "A", 2020)
    # a3 (enterprise, w 0.2) joins in 2020: 2 -> 3 members
    assert (a19["n_members"], a20["n_members"]) == (2, 3)
    assert a20["share_enterprise"] == pytest.approx(2 / 3)
    assert a20["share_university"] == pytest.approx(1 / 3)
    assert a20["type_diversity"] == pytest.approx(4 / 9)  # 1 - (4/9 + 1/9)
    assert a20["decision_hhi"] == pytest.approx(0.38)  # 0.25 + 0.09 + 0.04
    assert a20["equity_tie_share"] == pytest.approx(2 / 3)
    assert a20["chain_coverage"] == 1.0


def test_hhi_and_lead_weight_nan_when_a_weight_is_missing(panel):
    b20 = row(panel, "B", 2020)
    assert b20["n_members"] == 3
    assert np.isnan(b20["decision_hhi"])  # b1 has no weight
    assert np.isnan(b20["lead_decision_weight"])  # and b1 is the lead
    assert b20["type_diversity"] == pytest.approx(2 / 3)  # 1 - 3 * (1/3)^2
    assert np.isnan(b20["equity_tie_share"])  # no member's equity_tie is known
    assert b20["chain_coverage"] == pytest.approx(1 / 3)  # upstream only; b3 has none


def test_lead_weight_via_is_lead_and_via_lead_org_id(panel):
    # A: a1 flagged is_lead, weight 0.5
    assert row(panel, "A", 2021)["lead_decision_weight"] == pytest.approx(0.5)
    # C: nobody flagged (False / missing): lead_org_id c2, weight 0.75
    c19, c20 = row(panel, "C", 2019), row(panel, "C", 2020)
    assert c19["lead_decision_weight"] == pytest.approx(0.75)
    assert c20["lead_decision_weight"] == pytest.approx(0.75)
    # c1 (0.25) leaves after 2019: HHI 1/16 + 9/16 = 5/8, then c2 alone: 1
    assert c19["decision_hhi"] == pytest.approx(5 / 8)
    assert c20["decision_hhi"] == pytest.approx(1.0)
    assert (c19["n_members"], c20["n_members"]) == (2, 1)
    # without is_lead at all, A's lead comes from lead_org_id too
    t = tables()
    no_flag = measures.build_panel(t["consortia"], t["members"].drop(columns="is_lead"), t["panel"])
    assert row(no_flag, "A", 2019)["lead_decision_weight"] == pytest.approx(0.5)


def test_resolve_lead_rules():
    consortia = pd.DataFrame(
        {
            "consortium_id": ["K1", "K2", "K3", "K4", "K5"],
            "lead_type": ["enterprise"] * 5,
            "founded_year": _int([2020] * 5),
            "lead_org_id": ["x", "y", "y", "z", NA],
        }
    )
    members = pd.DataFrame(
        {
            "consortium_id": ["K1", "K1", "K2", "K2", "K3", "K3", "K4", "K4", "K5"],
            "member_id": ["x", "w", "x", "y", "x", "y", "x", "y", "x"],
            "member_type": ["enterprise"] * 9,
            "is_lead": _bool([False, True, True, True, NA, False, True, True, False]),
        }
    )
    lead, source = measures.resolve_lead(members, consortia)
    # K1: one flag (w) wins over lead_org_id; K2: two flags, y matches lead_org_id;
    # K3: no flag -> lead_org_id y; K4: two flags, none matches -> unknown; K5: none
    assert lead.tolist() == [False, True, False, True, False, True, False, False, False]
    assert source.tolist() == ["is_lead", "is_lead", "lead_org_id", "unknown", "unknown"]


def test_conduct_and_performance_by_hand(panel):
    a19, a20, a21 = (row(panel, "A", y) for y in (2019, 2020, 2021))
    assert a19["collab_intensity"] == pytest.approx(4 / 2)
    assert a20["collab_intensity"] == pytest.approx(6 / 3)
    assert a21["collab_intensity"] == 0.0
    assert a19["rd_per_member"] == pytest.approx(100 / 2)
    assert a21["rd_per_member"] == pytest.approx(300 / 2)
    assert a19["subsidy_share"] == pytest.approx(20 / 100)
    assert np.isnan(a20["subsidy_share"])  # 10 / 0: NaN, not inf
    assert a21["subsidy_share"] == 0.0
    assert a19["industrial_task_share"] == pytest.approx(1 / 4)
    assert np.isnan(a20["industrial_task_share"])  # 0 / 0
    assert a21["industrial_task_share"] == 1.0
    assert a19["transfer_rate"] == pytest.approx(1 / 4)
    assert np.isnan(a20["transfer_rate"])  # achievements = 0
    assert a21["transfer_rate"] == 1.0
    # as given
    assert a19["patents_filed"] == 2 and a21["standards"] == 1
    assert a19["shared_platform"] and pd.isna(a21["shared_platform"])
    assert pd.isna(a20["new_product_revenue"])
    assert (a19["lead_type"], a19["industry"], a19["region"], a19["programme"]) == (
        "enterprise",
        "ict",
        "R1",
        "P1",
    )
    assert a19["high_tech"] and pd.isna(row(panel, "C", 2019)["high_tech"])
    numbers = panel.select_dtypes("number").to_numpy(dtype=float, na_value=np.nan)
    assert not np.isinf(numbers).any()


def test_consortium_without_panel_rows_gets_structure_rows(panel):
    c = panel[panel["consortium_id"] == "C"]
    assert c["year"].tolist() == [2019, 2020, 2021]
    assert c["n_members"].tolist() == [2, 1, 1]
    for column in (
        "collab_events",
        "patents_filed",
        "rd_expenditure",
        "transfer_rate",
        "collab_intensity",
        "shared_platform",
    ):
        assert c[column].isna().all(), column


def test_structure_only_dataset_without_panel_table():
    t = tables()
    panel = measures.build_panel(t["consortia"], t["members"])
    # window: earliest founded_year (C, 2018) .. latest year recorded anywhere: D's
    # founding in 2023 (later than B's dissolution 2021, a3's join 2020, a2's exit 2020)
    assert measures.panel_window(t["consortia"], t["members"])[:2] == (2018, 2023)
    keys = panel.groupby("consortium_id")["year"].agg(["min", "max", "count"])
    assert keys.loc["A"].tolist() == [2019, 2023, 5]
    assert keys.loc["B"].tolist() == [2020, 2021, 2]  # dissolved 2021
    assert keys.loc["C"].tolist() == [2018, 2023, 6]
    assert keys.loc["D"].tolist() == [2023, 2023, 1]
    assert row(panel, "C", 2018)["n_members"] == 2
    assert row(panel, "B", 2021)["n_members"] == 3
    assert not set(panel.columns) & {"collab_events", "transfer_rate", "rd_per_member"}
    assert "n_members" in panel and "decision_hhi" in panel
    meta = measures.panel_metadata(panel, {k: v for k, v in t.items() if k != "panel"})
    assert meta["skipped"]["transfer_rate"] == {
        "missing": ["panel.achievements_transferred", "panel.achievements"],
        "reason": "no panel table",
    }
    assert meta["rows"]["structure_only"] == len(panel) == 14
    assert meta["window"]["source"].startswith("consortia and members")


def test_years_argument_sets_the_window():
    t = tables()
    panel = measures.build_panel(t["consortia"], t["members"], t["panel"], years=(2020, 2020))
    assert list(zip(panel["consortium_id"], panel["year"])) == [
        ("A", 2020),
        ("B", 2020),
        ("C", 2020),
    ]


def test_no_active_member_gives_nan_not_zero():
    consortia = pd.DataFrame(
        {"consortium_id": ["E"], "lead_type": ["enterprise"], "founded_year": _int([2019])}
    )
    members = pd.DataFrame(
        {
            "consortium_id": ["E"],
            "member_id": ["e1"],
            "member_type": ["university"],
            "decision_weight": [1.0],
            "exit_year": _int([2019]),
            "chain_position": ["upstream"],
        }
    )
    panel = pd.DataFrame(
        {"consortium_id": ["E", "E"], "year": _int([2019, 2020]), "collab_events": _int([2, 2])}
    )
    out = measures.build_panel(consortia, members, panel)
    assert out["n_members"].tolist() == [1, 0]
    e20 = out.iloc[1]
    for column in (
        *measures.SHARE_COLUMNS,
        "type_diversity",
        "decision_hhi",
        "chain_coverage",
        "collab_intensity",
    ):
        assert np.isnan(e20[column]), column
    assert pd.isna(e20["has_academic_partner"])
    assert out.iloc[0]["has_academic_partner"]
    # no is_lead and no lead_org_id: the lead weight cannot be built at all
    assert "lead_decision_weight" not in out


def test_absent_optional_columns_leave_their_measures_out():
    t = tables()
    members = t["members"].drop(
        columns=["equity_tie", "chain_position", "decision_weight", "join_year", "exit_year"]
    )
    consortia = t["consortia"].drop(columns=["industry", "region", "dissolved_year"])
    panel_in = t["panel"].drop(columns=["achievements", "subsidy", "shared_platform"])
    panel = measures.build_panel(consortia, members, panel_in)
    absent = {
        "equity_tie_share",
        "chain_coverage",
        "decision_hhi",
        "lead_decision_weight",
        "industry",
        "region",
        "achievements",
        "transfer_rate",
        "subsidy",
        "subsidy_share",
        "shared_platform",
    }
    assert not absent & set(panel.columns)
    assert {
        "n_members",
        "type_diversity",
        "collab_intensity",
        "achievements_transferred",
        "rd_per_member",
        "industrial_task_share",
        "high_tech",
    } <= set(panel.columns)
    # without spells everyone is a member in every year: A has 3 members throughout
    assert panel.loc[panel["consortium_id"] == "A", "n_members"].tolist() == [3, 3, 3]
    meta = measures.panel_metadata(
        panel, {"consortia": consortia, "members": members, "panel": panel_in}
    )
    assert set(meta["skipped"]) == absent
    assert meta["skipped"]["transfer_rate"]["missing"] == ["panel.achievements"]
    assert meta["skipped"]["lead_decision_weight"]["missing"] == ["members.decision_weight"]
    assert meta["skipped"]["industry"]["reason"] == "input column(s) absent: consortia.industry"
    assert set(meta["built"]) == set(panel.columns) - {"consortium_id", "year"}


def test_lead_weight_skipped_without_is_lead_and_lead_org_id():
    t = tables()
    consortia = t["consortia"].drop(columns="lead_org_id")
    members = t["members"].drop(columns="is_lead")
    panel = measures.build_panel(consortia, members, t["panel"])
    assert "lead_decision_weight" not in panel and "decision_hhi" in panel
    meta = measures.panel_metadata(panel, {**t, "consortia": consortia, "members": members})
    no_lead = {
        "missing": ["members.is_lead or consortia.lead_org_id"],
        "reason": "input column(s) absent: members.is_lead or consortia.lead_org_id",
    }
    lead_measures = ("lead_decision_weight", *network.LEAD_MEASURES)
    assert meta["skipped"] == {measure: no_lead for measure in lead_measures}
    # the workflow plans with the same table -> columns lists (before reading any data)
    header_columns = {name: list(frame.columns) for name, frame in t.items()}
    assert measures.missing_inputs("transfer_rate", header_columns) == []
    assert measures.missing_inputs("collab_intensity", {"consortia": [], "members": []}) == [
        "panel.collab_events",
        "members.member_id",
    ]


def test_dtypes(panel):
    dtypes = panel.dtypes.astype(str).to_dict()
    for column in ("year", "founded_year", "age", "n_members"):
        assert dtypes[column] == "int64", column
    for column in ("high_tech", "has_academic_partner", "shared_platform"):
        assert dtypes[column] == "boolean", column
    for column in ("collab_events", "tasks_total", "patents_filed", "achievements", "standards"):
        assert dtypes[column] == "Int64", column
    ratios = (
        "type_diversity",
        "decision_hhi",
        "lead_decision_weight",
        "equity_tie_share",
        "chain_coverage",
        "collab_intensity",
        "rd_per_member",
        "subsidy_share",
        "industrial_task_share",
        "transfer_rate",
        "rd_expenditure",
        *measures.SHARE_COLUMNS,
    )
    for column in ratios:
        assert dtypes[column] == "float64", column


def test_panel_is_deterministic_and_ignores_input_row_order(panel):
    t = tables()
    shuffled = {name: frame.sample(frac=1.0, random_state=3) for name, frame in t.items()}
    again = measures.build_panel(shuffled["consortia"], shuffled["members"], shuffled["panel"])
    pd.testing.assert_frame_equal(again, panel)
    # round-trips through Parquet with the same dtypes
    assert panel.dtypes.equals(panel.astype(panel.dtypes).dtypes)


def test_panel_metadata(panel):
    meta = measures.panel_metadata(panel, tables())
    json.dumps(meta)  # JSON-ready
    assert meta["skipped"] == {}
    assert meta["built"] == list(panel.columns[2:])
    assert meta["rows"] == {
        "consortium_years": 7,
        "with_panel_row": 4,
        "structure_only": 3,
        "consortia": 3,
        "consortia_in_input": 4,
        "consortia_without_rows": 1,
    }
    assert meta["years"] == [2019, 2021]
    assert meta["window"] == {"first": 2019, "last": 2021, "source": "panel table"}
    # A, B flagged; C via lead_org_id; D: d1 flagged
    assert meta["lead_identified_by"] == {"is_lead": 3, "lead_org_id": 1}
    assert meta["missing_values"]["transfer_rate"] == 4  # A 2020 (0/0) + 3 rows of C
    # no lead had worked with anyone before its consortium started
    assert meta["all_missing"] == ["lead_effective_size"]


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda t: t["panel"].assign(consortium_id=["A", "A", "A", "Z"]), "not in the consortia"),
        (lambda t: t["panel"].assign(year=_int([2019, 2020, 2021, 2022])), "outside"),
        (lambda t: t["panel"].assign(year=_int([2019, 2019, 2021, 2020])), "duplicate"),
    ],
)
def test_uncleaned_panel_rows_are_refused(change, message):
    t = tables()
    with pytest.raises(measures.MeasureInputError, match=message):
        measures.build_panel(t["consortia"], t["members"], change(t))


def test_unknown_member_type_is_refused():
    t = tables()
    members = t["members"].assign(member_type=["firm"] + list(t["members"]["member_type"][1:]))
    with pytest.raises(measures.MeasureInputError, match="member_type"):
        measures.build_panel(t["consortia"], members, t["panel"])


def _naive_member_sums(values, member_code, start, end, row_code, row_year):
    """The definition, one row and one member at a time."""
    out = []
    for c, y in zip(row_code, row_year):
        active = (member_code == c) & (start <= y) & (y <= end)
        out.append({k: float(np.asarray(v)[active].sum()) for k, v in values.items()})
    return pd.DataFrame(out, columns=list(values))


def test_spell_sums_match_the_definition_on_random_spells():
    rng = np.random.default_rng(11)
    n_members = 300
    member_code = rng.integers(0, 40, n_members)
    start = rng.integers(2000, 2012, n_members)
    end = start + rng.integers(-1, 8, n_members)  # some empty spells (end < start)
    end[rng.random(n_members) < 0.2] = 10_000
    values = {"one": np.ones(n_members), "w": rng.random(n_members)}
    rows = sorted(
        {(int(c), int(y)) for c, y in zip(rng.integers(0, 45, 400), rng.integers(1998, 2015, 400))}
    )
    row_code = np.array([r[0] for r in rows])
    row_year = np.array([r[1] for r in rows])
    got = measures.spell_sums(values, member_code, start, end, row_code, row_year)
    expected = _naive_member_sums(values, member_code, start, end, row_code, row_year)
    np.testing.assert_array_equal(got["one"], expected["one"])
    np.testing.assert_allclose(got["w"], expected["w"], atol=1e-12)


# --------------------------------------------------------------------------- #
# scale smoke test
# --------------------------------------------------------------------------- #


def _random_world(n_consortia: int, n_years: int, seed: int):
    rng = np.random.default_rng(seed)
    first = 2010
    last = first + n_years - 1
    ids = np.array([f"K{i:06d}" for i in range(n_consortia)], dtype=object)
    founded = rng.integers(first - 3, last + 1, n_consortia)
    dissolved = np.where(
        rng.random(n_consortia) < 0.2, founded + rng.integers(0, 5, n_consortia), -1
    )
    consortia = pd.DataFrame(
        {
            "consortium_id": ids,
            "lead_type": rng.choice(list(ORG_TYPES), n_consortia),
            "founded_year": _int(founded),
            "dissolved_year": pd.Series(np.where(dissolved < 0, np.nan, dissolved)).astype("Int64"),
            "lead_org_id": "m0",
        }
    )
    size = rng.integers(3, 15, n_consortia)
    ci = np.repeat(np.arange(n_consortia), size)
    slot = np.arange(ci.size) - np.repeat(np.cumsum(size) - size, size)
    join = np.where(rng.random(ci.size) < 0.3, founded[ci] + rng.integers(0, 6, ci.size), np.nan)
    exit_ = np.where(rng.random(ci.size) < 0.2, founded[ci] + rng.integers(0, 9, ci.size), np.nan)
    exit_ = np.where(exit_ < np.nan_to_num(join, nan=-1), np.nan, exit_)
    members = pd.DataFrame(
        {
            "consortium_id": ids[ci],
            "member_id": np.char.add("m", slot.astype(str)).astype(object),
            "member_type": rng.choice(list(ORG_TYPES), ci.size),
            "decision_weight": rng.random(ci.size),
            "join_year": pd.Series(join).astype("Int64"),
            "exit_year": pd.Series(exit_).astype("Int64"),
        }
    )
    # panel rows for every alive year in the window, for 90% of the consortia
    lo = np.maximum(founded, first)
    hi = np.where(dissolved < 0, last, np.minimum(dissolved, last))
    length = np.clip(hi - lo + 1, 0, None) * (rng.random(n_consortia) < 0.9)
    pc = np.repeat(np.arange(n_consortia), length)
    py = (
        np.repeat(lo, length)
        + np.arange(length.sum())
        - np.repeat(np.cumsum(length) - length, length)
    )
    achievements = rng.poisson(2, pc.size)
    panel = pd.DataFrame(
        {
            "consortium_id": ids[pc],
            "year": _int(py),
            "collab_events": _int(rng.poisson(4, pc.size)),
            "achievements": _int(achievements),
            "achievements_transferred": _int(rng.binomial(achievements, 0.5)),
        }
    )
    expected_rows = int(np.clip(hi - lo + 1, 0, None).sum())
    return consortia, members, panel.sample(frac=1.0, random_state=seed), expected_rows


@pytest.mark.slow
def test_scale_smoke_20k_consortia_8_years():
    consortia, members, panel_in, expected_rows = _random_world(20_000, 8, seed=5)
    panel = measures.build_panel(consortia, members, panel_in)
    # every alive year of the window, each once: the consortia with panel rows have them
    # for all their alive years, the others get structure rows for the same years
    assert len(panel) == expected_rows
    assert not panel.duplicated(["consortium_id", "year"]).any()
    assert panel["year"].between(2010, 2017).all()
    keys = panel[["consortium_id", "year"]]
    assert keys.equals(keys.sort_values(["consortium_id", "year"]).reset_index(drop=True))
    # n_members against a merge-based spell expansion (independent of the event trick)
    spells = members.merge(consortia[["consortium_id", "founded_year"]], on="consortium_id")
    spells["start"] = spells["join_year"].fillna(spells["founded_year"]).astype(int)
    spells["end"] = spells["exit_year"].fillna(10_000).astype(int)
    expanded = panel[["consortium_id", "year"]].merge(spells, on="consortium_id")
    active = expanded[
        (expanded["start"] <= expanded["year"]) & (expanded["year"] <= expanded["end"])
    ]
    n_expected = active.groupby(["consortium_id", "year"]).size()
    n_got = panel.set_index(["consortium_id", "year"])["n_members"]
    assert n_got.reindex(n_expected.index).eq(n_expected).all()
    assert (n_got.drop(n_expected.index) == 0).all()
    hhi_expected = (
        active.assign(w2=active["decision_weight"] ** 2)
        .groupby(["consortium_id", "year"])
        .agg(w=("decision_weight", "sum"), w2=("w2", "sum"))
    )
    hhi_got = panel.set_index(["consortium_id", "year"])["decision_hhi"]
    np.testing.assert_allclose(
        hhi_got.reindex(hhi_expected.index),
        hhi_expected["w2"] / hhi_expected["w"] ** 2,
        rtol=1e-9,
    )
    # invariants
    members_present = panel["n_members"] > 0
    shares = panel[list(measures.SHARE_COLUMNS)].sum(axis=1)
    np.testing.assert_allclose(shares[members_present], 1.0)
    assert shares[~members_present].eq(0).all()  # NaN shares sum to 0 in pandas
    assert panel.loc[~members_present, "type_diversity"].isna().all()
    diversity = panel.loc[members_present, "type_diversity"]
    assert diversity.between(0, 1 - 1 / 5 + 1e-12).all()
    hhi = panel.loc[members_present, "decision_hhi"]
    assert (hhi <= 1 + 1e-12).all()
    assert (hhi >= 1 / panel.loc[members_present, "n_members"] - 1e-12).all()
    rate = panel["transfer_rate"].dropna()
    assert rate.between(0, 1).all()
    assert panel["transfer_rate"].isna().sum() >= (panel["achievements"] == 0).sum()


# --------------------------------------------------------------------------- #
# tasks
# --------------------------------------------------------------------------- #


def tasks_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "consortium_id": ["B", "A", "A", "B", "B"],
            "task_id": ["T2", "T1", "T2", "T1", "T3"],
            "start_date": pd.to_datetime(
                ["2021-03-01", "2020-01-01", "2021-01-01", "2020-06-01", "2022-01-01"]
            ),
            "end_date": pd.to_datetime(["2022-07-01", "2020-12-31", None, "2021-06-01", None]),
            "status": [None, "achieved", "ongoing", "abandoned", None],
            "field": ["f1", "f2", "f2", "f1", "f3"],
            "source_row": [1, 2, 3, 4, 5],
        }
    )


def _task(tasks: pd.DataFrame, consortium: str, task: str) -> pd.Series:
    return tasks[(tasks["consortium_id"] == consortium) & (tasks["task_id"] == task)].iloc[0]


def test_tasks_censored_at_the_latest_date_by_default():
    tasks, fixes = measures.build_tasks(tasks_frame(), consortia_frame(), return_fixes=True)
    assert list(tasks.columns) == list(measures.TASK_COLUMNS)
    assert list(zip(tasks["consortium_id"], tasks["task_id"])) == [
        ("A", "T1"),
        ("A", "T2"),
        ("B", "T1"),
        ("B", "T2"),
        ("B", "T3"),
    ]
    cut = pd.Timestamp("2022-07-01")  # latest date in the table (B-T2's end)
    a1, a2 = _task(tasks, "A", "T1"), _task(tasks, "A", "T2")
    b1, b2, b3 = (_task(tasks, "B", t) for t in ("T1", "T2", "T3"))
    # A-T1 achieved 2020-01-01 -> 2020-12-31: 365 days (2020 is a leap year: 366 - 1)
    assert (a1["event"], a1["censored"], a1["duration_days"]) == (1, 0, 365)
    assert a1["duration_years"] == pytest.approx(365 / 365.25)
    # A-T2 ongoing since 2021-01-01, censored at 2022-07-01: 365 + 181 = 546 days
    assert a2["exit_date"] == cut and pd.isna(a2["end_date"])
    assert (a2["event"], a2["censored"], a2["duration_days"]) == (0, 1, 546)
    # B-T1 abandoned: censored at its own end date, 2020-06-01 -> 2021-06-01 = 365 days
    assert b1["exit_date"] == pd.Timestamp("2021-06-01")
    assert (b1["event"], b1["censored"], b1["duration_days"]) == (0, 1, 365)
    # B-T2 has no status but an end date: inferred achieved; 2021-03-01 -> 2022-07-01 =
    # 365 + (31 + 30 + 31 + 30) = 487 days
    assert b2["status"] == "achieved"
    assert (b2["event"], b2["duration_days"]) == (1, 487)
    assert b2["duration_years"] == pytest.approx(487 / 365.25)
    # B-T3 no status, no end date: inferred ongoing, censored: 2022-01-01 -> 07-01 = 181
    assert b3["status"] == "ongoing" and b3["exit_date"] == cut
    assert (b3["event"], b3["censored"], b3["duration_days"]) == (0, 1, 181)
    # two statuses inferred, each recorded as a fix
    assert fixes["fix"].tolist() == ["task_status_inferred"] * 2
    assert fixes["source_row"].tolist() == [1, 5]
    assert fixes.columns.tolist() == FIX_COLUMNS
    assert "achieved (end_date given)" in fixes["detail"].iloc[0]
    assert json.loads(fixes["record"].iloc[0])["task_id"] == "T2"
    # consortium attributes attached
    assert (a1["lead_type"], a1["industry"], bool(a1["high_tech"])) == ("enterprise", "ict", True)
    assert (tasks["censored"] == 1 - tasks["event"]).all()
    assert tasks["event"].dtype == "int64" and tasks["duration_days"].dtype == "float64"
    assert tasks["exit_date"].dtype == "datetime64[ns]"


def test_tasks_censored_at_a_configured_date():
    tasks = measures.build_tasks(tasks_frame(), consortia_frame(), censoring_date="2021-12-31")
    cut = pd.Timestamp("2021-12-31")
    a1, a2 = _task(tasks, "A", "T1"), _task(tasks, "A", "T2")
    b1, b2, b3 = (_task(tasks, "B", t) for t in ("T1", "T2", "T3"))
    assert (a1["event"], a1["duration_days"]) == (1, 365)  # ended before the cut
    # A-T2 ongoing: 2021-01-01 -> 2021-12-31 = 364 days
    assert a2["exit_date"] == cut and a2["duration_days"] == 364
    assert (b1["event"], b1["duration_days"]) == (0, 365)  # abandoned before the cut
    # B-T2 achieved only in 2022: still running at the cut, censored there:
    # 2021-03-01 (day 60) -> 2021-12-31 (day 365) = 305 days
    assert b2["exit_date"] == cut
    assert (b2["event"], b2["censored"], b2["duration_days"]) == (0, 1, 305)
    # B-T3 starts after the cut: not at risk, no duration
    assert pd.isna(b3["exit_date"]) and np.isnan(b3["duration_days"])
    assert (b3["event"], b3["censored"]) == (0, 1)
    same = measures.build_tasks(tasks_frame(), consortia_frame(), pd.Timestamp("2021-12-31"))
    pd.testing.assert_frame_equal(same, tasks)


def test_tasks_metadata_counts_censoring_reasons():
    meta = measures.tasks_metadata(tasks_frame())
    json.dumps(meta)
    assert meta == {
        "censoring_date": "2022-07-01",
        "censoring_date_source": "latest date in the tasks table",
        "tasks": 5,
        "events": 2,
        "censored": 3,
        "by_reason": {"abandoned": 1, "event": 2, "ongoing": 2},
        "without_duration": 0,
        "status_inferred": 2,
    }
    meta = measures.tasks_metadata(tasks_frame(), "2021-12-31")
    assert meta["by_reason"] == {
        "abandoned": 1,
        "ended_after_censoring_date": 1,
        "event": 1,
        "ongoing": 1,
        "started_after_censoring_date": 1,
    }
    assert meta["without_duration"] == 1 and meta["censoring_date_source"] == "config"


def test_tasks_with_absent_optional_columns():
    bare = tasks_frame()[["consortium_id", "task_id", "end_date"]]
    tasks, fixes = measures.build_tasks(
        bare, consortia_frame()[["consortium_id", "lead_type", "founded_year"]], return_fixes=True
    )
    # no start_date: no durations; no field / status / industry / high_tech columns given
    assert list(tasks.columns) == [
        "consortium_id",
        "task_id",
        "status",
        "end_date",
        "exit_date",
        "event",
        "censored",
        "lead_type",
    ]
    assert len(fixes) == 5  # every status inferred from end_date
    assert tasks["status"].tolist() == ["achieved", "ongoing", "achieved", "achieved", "ongoing"]
    assert tasks["event"].tolist() == [1, 0, 1, 1, 0]


def test_closed_task_without_end_date_has_no_duration():
    tasks = tasks_frame().assign(status=["achieved", "achieved", "abandoned", "abandoned", None])
    out = measures.build_tasks(tasks, consortia_frame())
    a2 = _task(out, "A", "T2")  # abandoned, no end date: unknown exit
    assert pd.isna(a2["exit_date"]) and np.isnan(a2["duration_days"])
    assert (a2["event"], a2["censored"]) == (0, 1)


def test_tasks_refuse_unknown_consortia_and_end_before_start():
    with pytest.raises(measures.MeasureInputError, match="not in the consortia"):
        measures.build_tasks(
            tasks_frame().assign(consortium_id=["B", "A", "A", "B", "Z"]), consortia_frame()
        )
    backwards = tasks_frame()
    backwards.loc[1, "end_date"] = pd.Timestamp("2019-01-01")
    with pytest.raises(measures.MeasureInputError, match="end before they start"):
        measures.build_tasks(backwards, consortia_frame())


def test_string_dtype_columns_with_pd_na(panel):
    # Parquet round trips and user frames may hold text as pandas "string" with <NA>.
    t = tables()
    as_string = {
        name: frame.astype({c: "string" for c in frame.columns if frame[c].dtype == object})
        for name, frame in t.items()
    }
    assert as_string["consortia"]["lead_org_id"].isna().sum() == 1
    again = measures.build_panel(as_string["consortia"], as_string["members"], as_string["panel"])
    pd.testing.assert_frame_equal(
        again.drop(columns=["consortium_id", "lead_type", "industry", "region", "programme"]),
        panel.drop(columns=["consortium_id", "lead_type", "industry", "region", "programme"]),
    )
    assert again["consortium_id"].astype(object).tolist() == panel["consortium_id"].tolist()


def test_tasks_carry_the_comparison_group_flag_through():
    """`in_consortium` is what makes the organised-research claim testable in the workflow."""
    consortia = pd.DataFrame(
        {
            "consortium_id": ["a", "b"],
            "lead_type": ["enterprise", "university"],
            "founded_year": [2015, 2016],
        }
    )
    tasks = pd.DataFrame(
        {
            "consortium_id": ["a", "b", "a"],
            "task_id": ["1", "2", "3"],
            "status": ["achieved", "ongoing", "achieved"],
            "start_date": pd.to_datetime(["2016-01-01", "2017-01-01", "2016-06-01"]),
            "end_date": pd.to_datetime(["2018-01-01", None, "2017-06-01"]),
            "in_consortium": [True, False, False],
        }
    )
    out = measures.build_tasks(tasks, consortia, censoring_date="2020-01-01")
    assert out.set_index("task_id")["in_consortium"].to_dict() == {
        "1": True,
        "2": False,
        "3": False,
    }
    assert "in_consortium" not in measures.build_tasks(
        tasks.drop(columns="in_consortium"), consortia
    )
