#!/usr/bin/env python3
"""Status command of the cluster-generic executor (profiles/slurm): prints one word.

    status.py JOBID  ->  success | running | failed

The cluster has no accounting database (no ``sacct``), so the state comes from
``scontrol show job JOBID`` (its JobState):

* COMPLETED -> success;
* FAILED, CANCELLED, TIMEOUT, OUT_OF_MEMORY, NODE_FAIL, BOOT_FAIL, DEADLINE,
  PREEMPTED, REVOKED, SPECIAL_EXIT -> failed;
* anything else (PENDING, CONFIGURING, RUNNING, COMPLETING, SUSPENDED,
  REQUEUED, ...) -> running.

``scontrol`` forgets a finished job MinJobAge seconds (300 by default) after it
ends ("Invalid job id specified"). Then the exit file the job itself wrote
decides (scripts/slurm/submit.sh: ``$CONSORTIA_SLURM_DIR/JOBID.exit``, default
``.snakemake/slurm``): exit code 0 -> success, any other -> failed. An unknown
job without an exit file never finished its script (cancelled, killed, or lost
with the node): failed, so that Snakemake reports it and reruns it on request,
rather than trusting outputs a dead job may have left half-written. Any other
``scontrol`` error (the controller unreachable for a moment) answers running:
the executor asks again later.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

FAILED_STATES = {
    "FAILED",
    "CANCELLED",
    "TIMEOUT",
    "OUT_OF_MEMORY",
    "NODE_FAIL",
    "BOOT_FAIL",
    "DEADLINE",
    "PREEMPTED",
    "REVOKED",
    "SPECIAL_EXIT",
}


def job_state(scontrol_output: str) -> str | None:
    for field in scontrol_output.split():
        if field.startswith("JobState="):
            return field.split("=", 1)[1]
    return None


def status(jobid: str, state_dir: Path) -> str:
    reply = subprocess.run(
        ["scontrol", "show", "job", "--oneliner", jobid],
        check=False,
        capture_output=True,
        text=True,
    )
    if reply.returncode == 0:
        state = job_state(reply.stdout)
        if state == "COMPLETED":
            return "success"
        if state in FAILED_STATES:
            return "failed"
        return "running"
    if "Invalid job id" not in reply.stderr:
        print(
            f"status.py: scontrol failed for job {jobid}: {reply.stderr.strip()}", file=sys.stderr
        )
        return "running"
    exit_file = state_dir / f"{jobid}.exit"
    if exit_file.exists():
        return "success" if exit_file.read_text().strip() == "0" else "failed"
    print(f"status.py: job {jobid} unknown to scontrol and left no {exit_file}", file=sys.stderr)
    return "failed"


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: status.py JOBID")
    print(status(sys.argv[1], Path(os.environ.get("CONSORTIA_SLURM_DIR", ".snakemake/slurm"))))
