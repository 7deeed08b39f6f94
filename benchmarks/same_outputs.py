"""Do two results folders hold the same outputs? The check behind the determinism tests
and behind a re-layout of the package ("every output byte-identical to before the move").

    python benchmarks/same_outputs.py BEFORE AFTER

Tables and figures are compared byte for byte but for the results folder's own path (a
claims table names the registry it read, which may sit in the results folder); every
other output (JSON, CSV, Parquet) the same way once JSON keys ending in ``_seconds`` are
also taken out: both describe the run rather than its results. Not compared:
logs/, benchmarks/ (timings), provenance.json (time, machine, timings), REPLICATION.md
(rendered from it), the verdict history and the run lock. Exits 1 and lists the files
that differ, or that one folder has and the other lacks.
"""

import json
import sys
from pathlib import Path

from consortia.claims.history import HISTORY_FILE
from consortia.runlock import LOCK_FILE

RUN_RECORDS = ("logs", "benchmarks", "provenance.json", "REPLICATION.md", LOCK_FILE)
BYTE_IDENTICAL = ("tables", "figures")
TIMING_SUFFIX = "_seconds"
RESULTS_PLACEHOLDER = "<results>"
TEXT_SUFFIXES = (".json", ".csv", ".md", ".html", ".tex", ".txt")


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


def comparable(path: Path, results: Path, timings: bool = True):
    """A file's content with the results folder's path and (JSON, unless ``timings`` is
    false) timing fields taken out."""
    data = path.read_bytes()
    if path.suffix not in TEXT_SUFFIXES:
        return data
    text = data.decode("utf-8").replace(str(results), RESULTS_PLACEHOLDER)
    return without_timings(json.loads(text)) if timings and path.suffix == ".json" else text


def differences(before: Path, after: Path) -> list[str]:
    """One line per file that differs, or that only one of the two folders has."""
    first, second = result_files(before), result_files(after)
    lines = [f"only in {before}: {name}" for name in sorted(set(first) - set(second))]
    lines += [f"only in {after}: {name}" for name in sorted(set(second) - set(first))]
    for name in sorted(set(first) & set(second)):
        timings = name.split("/")[0] not in BYTE_IDENTICAL
        if comparable(first[name], before, timings) != comparable(second[name], after, timings):
            lines.append(f"differs: {name}")
    return lines


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    before, after = (Path(arg).resolve() for arg in argv)
    lines = differences(before, after)
    print("\n".join(lines) if lines else f"same outputs: {len(result_files(before))} files")
    return 1 if lines else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
