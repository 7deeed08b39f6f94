"""Network measures (consortia.network) against networkx and hand counts.

The reference builds each consortium's prior network edge by edge with networkx from the
definition in the module docstring (two organisations are tied from the first year
before the consortium's founding in which both were members of one consortium) and
takes networkx's own degree and effective size; lead experience and repeated ties are
counted with plain loops. Nothing is shared with the vectorised code but the input
tables.
"""

import itertools
import math

import networkx as nx
import numpy as np
import pandas as pd
import pytest

from consortia import measures, network

OPEN = 10_000


def world(seed: int, n_consortia: int = 40, n_orgs: int = 25, spells: bool = True):
    """Consortia founded over six years, members drawn from a small pool (so organisations
    recur and ties repeat), with membership spells when ``spells``."""
    rng = np.random.default_rng(seed)
    founded = rng.integers(2010, 2016, n_consortia)
    consortia, members = [], []
    for c in range(n_consortia):
        cid = f"C{c:03d}"
        size = int(rng.integers(1, 7))
        orgs = rng.choice(n_orgs, size=size, replace=False)
        lead = f"O{orgs[0]:02d}"
        consortia.append(
            {"consortium_id": cid, "lead_type": "enterprise", "founded_year": founded[c],
             "lead_org_id": lead}
        )  # fmt: skip
        for k, o in enumerate(orgs):
            join = founded[c] + (int(rng.integers(0, 3)) if spells and k else 0)
            exit_ = join + int(rng.integers(0, 4)) if spells and rng.random() < 0.4 else None
            members.append(
                {"consortium_id": cid, "member_id": f"O{o:02d}", "member_type": "enterprise",
                 "is_lead": k == 0, "join_year": join if spells else None, "exit_year": exit_}
            )  # fmt: skip
    consortia = pd.DataFrame(consortia).astype({"founded_year": "Int64"})
    members = pd.DataFrame(members).astype({"join_year": "Int64", "exit_year": "Int64"})
    return consortia, members


def spells_of(consortia, members):
    founded = consortia.set_index("consortium_id")["founded_year"]
    rows = members.assign(founded=members["consortium_id"].map(founded))
    start = rows["join_year"].fillna(rows["founded"]).astype(int)
    rows["start"] = np.maximum(start, rows["founded"].astype(int))
    rows["end"] = rows["exit_year"].fillna(OPEN).astype(int)
    return rows


def prior_graph(rows, year):
    """networkx graph of the ties formed before ``year``, from the definition."""
    graph = nx.Graph()
    for _, group in rows.groupby("consortium_id"):
        for (_, a), (_, b) in itertools.combinations(group.iterrows(), 2):
            first = max(a["start"], b["start"])
            if first <= min(a["end"], b["end"]) and first < year:
                graph.add_edge(a["member_id"], b["member_id"])
    return graph


def reference(consortia, members):
    rows = spells_of(consortia, members)
    graphs = {t: prior_graph(rows, t) for t in consortia["founded_year"].unique()}
    out = {}
    for _, c in consortia.iterrows():
        t, lead = int(c["founded_year"]), c["lead_org_id"]
        graph = graphs[t]
        own = rows[rows["consortium_id"] == c["consortium_id"]]
        of_lead = rows[(rows["member_id"] == lead) & (rows["start"] < t)]
        active = own[(own["start"] <= t) & (own["end"] >= t)]["member_id"].tolist()
        pairs = list(itertools.combinations(active, 2))
        repeat = [graph.has_edge(a, b) for a, b in pairs]
        degree = graph.degree(lead) if lead in graph else 0
        out[c["consortium_id"]] = {
            "lead_prior_led": int(of_lead["is_lead"].sum()),
            "lead_prior_joined": int((~of_lead["is_lead"]).sum()),
            "lead_prior_partners": degree,
            "lead_effective_size": nx.effective_size(graph, [lead])[lead] if degree else math.nan,
            "repeat_tie_share": float(np.mean(repeat)) if pairs else math.nan,
        }
    return pd.DataFrame.from_dict(out, orient="index").sort_index()


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("spells", [True, False])
def test_measures_equal_networkx_and_hand_counts(seed, spells):
    consortia, members = world(seed, spells=spells)
    got = measures.consortium_measures(consortia, members)
    expected = reference(consortia, members)
    pd.testing.assert_frame_equal(
        got[list(network.NETWORK_MEASURES)], expected[list(network.NETWORK_MEASURES)],
        check_dtype=False, check_names=False, atol=1e-12,
    )  # fmt: skip
    # the worlds have what the measures are about
    assert (expected["lead_prior_partners"] > 0).any()
    assert (expected["lead_effective_size"] < expected["lead_prior_partners"]).any()
    assert (expected["repeat_tie_share"] > 0).any()


