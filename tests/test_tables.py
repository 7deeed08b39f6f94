"""Tests of the table layer (consortia.render.table, table_writers) and Table 1
(consortia.describe).

Snapshot tests compare rendered text with files in tests/snapshots/. After a
deliberate change to the output, regenerate them with

    UPDATE_SNAPSHOTS=1 .venv/bin/pytest tests/test_tables.py

and review the diff (git diff tests/snapshots/) before committing.
"""

from __future__ import annotations

import math
import re
import shutil
import subprocess
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest

from consortia.contract import LEAD_TYPE_ORDER
from consortia.describe import Variable, descriptives_by_lead_type
from consortia.render.table import MISSING, Table, format_number
from consortia.render.table_writers import (
    latex_escape,
    to_csv,
    to_html,
    to_latex_booktabs,
    to_markdown,
    write_table,
)

# --------------------------------------------------------------------------- #
# Fixtures
# --------------------------------------------------------------------------- #


@pytest.fixture
def tiny_table() -> Table:
    """A fixed table exercising every layout feature and every special character."""
    body = pd.DataFrame(
        [
            ["0.123", "-1.50", "12", "(0.05)"],
            ["(0.010)", "(0.20)", "3", "[-0.1]"],
            ["2,345", MISSING, "0", "50%"],
            ["100", "200", "300", "400"],
        ],
        index=pd.MultiIndex.from_tuples(
            [("x_1", "coef"), ("x_1", "se"), ("r&d", "coef"), ("n", "")]
        ),
        columns=pd.MultiIndex.from_tuples(
            [("ols", "m1"), ("ols", "m2"), ("iv", "m3"), ("", "m4")]
        ),
    )
    return Table(
        body=body,
        title="Tiny table: R&D_spend {test} #1 costs $5 at 100% ~ ^",
        row_labels={
            "x_1": "Share_x",
            "coef": "Coef.",
            "se": "SE",
            "r&d": "R&D (10k CNY)",
            "n": "N",
        },
        column_labels={"ols": "OLS", "iv": "IV & 2SLS", "m1": "(1)", "m2": "(2)", "m3": "(3)",
                       "m4": "Long\nheader"},
        stub_header=("Variable", ""),
        notes=[
            "Standard errors in parentheses; 50% of <all> rows.",
            "Second note_with_underscore.",
        ],
        rule_after=[2],
        label="tab:tiny",
    )


@pytest.fixture
def tiny_panel() -> pd.DataFrame:
    """Seven consortium-years, four consortia, three lead types (numbers hand-checked below)."""
    return pd.DataFrame(
        {
            "consortium_id": ["A", "A", "B", "B", "C", "C", "D"],
            "year": [2020, 2021, 2020, 2021, 2020, 2021, 2020],
            "lead_type": pd.Categorical(
                ["enterprise"] * 4 + ["university"] * 2 + ["government"],
                categories=list(LEAD_TYPE_ORDER),
            ),
            "n_members": [3, 5, 4, 4, 2, 6, 7],
            "transfer_rate": [0.5, np.nan, 0.25, 0.75, 0.0, 1.0, np.nan],
            "rd_per_member": [1.5e6, 2.0e6, 1.0e6, 3.0e6, 5.0e5, 7.0e5, 2.0e6],
            "decision_hhi": np.nan,  # present but all missing
        }
    )


def t1(panel: pd.DataFrame, **kw) -> Table:
    kw.setdefault("currency", "CNY")
    kw.setdefault("base_year", 2020)
    return descriptives_by_lead_type(panel, **kw)


# --------------------------------------------------------------------------- #
# Table 1 numbers
# --------------------------------------------------------------------------- #


def stat(data: pd.DataFrame, variable: str, lead_type: str) -> pd.Series:
    row = data[(data["variable"] == variable) & (data["lead_type"] == lead_type)]
    assert len(row) == 1
    return row.iloc[0]


