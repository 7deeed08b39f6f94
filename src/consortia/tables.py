"""Publication tables: a small rendering layer, and Table 1 (descriptives by lead type).

The layer is deliberately separate from the numbers. A :class:`Table` holds a
body of *already formatted* strings plus labels and notes; the writers turn it
into LaTeX (booktabs), HTML, Markdown and CSV, always byte for byte the same for
the same table (fixed number formatting, no timestamps, no random ids). Any
future table (regressions, survival models) only has to build a ``Table``; it
then gets the four formats and the snapshot tests for free.

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

import html
import math
import re
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = [
    "LEAD_TYPE_LABELS",
    "LEAD_TYPE_ORDER",
    "MISSING",
    "MONEY_COLUMNS",
    "TABLE1_VARIABLES",
    "Table",
    "Variable",
    "descriptives_by_lead_type",
    "format_count",
    "format_number",
    "latex_escape",
    "to_csv",
    "to_html",
    "to_latex_booktabs",
    "to_markdown",
    "write_table",
]

# The contract's organisation-type vocabulary, in the order tables and figures
# use (consortia.figures re-exports it with a fixed colour per type).
LEAD_TYPE_ORDER: tuple[str, ...] = (
    "enterprise",
    "university",
    "research_institute",
    "government",
    "other",
)
LEAD_TYPE_LABELS: dict[str, str] = {
    "enterprise": "Enterprise",
    "university": "University",
    "research_institute": "Research institute",
    "government": "Government",
    "other": "Other",
}

# Shown where a statistic is not defined (no observation; SD of one observation).
MISSING = "\u2013"  # en dash

# Clean-panel columns holding money (base currency, constant prices of the base year).
MONEY_COLUMNS = frozenset({"rd_expenditure", "subsidy", "new_product_revenue", "rd_per_member"})

# The key of the stub (row-label) column in ``Table.widths``.
STUB = "__stub__"

# File suffixes written by write_table, in writing order.
TABLE_SUFFIXES = (".tex", ".html", ".md", ".csv")


# --------------------------------------------------------------------------- #
# The table object
# --------------------------------------------------------------------------- #


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


# --------------------------------------------------------------------------- #
# Number formatting
# --------------------------------------------------------------------------- #


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


# --------------------------------------------------------------------------- #
# LaTeX
# --------------------------------------------------------------------------- #

_LATEX_ESCAPES = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "<": "$<$",  # math-mode glyphs exist in every font encoding
    ">": "$>$",
    "\u2013": "--",  # en dash
    "\u2014": "---",  # em dash
    "\u2212": "$-$",  # minus sign
    "\u2265": r"$\geq$",
    "\u2264": r"$\leq$",
    "\u00b2": r"\textsuperscript{2}",
    # Symbols the model and claims tables use in labels and notes; pdflatex's
    # default encodings have no glyph for them outside math mode.
    "\u2192": r"$\rightarrow$",
    "\u00b7": r"$\cdot$",
    "\u00d7": r"$\times$",
    "\u00b1": r"$\pm$",
    "\u2248": r"$\approx$",
    "\u2260": r"$\neq$",
    "\u2032": "$'$",
    "\u230a": r"$\lfloor$",
    "\u230b": r"$\rfloor$",
    "\u03c7": r"$\chi$",
    "\u03b1": r"$\alpha$",
    "\u03b2": r"$\beta$",
    "\u03c3": r"$\sigma$",
    "\u03c1": r"$\rho$",
    "\u00e9": r"\'{e}",
    "\u00f6": r'\"{o}',
    "\u00fc": r'\"{u}',
    "\u2018": "`",
    "\u2019": "'",
    "\u201c": "``",
    "\u201d": "''",
    "\u2026": r"\ldots{}",
    "\u00a7": r"\S{}",
    "\u00f7": r"$\div$",
    "\u221a": r"$\surd$",
    "\u221d": r"$\propto$",
}
_LATEX_TABLE = str.maketrans(_LATEX_ESCAPES)
# A hyphen used as a minus sign in a number: not preceded by a word character, a dot
# or another hyphen (the "--" of an escaped en dash), followed by a digit (or .digit):
# "-1.2", "(-0.3)", "[-1, -2]".
_NEG_NUMBER = re.compile(r"(?<![\w.-])-(?=\d|\.\d)")

# What a generated .tex needs besides LaTeX itself: booktabs (Debian texlive-latex-recommended);
# array and longtable (texlive-latex-base).
LATEX_PACKAGES = ("booktabs", "array", "longtable")


def latex_escape(text: str) -> str:
    """Escape LaTeX special characters (``& % $ # _ { } ~ ^ \\ < >`` and dashes)."""
    return str(text).translate(_LATEX_TABLE)


def _latex_cell(text: str, escape: bool) -> str:
    out = latex_escape(text) if escape else text
    return _NEG_NUMBER.sub("$-$", out)


def _latex_colspec(table: Table, columns: list[int]) -> str:
    """``l`` stubs and ``r`` numbers, or paragraph columns where ``widths`` asks for them."""

    def para(width: float, align: str) -> str:
        return f">{{{align}\\arraybackslash}}p{{{width:g}\\linewidth}}"

    stub = [para(table.widths[STUB], "\\raggedright") if STUB in table.widths else "l"]
    keys = table._col_keys()
    data = [
        para(table.widths[keys[j][-1]], "\\centering") if keys[j][-1] in table.widths else "r"
        for j in columns
    ]
    return "@{}" + "".join(stub) + "".join(data) + "@{}"


def _latex_header(table: Table, columns: list[int], esc) -> list[str]:
    """The header rows: spanners with their rules, then the (bottom-aligned) column labels."""
    n_stub = 1  # a second row level heads groups of rows (_latex_body), not a column
    lines: list[str] = []
    shown = set(columns)
    spanners = [
        (label, [j for j in range(first, last + 1) if j in shown])
        for label, first, last in table.spanners()
    ]
    spanners = [(label, js) for label, js in spanners if js]
    if spanners:
        row, rules, position = [""] * n_stub, [], n_stub
        for label, js in spanners:
            width = len(js)
            row.append(f"\\multicolumn{{{width}}}{{c}}{{{esc(label)}}}" if label else "")
            row += [None] * (width - 1)  # type: ignore[list-item]
            if label:
                rules.append(f"\\cmidrule(lr){{{position + 1}-{position + width}}}")
            position += width
        lines.append(" & ".join(c for c in row if c is not None) + " \\\\")
        if rules:
            lines.append(" ".join(rules))
    headers = [table.header_lines()[j] for j in columns]
    depth = max([len(h) for h in headers] + [1])
    stub_text = [next((h for h in reversed(table.stub_header) if h), "")]
    for k in range(depth):
        row = [esc(t) if k == depth - 1 else "" for t in stub_text]
        for h in headers:
            offset = depth - len(h)  # bottom-align multi-line headers
            text = h[k - offset] if k >= offset else ""
            row.append(f"\\multicolumn{{1}}{{c}}{{{esc(text)}}}" if text else "")
        lines.append(" & ".join(row) + " \\\\")
    return lines


def _latex_body(table: Table, columns: list[int], esc, escape: bool) -> list[str]:
    """Body rows. With two row levels, each first-level value heads its group on a row of
    its own (as modelsummary's and esttab's row groups), so the stub stays narrow."""
    lines: list[str] = []
    keys = table._row_keys()
    cells = table.cells()
    width = 1 + len(columns)
    group_format = (
        f"\\multicolumn{{{width}}}{{@{{}}p{{\\linewidth}}@{{}}}}"
        if table.widths
        else f"\\multicolumn{{{width}}}{{@{{}}l}}"
    )
    for i, key in enumerate(keys):
        starts = table.n_stub == 2 and (i == 0 or key[0] != keys[i - 1][0])
        if starts and i > 0 and i - 1 not in table.rule_after:
            lines.append("\\addlinespace")
        stub = [esc(table.row_label(key[-1]))]
        if table.n_stub == 2:
            alone = starts and (i + 1 == len(keys) or keys[i + 1][0] != key[0])
            if alone and not stub[0]:  # a group of one unlabelled row: its label is the stub
                stub[0] = esc(table.row_label(key[0]))
            else:
                if starts:
                    lines.append(f"{group_format}{{{esc(table.row_label(key[0]))}}} \\\\")
                if stub[0]:
                    stub[0] = "\\quad " + stub[0]
        row = stub + [_latex_cell(cells[i][j], escape) for j in columns]
        lines.append(" & ".join(row) + " \\\\")
        if i in table.rule_after:
            lines.append("\\midrule")
    return lines


def _latex_notes(table: Table, esc) -> list[str]:
    if not table.notes:
        return []
    text = " ".join(
        ("\\textit{Notes:} " if j == 0 else "") + esc(note) for j, note in enumerate(table.notes)
    )
    return [
        "\\par\\smallskip\\noindent",
        "\\begin{minipage}{\\linewidth}\\footnotesize\\raggedright",
        text,
        "\\end{minipage}",
    ]


def to_latex_booktabs(
    table: Table, *, standalone: bool = False, escape: bool = True, position: str = "htbp"
) -> str:
    """LaTeX for ``table``: booktabs rules, a short note paragraph under the table.

    Made to compile unchanged in a standard ``article`` (letter or A4, 1-inch margins,
    10 to 12 pt) with :data:`LATEX_PACKAGES` only, within the text width and height
    (``consortia.texcheck`` checks it): the body is set in ``\\small``; text columns are
    paragraph columns (``table.widths``); a second row level heads groups of rows instead
    of taking a stub column; a ``long`` table is a ``longtable`` that breaks across pages
    (its header repeated); ``latex_columns`` prints a subset of the columns (the other
    formats keep every column), and ``details`` are left to the other formats.

    ``standalone=True`` wraps the fragment in a complete, compilable ``article``.
    ``escape=False`` passes every text through verbatim, for callers that put LaTeX
    markup in their cells.
    """
    esc = latex_escape if escape else (lambda s: s)
    keys = table._col_keys()
    columns = (
        list(range(len(keys)))
        if table.latex_columns is None
        else [j for j, k in enumerate(keys) if k[-1] in set(table.latex_columns)]
    )
    colspec = _latex_colspec(table, columns)
    header = _latex_header(table, columns, esc)
    body = _latex_body(table, columns, esc, escape)
    caption = [f"\\caption{{{esc(table.title)}}}"] if table.title else []
    if table.label:
        caption = [(caption[0] if caption else "") + f"\\label{{{table.label}}}"]

    lines: list[str] = []
    if not standalone:
        packages = ", ".join(LATEX_PACKAGES)
        lines.append(f"% Needs \\usepackage{{{packages}}} (texlive-latex-base + -recommended).")
    if table.long:
        width = 1 + len(columns)
        lines += [
            "\\begingroup\\small",
            f"\\begin{{longtable}}{{{colspec}}}",
            *((c + " \\\\") for c in caption),
            "\\toprule",
            *header,
            "\\midrule",
            "\\endfirsthead",
            f"\\multicolumn{{{width}}}{{@{{}}l}}{{\\textit{{(continued)}}}} \\\\",
            "\\toprule",
            *header,
            "\\midrule",
            "\\endhead",
            "\\bottomrule",
            "\\endlastfoot",
            *body,
            "\\end{longtable}",
            "\\endgroup",
            *_latex_notes(table, esc),
        ]
    else:
        lines += [
            f"\\begin{{table}}[{position}]",
            "\\centering",
            "\\small",
            *caption,
            f"\\begin{{tabular}}{{{colspec}}}",
            "\\toprule",
            *header,
            "\\midrule",
            *body,
            "\\bottomrule",
            "\\end{tabular}",
            *_latex_notes(table, esc),
            "\\end{table}",
        ]

    out = "\n".join(lines) + "\n"
    if not standalone:
        return out
    preamble = [
        "\\documentclass[11pt]{article}",
        "\\usepackage[T1]{fontenc}",
        "\\usepackage[margin=1in]{geometry}",
        *(f"\\usepackage{{{p}}}" for p in LATEX_PACKAGES),
        "\\pagestyle{empty}",
        "\\begin{document}",
    ]
    return "\n".join(preamble) + "\n" + out + "\\end{document}\n"


# --------------------------------------------------------------------------- #
# HTML
# --------------------------------------------------------------------------- #

# Booktabs look, scoped to the table's class; embedded in standalone documents.
HTML_CSS = """\
table.consortia-table { border-collapse: collapse; margin: 1em auto;
  font-family: "Helvetica Neue", Arial, sans-serif; font-size: 0.95em; }
table.consortia-table caption { caption-side: top; font-weight: bold;
  text-align: left; padding-bottom: 0.5em; }
table.consortia-table th, table.consortia-table td { padding: 0.2em 0.7em; }
table.consortia-table thead tr:first-child th { border-top: 2px solid #000; }
table.consortia-table thead tr:last-child th { border-bottom: 1px solid #000; }
table.consortia-table thead th { text-align: center; font-weight: normal;
  vertical-align: bottom; }
table.consortia-table thead th.spanner { border-bottom: 1px solid #000; }
table.consortia-table tbody th { text-align: left; font-weight: normal;
  vertical-align: top; }
table.consortia-table td { text-align: right; font-variant-numeric: tabular-nums; }
table.consortia-table tbody + tbody tr:first-child > * { border-top: 1px solid #000; }
table.consortia-table tbody:last-of-type tr:last-child > * { border-bottom: 2px solid #000; }
table.consortia-table tr.group-start > * { padding-top: 0.6em; }
table.consortia-table tfoot td { text-align: left; font-size: 0.85em; padding-top: 0.4em; }
"""


def _html_id(label: str | None) -> str:
    if not label:
        return ""
    return ' id="' + re.sub(r"[^A-Za-z0-9_-]+", "-", label).strip("-") + '"'


def to_html(table: Table, *, standalone: bool = True) -> str:
    """HTML for ``table``: a ``<table>`` with caption, header, body and notes.

    ``standalone=True`` (the default, what :func:`write_table` writes) gives a
    complete UTF-8 document with the CSS in the page (nothing external);
    ``standalone=False`` gives only the ``<table>`` element, for embedding in a
    page that styles ``table.consortia-table`` itself (see :data:`HTML_CSS`).
    """
    e = html.escape
    n_stub, n_data = table.n_stub, table.body.shape[1]
    out: list[str] = [f'<table class="consortia-table"{_html_id(table.label)}>']
    if table.title:
        out.append(f"<caption>{e(table.title)}</caption>")
    out.append("<thead>")
    spanners = table.spanners()
    if spanners:
        cells = [f'<th colspan="{n_stub}"></th>'] if n_stub > 1 else ["<th></th>"]
        for label, first, last in spanners:
            width = last - first + 1
            span = f' colspan="{width}"' if width > 1 else ""
            cls = ' class="spanner"' if label else ""
            cells.append(f'<th scope="colgroup"{span}{cls}>{e(label)}</th>')
        out.append("<tr>" + "".join(cells) + "</tr>")
    cells = [f'<th scope="col">{e(s)}</th>' for s in table.stub_header]
    cells += [
        f'<th scope="col">{"<br>".join(e(s) for s in h)}</th>' for h in table.header_lines()
    ]
    out += ["<tr>" + "".join(cells) + "</tr>", "</thead>"]

    keys = table._row_keys()
    stubs, rows = table.stub_cells(sparse=False), table.cells()
    group_starts = table.group_starts()
    for start, stop in table.segments():
        out.append("<tbody>")
        for i in range(start, stop):
            cells = []
            if n_stub == 2:
                if i == start or keys[i][0] != keys[i - 1][0]:
                    span = 1
                    while i + span < stop and keys[i + span][0] == keys[i][0]:
                        span += 1
                    rowspan = f' rowspan="{span}"' if span > 1 else ""
                    cells.append(f'<th scope="rowgroup"{rowspan}>{e(stubs[i][0])}</th>')
                cells.append(f'<th scope="row">{e(stubs[i][1])}</th>')
            else:
                cells.append(f'<th scope="row">{e(stubs[i][0])}</th>')
            cells += [f"<td>{e(c)}</td>" for c in rows[i]]
            cls = ' class="group-start"' if i in group_starts else ""
            out.append(f"<tr{cls}>" + "".join(cells) + "</tr>")
        out.append("</tbody>")
    if table.notes or table.details:
        out.append("<tfoot>")
        for j, note in enumerate(table.notes):
            prefix = "<em>Notes:</em> " if j == 0 else ""
            out.append(f'<tr><td colspan="{n_stub + n_data}">{prefix}{e(note)}</td></tr>')
        for j, note in enumerate(table.details):
            prefix = "<em>Details:</em> " if j == 0 else ""
            out.append(
                f'<tr class="details"><td colspan="{n_stub + n_data}">{prefix}{e(note)}</td></tr>'
            )
        out.append("</tfoot>")
    out.append("</table>")
    fragment = "\n".join(out) + "\n"
    if not standalone:
        return fragment
    head = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        f"<title>{e(table.title or 'Table')}</title>",
        "<style>",
        HTML_CSS.rstrip("\n"),
        "</style>",
        "</head>",
        "<body>",
    ]
    return "\n".join(head) + "\n" + fragment + "</body>\n</html>\n"


