"""One table on its way through cleaning (:class:`TableWork`), and the bookkeeping of
what happens to its rows: one quarantine row per broken row, the fixes of kept rows and
the accounting (rows read = kept + quarantined + collapsed)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import pandas as pd

from consortia.contract import (
    RULE_PRIORITY,
    Fix,
    Rule,
    TableSpec,
)
from consortia.io import SOURCE_ROW

QUARANTINE_COLUMNS = ["table", "source_file", "source_row", "rule", "column", "detail", "record"]


class AccountingError(Exception):
    """rows read != rows kept + rows quarantined + duplicates collapsed for some table."""


@dataclass
class TableAccount:
    table: str
    source_file: str
    rows_read: int
    rows_kept: int
    rows_quarantined: int
    duplicates_collapsed: int
    quarantined_by_rule: dict[str, int] = field(default_factory=dict)
    fixes: dict[str, int] = field(default_factory=dict)

    @property
    def identity_holds(self) -> bool:
        return self.rows_read == self.rows_kept + self.rows_quarantined + self.duplicates_collapsed


@dataclass
class CleanDataset:
    tables: dict[str, pd.DataFrame]
    quarantine: pd.DataFrame
    fixes: pd.DataFrame
    accounting: dict[str, TableAccount]
    warnings: list[str] = field(default_factory=list)


@dataclass
class TableWork:
    """One table on its way through cleaning; all frames share the raw frame's index."""

    spec: TableSpec
    source_file: str
    raw: pd.DataFrame
    text: pd.DataFrame  # trimmed text of the rows left after collapsing exact duplicates
    typed: pd.DataFrame
    duplicates_collapsed: int
    violations: list[pd.DataFrame] = field(default_factory=list)
    fixes: list[pd.DataFrame] = field(default_factory=list)
    fix_counts: Counter = field(default_factory=Counter)

    @property
    def table(self) -> str:
        return self.spec.name

    def flag(
        self,
        mask: pd.Series,
        rule: Rule,
        column: str,
        detail: str | Callable[[pd.Index], pd.Series],
    ) -> None:
        """Record that the rows in ``mask`` break ``rule``. A per-row detail is a Series or,
        where building text for every row would be wasted, a function of the flagged rows."""
        mask = mask.fillna(False).astype(bool)
        rows = mask.index[mask.to_numpy()]
        if len(rows) == 0:
            return
        if callable(detail):
            detail = detail(rows)
        if isinstance(detail, pd.Series):
            detail = detail.loc[rows].to_numpy()
        self.violations.append(
            pd.DataFrame({"row": rows, "rule": str(rule), "column": column, "detail": detail})
        )

    def violating_rows(self) -> pd.Index:
        if not self.violations:
            return pd.Index([], dtype="int64")
        return pd.Index(pd.concat(self.violations)["row"].unique())

    def passing(self) -> pd.DataFrame:
        """Typed rows that broke no rule so far."""
        return self.typed.drop(index=self.violating_rows())


def check_accounting(accounting: Mapping[str, TableAccount]) -> None:
    """Raise AccountingError unless rows read = kept + quarantined + collapsed everywhere."""
    broken = [account for account in accounting.values() if not account.identity_holds]
    if broken:
        raise AccountingError(
            "rows read != rows kept + rows quarantined + duplicates collapsed for: "
            + "; ".join(
                f"{a.table} ({a.source_file}): {a.rows_read} != {a.rows_kept} + "
                f"{a.rows_quarantined} + {a.duplicates_collapsed}"
                for a in broken
            )
        )