def test_table1_numbers_match_hand_computation(tiny_panel):
    """Means and SDs by hand; SD is the sample SD (ddof=1, denominator N - 1)."""
    data = t1(tiny_panel).data
    # n_members, enterprise: 3, 5, 4, 4 -> mean 4, squared deviations 1+1+0+0 = 2, var 2/3
    s = stat(data, "n_members", "enterprise")
    assert (s.n, s.n_consortia) == (4, 2)
    assert s["mean"] == pytest.approx(4.0)
    assert s["sd"] == pytest.approx(math.sqrt(2 / 3))
    # university: 2, 6 -> mean 4, var (4 + 4) / 1 = 8
    s = stat(data, "n_members", "university")
    assert s["mean"] == pytest.approx(4.0) and s["sd"] == pytest.approx(math.sqrt(8))
    # government: one observation -> SD undefined (not 0)
    s = stat(data, "n_members", "government")
    assert s.n == 1 and s["mean"] == pytest.approx(7.0) and math.isnan(s["sd"])
    # all: sum 31, sum of squares 155 -> var = (155 - 31^2/7) / 6 = 62/21
    s = stat(data, "n_members", "all")
    assert (s.n, s.n_consortia) == (7, 4)
    assert s["mean"] == pytest.approx(31 / 7)
    assert s["sd"] == pytest.approx(math.sqrt(62 / 21))
    # transfer_rate skips NaN: enterprise 0.5, 0.25, 0.75 -> mean 0.5, var 0.125 / 2
    s = stat(data, "transfer_rate", "enterprise")
    assert s.n == 3 and s["mean"] == pytest.approx(0.5) and s["sd"] == pytest.approx(0.25)
    s = stat(data, "transfer_rate", "government")
    assert (s.n, s.n_consortia) == (0, 0) and math.isnan(s["mean"]) and math.isnan(s["sd"])
    # all: 0.5, 0.25, 0.75, 0, 1 -> mean 0.5, squared deviations sum 0.625, var 0.625 / 4
    s = stat(data, "transfer_rate", "all")
    assert (s.n, s.n_consortia) == (5, 3)
    assert s["sd"] == pytest.approx(math.sqrt(0.625 / 4))
    # sample rows: consortium-years and consortia per lead type
    for lead_type, years, consortia in [("enterprise", 4, 2), ("university", 2, 1),
                                        ("government", 1, 1), ("all", 7, 4)]:
        s = stat(data, "sample", lead_type)
        assert (s.n, s.n_consortia) == (years, consortia)


def test_table1_body_is_formatted_from_the_numbers(tiny_panel):
    table = t1(tiny_panel)
    body = table.body
    assert list(body.columns) == ["enterprise", "university", "government", "all"]
    assert body.loc[("n_members", "mean"), "all"] == "4.43"
    assert body.loc[("n_members", "sd"), "enterprise"] == "0.82"
    assert body.loc[("n_members", "sd"), "government"] == MISSING
    assert body.loc[("n_members", "n"), "all"] == "7"
    # rates below 1: three decimals
    assert body.loc[("transfer_rate", "sd"), "university"] == "0.707"
    # money is displayed in millions, as its label says; the CSV keeps CNY
    assert body.loc[("rd_per_member", "mean"), "enterprise"] == "1.88"
    assert "million CNY" in table.row_labels["rd_per_member"]
    assert stat(table.data, "rd_per_member", "enterprise")["mean"] == pytest.approx(1.875e6)
    assert body.loc[("_sample", "consortia"), "all"] == "4"
    # a midrule separates the variables from the sample rows
    assert table.rule_after == (3 * 3 - 1,)


def test_table1_only_present_lead_types_in_vocabulary_order(tiny_panel):
    panel = tiny_panel.assign(lead_type=tiny_panel["lead_type"].astype(str))
    panel.loc[panel["consortium_id"] == "D", "lead_type"] = "research_institute"
    cols = list(t1(panel).body.columns)
    assert cols == ["enterprise", "university", "research_institute", "all"]


