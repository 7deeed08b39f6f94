"""Reading the EC's export files (project.csv, organization.csv, a programme-parts file):
headers matched ignoring case, every value as trimmed text, each row's record number."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

# EC column names the adapter reads: required, then optional, per file; headers are
# matched case-insensitively, and the aliases cover older export layouts.
PROJECT_REQUIRED = ("id", "startDate", "endDate", "fundingScheme")


PROJECT_OPTIONAL = (
    "acronym", "status", "frameworkProgramme", "legalBasis", "topics", "ecSignatureDate",
)  # fmt: skip


ORGANIZATION_REQUIRED = ("projectID", "organisationID", "activityType", "role", "ecContribution")


ORGANIZATION_OPTIONAL = ("name", "country", "SME")


# programme_parts.csv (optional; e.g. ../shared/data/cordis-h2020/): a project's programme
# parts, one row each.
PARTS_REQUIRED = ("projectID", "programmePart")


HEADER_ALIASES = {
    "projects": {"projectid": "id"},
    "organizations": {"organizationid": "organisationID", "id": "organisationID"},
    "programme_parts": {},
}


# A project in several programme parts: its parts joined, sorted, by this.
PART_SEPARATOR = "+"


RECORD = "record"  # 1-based data record of the export file (quoted line breaks make it differ


class CordisFormatError(Exception):
    """An export that cannot be read as the EC layout: the message names the file, the
    column or record, and what was expected."""


def programme_parts_of(parts: pd.DataFrame) -> pd.Series:
    """Each project's programme parts (rows of a programme-parts file as read by
    :func:`read_export`), distinct, sorted and joined by :data:`PART_SEPARATOR`; indexed
    by projectID."""
    rows = parts.loc[parts["programmePart"] != "", ["projectID", "programmePart"]]
    rows = rows.drop_duplicates().sort_values(["projectID", "programmePart"])
    return rows.groupby("projectID")["programmePart"].agg(PART_SEPARATOR.join)


def read_export(path: str | Path, table: str, encoding: str = "utf-8") -> pd.DataFrame:
    """One EC export file (``table``: projects, organizations or programme_parts) as
    trimmed text.

    Columns: the EC names the adapter uses (canonical spelling; optional ones absent
    from the file are empty) and ``record``. Raises CordisFormatError naming the file.
    """
    path = Path(path)
    required, optional = {
        "projects": (PROJECT_REQUIRED, PROJECT_OPTIONAL),
        "organizations": (ORGANIZATION_REQUIRED, ORGANIZATION_OPTIONAL),
        "programme_parts": (PARTS_REQUIRED, ()),
    }[table]
    canonical = {name.lower(): name for name in (*required, *optional)}
    canonical |= HEADER_ALIASES[table]
    if not path.is_file():
        raise CordisFormatError(f"{path}: file not found; expected the EC's {table} export")
    codec = "utf-8-sig" if encoding.lower().replace("_", "-") in ("utf-8", "utf8") else encoding
    try:
        header = pd.read_csv(path, sep=";", nrows=0, encoding=codec).columns
        wanted = _pick_headers(header, canonical, path, table, required)
        frame = pd.read_csv(
            path,
            sep=";",
            dtype=str,
            keep_default_na=False,
            na_filter=False,
            encoding=codec,
            usecols=list(wanted),
        )
    except UnicodeDecodeError as error:
        raise CordisFormatError(
            f"{path}: byte {error.start} is not valid {encoding}; CORDIS exports are UTF-8. "
            f"If the file was re-saved in another encoding, pass it (--encoding, or "
            f"cordis.encoding in the config), e.g. cp1252"
        ) from error
    except pd.errors.ParserError as error:
        raise CordisFormatError(
            f"{path}: not readable as a semicolon-separated CORDIS export ({error}); expected "
            f"';' between fields and double quotes around fields that contain ';' or line breaks"
        ) from error
    except pd.errors.EmptyDataError as error:
        raise CordisFormatError(
            f"{path}: the file is empty; expected the EC's {table} export"
        ) from error
    frame = frame.rename(columns=wanted)
    for name in (*required, *optional):
        frame[name] = frame[name].str.strip() if name in frame else ""
    frame[RECORD] = np.arange(1, len(frame) + 1)
    return frame[[*required, *optional, RECORD]]


def _pick_headers(
    header: Sequence[str], canonical: Mapping[str, str], path: Path, table: str, required
) -> dict[str, str]:
    """File header -> canonical EC name, for the columns the adapter reads."""
    if len(header) == 1 and "," in str(header[0]):
        raise CordisFormatError(
            f"{path}: the header has one column that contains commas ({str(header[0])[:60]}...); "
            f"CORDIS exports are semicolon-separated"
        )
    picked: dict[str, str] = {}
    for name in header:
        target = canonical.get(str(name).strip().lower())
        if target is not None and target not in picked.values():
            picked[name] = target
    missing = [name for name in required if name not in picked.values()]
    if missing:
        raise CordisFormatError(
            f"{path}: the {table} export lacks column(s) {', '.join(missing)}; expected the EC's "
            f"headers ({', '.join(required)} at least; matched ignoring case); found "
            f"{', '.join(map(str, header[:30]))}"
        )
    return picked