# --------------------------------------------------------------------------- #
# Markdown
# --------------------------------------------------------------------------- #

_MD_SPECIAL = re.compile(r"([\\`*_|<>\[\]])")


def _md_escape(text: str) -> str:
    return _MD_SPECIAL.sub(r"\\\1", str(text).replace("\n", " "))


def to_markdown(table: Table) -> str:
    """A pipe table (GitHub / pandoc) with the title in bold above and notes below.

    Markdown has no spanners or rules: a spanner is prefixed to its columns'
    headers ("Spanner: column"); ``rule_after`` is not drawn.
    """
    spans = {j: label for label, first, last in table.spanners() for j in range(first, last + 1)}
    headers = [_md_escape(s) for s in table.stub_header]
    for j, lines in enumerate(table.header_lines()):
        text = " ".join(lines)
        if spans.get(j):
            text = f"{spans[j]}: {text}"
        headers.append(_md_escape(text))
    rows = [
        [_md_escape(s) for s in stub] + [_md_escape(c) for c in cells]
        for stub, cells in zip(table.stub_cells(), table.cells(), strict=True)
    ]
    n_stub = table.n_stub
    widths = [max(3, len(h), *(len(r[j]) for r in rows)) for j, h in enumerate(headers)]

    def line(cells: list[str]) -> str:
        padded = [
            c.ljust(w) if j < n_stub else c.rjust(w)
            for j, (c, w) in enumerate(zip(cells, widths, strict=True))
        ]
        return "| " + " | ".join(padded) + " |"

    rule = [
        ":" + "-" * (w - 1) if j < n_stub else "-" * (w - 1) + ":" for j, w in enumerate(widths)
    ]
    out = []
    if table.title:
        out += [f"**{_md_escape(table.title)}**", ""]
    out += [line(headers), "| " + " | ".join(rule) + " |", *(line(r) for r in rows)]
    for j, note in enumerate(table.notes):
        out += ["", ("*Notes:* " if j == 0 else "") + _md_escape(note)]
    for j, note in enumerate(table.details):
        out += ["", ("*Details:* " if j == 0 else "") + _md_escape(note)]
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------- #
# CSV and files
# --------------------------------------------------------------------------- #