def test_table1_notes_unit_sample_money_and_skipped(tiny_panel):
    notes = " ".join(t1(tiny_panel, sample="consortia active 2020-21").notes)
    assert "Unit of observation: the consortium-year" in notes
    assert "consortia active 2020-21 (7 consortium-years of 4 consortia)" in notes
    assert "denominator N \u2212 1" in " ".join(t1(tiny_panel).details)  # HTML/Markdown only
    assert "Money in CNY at constant 2020 prices." in notes
    # absent columns and all-missing columns are named, not shown
    assert "Not in the panel, so not shown:" in notes and "(patents_filed)" in notes
    assert "Missing in every consortium-year, so not shown:" in notes and "(decision_hhi)" in notes
    body_vars = set(t1(tiny_panel).body.index.get_level_values(0))
    assert "patents_filed" not in body_vars and "decision_hhi" not in body_vars

    current = " ".join(t1(tiny_panel, currency="EUR", base_year=None).notes)
    assert "Money in EUR at current prices (not deflated)." in current
    no_money = " ".join(t1(tiny_panel, variables=[("n_members", "Members")]).notes)
    assert "Money" not in no_money


def test_table1_accepts_tuples_and_variables(tiny_panel):
    table = t1(tiny_panel, variables=[("n_members", "Members"),
                                      Variable("transfer_rate", "Rate", decimals=1)])
    assert table.row_labels["n_members"] == "Members"
    assert table.body.loc[("transfer_rate", "mean"), "all"] == "0.5"


def test_table1_errors(tiny_panel):
    with pytest.raises(ValueError, match="none of the Table 1 variables"):
        t1(tiny_panel, variables=[("nope", "Nope")])
    with pytest.raises(ValueError, match="lead_type"):
        t1(tiny_panel.drop(columns="lead_type"))
    with pytest.raises(TypeError, match="not numeric"):
        t1(tiny_panel.assign(n_members="x"), variables=[("n_members", "Members")])


def test_table1_csv_is_long_and_numeric(tiny_panel, tmp_path):
    paths = write_table(t1(tiny_panel), tmp_path / "table1")
    csv = pd.read_csv(paths["csv"])
    assert list(csv.columns) == ["variable", "lead_type", "n", "n_consortia", "mean", "sd"]
    for col in ("n", "n_consortia"):
        assert pd.api.types.is_integer_dtype(csv[col])
    for col in ("mean", "sd"):
        assert pd.api.types.is_float_dtype(csv[col])
    row = csv[(csv.variable == "n_members") & (csv.lead_type == "all")].iloc[0]
    assert row["mean"] == pytest.approx(31 / 7, rel=1e-9)


def test_table1_markdown_snapshot(tiny_panel, assert_snapshot):
    assert_snapshot(to_markdown(t1(tiny_panel)), "table1_tiny.md")


def test_lead_type_vocabulary_matches_contract():
    contract = pytest.importorskip("consortia.contract")
    org_types = getattr(contract, "ORG_TYPES", None)
    if org_types is None:
        pytest.skip("consortia.contract.ORG_TYPES not defined yet")
    assert set(LEAD_TYPE_ORDER) == set(org_types)


# --------------------------------------------------------------------------- #
# Rendering layer
# --------------------------------------------------------------------------- #


def test_latex_escape_special_characters():
    assert latex_escape("R&D 50% a_b #1 $5 {x}") == r"R\&D 50\% a\_b \#1 \$5 \{x\}"
    assert latex_escape("a\\b ~ ^ < >") == (
        r"a\textbackslash{}b \textasciitilde{} \textasciicircum{} $<$ $>$"
    )
    assert latex_escape("0\u20131") == "0--1"


