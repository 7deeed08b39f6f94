"""The cleaning of a whole dataset, in the order the docstring of :mod:`consortia.clean`
gives."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from consortia.clean.fixes import (
    apply_industry_map,
    convert_money,
    count_org_type_synonyms,
    decision_weight_warnings,
    deflate_money,
    fill_task_status,
    plan_money,
)
from consortia.clean.keys import (
    add_conflicting_duplicates,
    add_multiple_leads,
    add_unknown_consortium,
    add_year_outside_life,
)
from consortia.clean.parsing import parse_table
from consortia.clean.rules import add_column_rules, add_value_overflow, check_task_dates
from consortia.clean.work import (
    QUARANTINE_COLUMNS,
    CleanDataset,
    check_accounting,
    concatenated,
    kept_rows,
    quarantine_rows,
    resolved_violations,
    table_account,
)
from consortia.contract import (
    FIX_COLUMNS,
    TABLES,
)


def clean_dataset(
    raw: Mapping[str, pd.DataFrame], sources: Mapping[str, str], config: Mapping
) -> CleanDataset:
    """Clean the tables read by ``io.read_table``.

    ``config`` holds the study config's ``org_type_synonyms``, ``industry_map``,
    ``money`` (without ``money`` values stay as recorded) and ``censoring_date``
    (None: the tasks' cut-off is their latest date; see :func:`check_task_dates`).
    """
    unknown_tables = sorted(set(raw) - set(TABLES))
    if unknown_tables:
        raise ValueError(f"not contract tables: {', '.join(unknown_tables)}")
    if "consortia" not in raw:
        raise ValueError("cleaning needs the consortia table (the other tables refer to it)")
    money_cfg = config.get("money")
    money_plan = plan_money(list(raw), money_cfg)
    synonyms = config.get("org_type_synonyms") or {}

    work = {
        table: parse_table(TABLES[table], raw[table], str(sources.get(table, "")), synonyms)
        for table in TABLES
        if table in raw
    }
    for item in work.values():
        add_column_rules(item)
        add_conflicting_duplicates(item)

    consortia = work["consortia"]
    kept_consortia = consortia.passing()
    quarantined_consortia = resolved_violations(consortia)
    for item in work.values():
        if item.spec.references_consortia:
            add_unknown_consortium(item, kept_consortia, quarantined_consortia, consortia)
    if "panel" in work:
        add_year_outside_life(work["panel"], kept_consortia)
    if "members" in work:
        add_multiple_leads(work["members"], kept_consortia)
    if money_cfg:
        for table, units in money_plan.items():
            add_value_overflow(work[table], units, money_cfg, kept_consortia)
    date_warnings = []
    if "tasks" in work:
        date_warnings = check_task_dates(work["tasks"], config.get("censoring_date"))

    kept = {table: kept_rows(item) for table, item in work.items()}
    kept["consortia"] = apply_industry_map(
        consortia, kept["consortia"], config.get("industry_map")
    )
    for item in work.values():
        count_org_type_synonyms(item, kept[item.table])
    if "tasks" in kept:
        kept["tasks"] = fill_task_status(work["tasks"], kept["tasks"])
    if money_cfg:
        for table, units in money_plan.items():
            kept[table] = convert_money(work[table], kept[table], units, money_cfg["currency"])
        if money_cfg.get("deflator"):
            kept = deflate_money(work, kept, money_plan, money_cfg["deflator"])

    weight_warnings = decision_weight_warnings(kept["members"]) if "members" in kept else []
    quarantine = concatenated([quarantine_rows(item) for item in work.values()], QUARANTINE_COLUMNS)
    fixes = concatenated([fix for item in work.values() for fix in item.fixes], FIX_COLUMNS)
    accounting = {
        table: table_account(item, kept[table], quarantine) for table, item in work.items()
    }
    check_accounting(accounting)
    return CleanDataset(
        tables={table: frame.reset_index(drop=True) for table, frame in kept.items()},
        quarantine=quarantine,
        fixes=fixes,
        accounting=accounting,
        warnings=weight_warnings + date_warnings,
    )
