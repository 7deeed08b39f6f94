"""Outputs a journal accepts, checked rather than eyeballed, on the demo and CORDIS runs.

* Every generated ``.tex`` table compiles unchanged in a standard ``article`` (letter
  and A4, 1-inch margins, 10 and 12 pt) with the packages of a minimal TeX install
  (Debian texlive-latex-base + texlive-latex-recommended), with no ``Overfull \\hbox``
  over 1 pt and no float taller than the page (consortia.texcheck reads pdflatex's
  log). Without pdflatex these tests skip, saying so; CI installs it (.ci/run).
* Every figure a run saves is checked when it is saved (consortia.render.figure.
  layout_problems: no text clipped by the figure edge, no two texts overlapping); a
  problem is a warning in the rule's log, so the logs of both runs must hold none.
* The demo's console output is short and ends with where the outputs are.
* Every relative link and section anchor of README.md and docs/*.md resolves.
"""

from __future__ import annotations

import re
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest

from consortia import __version__, texcheck

ROOT = Path(__file__).resolve().parents[1]
NO_TEX = not texcheck.pdflatex_available()
RUNS = ("demo_run", "cordis_run")


def _results(request, run: str) -> Path:
    value = request.getfixturevalue(run)
    return value.results if run == "demo_run" else value


@pytest.mark.workflow
@pytest.mark.skipif(NO_TEX, reason="pdflatex not installed: apt-get install "
                    + " ".join(texcheck.DEBIAN_PACKAGES) + " (CI does, in .ci/run)")
@pytest.mark.parametrize("run", RUNS)
@pytest.mark.parametrize("paper", sorted(texcheck.PAPERS))
@pytest.mark.parametrize("pt", [10, 12])
def test_every_table_fits_the_page(request, run, paper, pt, tmp_path):
    tables = sorted((_results(request, run) / "tables").glob("*.tex"))
    assert tables, "the run wrote no .tex table"
    fits = texcheck.check_tables(tables, tmp_path, paper, pt)
    assert set(fits) == {t.stem for t in tables}, "a table left no mark in the log"
    misfits = {name: fit for name, fit in fits.items() if not fit.fits(tolerance_pt=1.0)}
    assert not misfits, f"{paper}, {pt} pt: tables that do not fit the page: {misfits}"


def test_the_check_finds_a_table_too_wide_and_one_too_tall(tmp_path):
    """The compile check can fail: a row wider than the text and a float taller than it."""
    if NO_TEX:
        pytest.skip("pdflatex not installed")
    wide = tmp_path / "wide.tex"
    wide.write_text("\\begin{table}\\begin{tabular}{l}" + "wide " * 200
                    + "\\\\\\end{tabular}\\end{table}\n", encoding="utf-8")
    tall = tmp_path / "tall.tex"
    tall.write_text("\\begin{table}\\begin{tabular}{l}" + "row\\\\" * 120
                    + "\\end{tabular}\\end{table}\n", encoding="utf-8")
    fits = texcheck.check_tables([wide, tall], tmp_path / "work", "a4", 12)
    assert fits["wide"].worst_overfull() > 100 and not fits["wide"].fits()
    assert fits["tall"].float_too_large_pt and not fits["tall"].fits()


@pytest.mark.workflow
@pytest.mark.parametrize("run", RUNS)
def test_every_figure_has_a_caption_and_a_clean_layout(request, run):
    results = _results(request, run)
    figures = sorted((results / "figures").glob("*.png"))
    assert figures
    for png in figures:
        caption = png.with_suffix(".txt").read_text(encoding="utf-8").strip()
        assert caption, f"{png.name} has no caption"
        assert not re.search(r"\b[a-z]+_[a-z_]+\b", caption), f"a raw key in {png.name}: {caption}"
    problems = [
        line for log in sorted((results / "logs").rglob("*.log"))
        for line in log.read_text(encoding="utf-8").splitlines() if "figure layout" in line
    ]  # fmt: skip
    assert not problems, "\n".join(problems)


@pytest.mark.workflow
def test_cordis_figures_speak_of_contractual_durations(cordis_run):
    caption = (cordis_run / "figures" / "claims_km.txt").read_text(encoding="utf-8")
    assert "projects still running" in caption and "breakthrough" not in caption.split(".")[0]
    table1 = (cordis_run / "tables" / "table1_descriptives.md").read_text(encoding="utf-8")
    assert "EC-contribution share" in table1 and "decision weight (0" not in table1


@pytest.mark.workflow
def test_the_demo_run_is_short_and_ends_with_its_outputs(demo_run):
    lines = demo_run.output.rstrip("\n").splitlines()
    assert len(lines) < 80, f"{len(lines)} lines:\n" + "\n".join(lines)
    assert not [line for line in lines if line.startswith("INFO")]
    tail = "\n".join(lines[-9:])
    assert f"Outputs in {demo_run.results}" in tail
    for relative in ("tables", "figures", "claims/claims.csv", "REPLICATION.md"):
        assert str(demo_run.results / relative) in tail, relative
    assert f"--report {demo_run.results / 'report.html'}" in lines[-1]


def test_version():
    run = subprocess.run([sys.executable, "-m", "consortia.cli", "--version"],
                         capture_output=True, text=True, check=True)
    assert run.stdout.strip() == f"consortia {__version__}" and __version__ != "unknown"


def _anchor(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = heading.strip().lower()
    text = "".join(c for c in text if c in " -_" or unicodedata.category(c)[0] in "LN")
    return text.replace(" ", "-")


def _anchors(path: Path) -> set[str]:
    text = re.sub(r"```.*?```", "", path.read_text(encoding="utf-8"), flags=re.S)
    return {_anchor(m) for m in re.findall(r"^#+ (.+)$", text, flags=re.M)}


@pytest.mark.parametrize("doc", [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))],
                         ids=lambda p: p.name)
def test_relative_links_and_anchors_resolve(doc):
    text = re.sub(r"```.*?```", "", doc.read_text(encoding="utf-8"), flags=re.S)
    broken = []
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"[a-z]+:", target):
            continue  # a URL
        file, _, anchor = target.partition("#")
        path = (doc.parent / file).resolve() if file else doc
        if not path.exists():
            broken.append(f"{target}: no such file")
        elif anchor and path.suffix == ".md" and anchor not in _anchors(path):
            broken.append(f"{target}: no such section")
    assert not broken, f"{doc.name}: " + "; ".join(broken)


def test_the_link_check_can_fail(tmp_path):
    doc = tmp_path / "doc.md"
    doc.write_text("# Title\n\n[a](missing.md) [b](#title) [c](#nowhere)\n", encoding="utf-8")
    with pytest.raises(AssertionError, match=r"missing.md: no such file; #nowhere: no such"):
        test_relative_links_and_anchors_resolve(doc)