def test_latex_booktabs_rules_and_escaping(tiny_table):
    tex = to_latex_booktabs(tiny_table)
    lines = tex.splitlines()
    top, mids, bottom = (
        lines.index("\\toprule"),
        [i for i, line in enumerate(lines) if line == "\\midrule"],
        lines.index("\\bottomrule"),
    )
    assert top < mids[0] < mids[1] < bottom  # header rule, then rule_after=[2]
    assert "\\hline" not in tex
    assert "\\caption{Tiny table: R\\&D\\_spend \\{test\\} \\#1 costs \\$5 at 100\\%" in tex
    assert "R\\&D (10k CNY)" in tex and "Share\\_x" in tex and "50\\%" in tex
    assert "IV \\& 2SLS" in tex
    # the first row level heads its group on a row of its own, spanning the table
    assert "\\multicolumn{5}{@{}l}{R\\&D (10k CNY)} \\\\" in lines
    # every unescaped & of a body row is a column separator: 1 stub + 4 data columns
    body_row = lines[lines.index("\\multicolumn{5}{@{}l}{R\\&D (10k CNY)} \\\\") + 1]
    assert body_row.startswith("\\quad Coef.") and len(re.findall(r"(?<!\\)&", body_row)) == 4
    # minus signs in numbers become math minus; hyphens in words do not; an escaped en
    # dash before a number stays a dash
    assert "$-$1.50" in tex and "[$-$0.1]" in tex
    assert latex_escape("0.68\u20130.83") == "0.68--0.83"
    # spanners: multicolumn + cmidrule over columns 2-3 (after the stub column)
    assert "\\multicolumn{2}{c}{OLS}" in tex and "\\cmidrule(lr){2-3}" in tex
    # the notes: one paragraph under the table, the first one prefixed
    assert "\\textit{Notes:} Standard errors" in tex and "threeparttable" not in tex
    assert "$<$all$>$" in tex


def _environments_balanced(tex: str) -> bool:
    stack = []
    for kind, name in re.findall(r"\\(begin|end)\{([^}]*)\}", tex):
        if kind == "begin":
            stack.append(name)
        elif not stack or stack.pop() != name:
            return False
    return not stack


def test_latex_standalone_is_a_complete_document(tiny_table):
    tex = to_latex_booktabs(tiny_table, standalone=True)
    assert tex.startswith("\\documentclass")
    for package in ("booktabs", "array", "longtable"):
        assert f"\\usepackage{{{package}}}" in tex
    assert "\\begin{document}" in tex and tex.rstrip().endswith("\\end{document}")
    assert _environments_balanced(tex)
    assert _environments_balanced(to_latex_booktabs(tiny_table))


@pytest.mark.skipif(shutil.which("pdflatex") is None, reason="pdflatex not installed (no TeX)")
def test_latex_standalone_compiles(tiny_table, tiny_panel, tmp_path):
    for name, table in [("tiny", tiny_table), ("table1", t1(tiny_panel))]:
        src = tmp_path / f"{name}.tex"
        src.write_text(to_latex_booktabs(table, standalone=True), encoding="utf-8")
        run = subprocess.run(
            ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", src.name],
            cwd=tmp_path, capture_output=True, text=True, timeout=120,
        )
        assert run.returncode == 0, run.stdout[-3000:]
        assert (tmp_path / f"{name}.pdf").exists()


class _TagChecker(HTMLParser):
    VOID = {"meta", "br"}

    def __init__(self):
        super().__init__()
        self.stack: list[str] = []
        self.ok = True

    def handle_starttag(self, tag, attrs):
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if not self.stack or self.stack.pop() != tag:
            self.ok = False


def test_html_is_well_formed_escaped_and_self_contained(tiny_table):
    page = to_html(tiny_table)
    checker = _TagChecker()
    checker.feed(page)
    assert checker.ok and not checker.stack
    assert page.startswith("<!DOCTYPE html>") and "<style>" in page
    assert "<link" not in page and "<script" not in page and "http" not in page
    assert "<caption>Tiny table: R&amp;D_spend" in page
    assert "&lt;all&gt;" in page and "<em>Notes:</em>" in page
    assert 'colspan="2" class="spanner">OLS</th>' in page
    assert "Long<br>header" in page
    assert page.count("<tbody>") == 2  # rule_after splits the body
    fragment = to_html(tiny_table, standalone=False)
    assert fragment.startswith('<table class="consortia-table" id="tab-tiny">')


