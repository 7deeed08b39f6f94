"""Step 3 of cleaning on keys: keys that appear more than once (every copy) and the rules
across tables, which look only at the consortia that were kept."""

from __future__ import annotations

import numpy as np
import pandas as pd

from consortia.clean.work import TableWork, record_fixes
from consortia.contract import (
    Fix,
    Rule,
)
from consortia.io import SOURCE_ROW


def add_conflicting_duplicates(work: TableWork) -> None:
    """Rows whose key repeats: exact copies are already collapsed, so these differ
    somewhere, and no copy can be preferred over another."""
    key = list(work.spec.key)
    keyed = work.typed[key + [SOURCE_ROW]].dropna(subset=key)
    repeated = keyed[keyed.duplicated(subset=key, keep=False)]
    if repeated.empty:
        return
    copies = repeated.groupby(key, sort=False)[SOURCE_ROW]
    first, last = copies.transform("min").astype(str), copies.transform("max").astype(str)
    count = copies.transform("size")
    listing = pd.Series(
        np.where(count == 2, first + " and " + last, first + ", ..., " + last), index=count.index
    )
    key_text = work.text.loc[repeated.index, key[0]].radd(f"{key[0]}=")
    for column in key[1:]:
        key_text = key_text + f", {column}=" + work.text.loc[repeated.index, column]
    detail = (
        "key "
        + key_text
        + " appears in "
        + count.astype(str)
        + " rows with different values (source rows "
        + listing
        + ")"
    )
    work.flag(
        pd.Series(True, index=repeated.index), Rule.CONFLICTING_DUPLICATE, ", ".join(key), detail
    )


def add_unknown_consortium(
    work: TableWork,
    kept_consortia: pd.DataFrame,
    quarantined_consortia: pd.DataFrame,
    consortia: TableWork,
) -> None:
    ids = work.typed["consortium_id"]
    unknown = ids.notna() & ~ids.isin(kept_consortia["consortium_id"])
    # The rule under which each set-aside consortium went (its first quarantined row).
    set_aside = quarantined_consortia.assign(
        consortium_id=consortia.text.loc[quarantined_consortia["row"], "consortium_id"].to_numpy()
    )
    rule_of = set_aside.dropna(subset="consortium_id").drop_duplicates("consortium_id")
    rule_of = rule_of.set_index("consortium_id")["rule"]

    def detail(rows: pd.Index) -> pd.Series:
        named = "consortium '" + ids[rows] + "'"
        why = ids[rows].map(rule_of)
        return (named + " is quarantined in consortia (" + why + ")").fillna(
            named + " is not in the consortia table"
        )

    work.flag(unknown, Rule.UNKNOWN_CONSORTIUM_KEY, "consortium_id", detail)


def add_year_outside_life(panel: TableWork, kept_consortia: pd.DataFrame) -> None:
    life = kept_consortia.set_index("consortium_id")
    ids, year = panel.typed["consortium_id"], panel.typed["year"]
    founded = ids.map(life["founded_year"]).astype("Int64")
    dissolved = (
        ids.map(life["dissolved_year"]).astype("Int64")
        if "dissolved_year" in life
        else pd.Series(pd.NA, index=ids.index, dtype="Int64")
    )
    before = (year < founded).fillna(False)
    after = (year > dissolved).fillna(False)

    def detail(rows: pd.Index) -> pd.Series:
        bound = pd.Series(
            np.where(
                before[rows],
                " is before founded_year " + founded[rows].astype(str),
                " is after dissolved_year " + dissolved[rows].astype(str),
            ),
            index=rows,
        )
        return "year " + year[rows].astype(str) + bound + " of consortium " + ids[rows]

    panel.flag(before | after, Rule.YEAR_OUTSIDE_LIFE, "year", detail)


def add_multiple_leads(members: TableWork, kept_consortia: pd.DataFrame) -> None:
    """Several lead rows in a consortium: if ``consortia.lead_org_id`` names one of them
    the others lose the flag (a fix); otherwise no lead can be chosen and all are set aside."""
    if "is_lead" not in members.typed:
        return
    passing = members.passing()
    leads = passing[passing["is_lead"].fillna(False).astype(bool)]
    leads = leads[leads.groupby("consortium_id")["member_id"].transform("size") > 1]
    if leads.empty:
        return
    lead_org = (
        kept_consortia.set_index("consortium_id")["lead_org_id"]
        if "lead_org_id" in kept_consortia
        else pd.Series(dtype=object)
    )
    named = leads["consortium_id"].map(lead_org)
    matches = (leads["member_id"] == named).fillna(False)
    n_matching = matches.groupby(leads["consortium_id"]).transform("sum")
    n_leads = leads.groupby("consortium_id")["member_id"].transform("size").astype(str)
    unresolved = n_matching == 0
    members.flag(
        unresolved,
        Rule.MULTIPLE_LEADS,
        "is_lead",
        n_leads
        + " rows flag is_lead in consortium "
        + leads["consortium_id"]
        + " and none matches consortia.lead_org_id ("
        + named.fillna("empty")
        + ")",
    )
    surplus = leads.index[(n_matching == 1) & ~matches]
    if len(surplus):
        members.typed.loc[surplus, "is_lead"] = False
        detail = (
            "is_lead set to false: "
            + n_leads[surplus]
            + " rows flag is_lead in consortium "
            + leads.loc[surplus, "consortium_id"]
            + " and consortia.lead_org_id names "
            + named[surplus]
        )
        record_fixes(members, surplus, Fix.LEAD_FLAG_RECONCILED, "is_lead", detail)
