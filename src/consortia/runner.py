"""`consortia run`: Snakemake in a subprocess, with a one-line progress display.

Snakemake does the work; this module only builds its command line from the
CLI's options, shows "N of M steps (x%) done" as a progress bar (or as plain
lines when the output is not a terminal), passes the workflow's own messages
(the dataset plan at the start, the data-quality summary at the end) through,
and on failure prints the end of Snakemake's log.
"""

from __future__ import annotations

import os
import queue
import re
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

PROGRESS = re.compile(r"^(\d+) of (\d+) steps \((\d+(?:\.\d+)?)%\) done")
JOB_START = re.compile(r"^(?:local)?rule (\w+):")
JOB_END = re.compile(r"^Finished jobid: \d+ \(Rule: (\w+)\)")
# Snakemake's messages worth passing through even when its log is not shown. Not the path
# of its complete log: a run ends with where its outputs are, and a failed run prints the
# end of the log, which names it.
NOTICES = re.compile(r"^(Nothing to be done|MissingInputException|Error)")
FAILURE_TAIL_LINES = 60
BAR_WIDTH = 24


@dataclass(frozen=True)
class Progress:
    done: int
    total: int
    percent: float


def parse_progress(line: str) -> Progress | None:
    """The step counts of a Snakemake "N of M steps (x%) done" line, else None."""
    match = PROGRESS.match(line.strip())
    if not match:
        return None
    return Progress(int(match.group(1)), int(match.group(2)), float(match.group(3)))


def parse_job_start(line: str) -> str | None:
    """The rule name of a Snakemake "rule NAME:" / "localrule NAME:" line, else None."""
    match = JOB_START.match(line.strip())
    return match.group(1) if match else None


def parse_job_end(line: str) -> str | None:
    """The rule name of a Snakemake "Finished jobid: N (Rule: NAME)" line, else None."""
    match = JOB_END.match(line.strip())
    return match.group(1) if match else None


def find_project_dir(start: Path | None = None) -> Path:
    """The folder holding the Snakefile: the working directory, else the package's checkout."""
    candidates = [Path(start or Path.cwd()).resolve(), Path(__file__).resolve().parents[2]]
    for candidate in candidates:
        if (candidate / "Snakefile").is_file():
            return candidate
    raise FileNotFoundError(
        "no Snakefile found: run `consortia run` from the project folder (the one with the "
        f"Snakefile); looked in {', '.join(str(c) for c in candidates)}"
    )


def snakemake_command(
    *,
    dataset: str | Path | None = None,
    results: str | Path | None = None,
    configfile: str | Path | None = None,
    cores: str | int = "all",
    extra: list[str] | None = None,
) -> list[str]:
    """The Snakemake command line; paths are made absolute (Snakemake runs in the project)."""
    command = [sys.executable, "-m", "snakemake", "--cores", str(cores)]
    if configfile:
        command += ["--configfile", str(Path(configfile).resolve())]
    overrides = []
    if dataset:
        overrides.append(f"dataset={Path(dataset).resolve()}")
    if results:
        overrides.append(f"results={Path(results).resolve()}")
    if overrides:
        command += ["--config", *overrides]
    return command + list(extra or [])


class ProgressDisplay:
    """One line redrawn in place on a terminal; one line per change elsewhere (logs, CI)."""

    def __init__(self, stream: TextIO, interactive: bool | None = None):
        self.stream = stream
        self.interactive = stream.isatty() if interactive is None else interactive
        self.progress: Progress | None = None
        self.running: list[str] = []
        self.started = time.monotonic()
        self._drawn = False

    def job_started(self, rule: str) -> None:
        self.running.append(rule)
        if self.interactive:
            self._draw()

    def job_finished(self, rule: str) -> None:
        if rule in self.running:
            self.running.remove(rule)

    def advanced(self, progress: Progress) -> None:
        self.progress = progress
        self._draw()

    def message(self, text: str) -> None:
        self._clear()
        print(text, file=self.stream, flush=True)
        if self.interactive and self.progress:
            self._draw()

    def finish(self) -> None:
        if self._drawn:
            print(file=self.stream, flush=True)
            self._drawn = False

    def line(self) -> str:
        elapsed = time.monotonic() - self.started
        if self.progress is None:
            return f"consortia run: starting ({elapsed:.0f} s)"
        done, total = self.progress.done, self.progress.total
        filled = round(BAR_WIDTH * done / total) if total else BAR_WIDTH
        bar = "#" * filled + "-" * (BAR_WIDTH - filled)
        current = f"; running {', '.join(self.running)}" if self.running and done < total else ""
        return (
            f"consortia run: [{bar}] {done}/{total} steps ({self.progress.percent:.0f}%) "
            f"{elapsed:.0f} s{current}"
        )

    def _draw(self) -> None:
        if self.interactive:
            self.stream.write("\r\033[K" + self.line())
            self.stream.flush()
            self._drawn = True
        else:
            print(self.line(), file=self.stream, flush=True)

    def _clear(self) -> None:
        if self._drawn:
            self.stream.write("\r\033[K")
            self._drawn = False


def run_workflow(
    command: list[str],
    project_dir: Path,
    stream: TextIO | None = None,
    verbose: bool = False,
    interactive: bool | None = None,
) -> int:
    """Run Snakemake in ``project_dir``; show progress on ``stream``; return its exit code.

    The workflow's own messages (Snakemake's standard output: the dataset plan,
    the quality summary) are passed through; Snakemake's log (standard error)
    is parsed for progress and shown whole only with ``verbose`` or, its last
    lines, when the run fails.
    """
    stream = stream or sys.stdout
    display = ProgressDisplay(stream, interactive)
    lines: queue.Queue = queue.Queue()
    process = subprocess.Popen(
        command,
        cwd=project_dir,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        bufsize=1,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )

    def pump(pipe, source):
        for text in pipe:
            lines.put((source, text.rstrip("\n")))
        lines.put((source, None))

    readers = [
        threading.Thread(target=pump, args=(process.stdout, "out"), daemon=True),
        threading.Thread(target=pump, args=(process.stderr, "log"), daemon=True),
    ]
    for reader in readers:
        reader.start()
    log: list[str] = []
    open_pipes = len(readers)
    while open_pipes:
        source, text = lines.get()
        if text is None:
            open_pipes -= 1
        elif source == "out" or verbose:
            display.message(text)
            if source == "log":
                log.append(text)
        else:
            log.append(text)
            if progress := parse_progress(text):
                display.advanced(progress)
            elif rule := parse_job_start(text):
                display.job_started(rule)
            elif rule := parse_job_end(text):
                display.job_finished(rule)
            elif NOTICES.match(text.strip()):
                display.message(text.strip())
    returncode = process.wait()
    display.finish()
    if returncode != 0 and not verbose:
        tail = log[-FAILURE_TAIL_LINES:]
        print(f"consortia run: Snakemake failed (exit {returncode}); its last lines:", file=stream)
        print("\n".join(tail), file=stream, flush=True)
    return returncode
