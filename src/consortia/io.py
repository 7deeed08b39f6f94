"""Finding and reading the contract's tables in a dataset folder.

Tables are read as text: every value reaches cleaning exactly as written, so
a value that cannot be parsed is quarantined with what it was, not turned
into a missing value here. Only empty cells are missing.

Every data line of a CSV file is a row, blank or whitespace-only lines too (as
rows whose values are all missing, which cleaning quarantines): dropping them
would shift ``source_row`` away from the file and hide them from the
accounting. Blank lines before the header are not data and are skipped.

Faults are reported together: a folder's every table is checked, and the
ContractError raised names each fault found (at most one per table).
"""

from __future__ import annotations

import codecs
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from consortia.contract import TABLES

FORMATS = {".csv": "CSV", ".parquet": "Parquet", ".xlsx": "Excel"}
EXPECTED_FILE = {
    ".csv": "a CSV file (UTF-8, with or without BOM) with a header row",
    ".parquet": "a Parquet file",
    ".xlsx": "an Excel .xlsx workbook with a header row (first sheet unless tables.<table>.sheet)",
}
SOURCE_ROW = "source_row"


class ContractError(Exception):
    """A dataset that cannot be used at all: the message names the file, the column (if
    any) and what the contract expected."""


def combined(faults: list[ContractError], dataset_dir: str | Path) -> ContractError:
    """One error naming every fault (each on its own line), or the fault itself if one."""
    if len(faults) == 1:
        return faults[0]
    return ContractError(
        f"{dataset_dir}: {len(faults)} faults in the dataset:\n"
        + "\n".join(f"  - {fault}" for fault in faults)
    )


def find_table_file(dataset_dir: str | Path, table: str, table_cfg: Mapping | None) -> Path | None:
    """The file holding ``table``, or None if the (optional) table is absent.

    ``file: null`` looks for ``<table>.csv``, ``.parquet`` or ``.xlsx`` (any case); a
    configured file must exist. Anything so named that is not a readable regular file
    (a broken symbolic link, a folder) is an error, not an absent table.
    """
    dataset_dir = Path(dataset_dir)
    configured = (table_cfg or {}).get("file")
    if configured:
        path = dataset_dir / configured
        _require_file(
            path, table, f"the config (tables.{table}.file) says the {table} table is here"
        )
        return path
    wanted = {f"{table}{suffix}" for suffix in FORMATS}
    matches = sorted(p for p in dataset_dir.iterdir() if p.name.lower() in wanted)
    if len(matches) > 1:
        raise ContractError(
            f"{dataset_dir}: several files could hold the {table} table "
            f"({', '.join(p.name for p in matches)}); keep one, or name it in tables.{table}.file"
        )
    if not matches:
        return None
    _require_file(matches[0], table, f"expected the file holding the {table} table")
    return matches[0]


def _require_file(path: Path, table: str, expected: str) -> None:
    if path.is_symlink() and not path.exists():
        problem = f"a broken symbolic link (to {os.readlink(path)}, which does not exist)"
    elif path.is_dir():
        problem = "a folder, not a file"
    elif not path.exists():
        problem = "file not found"
    elif not path.is_file():
        problem = "not a regular file"
    else:
        return
    raise ContractError(f"{path}: {problem}; {expected}")


@dataclass(frozen=True)
class DatasetRead:
    """Every table of a dataset folder, read (:func:`read_dataset`)."""

    tables: dict[str, pd.DataFrame]
    files: dict[str, Path]
    absent_tables: list[str]


def discover_dataset(
    dataset_dir: str | Path, tables_cfg: Mapping | None, columns_cfg: Mapping | None
) -> dict:
    """Which contract tables a folder holds and which contract columns each has.

    Reads headers only. Returns ``{"tables": {table: {"path", "columns",
    "extra_columns"}}, "absent_tables": [...]}``. A missing required table or
    required column, an unreadable or ambiguous file raises one ContractError
    naming every such fault in the folder.
    """
    found, absent, faults = _survey(dataset_dir, tables_cfg or {}, columns_cfg or {})
    if faults:
        raise combined(faults, dataset_dir)
    return {"tables": found, "absent_tables": absent}


