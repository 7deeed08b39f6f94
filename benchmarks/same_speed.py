"""Two checkouts of the project, side by side on one simulated world: is the workflow as
fast, and are its outputs the same? The check that a re-layout of the package costs no
speed and changes no number.

    .venv/bin/python benchmarks/same_speed.py --before DIR [--size 100000] [--rounds 2]
                                              [--work DIR] [--report FILE]

``--before`` is another checkout (e.g. ``git worktree add --detach ../before REV``); this
checkout is "after". The world is simulated once, by this checkout (benchmarks/run.py's
simulate stage), and the whole Snakemake workflow (``--cores 2``) runs on it from each
checkout in turn, alternating the order each round (ABBA…) so that drift of a shared
machine falls on both. Each checkout runs its own ``src`` (``PYTHONPATH``) with this
environment's packages. Reports each run's wall time, the median per checkout and their
ratio, and whether the first round's outputs are the same (benchmarks/same_outputs.py).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def simulate(work: Path, size: int, years: int) -> None:
    facts = work / "simulate.json"
    subprocess.run(
        [PYTHON, str(ROOT / "benchmarks" / "run.py"), "stage", "simulate", "--work", str(work),
         "--size", str(size), "--years", str(years), "--facts", str(facts)],
        cwd=ROOT, check=True,
    )  # fmt: skip


def run_workflow(checkout: Path, dataset: Path, overlay: Path, results: Path, log: Path) -> float:
    env = dict(os.environ, PYTHONPATH=str(checkout / "src"))
    command = [PYTHON, "-m", "snakemake", "--cores", "2", "--nolock", "--configfile",
               str(overlay), "--config", f"dataset={dataset}", f"results={results}"]  # fmt: skip
    start = time.perf_counter()
    with open(log, "w") as out:
        subprocess.run(command, cwd=checkout, env=env, stdout=out, stderr=subprocess.STDOUT,
                       check=True)  # fmt: skip
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", type=Path, required=True)
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--years", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--work", type=Path, default=Path("/tmp/consortia_same_speed"))
    parser.add_argument("--report", type=Path,
                        default=ROOT / "benchmarks" / "results" / "same_speed.md")
    args = parser.parse_args(argv)
    checkouts = {"before": args.before.resolve(), "after": ROOT}
    work = args.work.resolve()
    base = work / f"n{args.size}"
    simulate(work, args.size, args.years)
    seconds: dict[str, list[float]] = {"before": [], "after": []}
    for round_ in range(args.rounds):
        order = ("before", "after") if round_ % 2 == 0 else ("after", "before")
        for label in order:
            results = base / f"{label}_{round_}"
            seconds[label].append(run_workflow(
                checkouts[label], base / "dataset", base / "config_overlay.yaml", results,
                base / f"{label}_{round_}.log",
            ))  # fmt: skip
            print(f"round {round_ + 1} {label}: {seconds[label][-1]:.1f} s", flush=True)
    differences = _load("same_outputs").differences(base / "before_0", base / "after_0")
    median = {label: statistics.median(times) for label, times in seconds.items()}
    lines = [
        f"# Side by side: {checkouts['before'].name} (before) and this checkout (after)",
        "",
        f"Whole workflow (`snakemake --cores 2`) on one simulated world of {args.size:,} "
        f"consortia × {args.years} years, {args.rounds} rounds alternating the order; "
        f"{platform.node()}, {os.cpu_count()} cores, Python {platform.python_version()}.",
        "",
        "| checkout | runs (s) | median (s) |",
        "|---|---|---:|",
        *(f"| {label} | {', '.join(f'{s:.1f}' for s in seconds[label])} | "
          f"{median[label]:.1f} |" for label in seconds),
        "",
        f"Ratio after / before (medians): **{median['after'] / median['before']:.3f}**.",
        "",
        "Outputs of the first round: "
        + ("the same (benchmarks/same_outputs.py)." if not differences
           else "they differ:\n\n" + "\n".join(f"- {line}" for line in differences)),
    ]  # fmt: skip
    args.report.parent.mkdir(parents=True, exist_ok=True)
    args.report.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))
    return 1 if differences else 0


if __name__ == "__main__":
    sys.exit(main())
