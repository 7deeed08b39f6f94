"""The workflow on a real SLURM: the Monte Carlo smoke target through profiles/slurm.

A module fixture sets up a one-node SLURM on this machine with
scripts/slurm/setup_single_node.sh (root and apt-get needed: skipped otherwise,
with the reason; when they are there the set-up must work, so a failure fails
the tests), and takes it down again at the end (see `slurm_cluster`). These
tests change the machine while they run, so plain `pytest` leaves them out:
`pytest -m slurm` runs them, and so does CI (tests/conftest.py).

The same target runs through profiles/local and through profiles/slurm into
two temporary results folders. Checked: every job was a
SLURM job (Snakemake's external job ids = the submit ledger = the SLURM_JOB_ID
each job logged from inside = jobs slurmctld completed with exit status 0), and
the SLURM results equal the local ones.

Equality is number for number: verdicts, counts and every string exactly,
floats to 1e-6 (relative or absolute). Two-way fixed-effects fits (pyfixest's alternating
projections, tolerance 1e-8) reproduce only to ~1e-7 across processes, local or
not: memory alignment changes the last bits of sums, which can move the
iteration at which the demeaning stops.
"""

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from consortia import montecarlo as mc

ROOT = Path(__file__).resolve().parents[1]
SETUP = ROOT / "scripts" / "slurm" / "setup_single_node.sh"
SLURMCTLD_LOG = Path("/var/log/slurm/slurmctld.log")
STUDY = "montecarlo_smoke"
# The daemons setup_single_node.sh starts, in the order they are stopped: the node, the
# controller, then the authentication the other two need to shut down cleanly.
DAEMONS = ("slurmd", "slurmctld", "munged")
# What setup_single_node.sh writes besides the packages: the cluster's configuration and
# munged's runtime folder; and where the daemons write while they run (state, logs, munged's
# seed). Folders there that a package installed stay; what the run wrote in them goes.
SLURM_CONF = Path("/etc/slurm/slurm.conf")
MUNGE_RUNTIME = Path("/run/munge")
DAEMON_FOLDERS = (
    Path("/var/lib/slurm/slurmctld"),
    Path("/var/lib/slurm/slurmd"),
    Path("/var/log/slurm"),
    Path("/var/lib/munge"),
    Path("/var/log/munge"),
)
STOP_SECONDS = 30

pytestmark = [pytest.mark.slurm, pytest.mark.workflow]


def daemon_pids() -> dict[str, set[int]]:
    """The live processes of each daemon, by name (zombies are not alive)."""
    pids: dict[str, set[int]] = {name: set() for name in DAEMONS}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # ended while we looked
            continue
        name, state = stat[stat.index("(") + 1 : stat.rindex(")")], stat[stat.rindex(")") + 2]
        if name in pids and state != "Z":
            pids[name].add(int(entry.name))
    return pids


def stop_daemons(started: dict[str, set[int]]) -> list[str]:
    """SIGTERM each process in ``started`` (by id), wait for it, SIGKILL if it lingers.

    Returns what could not be stopped."""
    failures = []
    for name in DAEMONS:
        for pid in sorted(started[name]):
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                continue
            deadline = time.monotonic() + STOP_SECONDS
            while pid in daemon_pids()[name] and time.monotonic() < deadline:
                time.sleep(0.2)
            if pid in daemon_pids()[name]:
                os.kill(pid, signal.SIGKILL)
                failures.append(f"{name} (pid {pid}) ignored SIGTERM for {STOP_SECONDS} s: killed")
    return failures


def installed_by_a_package(path: Path) -> bool:
    return subprocess.run(["dpkg-query", "-S", str(path)], capture_output=True).returncode == 0


def remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


@pytest.fixture(scope="module")
def slurm_cluster():
    """A one-node SLURM for the module's tests, taken down at the end.

    At the end, every daemon the set-up started (munged, slurmctld, slurmd: each one
    that was not running before) is stopped by its process id, and the files written
    since are put back: slurm.conf removed (or its earlier content restored), munged's
    runtime folder removed, and the state and logs the daemons wrote removed from their
    folders (a folder itself is removed only if no package installed it).
    What stays: the packages apt-get installed (slurm-wlm, munge and their
    dependencies) with their folders and the munge key the package creates, which a
    later run reuses.
    """
    if os.geteuid() != 0:
        pytest.skip("setting up SLURM needs root (scripts/slurm/setup_single_node.sh)")
    if shutil.which("apt-get") is None:
        pytest.skip("no apt-get: setup_single_node.sh installs Debian's slurm-wlm and munge")
    running_before = daemon_pids()
    conf_before = SLURM_CONF.read_bytes() if SLURM_CONF.is_file() else None
    runtime_existed = MUNGE_RUNTIME.exists()
    entries_before = {
        folder: {entry.name for entry in folder.iterdir()} if folder.is_dir() else None
        for folder in DAEMON_FOLDERS
    }
    started = time.monotonic()
    try:
        result = subprocess.run(
            [str(SETUP)], check=False, capture_output=True, text=True, timeout=600
        )
        if result.returncode != 0:
            pytest.fail(f"SLURM set-up failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
        print(f"setup_single_node.sh: {time.monotonic() - started:.1f} s")
        yield result.stdout
    finally:
        now = daemon_pids()
        failures = stop_daemons({name: now[name] - running_before[name] for name in DAEMONS})
        if conf_before is not None:
            SLURM_CONF.write_bytes(conf_before)
        else:
            SLURM_CONF.unlink(missing_ok=True)
        if not runtime_existed and MUNGE_RUNTIME.exists():
            remove(MUNGE_RUNTIME)
        for folder, before in entries_before.items():
            if not folder.is_dir():
                continue
            if before is None and not installed_by_a_package(folder):
                remove(folder)
                continue
            for entry in folder.iterdir():
                if before is None or entry.name not in before:
                    remove(entry)
        assert not failures, "; ".join(failures)


def run_smoke(results, profile, env=None):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "snakemake",
            "--nolock",
            STUDY,
            "--profile",
            profile,
            "--config",
            f"results={results}",
        ],
        check=False,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
        env={**os.environ, **(env or {})},
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-6000:]
    return output


