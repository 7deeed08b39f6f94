"""One run at a time in a results folder (consortia.runlock), and the Snakefile taking the lock.

The unit tests use the operating system as the independent truth: a second
open file description of the lock file cannot take the flock, a killed holder
releases it. The workflow tests run Snakemake against a lock held by this test
process, and through a cluster executor whose per-job Snakemake processes
re-read the Snakefile while the main process holds the lock.
"""

import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from consortia import runlock
from consortia.simulate import simulate_to_folder

ROOT = Path(__file__).resolve().parents[1]


def test_a_second_holder_is_refused_with_the_first_ones_pid_host_and_start(tmp_path):
    results = tmp_path / "results"
    with runlock.acquire(results):
        record = json.loads((results / runlock.LOCK_FILE).read_text())
        with pytest.raises(runlock.ResultsFolderInUse) as refused:
            runlock.acquire(results)
        # the refused attempt leaves the holder's record as it was
        assert json.loads((results / runlock.LOCK_FILE).read_text()) == record
    message = str(refused.value)
    assert message.startswith(
        f"{results.resolve()}: another run is writing into this results folder"
    )
    assert (
        f"pid {os.getpid()} on host {socket.gethostname()}, started {record['started']}"
        in message
    )
    # released with the file: the folder can be taken again
    with runlock.acquire(results):
        pass


def test_the_lock_goes_with_the_process_that_holds_it_even_when_killed(tmp_path):
    results = tmp_path / "results"
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time; from consortia import runlock; "
         f"lock = runlock.acquire({str(results)!r}); print('held', flush=True); time.sleep(60)"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(runlock.ResultsFolderInUse, match=f"pid {holder.pid} on host"):
            runlock.acquire(results)
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=10)
    with runlock.acquire(results):
        pass


def test_a_holder_that_has_not_written_its_record_is_described_as_such():
    assert runlock.describe_holder(b"") == "its process has not yet recorded who it is"
    recorded = {
        "pid": 7, "host": "h", "started": "2026-01-01T00:00:00+00:00", "command": ["a", "b"]
    }
    assert runlock.describe_holder(json.dumps(recorded).encode()) == (
        "pid 7 on host h, started 2026-01-01T00:00:00+00:00 (a b)"
    )


# --------------------------------------------------------------------- the Snakefile


@pytest.fixture(scope="module")
def small_dataset(tmp_path_factory):
    dataset = tmp_path_factory.mktemp("dataset")
    simulate_to_folder(dataset, n_consortia=20, n_years=3, seed=5, truth_overrides=None, fmt="csv")
    return dataset


def snakemake(*args, timeout=300):
    return subprocess.run(
        [sys.executable, "-m", "snakemake", *args],
        cwd=ROOT, capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip


@pytest.mark.workflow
def test_a_run_into_a_results_folder_in_use_is_refused_before_it_writes(small_dataset, tmp_path):
    results = tmp_path / "results"
    config = ["--config", f"dataset={small_dataset}", f"results={results}"]
    with runlock.acquire(results):
        started = json.loads((results / runlock.LOCK_FILE).read_text())["started"]
        # --nolock: Snakemake's own lock (the one its runs delete) plays no part
        refused = snakemake("--cores", "1", "--nolock", *config)
        dry_run = snakemake("--cores", "1", "--dry-run", *config)
    output = refused.stdout + refused.stderr
    assert refused.returncode != 0
    assert f"{results}: another run is writing into this results folder" in output
    assert f"pid {os.getpid()} on host {socket.gethostname()}, started {started}" in output
    assert [path.name for path in results.iterdir()] == [runlock.LOCK_FILE]
    assert dry_run.returncode == 0, dry_run.stdout[-2000:] + dry_run.stderr[-2000:]


@pytest.mark.workflow
def test_cluster_jobs_rereading_the_snakefile_are_not_refused(small_dataset, tmp_path):
    # The cluster-generic executor runs each job in a new Snakemake process (--mode remote);
    # the submit command here runs that job script on this machine, at once.
    results = tmp_path / "results"
    run = snakemake(
        "--nolock", "--executor", "cluster-generic",
        "--cluster-generic-submit-cmd", "sh -c 'sh \"$0\" >&2; echo local'",
        "--jobs", "1", "--seconds-between-status-checks", "1",
        "--config", f"dataset={small_dataset}", f"results={results}",
        "--", str(results / "data" / "quality.json"),
    )  # fmt: skip
    output = run.stdout + run.stderr
    assert run.returncode == 0, output[-4000:]
    assert "--mode remote" in output  # the job did run in its own Snakemake process
    assert "another run is writing" not in output
    assert (results / "data" / "quality.json").is_file()