def to_csv(table: Table) -> str:
    """Machine-readable CSV: ``table.data`` when given, else the labelled body.

    Floats are written with ``%.10g`` (stable across runs, no spurious digits);
    missing numbers are empty fields.
    """
    if table.data is not None:
        frame = table.data
    else:
        spans = {
            j: label for label, first, last in table.spanners() for j in range(first, last + 1)
        }
        columns = [s or f"row_level_{k}" for k, s in enumerate(table.stub_header)]
        for j, lines in enumerate(table.header_lines()):
            text = " ".join(lines)
            columns.append(f"{spans[j]}: {text}" if spans.get(j) else text)
        rows = [
            stub + cells
            for stub, cells in zip(table.stub_cells(sparse=False), table.cells(), strict=True)
        ]
        frame = pd.DataFrame(rows, columns=columns)
    return frame.to_csv(index=False, lineterminator="\n", float_format="%.10g")


def _stem(stem_path: str | Path, suffixes: Sequence[str]) -> Path:
    stem = Path(stem_path)
    if stem.suffix.lower() in suffixes:
        raise ValueError(
            f"{stem_path!s} looks like a file name; pass the stem without a suffix "
            f"(the writer adds {', '.join(suffixes)})"
        )
    return stem


def write_table(
    table: Table, stem_path: str | Path, *, latex_standalone: bool = False
) -> dict[str, Path]:
    """Write ``stem.tex``, ``stem.html``, ``stem.md`` and ``stem.csv``; return the paths.

    Files are UTF-8 with ``\\n`` line ends. The ``.tex`` file is the fragment to
    ``\\input`` in a paper unless ``latex_standalone`` (a compilable document).
    """
    stem = _stem(stem_path, TABLE_SUFFIXES)
    stem.parent.mkdir(parents=True, exist_ok=True)
    texts = {
        ".tex": to_latex_booktabs(table, standalone=latex_standalone),
        ".html": to_html(table),
        ".md": to_markdown(table),
        ".csv": to_csv(table),
    }
    paths = {}
    for suffix, text in texts.items():
        path = stem.with_name(stem.name + suffix)
        path.write_text(text, encoding="utf-8", newline="\n")
        paths[suffix.lstrip(".")] = path
    return paths