def test_markdown_pipe_table_shape(tiny_table):
    md = to_markdown(tiny_table)
    rows = [line for line in md.splitlines() if line.startswith("|")]
    n_cells = {len(re.split(r"(?<!\\)\|", line)) for line in rows}
    assert len(n_cells) == 1  # every row has the same number of cells
    assert "OLS: (1)" in md and "R&D\\_spend" in md and "Share\\_x" in md


def test_csv_without_data_writes_labelled_body(tiny_table):
    frame = pd.read_csv(pd.io.common.StringIO(to_csv(tiny_table)), dtype=str, keep_default_na=False)
    assert list(frame.columns) == [
        "Variable", "row_level_1", "OLS: (1)", "OLS: (2)", "IV & 2SLS: (3)", "Long header"
    ]
    assert frame.iloc[1, 0] == "Share_x"  # not sparsified: every row is complete


@pytest.mark.parametrize("suffix", ["tex", "md", "html", "csv"])
def test_snapshots_of_tiny_table(tiny_table, suffix, assert_snapshot):
    render = {
        "tex": to_latex_booktabs,
        "md": to_markdown,
        "html": to_html,
        "csv": to_csv,
    }[suffix]
    assert_snapshot(render(tiny_table), f"tiny_table.{suffix}")


def test_snapshot_of_tiny_table_standalone(tiny_table, assert_snapshot):
    assert_snapshot(to_latex_booktabs(tiny_table, standalone=True), "tiny_table_standalone.tex")


def test_write_table_writes_four_deterministic_files(tiny_table, tmp_path):
    paths = write_table(tiny_table, tmp_path / "out" / "tiny")
    assert {p.name for p in paths.values()} == {"tiny.tex", "tiny.html", "tiny.md", "tiny.csv"}
    first = {k: p.read_bytes() for k, p in paths.items()}
    assert first["tex"].decode() == to_latex_booktabs(tiny_table)
    again = write_table(tiny_table, tmp_path / "out" / "tiny")
    assert {k: p.read_bytes() for k, p in again.items()} == first
    assert all(b"\r\n" not in b for b in first.values())
    with pytest.raises(ValueError, match="stem"):
        write_table(tiny_table, tmp_path / "tiny.tex")


def test_table_validation():
    with pytest.raises(TypeError, match="formatted strings"):
        Table(body=pd.DataFrame({"a": [1.5]}))
    with pytest.raises(ValueError, match="duplicated row keys"):
        Table(body=pd.DataFrame({"a": ["1", "2"]}, index=["x", "x"]))
    with pytest.raises(ValueError, match="rule_after"):
        Table(body=pd.DataFrame({"a": ["1", "2"]}), rule_after=[1])
    with pytest.raises(ValueError, match="stub_header"):
        Table(body=pd.DataFrame({"a": ["1"]}), stub_header=("a", "b"))


def test_format_number():
    assert format_number(1234.567, 1) == "1,234.6"
    assert format_number(-0.0004, 3) == "0.000"  # no negative zero
    assert format_number(float("nan"), 2) == MISSING
    assert format_number(None, 2) == MISSING


def test_latex_escape_leaves_only_ascii_for_the_symbols_the_tables_use():
    from consortia.render.table_writers import latex_escape

    text = (
        "a → b · c × d ± e ≈ f ≠ g ′ ⌊x⌋ χ² α β σ ρ § ÷ √ ∝ "
        "“q” ‘q’ … – — − ≥ ≤ Hervé Schrödinger"
    )
    escaped = latex_escape(text)
    assert escaped.isascii(), sorted({ch for ch in escaped if not ch.isascii()})
    assert r"$\rightarrow$" in escaped and r"$\chi$\textsuperscript{2}" in escaped