def read_dataset(
    dataset_dir: str | Path, tables_cfg: Mapping | None, columns_cfg: Mapping | None
) -> DatasetRead:
    """Read every contract table of a folder (as :func:`read_table` does).

    Every table is checked, so one ContractError names every fault: those seen in the
    headers (as :func:`discover_dataset`) and those seen only when reading a whole file.
    """
    tables_cfg, columns_cfg = tables_cfg or {}, columns_cfg or {}
    found, absent, faults = _survey(dataset_dir, tables_cfg, columns_cfg)
    tables = {}
    for table, info in found.items():
        try:
            tables[table] = read_table(
                info["path"], table, tables_cfg.get(table), columns_cfg.get(table)
            )
        except ContractError as fault:
            faults.append(fault)
    if faults:
        raise combined(faults, dataset_dir)
    return DatasetRead(
        tables=tables,
        files={table: info["path"] for table, info in found.items()},
        absent_tables=absent,
    )


def _survey(
    dataset_dir: str | Path, tables_cfg: Mapping, columns_cfg: Mapping
) -> tuple[dict[str, dict], list[str], list[ContractError]]:
    """The tables found (path and columns from the header), the absent ones, and the faults."""
    dataset_dir = Path(dataset_dir)
    if not dataset_dir.is_dir():
        return {}, [], [ContractError(f"{dataset_dir}: dataset folder not found")]
    found: dict[str, dict] = {}
    absent: list[str] = []
    faults: list[ContractError] = []
    for table, spec in TABLES.items():
        try:
            path = find_table_file(dataset_dir, table, tables_cfg.get(table))
            if path is None:
                if spec.required_table:
                    raise ContractError(
                        f"{dataset_dir}: no {table} table; expected {table}.csv, "
                        f"{table}.parquet or {table}.xlsx (or a file named in tables.{table}.file)"
                    )
                absent.append(table)
                continue
            header = _read_header(path, table, tables_cfg.get(table))
            columns = contract_columns(header, path, table, columns_cfg.get(table))
        except ContractError as fault:
            faults.append(fault)
            continue
        found[table] = {
            "path": path,
            "columns": [c for c in columns if c in spec.columns],
            "extra_columns": [c for c in columns if c not in spec.columns],
        }
    return found, absent, faults


def read_table(
    path: str | Path, table: str, table_cfg: Mapping | None, columns_map: Mapping | None
) -> pd.DataFrame:
    """One table as text with the contract's column names and a 1-based ``source_row``.

    Empty cells are missing; every other value is the string as written (Parquet
    and Excel values are turned into their text form).
    """
    path = Path(path)
    header, cells = _read_cells(path, table, table_cfg)
    cells.columns = contract_columns(header, path, table, columns_map)
    cells = cells.reset_index(drop=True)
    cells[SOURCE_ROW] = range(1, len(cells) + 1)
    return cells


def contract_columns(
    header: list, path: Path, table: str, columns_map: Mapping | None
) -> list[str]:
    """The file's headers as contract names: trimmed, lower-cased, then the user's map.

    Fails on duplicated names and missing required columns.
    """
    spec = TABLES[table]
    renames = {_header_key(k): _header_key(v) for k, v in (columns_map or {}).items()}
    names = []
    for position, raw in enumerate(header, start=1):
        name = _header_key(raw) if not pd.isna(raw) else ""
        names.append(renames.get(name, name) or f"unnamed_{position}")
    seen: dict[str, list[str]] = {}
    for raw, name in zip(header, names):
        seen.setdefault(name, []).append(str(raw))
    duplicated = {name: raws for name, raws in seen.items() if len(raws) > 1}
    if duplicated:
        described = "; ".join(
            f"{name!r} from headers {', '.join(map(repr, raws))}"
            for name, raws in duplicated.items()
        )
        raise ContractError(
            f"{path}: column names appear more than once after trimming, lower-casing and "
            f"the columns.{table} map: {described}; expected each column once"
        )
    if SOURCE_ROW in seen:
        raise ContractError(
            f"{path}: column {SOURCE_ROW!r} is reserved for the row number the pipeline adds; "
            f"rename it (columns.{table} in the config)"
        )
    missing = [c for c in spec.required if c not in seen]
    if missing:
        raise ContractError(
            f"{path}: the {table} table lacks required column(s) {', '.join(missing)}; "
            f"expected columns {', '.join(spec.required)} (optional: "
            f"{', '.join(c for c in spec.columns if c not in spec.required)}); "
            f"found {', '.join(names) or 'no columns'}. Map your own headers onto these "
            f"names under columns.{table} in the config."
        )
    return names


def as_text(values: pd.Series) -> pd.Series:
    """Values as strings (object dtype), missing values kept missing."""
    return values.astype(str).where(values.notna()).astype("object")


def _header_key(name) -> str:
    return str(name).strip().lower()


def _format_of(path: Path, table: str) -> str:
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise ContractError(
            f"{path}: unsupported file type {path.suffix!r} for the {table} table; "
            f"expected .csv (UTF-8), .parquet or .xlsx"
        )
    return suffix