# --------------------------------------------------------------------------- #
# Table 1: descriptive statistics by lead type
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class Variable:
    """One row block of Table 1.

    ``label`` may contain ``{currency}``. ``scale`` multiplies the displayed
    mean and SD only (e.g. 1e-6 with "million" in the label); the CSV keeps the
    panel's own units. ``decimals=None`` chooses them from the magnitude
    (:func:`auto_decimals`). ``money=None`` means "if the column is in
    :data:`MONEY_COLUMNS`".
    """

    column: str
    label: str
    decimals: int | None = None
    scale: float = 1.0
    money: bool | None = None

    @property
    def is_money(self) -> bool:
        return self.column in MONEY_COLUMNS if self.money is None else self.money


# Structure, conduct, performance (design.md's panel columns).
TABLE1_VARIABLES: tuple[Variable, ...] = (
    Variable("n_members", "Members (count)"),
    Variable("type_diversity", "Type diversity (Blau index, 0\u20131)"),
    Variable("lead_decision_weight", "Lead's decision weight (0\u20131)"),
    Variable("decision_hhi", "Decision-weight concentration (HHI, 0\u20131)"),
    # the network before the consortium started (consortia.network)
    Variable("lead_prior_led", "Consortia the lead had led before (count)"),
    Variable("lead_prior_joined", "Consortia the lead had joined before (count)"),
    Variable("lead_prior_partners", "Lead's earlier partners (count)"),
    Variable("lead_effective_size", "Lead's effective size (Burt; non-redundant partners)"),
    Variable("repeat_tie_share", "Member pairs that had worked together (0\u20131)"),
    Variable("collab_intensity", "Collaboration events per member"),
    Variable("industrial_task_share", "Industrial share of tasks (0\u20131)"),
    Variable("rd_per_member", "R&D expenditure per member (million {currency})", scale=1e-6),
    Variable("patents_filed", "Patents filed (count)"),
    Variable("transfer_rate", "Technology-transfer rate (0\u20131)"),
    Variable("new_product_revenue", "New-product revenue (million {currency})", scale=1e-6),
)

