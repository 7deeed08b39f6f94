"""Step 5 of cleaning: kept rows fixed where the contract says how (organisation-type
synonyms, industry labels, missing task statuses, money in one currency and deflated)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from consortia import money
from consortia.clean.work import TableWork, count_fix, record_fixes, rows_text
from consortia.contract import (
    TABLES,
    Fix,
    Kind,
    inferred_task_status,
    normalise_label,
)

DECISION_WEIGHT_TOLERANCE = 0.01


def count_org_type_synonyms(work: TableWork, kept: pd.DataFrame) -> None:
    for column in work.spec.org_type_columns:
        labels = work.text.loc[kept.index, column]
        mapped = labels != kept[column]
        pairs = pd.DataFrame({"label": labels[mapped], "org_type": kept.loc[mapped, column]})
        for (label, org_type), count in pairs.value_counts(sort=True).items():
            count_fix(
                work,
                Fix.ORG_TYPE_SYNONYM,
                column,
                count,
                f"{rows_text(count)}: '{label}' read as {org_type}",
            )


def apply_industry_map(
    work: TableWork, kept: pd.DataFrame, industry_map: Mapping[str, str] | None
) -> pd.DataFrame:
    """Harmonise industry labels; map keys are matched trimmed and lower-cased."""
    if not industry_map or "industry" not in kept:
        return kept
    lookup = {str(label).strip().lower(): target for label, target in industry_map.items()}
    harmonised = normalise_label(kept["industry"]).map(lookup)
    changed = harmonised.notna() & (harmonised != kept["industry"])
    pairs = pd.DataFrame({"label": kept.loc[changed, "industry"], "to": harmonised[changed]})
    for (label, target), count in pairs.value_counts(sort=True).items():
        count_fix(
            work,
            Fix.INDUSTRY_LABEL,
            "industry",
            count,
            f"{rows_text(count)}: '{label}' -> '{target}'",
        )
    return kept.assign(industry=harmonised.where(changed, kept["industry"]))


def fill_task_status(work: TableWork, tasks: pd.DataFrame) -> pd.DataFrame:
    """A task without status gets the one :func:`contract.inferred_task_status` gives."""
    inferred, has_end = inferred_task_status(tasks)
    if "status" not in tasks:
        count_fix(
            work,
            Fix.TASK_STATUS_INFERRED,
            "status",
            len(tasks),
            f"{rows_text(len(tasks))}: no status column; status inferred from end_date",
        )
        return tasks.assign(status=inferred)
    missing = tasks.index[tasks["status"].isna()]
    if len(missing):
        end_text = pd.Series(np.where(has_end, "end_date given", "no end_date"), index=tasks.index)
        detail = "status empty; set to " + inferred + " (" + end_text + ")"
        record_fixes(work, missing, Fix.TASK_STATUS_INFERRED, "status", detail)
    return tasks.assign(status=tasks["status"].fillna(inferred))


def plan_money(
    tables: list[str], money_cfg: Mapping | None
) -> dict[str, dict[str, tuple[str, float]]]:
    """Unit and conversion factor of every money column, checked before any work is done."""
    if not money_cfg:
        return {}
    currency = money_cfg["currency"]
    units_cfg = money_cfg.get("units") or {}
    for table, units in units_cfg.items():
        money_columns = TABLES[table].columns_of_kind(Kind.MONEY) if table in TABLES else []
        for column in units or {}:
            if column not in money_columns:
                raise ValueError(
                    f"money.units.{table}.{column}: not a money column of the contract "
                    f"(money columns: {', '.join(_all_money_columns())})"
                )
    plan = {}
    for table in tables:
        plan[table] = {}
        for column in TABLES[table].columns_of_kind(Kind.MONEY):
            unit = (
                (units_cfg.get(table) or {}).get(column)
                or money_cfg.get("default_unit")
                or currency
            )
            try:
                plan[table][column] = (unit, money.conversion_factor(unit, currency))
            except ValueError as error:
                raise ValueError(f"money unit of {table}.{column}: {error}") from error
    return {table: units for table, units in plan.items() if units}


def _all_money_columns() -> list[str]:
    return [f"{t}.{c}" for t, spec in TABLES.items() for c in spec.columns_of_kind(Kind.MONEY)]


def convert_money(
    work: TableWork, kept: pd.DataFrame, units: dict[str, tuple[str, float]], currency: str
) -> pd.DataFrame:
    converted = {}
    for column, (unit, factor) in units.items():
        if column not in kept:
            continue
        converted[column] = kept[column] * factor
        if factor != 1:
            count = int(kept[column].notna().sum())
            count_fix(
                work,
                Fix.MONEY_UNIT,
                column,
                count,
                f"{count} values converted from {unit} to {currency} (x{factor:g})",
            )
    return kept.assign(**converted)


def deflate_money(
    work: dict[str, TableWork],
    kept: dict[str, pd.DataFrame],
    money_plan: dict[str, dict],
    deflator: Mapping,
) -> dict[str, pd.DataFrame]:
    base_year, index = deflator["base_year"], deflator["index"]
    founded = kept["consortia"].set_index("consortium_id")["founded_year"]
    price_years = {
        "panel": lambda frame: frame["year"],
        "members": lambda frame: frame["consortium_id"].map(founded),
    }
    deflated = dict(kept)
    for table, units in money_plan.items():
        frame = kept[table]
        year_of = price_years[table]
        updates = {}
        for column in units:
            if column not in frame:
                continue
            try:
                updates[column] = money.deflate(frame[column], year_of(frame), index, base_year)
            except ValueError as error:  # the same kind (a PriceIndexGap stays one), located
                raise type(error)(f"deflating {table}.{column}: {error}") from error
            count = int(frame[column].notna().sum())
            count_fix(
                work[table],
                Fix.DEFLATED,
                column,
                count,
                f"{count} values deflated to {base_year} prices by the price index of "
                + ("the panel year" if table == "panel" else "the consortium's founded_year"),
            )
        deflated[table] = frame.assign(**updates)
    return deflated


def decision_weight_warnings(members: pd.DataFrame) -> list[str]:
    if "decision_weight" not in members or members.empty:
        return []
    weights = members.groupby("consortium_id")["decision_weight"]
    total = weights.sum()
    complete = weights.count() == weights.size()
    off = total[complete & ((total - 1).abs() > DECISION_WEIGHT_TOLERANCE)]
    if off.empty:
        return []
    shown = ", ".join(f"{cid} ({value:.3g})" for cid, value in off.head(10).items())
    more = f" and {len(off) - 10} more" if len(off) > 10 else ""
    warning = (
        f"members: in {len(off)} consortia every member has a decision_weight but the weights "
        f"do not sum to 1 (tolerance {DECISION_WEIGHT_TOLERANCE}): {shown}{more}"
    )
    return [warning]