def _csv_encoding(path: Path, table: str, table_cfg: Mapping | None) -> str:
    encoding = (table_cfg or {}).get("encoding") or "utf-8"
    try:
        codec = codecs.lookup(encoding).name
    except LookupError as error:
        raise ContractError(
            f"{path}: unknown text encoding {encoding!r} in tables.{table}.encoding"
        ) from error
    # utf-8-sig reads files with and without a byte-order mark alike.
    return "utf-8-sig" if codec == "utf-8" else encoding


def _read_header(path: Path, table: str, table_cfg: Mapping | None) -> list:
    header, _ = _read_cells(path, table, table_cfg, header_only=True)
    return header


def _read_cells(
    path: Path, table: str, table_cfg: Mapping | None, header_only: bool = False
) -> tuple[list, pd.DataFrame]:
    """The header row and the data cells as text (object dtype, empty -> missing)."""
    suffix = _format_of(path, table)
    if path.stat().st_size == 0:
        raise ContractError(
            f"{path}: the file is empty; expected {EXPECTED_FILE[suffix]} holding the {table} table"
        )
    try:
        if suffix == ".parquet":
            return _read_parquet(path, header_only)
        if suffix == ".xlsx":
            sheet = (table_cfg or {}).get("sheet")
            rows = pd.read_excel(
                path,
                sheet_name=0 if sheet is None else sheet,
                header=None,
                dtype=str,
                keep_default_na=False,
                na_values=[""],
                nrows=1 if header_only else None,
            )
        else:
            encoding = _csv_encoding(path, table, table_cfg)
            rows = pd.read_csv(
                path,
                header=None,
                dtype=str,
                keep_default_na=False,
                na_values=[""],
                encoding=encoding,
                skiprows=_blank_lines_before_header(path, encoding),
                skip_blank_lines=False,
                nrows=1 if header_only else None,
            )
    except ContractError:
        raise
    except UnicodeDecodeError as error:
        raise _encoding_error(path, table, (table_cfg or {}).get("encoding") or "utf-8") from error
    except OSError as error:  # permissions, or a file that vanished since it was found
        raise ContractError(
            f"{path}: cannot be opened ({error.strerror or error}); expected a readable "
            f"file holding the {table} table"
        ) from error
    except Exception as error:  # each reader has its own exceptions for a corrupt file
        raise ContractError(
            f"{path}: cannot be read as {FORMATS[suffix]} ({type(error).__name__}: {error}); "
            f"expected {EXPECTED_FILE[suffix]} holding the {table} table"
        ) from error
    if rows.empty:
        raise ContractError(
            f"{path}: no header row; expected a header row naming the {table} table's columns"
        )
    header = rows.iloc[0].tolist()
    return header, rows.iloc[1:].reset_index(drop=True)


def _blank_lines_before_header(path: Path, encoding: str) -> int:
    """How many blank or whitespace-only lines open a CSV file (pandas cannot skip only those)."""
    count = 0
    with open(path, encoding=encoding, newline="") as handle:
        for line in handle:
            if line.strip():
                break
            count += 1
    return count


def _read_parquet(path: Path, header_only: bool) -> tuple[list, pd.DataFrame]:
    import pyarrow.parquet as pq

    if header_only:
        return list(pq.read_schema(path).names), pd.DataFrame()
    frame = pq.read_table(path).to_pandas()
    header = list(frame.columns)
    cells = pd.DataFrame(
        {position: as_text(frame.iloc[:, position]) for position in range(frame.shape[1])}
    )
    return header, cells


def _encoding_error(path: Path, table: str, encoding: str) -> ContractError:
    """Where the file stops being valid ``encoding``, and how to fix it."""
    data = path.read_bytes()
    try:
        data.decode(_csv_encoding(path, table, {"encoding": encoding}))
        where = "the file"
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        where = f"byte {error.start} (line {line})"
    hint = ""
    if codecs.lookup(encoding).name == "utf-8" and _decodes_as(data, "gb18030"):
        hint = " It reads as GB18030/GBK, as Chinese Excel versions save CSV files."
    return ContractError(
        f"{path}: {where} is not valid {encoding}; expected a CSV file in {encoding} "
        f"(UTF-8 with or without BOM, unless tables.{table}.encoding says otherwise).{hint} "
        f"Re-save the file as UTF-8 (Excel: 'CSV UTF-8'), or set tables.{table}.encoding "
        f"in the config to the file's encoding (e.g. gbk)."
    )


def _decodes_as(data: bytes, encoding: str) -> bool:
    try:
        data.decode(encoding)
    except UnicodeDecodeError:
        return False
    return True