@pytest.fixture(scope="module")
def slurm_run(slurm_cluster, tmp_path_factory):
    results = tmp_path_factory.mktemp("slurm_results")
    state = tmp_path_factory.mktemp("slurm_state")
    log = run_smoke(results, "profiles/slurm", env={"CONSORTIA_SLURM_DIR": str(state)})
    return results, state, log


@pytest.fixture(scope="module")
def local_run(slurm_run, tmp_path_factory):
    results = tmp_path_factory.mktemp("local_results")
    run_smoke(results, "profiles/local")
    return results


def expected_jobs():
    spec = mc.load_config(ROOT / "config" / "montecarlo.yaml")["studies"][STUDY]
    batches = len(spec["truths"]) * len(
        mc.batch_sizes(spec["worlds_per_truth"], spec["batch_size"])
    )
    return batches + 1  # and the summary


def test_every_job_ran_as_a_slurm_job(slurm_run):
    results, state, log = slurm_run
    submitted = set(re.findall(r"with external jobid '(\d+)'", log))
    assert len(submitted) == expected_jobs()
    ledger = pd.read_csv(state / "submitted.tsv", sep="\t", header=None, dtype=str)
    assert set(ledger[0]) == submitted
    # each job logged, from inside, the SLURM job it ran in
    inside = set()
    for job_log in (results / "logs" / STUDY).glob("*.log"):
        inside |= set(re.findall(r"SLURM job (\d+)", job_log.read_text()))
    assert inside == submitted
    for job in submitted:
        assert (state / f"{job}.exit").read_text().strip() == "0"
        shown = subprocess.run(
            ["scontrol", "show", "job", job], check=False, capture_output=True, text=True
        )
        # forgotten after MinJobAge (300 s): then the controller's log must show it
        if shown.returncode == 0:
            assert "JobState=COMPLETED" in shown.stdout
    completed = set(
        re.findall(r"_job_complete: JobId=(\d+) WEXITSTATUS 0", SLURMCTLD_LOG.read_text())
    )
    assert submitted <= completed


def test_status_command_reads_scontrol_then_the_exit_file(slurm_run, tmp_path):
    _, state, log = slurm_run
    job = re.search(r"with external jobid '(\d+)'", log).group(1)
    status = ROOT / "scripts" / "slurm" / "status.py"

    def ask(jobid, state_dir):
        env = {**os.environ, "CONSORTIA_SLURM_DIR": str(state_dir)}
        reply = subprocess.run(
            [str(status), jobid], check=True, capture_output=True, text=True, env=env
        )
        return reply.stdout.strip()

    assert ask(job, state) == "success"
    unknown = "999999999"  # never submitted: unknown to scontrol
    assert ask(unknown, tmp_path) == "failed"  # and no exit file
    (tmp_path / f"{unknown}.exit").write_text("0\n")
    assert ask(unknown, tmp_path) == "success"
    (tmp_path / f"{unknown}.exit").write_text("1\n")
    assert ask(unknown, tmp_path) == "failed"


def assert_same_numbers(a: pd.DataFrame, b: pd.DataFrame, what: str):
    assert list(a.columns) == list(b.columns), what
    assert a.shape == b.shape, what
    floats = a.select_dtypes("float").columns
    others = [c for c in a.columns if c not in floats]
    pd.testing.assert_frame_equal(a[others], b[others], obj=what)
    np.testing.assert_allclose(
        a[floats].to_numpy(), b[floats].to_numpy(), rtol=1e-6, atol=1e-6, err_msg=what
    )


def test_slurm_results_equal_the_local_run(slurm_run, local_run):
    slurm_results, _, _ = slurm_run
    batches = sorted((local_run / STUDY / "batches").rglob("*.parquet"))
    assert len(batches) == expected_jobs() - 1
    for path in batches:
        twin = slurm_results / path.relative_to(local_run)
        assert_same_numbers(pd.read_parquet(path), pd.read_parquet(twin), str(twin))
    coverage = [pd.read_csv(r / STUDY / "coverage.csv") for r in (local_run, slurm_results)]
    assert_same_numbers(*coverage, "coverage.csv")
    rates = ["supported_if_false", "contradicted_if_true", "supported_if_true"]
    assert coverage[0][rates].notna().any().any() and coverage[0]["coverage"].notna().any()
    for suffix in (".png", ".pdf"):
        assert (slurm_results / "figures" / f"{STUDY}_error_rates{suffix}").stat().st_size > 0