_STATS = ("mean", "sd", "n")
_SAMPLE = "_sample"
_TABLE1_ROW_LABELS = {
    "mean": "Mean",
    "sd": "SD",
    "n": "N",
    _SAMPLE: "Sample",
    "consortia": "Consortia",
    "consortium_years": "Consortium-years",
}
_TABLE1_COLUMN_LABELS = {
    **LEAD_TYPE_LABELS,
    "research_institute": "Research\ninstitute",  # two header lines keep the column narrow
    "all": "All",
}


def _as_variable(spec: Variable | tuple) -> Variable:
    if isinstance(spec, Variable):
        return spec
    if isinstance(spec, tuple) and len(spec) == 2:
        return Variable(str(spec[0]), str(spec[1]))
    raise TypeError(f"a variable is a Variable or a (column, label) tuple, got {spec!r}")


def _numeric(series: pd.Series, column: str) -> np.ndarray:
    if not (pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series)):
        raise TypeError(
            f"panel column {column!r} is not numeric (dtype {series.dtype}); "
            f"Table 1 reports means and SDs of numeric columns only"
        )
    if isinstance(series.dtype, pd.api.extensions.ExtensionDtype):
        return series.to_numpy(dtype=float, na_value=np.nan)
    return series.to_numpy(dtype=float)