def resolved_violations(work: TableWork) -> pd.DataFrame:
    """One row per broken table row: its first rule by priority; the detail names the rest."""
    if not work.violations:
        return pd.DataFrame(columns=["row", "rule", "column", "detail"])
    found = pd.concat(work.violations, ignore_index=True)
    column_order = {column: rank for rank, column in enumerate(work.spec.columns)}
    found["priority"] = found["rule"].map({str(rule): rank for rule, rank in RULE_PRIORITY.items()})
    found["column_rank"] = found["column"].map(column_order).fillna(len(column_order))
    found = found.sort_values(["row", "priority", "column_rank"], kind="stable")
    first = found.drop_duplicates("row").set_index("row")
    others = found[found.duplicated("row")]
    if len(others):
        labels = pd.Series(
            (others["rule"] + " (" + others["column"] + ")").to_numpy(), index=others["row"]
        )
        rank = others.groupby("row").cumcount().to_numpy()
        # Joined rank by rank: a row breaks at most a few rules, so few vectorised passes.
        also = labels[rank == 0]
        for position in range(1, rank.max() + 1):
            more = labels[rank == position]
            also.loc[more.index] = also.loc[more.index] + ", " + more
        first.loc[also.index, "detail"] = first.loc[also.index, "detail"] + "; also breaks: " + also
    return first.reset_index()[["row", "rule", "column", "detail"]]


def quarantine_rows(work: TableWork) -> pd.DataFrame:
    broken = resolved_violations(work)
    rows = broken["row"].to_numpy()
    return pd.DataFrame(
        {
            "table": work.table,
            "source_file": work.source_file,
            "source_row": work.raw.loc[rows, SOURCE_ROW].astype("Int64").to_numpy(),
            "rule": broken["rule"].to_numpy(),
            "column": broken["column"].to_numpy(),
            "detail": broken["detail"].to_numpy(),
            "record": _records(work.raw, rows),
        }
    )


def _records(raw: pd.DataFrame, rows) -> list[str]:
    """Each row's values as read, one JSON object per row."""
    if len(rows) == 0:
        return []
    values = raw.loc[rows, [c for c in raw.columns if c != SOURCE_ROW]]
    lines = values.to_json(orient="records", lines=True, force_ascii=False, date_format="iso")
    # JSON escapes newlines inside strings, so a bare newline separates records.
    return lines.rstrip("\n").split("\n")


def kept_rows(work: TableWork) -> pd.DataFrame:
    return work.passing()[list(work.raw.columns)]


def record_fixes(work: TableWork, rows: pd.Index, fix: Fix, column: str, detail) -> None:
    """Fixes listed row by row, with the row's values as read."""
    work.fixes.append(
        pd.DataFrame(
            {
                "table": work.table,
                "source_file": work.source_file,
                "source_row": work.raw.loc[rows, SOURCE_ROW].astype("Int64").to_numpy(),
                "fix": str(fix),
                "column": column,
                "detail": detail.loc[rows].to_numpy() if isinstance(detail, pd.Series) else detail,
                "record": _records(work.raw, rows),
            }
        )
    )
    work.fix_counts[str(fix)] += len(rows)


def count_fix(work: TableWork, fix: Fix, column: str, count: int, detail: str) -> None:
    """Fixes counted, not listed: one line in the fixes table per column (and label)."""
    if count == 0:
        return
    work.fixes.append(
        pd.DataFrame(
            {
                "table": [work.table],
                "source_file": work.source_file,
                "source_row": pd.array([pd.NA], dtype="Int64"),
                "fix": str(fix),
                "column": column,
                "detail": detail,
                "record": [None],
            }
        )
    )
    work.fix_counts[str(fix)] += count


def table_account(work: TableWork, kept: pd.DataFrame, quarantine: pd.DataFrame) -> TableAccount:
    own = quarantine.loc[quarantine["table"] == work.table, "rule"]
    by_rule = own.value_counts()
    return TableAccount(
        table=work.table,
        source_file=work.source_file,
        rows_read=len(work.raw),
        rows_kept=len(kept),
        rows_quarantined=len(own),
        duplicates_collapsed=work.duplicates_collapsed,
        quarantined_by_rule={
            str(rule): int(by_rule[str(rule)]) for rule in Rule if str(rule) in by_rule
        },
        fixes=dict(work.fix_counts),
    )


def rows_text(count: int) -> str:
    return f"{count} row" if count == 1 else f"{count} rows"


def concatenated(parts: list[pd.DataFrame], columns: list[str]) -> pd.DataFrame:
    parts = [part for part in parts if len(part)]
    if not parts:
        return pd.DataFrame(
            {c: pd.Series(dtype="Int64" if c == "source_row" else object) for c in columns}
        )
    frame = pd.concat(parts, ignore_index=True)[columns]
    frame["source_row"] = frame["source_row"].astype("Int64")
    return frame
