"""The data-quality report (quality.json) and the summary printed at the end of a run."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from consortia.clean import CleanDataset

TOP_RULES_SHOWN = 5


def quality_report(
    clean: CleanDataset,
    dataset: str,
    absent_tables: list[str],
    warnings: list[str] | None = None,
) -> dict:
    """Per table: rows read = kept + quarantined + duplicates collapsed, with counts by rule
    and fix; the absent optional tables; cleaning's warnings followed by ``warnings``."""
    return {
        "dataset": str(dataset),
        "tables": {
            table: {
                "file": account.source_file,
                "rows_read": account.rows_read,
                "rows_kept": account.rows_kept,
                "rows_quarantined": account.rows_quarantined,
                "duplicates_collapsed": account.duplicates_collapsed,
                "identity_holds": account.identity_holds,
                "quarantined_by_rule": dict(account.quarantined_by_rule),
                "fixes": dict(account.fixes),
            }
            for table, account in clean.accounting.items()
        },
        "absent_tables": list(absent_tables),
        "warnings": [*clean.warnings, *(warnings or [])],
    }


def write_quality(quality: dict, path: str | Path) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(quality, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def summary_text(quality: dict) -> str:
    """A few lines for the end of a run: the accounting identity per table, the commonest
    reasons rows were set aside, absent tables and warnings."""
    lines = [
        f"data quality: {quality['dataset']}",
        f"  {'table':<10} {'read':>9} {'kept':>9} {'quarantined':>12} {'collapsed':>10}  identity",
    ]
    rules: Counter = Counter()
    for table, info in quality["tables"].items():
        parts = (
            f"{info['rows_read']} = {info['rows_kept']} + {info['rows_quarantined']} + "
            f"{info['duplicates_collapsed']}"
        )
        identity = f"{'OK' if info['identity_holds'] else 'BROKEN'} ({parts})"
        lines.append(
            f"  {table:<10} {info['rows_read']:>9} {info['rows_kept']:>9} "
            f"{info['rows_quarantined']:>12} {info['duplicates_collapsed']:>10}  {identity}"
        )
        rules.update({f"{table}.{rule}": n for rule, n in info["quarantined_by_rule"].items()})
    if rules:
        top = ", ".join(f"{rule} {n}" for rule, n in rules.most_common(TOP_RULES_SHOWN))
        lines.append(f"  top reasons set aside: {top}")
    if quality.get("absent_tables"):
        lines.append(f"  absent tables: {', '.join(quality['absent_tables'])}")
    for warning in quality.get("warnings", []):
        lines.append(f"  warning: {warning}")
    return "\n".join(lines)
