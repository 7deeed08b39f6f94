"""The benchmark suite runs end to end at a tiny size and reports every stage.

No timing is asserted (timings are measured in the benchmark, not in tests):
these check that benchmarks/run.py produces its table with one row per stage,
the targets section, and plausible facts.
"""

import csv
import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "run.py"

pytestmark = pytest.mark.slow  # one benchmark run (about a minute) shared by the module


def _load_runner():
    spec = importlib.util.spec_from_file_location("benchmark_runner", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench_out")
    work = tmp_path_factory.mktemp("bench_work")
    command = [sys.executable, str(SCRIPT), "--sizes", "200", "--years", "4", "--out", str(out),
               "--work", str(work), "--refit-reps", "2", "--no-snakemake"]
    run = subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, timeout=900, check=False
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    with open(out / "benchmarks.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    return out, rows


def test_every_stage_has_a_row_and_none_failed(tiny_run):
    _, rows = tiny_run
    runner = _load_runner()
    expected = [name for name, _ in runner.STAGES if name != "snakemake"]
    assert [r["stage"] for r in rows] == expected
    assert all(r["size"] == "200" for r in rows)
    failed = [r["stage"] for r in rows if "FAILED" in r["notes"]]
    assert not failed, failed
    for row in rows:
        assert float(row["wall_seconds"]) > 0
        assert float(row["peak_rss_mb"]) > 0


def test_report_states_machine_targets_and_stage_facts(tiny_run):
    out, rows = tiny_run
    report = (out / "benchmarks.md").read_text()
    assert "## Targets (issue 7)" in report and "## Stages" in report
    assert "cores" in report and "pyfixest" in report and "Load average" in report
    by_stage = {r["stage"]: r for r in rows}
    # the simulated world is the size asked for, and the mediation refit agrees with the
    # vectorised bootstrap on the replicates both computed
    assert "consortia 200" in by_stage["simulate"]["notes"]
    assert "G = 200" in by_stage["mediation"]["notes"]
    facts = (out / "benchmarks.json").read_text()
    assert '"max_abs_diff_first_replicates"' in facts


def test_rule_seconds_reads_snakemake_job_stamps(tmp_path):
    log = tmp_path / "snakemake.log"
    log.write_text(
        "[Fri Nov 27 03:30:01 2026]\nlocalrule clean:\n    input: x\n    jobid: 2\n"
        "[Fri Nov 27 03:30:41 2026]\nFinished jobid: 2 (Rule: clean)\n"
        "[Fri Nov 27 03:30:41 2026]\nlocalrule panel:\n    jobid: 1\n"
        "[Fri Nov 27 03:30:57 2026]\nFinished jobid: 1 (Rule: panel)\n"
    )
    assert _load_runner()._rule_seconds(log) == {"clean": 40.0, "panel": 16.0}
