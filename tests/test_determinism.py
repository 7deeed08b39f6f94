"""Two runs of the workflow on the same inputs write the same outputs.

The shared demo run (through `consortia run`) is compared with a second run
(plain `snakemake`) into another folder.

The comparison is benchmarks/same_outputs.py (also the check that a re-layout of the
package leaves every output as it was): tables and figures byte-identical, every other
output too once the results folder's own path and JSON timing fields (keys ending in
``_seconds``) are taken out; run records (logs, timings, provenance, the verdict history)
are not compared.
"""

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _load_comparison():
    spec = importlib.util.spec_from_file_location(
        "same_outputs", ROOT / "benchmarks" / "same_outputs.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


same_outputs = _load_comparison()
result_files = same_outputs.result_files
BYTE_IDENTICAL = same_outputs.BYTE_IDENTICAL

pytestmark = pytest.mark.workflow


@pytest.fixture(scope="module")
def second_run(tmp_path_factory):
    results = tmp_path_factory.mktemp("second_run")
    command = [sys.executable, "-m", "snakemake", "--nolock", "--cores", "2", "--config",
               f"results={results}"]
    run = subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, timeout=1800, check=False
    )
    assert run.returncode == 0, run.stderr[-4000:]
    return results


def test_two_runs_write_the_same_files(demo_run, second_run):
    first, second = result_files(demo_run.results), result_files(second_run)
    assert sorted(first) == sorted(second)
    for folder in BYTE_IDENTICAL:
        assert any(name.startswith(f"{folder}/") for name in first), folder


def test_tables_and_figures_are_byte_identical_and_the_rest_but_for_timings(demo_run, second_run):
    assert any(name.endswith(".json") for name in result_files(demo_run.results))
    assert same_outputs.differences(demo_run.results, second_run) == []
