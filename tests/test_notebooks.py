"""The exploration notebooks: each .ipynb is the pair of its jupytext percent script, is
stored without outputs, and runs on a finished demo run."""

import os
import subprocess
import sys
from pathlib import Path

import jupytext
import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
SCRIPTS = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.py"))
# What each notebook reads; a notebook whose inputs the run did not write is skipped.
NEEDS = {"02_scp_models": "models/fits"}


def test_every_notebook_is_paired_and_has_no_outputs():
    assert [script.stem for script in SCRIPTS] == ["01_data_quality", "02_scp_models", "03_claims"]
    for script in SCRIPTS:
        stored = nbformat.read(script.with_suffix(".ipynb"), as_version=4)
        paired = jupytext.read(script)
        assert [(c.cell_type, c.source) for c in stored.cells] == [
            (c.cell_type, c.source) for c in paired.cells
        ], f"{script.name} and its .ipynb differ: run `jupytext --sync {script.relative_to(ROOT)}`"
        assert stored.metadata["jupytext"]["formats"] == "ipynb,py:percent"
        for cell in stored.cells:
            if cell.cell_type == "code":
                assert cell.outputs == [] and cell.execution_count is None, (
                    f"{script.with_suffix('.ipynb').name} is stored with outputs"
                )


@pytest.mark.workflow
@pytest.mark.parametrize("script", SCRIPTS, ids=[s.stem for s in SCRIPTS])
def test_notebook_runs_with_the_documented_command(script, demo_run):
    """README: `CONSORTIA_RESULTS=path .venv/bin/jupyter execute notebooks/NAME.ipynb`
    (nbclient's command, installed with the package's test extras)."""
    needed = NEEDS.get(script.stem)
    if needed and not any((demo_run.results / needed).glob("*")):
        pytest.skip(f"the run wrote nothing in {needed}")
    jupyter = Path(sys.executable).with_name("jupyter")
    run = subprocess.run(
        [str(jupyter), "execute", str(script.with_suffix(".ipynb").relative_to(ROOT))],
        cwd=ROOT,
        env={**os.environ, "CONSORTIA_RESULTS": str(demo_run.results)},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert "Traceback" not in run.stderr
