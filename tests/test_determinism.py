"""Two runs of the workflow on the same inputs write identical outputs.

The shared demo run (through `consortia run`) is compared with a second run
(plain `snakemake`) into another folder: every table (CSV, Markdown, HTML,
LaTeX), every figure (PNG and PDF), and the JSON, CSV and Parquet data files
must be byte-identical. Left out, because they record the run rather than its
results: logs/, benchmarks/ (timings), provenance.json (time, machine,
timings) and REPLICATION.md (rendered from provenance.json).
"""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RUN_RECORDS = ("logs", "benchmarks", "provenance.json", "REPLICATION.md")

pytestmark = pytest.mark.workflow


def result_files(results: Path) -> dict[str, bytes]:
    files = {}
    for path in sorted(results.rglob("*")):
        relative = path.relative_to(results)
        if path.is_file() and relative.parts[0] not in RUN_RECORDS:
            files[relative.as_posix()] = path.read_bytes()
    return files


@pytest.fixture(scope="module")
def second_run(tmp_path_factory):
    results = tmp_path_factory.mktemp("second_run")
    command = [sys.executable, "-m", "snakemake", "--nolock", "--cores", "2", "--config",
               f"results={results}"]
    run = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=1800, check=False)
    assert run.returncode == 0, run.stderr[-4000:]
    return results


def test_two_runs_write_the_same_files(demo_run, second_run):
    first, second = result_files(demo_run.results), result_files(second_run)
    assert sorted(first) == sorted(second)
    for folder in ("tables", "figures"):
        assert any(name.startswith(f"{folder}/") for name in first), folder


def test_two_runs_are_byte_identical(demo_run, second_run):
    first, second = result_files(demo_run.results), result_files(second_run)
    differing = sorted(name for name in first if name in second and first[name] != second[name])
    assert not differing, f"outputs that differ between two runs on the same inputs: {differing}"