def test_a_hand_made_world():
    """A (2010) leads with B and C; B (2011) leads with C and D; A (2012) leads with B, C
    and D. Before 2012 A is tied to B and C (k1), B, C and D to each other (k1, k2): A's
    effective size is 2 - 2*1/2 = 1 (its two partners are tied), and of the 2012 pairs AB,
    AC, AD, BC, BD, CD all but AD had worked together."""
    consortia = pd.DataFrame(
        {"consortium_id": ["k1", "k2", "k3"], "lead_type": "enterprise",
         "founded_year": [2010, 2011, 2012]}
    )  # fmt: skip
    members = pd.DataFrame(
        {"consortium_id": ["k1"] * 3 + ["k2"] * 3 + ["k3"] * 4,
         "member_id": list("ABC") + list("BCD") + list("ABCD"),
         "member_type": "university",
         "is_lead": [True, False, False, True, False, False, True, False, False, False]}
    )  # fmt: skip
    got = measures.consortium_measures(consortia, members)
    k3 = got.loc["k3"]
    assert (k3["lead_prior_led"], k3["lead_prior_joined"], k3["lead_prior_partners"]) == (1, 0, 2)
    assert k3["lead_effective_size"] == 1.0
    assert k3["repeat_tie_share"] == pytest.approx(5 / 6)
    k2 = got.loc["k2"]  # B had joined k1; B–C had worked together, C–D and B–D not
    assert (k2["lead_prior_led"], k2["lead_prior_joined"], k2["lead_prior_partners"]) == (0, 1, 2)
    assert k2["repeat_tie_share"] == pytest.approx(1 / 3)
    assert got.loc["k1"].drop("lead_effective_size").tolist() == [0, 0, 0, 0]
    assert math.isnan(got.loc["k1", "lead_effective_size"])


@pytest.mark.parametrize("seed", range(4))
def test_later_consortia_never_change_earlier_measures(seed):
    """Adding consortia founded later (some with the same organisations, some led by
    them) leaves every earlier consortium's measures, per consortium and per
    consortium-year of the panel, exactly as they were."""
    consortia, members = world(seed)
    later_c, later_m = world(seed + 100, n_consortia=30)
    later_c = later_c.assign(
        consortium_id="L" + later_c["consortium_id"],
        founded_year=later_c["founded_year"] - 2010 + int(consortia["founded_year"].max()) + 1,
    )
    later_m = later_m.assign(
        consortium_id="L" + later_m["consortium_id"],
        join_year=later_m["join_year"] - 2010 + int(consortia["founded_year"].max()) + 1,
    )
    more_c = pd.concat([consortia, later_c], ignore_index=True)
    more_m = pd.concat([members, later_m], ignore_index=True)

    before = measures.consortium_measures(consortia, members)
    after = measures.consortium_measures(more_c, more_m)
    pd.testing.assert_frame_equal(after.loc[before.index], before)
    assert not after.loc[later_c["consortium_id"]].isna().all().all()

    years = (2010, int(more_c["founded_year"].max()) + 5)
    panel_before = measures.build_panel(consortia, members, years=years)
    panel_after = measures.build_panel(more_c, more_m, years=years)
    panel_after = panel_after[panel_after["consortium_id"].isin(consortia["consortium_id"])]
    columns = ["consortium_id", "year", *network.NETWORK_MEASURES]
    pd.testing.assert_frame_equal(
        panel_after[columns].reset_index(drop=True), panel_before[columns]
    )


def test_panel_repeat_ties_follow_the_members_active_each_year():
    """With spells, the share in year y is over the pairs of members active in y, tied
    before the consortium was founded."""
    consortia, members = world(3)
    panel = measures.build_panel(consortia, members, years=(2010, 2020))
    rows = spells_of(consortia, members)
    graphs = {t: prior_graph(rows, t) for t in consortia["founded_year"].unique()}
    checked = 0
    for (cid, year), value in panel.set_index(["consortium_id", "year"])[
        "repeat_tie_share"
    ].items():
        graph = graphs[consortia.set_index("consortium_id").loc[cid, "founded_year"]]
        own = rows[rows["consortium_id"] == cid]
        active = own[(own["start"] <= year) & (own["end"] >= year)]["member_id"]
        pairs = list(itertools.combinations(active, 2))
        if not pairs:
            assert math.isnan(value)
            continue
        assert value == pytest.approx(np.mean([graph.has_edge(a, b) for a, b in pairs]))
        checked += 1
    assert checked > 50
    varying = panel.groupby("consortium_id")["repeat_tie_share"].nunique(dropna=False)
    assert (varying > 1).any()  # the spells make it change within consortia


def test_lead_measures_are_built_and_skipped_with_the_lead():
    """Without is_lead or lead_org_id the lead measures are skipped and named, the
    repeated-tie share is still built."""
    consortia, members = world(1, spells=False)
    panel = measures.build_panel(
        consortia.drop(columns="lead_org_id"), members.drop(columns="is_lead")
    )
    assert "repeat_tie_share" in panel
    assert not set(network.LEAD_MEASURES) & set(panel.columns)
    missing = measures.missing_inputs(
        "lead_prior_partners", {"consortia": ["consortium_id"], "members": ["member_id"]}
    )
    assert missing == ["members.is_lead or consortia.lead_org_id"]
