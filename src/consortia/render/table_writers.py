"""The table writers: one :class:`~consortia.render.table.Table` to LaTeX (booktabs),
HTML, Markdown and CSV, byte for byte the same for the same table, and
:func:`write_table`, which writes the four files of a stem."""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from consortia.render.table import STUB, Table

# File suffixes written by write_table, in writing order.
TABLE_SUFFIXES = (".tex", ".html", ".md", ".csv")


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
