"""Does a generated table fit the page? Compile it in a standard ``article`` and read the log.

The ``.tex`` files the workflow writes are fragments to ``\\input`` in a paper. This
module puts them, unchanged, into the plainest document a journal template starts
from (``article``, letter or A4 paper, 1-inch margins, 10 to 12 pt, only the packages
of :data:`consortia.render.table_writers.LATEX_PACKAGES`), runs ``pdflatex`` and reports per table:

* every ``Overfull \\hbox`` (text sticking out into the margin) and its width;
* every ``Float too large for page`` (a table float taller than the text block).

The tests compile every table of a demo and a CORDIS run this way in letter and A4
(``tests/test_latex.py``); ``python -m consortia.texcheck TABLE.tex ... --png DIR``
does the same by hand and writes the pages as PNG images (``pdftoppm``).

Minimal TeX install: Debian's ``texlive-latex-base`` (LaTeX, ``article``,
``geometry``, ``longtable``, ``array``) and ``texlive-latex-recommended``
(``booktabs``).
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from consortia.render.table_writers import LATEX_PACKAGES

__all__ = ["PAPERS", "TableFit", "check_tables", "document", "pdflatex_available"]

# The paper sizes a journal template uses, as LaTeX class options.
PAPERS = {"letter": "letterpaper", "a4": "a4paper"}
DEBIAN_PACKAGES = ("texlive-latex-base", "texlive-latex-recommended")
_MARK = "consortia-table:"
_OVERFULL = re.compile(r"^Overfull \\hbox \(([\d.]+)pt too wide\)")
_TOO_LARGE = re.compile(r"Float too large for page by ([\d.]+)pt")
_RERUN = ("Rerun LaTeX", "Table widths have changed")


@dataclass
class TableFit:
    """What did not fit, in points: one entry per overfull box or too-large float."""

    overfull_pt: list[float] = field(default_factory=list)
    float_too_large_pt: list[float] = field(default_factory=list)

    def worst_overfull(self) -> float:
        return max(self.overfull_pt, default=0.0)

    def fits(self, tolerance_pt: float = 1.0) -> bool:
        return self.worst_overfull() <= tolerance_pt and not self.float_too_large_pt


def pdflatex_available() -> bool:
    return shutil.which("pdflatex") is not None


def document(tex_paths: list[Path], paper: str = "letter", pt: int = 12) -> str:
    """An ``article`` that inputs each table on its own page, with a marker in the log."""
    if paper not in PAPERS:
        raise ValueError(f"paper must be one of {sorted(PAPERS)}, not {paper!r}")
    lines = [
        f"\\documentclass[{pt}pt,{PAPERS[paper]}]{{article}}",
        "\\usepackage[T1]{fontenc}",
        "\\usepackage[margin=1in]{geometry}",
        *(f"\\usepackage{{{p}}}" for p in LATEX_PACKAGES),
        "\\begin{document}",
    ]
    for path in tex_paths:
        lines += [
            f"\\typeout{{{_MARK}{Path(path).stem}}}",
            f"\\input{{{Path(path).resolve().as_posix()}}}",
            "\\clearpage",
        ]
    lines.append("\\end{document}")
    return "\n".join(lines) + "\n"


def _parse(log: str) -> dict[str, TableFit]:
    fits: dict[str, TableFit] = {}
    current = None
    for line in log.splitlines():
        if line.startswith(_MARK):
            current = fits.setdefault(line[len(_MARK) :].strip(), TableFit())
        elif current is not None:
            if m := _OVERFULL.match(line):
                current.overfull_pt.append(float(m.group(1)))
            elif m := _TOO_LARGE.search(line):
                current.float_too_large_pt.append(float(m.group(1)))
    return fits


def check_tables(
    tex_paths: list[Path], workdir: Path, paper: str = "letter", pt: int = 12
) -> dict[str, TableFit]:
    """Compile ``tex_paths`` in one document; {table stem: what did not fit}.

    Raises ``RuntimeError`` with the end of the log when pdflatex fails (a package
    missing, a LaTeX error in a table). Reruns while longtable asks for it, so column
    widths have settled when the log is read.
    """
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    name = f"tables-{paper}-{pt}pt"
    (workdir / f"{name}.tex").write_text(document(tex_paths, paper, pt), encoding="utf-8")
    for _ in range(3):
        run = subprocess.run(
            ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", f"{name}.tex"],
            cwd=workdir,
            capture_output=True,
            text=True,
            errors="replace",
            check=False,
        )
        log = (workdir / f"{name}.log").read_text(encoding="utf-8", errors="replace")
        if run.returncode != 0:
            raise RuntimeError(f"pdflatex failed on {workdir / name}.tex:\n{log[-3000:]}")
        if not any(flag in log for flag in _RERUN):
            break
    return _parse(log)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m consortia.texcheck", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("tex", nargs="+", type=Path, help="table fragments (.tex) to compile")
    parser.add_argument("--paper", choices=sorted(PAPERS), default="letter")
    parser.add_argument("--pt", type=int, choices=(10, 11, 12), default=12)
    parser.add_argument("--workdir", type=Path, default=Path("texcheck"))
    parser.add_argument("--png", type=Path, help="also write the pages as PNG images here")
    parser.add_argument("--dpi", type=int, default=80)
    args = parser.parse_args(argv)
    fits = check_tables(args.tex, args.workdir, args.paper, args.pt)
    for stem, fit in fits.items():
        state = "fits" if fit.fits() else "does NOT fit"
        print(f"{stem}: {state} (overfull {fit.worst_overfull():.1f} pt, "
              f"floats too large by {fit.float_too_large_pt or 0} pt)")
    if args.png:
        args.png.mkdir(parents=True, exist_ok=True)
        pdf = args.workdir / f"tables-{args.paper}-{args.pt}pt.pdf"
        subprocess.run(["pdftoppm", "-r", str(args.dpi), "-png", str(pdf),
                        str(args.png / pdf.stem)], check=True)
    return 0 if all(f.fits() for f in fits.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
