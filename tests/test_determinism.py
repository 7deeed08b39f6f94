"""Two runs of the workflow on the same inputs write the same outputs.

The shared demo run (through `consortia run`) is compared with a second run
(plain `snakemake`) into another folder.

* Tables (CSV, Markdown, HTML, LaTeX) and figures (PNG, PDF): byte-identical.
* Every other output (JSON, CSV, Parquet under data/, models/, claims/):
  byte-identical except for two things that describe the run rather than its
  results, removed before comparing: the results folder's own path (e.g.
  models/manifest.json lists the files it wrote by absolute path), and timing
  fields (JSON keys ending in ``_seconds``, e.g. the mediation bootstrap's
  ``bootstrap_seconds``).
* Not compared: logs/, benchmarks/ (timings), provenance.json (time, machine,
  timings), REPLICATION.md (rendered from provenance.json) and the verdict
  history (when each registry's verdicts were first recorded).
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from consortia import runlock
from consortia.claims.history import HISTORY_FILE

ROOT = Path(__file__).resolve().parents[1]
RUN_RECORDS = ("logs", "benchmarks", "provenance.json", "REPLICATION.md", runlock.LOCK_FILE)
BYTE_IDENTICAL = ("tables", "figures")
TIMING_SUFFIX = "_seconds"
RESULTS_PLACEHOLDER = "<results>"

pytestmark = pytest.mark.workflow


def result_files(results: Path) -> dict[str, Path]:
    return {
        path.relative_to(results).as_posix(): path
        for path in sorted(results.rglob("*"))
        if path.is_file()
        and path.relative_to(results).parts[0] not in RUN_RECORDS
        and path.name != HISTORY_FILE
    }


def without_timings(payload):
    if isinstance(payload, dict):
        return {k: without_timings(v) for k, v in payload.items() if not k.endswith(TIMING_SUFFIX)}
    if isinstance(payload, list):
        return [without_timings(v) for v in payload]
    return payload


def comparable(path: Path, results: Path):
    """A file's content with the results folder's path and (JSON) timing fields taken out."""
    data = path.read_bytes()
    if path.suffix not in (".json", ".csv", ".md", ".html", ".tex", ".txt"):
        return data
    text = data.decode("utf-8").replace(str(results), RESULTS_PLACEHOLDER)
    return without_timings(json.loads(text)) if path.suffix == ".json" else text


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
    for folder in BYTE_IDENTICAL:
        assert any(name.startswith(f"{folder}/") for name in first), folder


def test_tables_and_figures_are_byte_identical(demo_run, second_run):
    first, second = result_files(demo_run.results), result_files(second_run)
    shown = [name for name in first if name.split("/")[0] in BYTE_IDENTICAL]
    differing = [name for name in shown if first[name].read_bytes() != second[name].read_bytes()]
    assert not differing, f"tables or figures that differ between two runs: {differing}"


def test_data_model_and_claims_files_are_identical_but_for_timings(demo_run, second_run):
    first, second = result_files(demo_run.results), result_files(second_run)
    others = [name for name in first if name.split("/")[0] not in BYTE_IDENTICAL]
    assert any(name.endswith(".json") for name in others)
    differing = [
        name
        for name in others
        if comparable(first[name], demo_run.results) != comparable(second[name], second_run)
    ]
    assert not differing, f"outputs that differ between two runs: {differing}"
