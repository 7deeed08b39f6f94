"""Whatever the mess, every row read is kept, quarantined or collapsed: exactly once."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from consortia.clean import clean_dataset
from consortia.contract import TABLES, Kind, Rule

# Values a cell may hold: valid ones, near misses, garbage, blanks. Keys come from small
# pools so that duplicates, conflicts and orphans are common.
KEYS = {
    "consortium_id": ["C1", "C2", "C3", " C1 ", "C9", "", None],
    "member_id": ["M1", "M2", "M3", None],
    "task_id": ["T1", "T2", None],
    "lead_org_id": ["M1", "M2", "M7", None],
}
BY_KIND = {
    Kind.YEAR: ["2015", "2018", "2020", "2020.0", "2019.5", "20x0", "-1", "", None],
    Kind.COUNT: ["0", "3", "7", "-2", "1e1", "n/a", "", None],
    Kind.MONEY: ["0", "1.5", "250", "-3", "abc", "1e400", None],
    Kind.FLOAT: ["0", "0.25", "0.5", "1", "1.5", "-0.1", "x", None],
    Kind.BOOL: ["true", "0", "是", "否", "YES", "maybe", None],
    Kind.DATE: ["2019-01-01", "2020-06-30", "2019-13-45", "2021/02/03", "", None],
    Kind.STRING: ["a", "  b ", "江苏", "", None],
}
ORG_TYPE_LABELS = ["enterprise", "企业", "Firm", "university", "研究院", "alien", "  ", None]
CATEGORY_LABELS = {
    "status": ["achieved", "Ongoing", "abandoned", "done", None],
    "chain_position": ["upstream", "downstream", "sideways", None],
}
CONFIG = {
    "org_type_synonyms": {"alien": "other"},
    "industry_map": {"a": "A"},
    "money": {
        "currency": "CNY",
        "units": {"panel": {"rd_expenditure": "万元"}},
        "deflator": {
            "base_year": 2020,
            "index": {year: 90 + year - 2010 for year in range(2010, 2026)},
        },
    },
}


def cell_values(table: str, column: str, kind: Kind) -> list:
    if column in KEYS:
        return KEYS[column]
    if column in TABLES[table].org_type_columns:
        return ORG_TYPE_LABELS
    if kind is Kind.CATEGORY:
        return CATEGORY_LABELS[column]
    return BY_KIND[kind]


@st.composite
def messy_table(draw, table: str) -> pd.DataFrame:
    spec = TABLES[table]
    optional = [c for c in spec.columns if c not in spec.required]
    columns = list(spec.required) + draw(st.lists(st.sampled_from(optional), unique=True))
    row = st.fixed_dictionaries(
        {c: st.sampled_from(cell_values(table, c, spec.columns[c])) for c in columns}
        | {"extra": st.sampled_from(["x", None])}
    )
    rows = draw(st.lists(row, max_size=12))
    # Exact copies of some rows, anywhere in the file.
    copies = draw(st.lists(st.integers(0, max(len(rows) - 1, 0)), max_size=4)) if rows else []
    rows = rows + [rows[i] for i in copies]
    order = draw(st.permutations(range(len(rows))))
    frame = pd.DataFrame([rows[i] for i in order], columns=columns + ["extra"], dtype=object)
    frame = frame.where(frame.notna(), np.nan)
    return frame.assign(source_row=np.arange(1, len(frame) + 1))


@st.composite
def messy_dataset(draw) -> dict[str, pd.DataFrame]:
    tables = ["consortia", "members"] + [t for t in ("panel", "tasks") if draw(st.booleans())]
    return {table: draw(messy_table(table)) for table in tables}


@pytest.mark.slow
@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(messy_dataset())
def test_every_row_is_kept_quarantined_or_collapsed_exactly_once(raw):
    result = clean_dataset(raw, {t: f"{t}.csv" for t in raw}, CONFIG)
    rule_ids = {str(rule) for rule in Rule}
    for table, frame in raw.items():
        account = result.accounting[table]
        kept = result.tables[table]["source_row"]
        set_aside = result.quarantine.loc[result.quarantine["table"] == table, "source_row"]
        assert account.identity_holds
        assert account.rows_read == len(frame)
        assert account.rows_kept == len(kept)
        assert account.rows_quarantined == len(set_aside)
        assert account.rows_read == len(kept) + len(set_aside) + account.duplicates_collapsed
        # No row is counted twice: kept and quarantined rows are distinct rows of the file.
        assert kept.is_unique and set_aside.is_unique
        assert not set(kept) & set(set_aside.astype(int))
        assert sum(account.quarantined_by_rule.values()) == account.rows_quarantined
    assert set(result.quarantine["rule"]) <= rule_ids
