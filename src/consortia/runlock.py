"""One run at a time in a results folder: an exclusive lock on ``<results>/.consortia.lock``.

Snakemake's own lock is not enough to keep two runs out of one results folder:
it lives in the project's ``.snakemake/locks``, ``--nolock`` skips it, and
Snakemake 9.27 deletes that whole directory -- every run's locks -- whenever
any run of the project ends (``persistence.file._delete_locks``), so a second
run could then start writing where the first one still writes.

This lock is an ``flock`` held by the operating system on an open file of the
results folder, for as long as the process that took it lives. It is released
when that process ends, however it ends (``kill -9`` too), so resuming after a
crash needs no step for it; the file itself stays, naming its last holder.
The Snakefile takes it when it loads for a run that writes (not for a dry
run, nor in the per-job Snakemake processes of a cluster executor, which
re-read the Snakefile while the main process holds the lock).
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
import socket
import sys
from pathlib import Path
from typing import BinaryIO

LOCK_FILE = ".consortia.lock"


class ResultsFolderInUse(RuntimeError):
    """Another live process holds the results folder's lock; the message names it."""


def acquire(results: str | Path) -> BinaryIO:
    """Lock ``results`` for this process, or raise ResultsFolderInUse naming the holder.

    Returns the open lock file: the lock lasts while it stays open (keep a reference;
    closing it, or the end of the process, releases it). The folder is created if
    needed. Never waits: a second run is refused at once.
    """
    folder = Path(results)
    path = folder / LOCK_FILE
    try:
        folder.mkdir(parents=True, exist_ok=True)
        # Opened without truncating: the holder's record must survive until we own the lock.
        handle = open(path, "a+b")  # noqa: SIM115 (the lock lives as long as the file is open)
    except OSError as error:
        raise OSError(
            f"{path}: cannot create the lock that keeps other runs out of the results folder "
            f"({error.strerror or error})"
        ) from error
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = describe_holder(handle.read())
        handle.close()
        raise ResultsFolderInUse(
            f"{folder.resolve()}: another run is writing into this results folder: {holder}. "
            "Wait for it to end (or stop it), or write into another folder "
            f"(--config results=...). Its lock, {LOCK_FILE} in that folder, is released by "
            "the operating system as soon as that process ends, even if it is killed."
        ) from None
    handle.seek(0)
    handle.truncate()
    handle.write((json.dumps(holder_record(), ensure_ascii=False) + "\n").encode("utf-8"))
    handle.flush()
    return handle


def holder_record() -> dict:
    """Who takes the lock: process id, host, start time (UTC) and command line."""
    return {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "started": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "command": sys.argv,
    }


def describe_holder(recorded: bytes) -> str:
    """The holder as a phrase, from what it wrote into the lock file."""
    try:
        holder = json.loads(recorded.decode("utf-8"))
        described = f"pid {holder['pid']} on host {holder['host']}, started {holder['started']}"
    except (ValueError, KeyError, TypeError):
        # it holds the lock but has not written its record yet (or it was not this module)
        return "its process has not yet recorded who it is"
    command = holder.get("command")
    return described + (f" ({' '.join(map(str, command))})" if command else "")
