"""Finding and reading the contract's tables in a dataset folder.

Tables are read as text: every value reaches cleaning exactly as written, so
a value that cannot be parsed is quarantined with what it was, not turned
into a missing value here. Only empty cells are missing.
"""

from __future__ import annotations

import codecs
from collections.abc import Mapping
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


def find_table_file(dataset_dir: str | Path, table: str, table_cfg: Mapping | None) -> Path | None:
    """The file holding ``table``, or None if the (optional) table is absent.

    ``file: null`` looks for ``<table>.csv``, ``.parquet`` or ``.xlsx`` (any case); a
    configured file must exist.
    """
    dataset_dir = Path(dataset_dir)
    configured = (table_cfg or {}).get("file")
    if configured:
        path = dataset_dir / configured
        if not path.is_file():
            raise ContractError(
                f"{path}: file not found; the config (tables.{table}.file) says the "
                f"{table} table is here"
            )
        return path
    wanted = {f"{table}{suffix}" for suffix in FORMATS}
    matches = sorted(p for p in dataset_dir.iterdir() if p.is_file() and p.name.lower() in wanted)
    if len(matches) > 1:
        raise ContractError(
            f"{dataset_dir}: several files could hold the {table} table "
            f"({', '.join(p.name for p in matches)}); keep one, or name it in tables.{table}.file"
        )
    return matches[0] if matches else None


def discover_dataset(
    dataset_dir: str | Path, tables_cfg: Mapping | None, columns_cfg: Mapping | None
) -> dict:
    """Which contract tables a folder holds and which contract columns each has.

    Reads headers only. Returns ``{"tables": {table: {"path", "columns",
    "extra_columns"}}, "absent_tables": [...]}``; a missing required table or
    required column, or an ambiguous file, raises ContractError.
    """
    dataset_dir = Path(dataset_dir)
    if not dataset_dir.is_dir():
        raise ContractError(f"{dataset_dir}: dataset folder not found")
    tables_cfg, columns_cfg = tables_cfg or {}, columns_cfg or {}
    found: dict[str, dict] = {}
    absent: list[str] = []
    for table, spec in TABLES.items():
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
        found[table] = {
            "path": path,
            "columns": [c for c in columns if c in spec.columns],
            "extra_columns": [c for c in columns if c not in spec.columns],
        }
    return {"tables": found, "absent_tables": absent}


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
                nrows=1 if header_only else None,
            )
    except ContractError:
        raise
    except UnicodeDecodeError as error:
        raise _encoding_error(path, table, (table_cfg or {}).get("encoding") or "utf-8") from error
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