def _n_distinct(codes: np.ndarray) -> int:
    """Distinct values among non-negative integer codes."""
    return int(np.count_nonzero(np.bincount(codes))) if codes.size else 0


def _lead_type_order(present: Iterable[str]) -> list[str]:
    present = set(present)
    known = [t for t in LEAD_TYPE_ORDER if t in present]
    return known + sorted(present - set(LEAD_TYPE_ORDER))


def descriptives_by_lead_type(
    panel: pd.DataFrame,
    variables: Sequence[Variable | tuple[str, str]] | None = None,
    *,
    currency: str,
    base_year: int | None,
    sample: str = "all consortium-years of the clean panel",
    title: str = "Descriptive statistics by lead type",
    label: str | None = "tab:descriptives",
) -> Table:
    """Table 1: N, mean and SD of each variable, by the consortium's lead type and overall.

    Unit of observation: the consortium-year (one panel row). For each variable
    and lead type, N counts consortium-years with a non-missing value; the SD is
    the sample SD (``ddof=1``, denominator N - 1), undefined (shown as an en
    dash) for N < 2. Columns: the lead types present in ``panel`` in the order
    of :data:`LEAD_TYPE_ORDER` (unknown types after them, alphabetically), then
    All. A last section gives the number of consortia and of consortium-years.

    Variables absent from the panel, or present but missing in every row, are
    left out and named in a note. ``currency`` and ``base_year`` describe the
    panel's money columns (``base_year=None``: current prices, not deflated).

    ``table.data`` (what the CSV holds) is long-form and numeric: one row per
    (variable, lead_type) with ``n, n_consortia, mean, sd`` in the panel's own
    units (not scaled as displayed), ``lead_type == "all"`` for the All column,
    and ``variable == "sample"`` rows with ``n`` = consortium-years and
    ``n_consortia`` = consortia (mean and sd empty). ``n_consortia`` of a
    variable counts consortia with at least one non-missing value.
    """
    missing_cols = [c for c in ("consortium_id", "lead_type") if c not in panel.columns]
    if missing_cols:
        raise ValueError(f"panel lacks column(s) {missing_cols} needed for Table 1")
    specs = [_as_variable(v) for v in (TABLE1_VARIABLES if variables is None else variables)]
    columns = [v.column for v in specs]
    if len(set(columns)) != len(columns):
        raise ValueError(f"a variable is listed twice: {columns}")
    if "sample" in columns or _SAMPLE in columns:
        raise ValueError("'sample' is reserved for the sample-size rows of Table 1")

    absent = [v for v in specs if v.column not in panel.columns]
    all_missing = [
        v for v in specs if v.column in panel.columns and panel[v.column].notna().sum() == 0
    ]
    shown = [v for v in specs if v not in absent and v not in all_missing]
    if not shown:
        raise ValueError(
            "none of the Table 1 variables has data in the panel: "
            f"absent {[v.column for v in absent]}, all missing {[v.column for v in all_missing]}"
        )

    lead = panel["lead_type"].astype("string")
    no_lead = int(lead.isna().sum())
    keep = lead.notna().to_numpy()
    lead_arr = lead.to_numpy(dtype=object, na_value=None)[keep]
    # Consortia counted by integer code: counting distinct strings per cell is slow.
    consortium_ids = panel["consortium_id"].to_numpy(dtype=object)[keep]
    ids = pd.factorize(consortium_ids, use_na_sentinel=False)[0]
    groups = _lead_type_order(set(lead_arr))
    masks = {g: lead_arr == g for g in groups}
    masks["all"] = np.ones(len(lead_arr), dtype=bool)
    group_keys = [*groups, "all"]

    records = []
    body_rows: dict[tuple[str, str], dict[str, str]] = {}
    for var in shown:
        x = _numeric(panel[var.column], var.column)[keep]
        stats = {}
        for g in group_keys:
            vals = x[masks[g] & ~np.isnan(x)]
            n = int(vals.size)
            mean = float(vals.mean()) if n else math.nan
            sd = float(vals.std(ddof=1)) if n >= 2 else math.nan
            n_cons = _n_distinct(ids[masks[g] & ~np.isnan(x)])
            stats[g] = (n, mean, sd)
            records.append((var.column, g, n, n_cons, mean, sd))
        decimals = (
            var.decimals
            if var.decimals is not None
            else auto_decimals(m * var.scale for _, m, _ in stats.values())
        )
        body_rows[(var.column, "mean")] = {
            g: format_number(m * var.scale, decimals) for g, (_, m, _) in stats.items()
        }
        body_rows[(var.column, "sd")] = {
            g: format_number(s * var.scale, decimals) for g, (_, _, s) in stats.items()
        }
        body_rows[(var.column, "n")] = {g: format_count(n) for g, (n, _, _) in stats.items()}
    n_years = {g: int(masks[g].sum()) for g in group_keys}
    n_cons = {g: _n_distinct(ids[masks[g]]) for g in group_keys}
    for g in group_keys:
        records.append(("sample", g, n_years[g], n_cons[g], math.nan, math.nan))
    body_rows[(_SAMPLE, "consortia")] = {g: format_count(n_cons[g]) for g in group_keys}
    body_rows[(_SAMPLE, "consortium_years")] = {g: format_count(n_years[g]) for g in group_keys}

    body = pd.DataFrame.from_dict(body_rows, orient="index")[group_keys]
    body.index = pd.MultiIndex.from_tuples(list(body_rows), names=["variable", "statistic"])
    data = pd.DataFrame.from_records(
        records, columns=["variable", "lead_type", "n", "n_consortia", "mean", "sd"]
    )

    row_labels = {v.column: v.label.replace("{currency}", currency) for v in shown}
    row_labels.update(_TABLE1_ROW_LABELS)

    notes = [
        f"Unit of observation: the consortium-year. Sample: {sample} "
        f"({format_count(n_years['all'])} consortium-years of "
        f"{format_count(n_cons['all'])} consortia); columns group consortia by the type "
        f"of their lead organisation. N: consortium-years with a value.",
    ]
    details = [
        "Mean and SD (sample standard deviation, denominator N \u2212 1) over the "
        "consortium-years with a non-missing value; N counts those consortium-years, so it "
        "varies across variables (a ratio is missing when its denominator is zero, e.g. the "
        "transfer rate in a year without achievements).",
    ]
    if any(v.is_money for v in shown):
        prices = (
            f"at constant {base_year} prices" if base_year is not None
            else "at current prices (not deflated)"
        )
        notes.append(f"Money in {currency} {prices}.")
    if (body == MISSING).any().any():
        notes.append(f"{MISSING}: not defined (no observation, or a single one for the SD).")
    if no_lead:
        notes.append(f"{format_count(no_lead)} consortium-years without a lead type are left out.")
    if absent:
        notes.append(
            "Not in the panel, so not shown: "
            + ", ".join(f"{v.label.replace('{currency}', currency)} ({v.column})" for v in absent)
            + "."
        )
    if all_missing:
        notes.append(
            "Missing in every consortium-year, so not shown: "
            + ", ".join(
                f"{v.label.replace('{currency}', currency)} ({v.column})" for v in all_missing
            )
            + "."
        )

    return Table(
        body=body,
        title=title,
        row_labels=row_labels,
        column_labels=_TABLE1_COLUMN_LABELS,
        stub_header=("", ""),
        notes=notes,
        details=details,
        rule_after=(3 * len(shown) - 1,),
        label=label,
        data=data,
        long=True,  # four rows a variable: taller than a page at 12 pt
    )
