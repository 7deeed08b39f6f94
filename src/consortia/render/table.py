"""The table model: a :class:`Table` of formatted strings, and number formatting.

The layer is deliberately separate from the numbers. A :class:`Table` holds a
body of *already formatted* strings plus labels and notes; the writers turn it
into LaTeX (booktabs), HTML, Markdown and CSV, always byte for byte the same for
the same table (fixed number formatting, no timestamps, no random ids). Any
future table (regressions, survival models) only has to build a ``Table``; it
then gets the four formats (:mod:`consortia.render.table_writers`) and the snapshot
tests for free.

Layout a ``Table`` can express:

* rows: a plain index, or a two-level ``MultiIndex`` (in HTML and Markdown two
  stub columns, the first level printed once per group; in LaTeX the first level
  heads its group on a row of its own: e.g. ``(variable, statistic)``);
* columns: a plain index, or a two-level ``MultiIndex`` whose first level is a
  spanner over consecutive columns (``\\multicolumn`` + ``\\cmidrule`` in LaTeX);
* ``rule_after``: row positions after which a ``\\midrule`` separates sections
  (e.g. coefficients from N / R² / fixed effects);
* labels: ``row_labels`` / ``column_labels`` map index *values* (of any level)
  to display text; a value without a label is shown as ``str(value)``; a ``\\n``
  in a column label breaks the header over lines (LaTeX, HTML);
* ``notes``: the short note printed under the table in every format;
  ``details``: longer explanations for the HTML and Markdown versions (and so the
  report), left out of the LaTeX a paper inputs;
* print layout (LaTeX only): ``widths`` turns text columns (and the stub,
  key :data:`STUB`) into paragraph columns of that share of the line width;
  ``long`` sets a ``longtable`` that breaks across pages; ``latex_columns``
  prints a subset of the columns;
* ``data``: an optional machine-readable frame; when present it, not the
  formatted body, is what ``to_csv`` writes.

Why not maketables / great-tables: maketables' LaTeX needs ``makecell`` and
``threeparttable`` (Debian's large texlive-latex-extra) and has no long or
condensed print layout; great-tables' HTML carries a random id per table unless
one is forced. The LaTeX here needs booktabs, array and longtable only
(:data:`LATEX_PACKAGES`), and is checked to fit a letter and an A4 page
(:mod:`consortia.texcheck`).
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

# Shown where a statistic is not defined (no observation; SD of one observation).
MISSING = "\u2013"  # en dash

# The key of the stub (row-label) column in ``Table.widths``.
STUB = "__stub__"




@dataclass(frozen=True, eq=False)
class Table:
    """A rendered-ready table: formatted strings plus everything around them.

    ``body`` must contain only ``str`` cells (format numbers first, e.g. with
    :func:`format_number`); its index gives the rows (one or two levels) and its
    columns the data columns (one or two levels). Index and columns must be
    unique. See the module docstring for the meaning of the other fields.
    """

    body: pd.DataFrame
    title: str = ""
    row_labels: Mapping[Hashable, str] = field(default_factory=dict)
    column_labels: Mapping[Hashable, str] = field(default_factory=dict)
    stub_header: Sequence[str] = ()
    notes: Sequence[str] = ()
    rule_after: Sequence[int] = ()
    label: str | None = None
    data: pd.DataFrame | None = None
    details: Sequence[str] = ()
    latex_columns: Sequence[Hashable] | None = None
    widths: Mapping[Hashable, float] = field(default_factory=dict)
    long: bool = False

    def __post_init__(self) -> None:
        body = self.body
        if not isinstance(body, pd.DataFrame):
            raise TypeError(f"Table.body must be a DataFrame, got {type(body).__name__}")
        if body.index.nlevels > 2 or body.columns.nlevels > 2:
            raise ValueError("Table.body supports at most two index levels and two column levels")
        if not body.index.is_unique:
            dup = body.index[body.index.duplicated()].unique().tolist()
            raise ValueError(f"Table.body has duplicated row keys: {dup}")
        if not body.columns.is_unique:
            dup = body.columns[body.columns.duplicated()].unique().tolist()
            raise ValueError(f"Table.body has duplicated column keys: {dup}")
        bad = [
            (row, col, value)
            for col in body.columns
            for row, value in body[col].items()
            if not isinstance(value, str)
        ]
        if bad:
            row, col, value = bad[0]
            raise TypeError(
                f"Table.body cells must be formatted strings; cell ({row!r}, {col!r}) is "
                f"{value!r} ({type(value).__name__}). Format numbers first (format_number); "
                f"use MISSING or '' for empty cells."
            )
        stub = tuple(self.stub_header)
        if stub and len(stub) != body.index.nlevels:
            raise ValueError(
                f"stub_header has {len(stub)} entries but the body has "
                f"{body.index.nlevels} row level(s)"
            )
        rules = tuple(sorted({int(i) for i in self.rule_after}))
        if any(i < 0 or i >= len(body) - 1 for i in rules):
            raise ValueError(
                f"rule_after positions must lie in [0, {len(body) - 2}] (a rule after the "
                f"last row is the bottom rule); got {list(self.rule_after)}"
            )
        notes, details = tuple(self.notes), tuple(self.details)
        if not all(isinstance(n, str) for n in (*notes, *details)):
            raise TypeError("Table.notes and Table.details must be strings")
        last_level = {k[-1] if isinstance(k, tuple) else k for k in body.columns}
        unknown = [k for k in [*(self.latex_columns or ()), *self.widths] if k not in last_level]
        if any(k != STUB for k in unknown):
            raise ValueError(f"latex_columns / widths name columns the body lacks: {unknown}")
        object.__setattr__(self, "stub_header", stub or ("",) * body.index.nlevels)
        object.__setattr__(self, "rule_after", rules)
        object.__setattr__(self, "notes", notes)
        object.__setattr__(self, "details", details)
        object.__setattr__(self, "widths", dict(self.widths))
        object.__setattr__(self, "row_labels", dict(self.row_labels))
        object.__setattr__(self, "column_labels", dict(self.column_labels))

    # -- views the writers share ------------------------------------------ #

    @property
    def n_stub(self) -> int:
        return self.body.index.nlevels

    def _row_keys(self) -> list[tuple]:
        return [k if isinstance(k, tuple) else (k,) for k in self.body.index]

    def _col_keys(self) -> list[tuple]:
        return [k if isinstance(k, tuple) else (k,) for k in self.body.columns]

    def row_label(self, value: Hashable) -> str:
        return self.row_labels.get(value, str(value))

    def column_label(self, value: Hashable) -> str:
        return self.column_labels.get(value, str(value))

    def segments(self) -> list[tuple[int, int]]:
        """Row ranges [start, stop) separated by the rules in ``rule_after``."""
        bounds = [0, *(i + 1 for i in self.rule_after), len(self.body)]
        return [(a, b) for a, b in zip(bounds[:-1], bounds[1:], strict=True) if b > a]

    def stub_cells(self, sparse: bool = True) -> list[list[str]]:
        """Stub text per row; with ``sparse`` the first of two levels shows once per group."""
        keys = self._row_keys()
        starts = {a for a, _ in self.segments()}
        cells = []
        for i, key in enumerate(keys):
            row = [self.row_label(v) for v in key]
            if sparse and len(key) == 2 and i not in starts and keys[i - 1][0] == key[0]:
                row[0] = ""
            cells.append(row)
        return cells

    def group_starts(self) -> set[int]:
        """Rows (not first of a segment) where a new first-level group begins."""
        if self.n_stub < 2:
            return set()
        keys = self._row_keys()
        starts = {a for a, _ in self.segments()}
        return {i for i in range(1, len(keys)) if i not in starts and keys[i][0] != keys[i - 1][0]}

    def spanners(self) -> list[tuple[str, int, int]]:
        """(label, first, last) data-column positions of each first-level column group."""
        keys = self._col_keys()
        if not keys or len(keys[0]) < 2:
            return []
        out: list[tuple[str, int, int]] = []
        for j, key in enumerate(keys):
            if out and j > 0 and keys[j - 1][0] == key[0]:
                label, first, _ = out[-1]
                out[-1] = (label, first, j)
            else:
                out.append((self.column_label(key[0]), j, j))
        return out

    def header_lines(self) -> list[list[str]]:
        """Per data column, the lines of its (last-level) header label."""
        return [self.column_label(k[-1]).split("\n") for k in self._col_keys()]

    def cells(self) -> list[list[str]]:
        return [list(map(str, row)) for row in self.body.itertuples(index=False, name=None)]




def format_number(x: float | None, decimals: int, *, thousands: bool = True) -> str:
    """Fixed-decimals text of ``x``; :data:`MISSING` for None/NaN/inf; never ``-0.00``."""
    if x is None or not np.isfinite(x):
        return MISSING
    value = round(float(x), decimals)
    if value == 0:
        value = 0.0  # drops the sign of -0.0 and of tiny negatives rounding to zero
    return f"{value:,.{decimals}f}" if thousands else f"{value:.{decimals}f}"


def format_count(n: int | float | None) -> str:
    """Integer with thousands separators; :data:`MISSING` for None/NaN."""
    if n is None or (isinstance(n, float) and not math.isfinite(n)):
        return MISSING
    return f"{int(n):,d}"


def auto_decimals(values: Iterable[float]) -> int:
    """Decimals for a row of numbers, from the largest finite magnitude among them.

    >= 1000: 0, >= 100: 1, >= 1: 2, below 1 (shares, rates): 3.
    """
    finite = [abs(v) for v in values if v is not None and np.isfinite(v)]
    m = max(finite, default=0.0)
    if m >= 1000:
        return 0
    if m >= 100:
        return 1
    if m >= 1:
        return 2
    return 3
