"""The claims stage side by side: this checkout against a reference commit, on one world.

    .venv/bin/python benchmarks/claims_speed.py --reference 26505d5 [--size 100000]
                                                [--repeats 2] [--work DIR]

Simulates one world (``--size`` consortia × 10 years, the truth ``benchmarks/run.py``
uses), builds its panel and task table once, then runs the claims steps
(``consortia.claims.steps.claims_step`` and ``claims_tables_step``, each tree with its own
``config/claims.yaml``; a reference tree needs both, i.e. a commit after the two were split) in a
fresh process per run, alternating reference and current so that the load of a shared
machine falls on both alike. The reference tree is a ``git worktree`` of the reference
commit (removed at the end). Prints and writes ``benchmarks/results/claims_speed.md``:
the seconds of every run (inside the process, imports excluded) and the ratio of the
medians.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from run import FIRST_YEAR, SEED, TRUTH_OVERRIDES  # noqa: E402 (the same world as the suite)

CHILD = """
import json, sys, time
sys.path.insert(0, {src!r})
from consortia.claims.steps import claims_step, claims_tables_step
start = time.perf_counter()
results = claims_step(
    registry_path={registry!r}, panel_path={panel!r}, json_path={out!r} + "/claims.json",
    tasks_path={tasks!r}, consortia_path={consortia!r}, seed={seed},
)
claims_tables_step(
    json_path={out!r} + "/claims.json", table_stem={out!r} + "/claims",
    figure_stem={out!r} + "/forest",
)
print(json.dumps({{"seconds": time.perf_counter() - start, "verdicts": results.verdicts}}))
"""


def build_world(work: Path, size: int) -> dict[str, Path]:
    from consortia import measures
    from consortia.simulate import simulate_world

    world = simulate_world(
        n_consortia=size, n_years=10, first_year=FIRST_YEAR, seed=SEED, truth=TRUTH_OVERRIDES,
        mess={},
    )
    paths = {name: work / f"{name}.parquet" for name in ("panel", "tasks", "consortia")}
    measures.build_panel(world.consortia, world.members, world.panel).to_parquet(paths["panel"])
    measures.build_tasks(
        world.tasks, world.consortia, censoring_date=world.truth["simulator"]["cutoff_date"]
    ).to_parquet(paths["tasks"])
    world.consortia.to_parquet(paths["consortia"])
    return paths


def run_claims(tree: Path, paths: dict[str, Path], out: Path) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    code = CHILD.format(
        src=str(tree / "src"), registry=str(tree / "config" / "claims.yaml"),
        panel=str(paths["panel"]), tasks=str(paths["tasks"]), consortia=str(paths["consortia"]),
        out=str(out), seed=SEED,
    )
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True, cwd=tree)
    record = json.loads(done.stdout.strip().splitlines()[-1])
    record["process_seconds"] = time.perf_counter() - started
    return record


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference", required=True, help="commit to compare against")
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--work", type=Path, default=None)
    args = parser.parse_args(argv)
    work = args.work or Path(tempfile.mkdtemp(prefix="claims_speed_"))
    work.mkdir(parents=True, exist_ok=True)
    reference = work / "reference_tree"
    subprocess.run(["git", "worktree", "add", "-f", str(reference), args.reference],
                   cwd=ROOT, check=True, capture_output=True)
    try:
        started = time.perf_counter()
        paths = build_world(work, args.size)
        print(f"world of {args.size:,d} consortia: {time.perf_counter() - started:.0f} s")
        runs = {"reference": [], "current": []}
        for k in range(args.repeats):
            for name, tree in (("reference", reference), ("current", ROOT)):
                record = run_claims(tree, paths, work / f"{name}{k}")
                runs[name].append(record)
                print(f"{name} run {k + 1}: {record['seconds']:.1f} s")
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(reference)], cwd=ROOT,
                       check=False, capture_output=True)
    medians = {name: statistics.median(r["seconds"] for r in rs) for name, rs in runs.items()}
    ratio = medians["current"] / medians["reference"]
    lines = [
        "# Claims stage, side by side",
        "",
        f"{dt.date.today()}: one world of {args.size:,d} consortia × 10 years; the claims step "
        f"of commit `{args.reference}` (reference) and of this checkout, alternating, "
        f"{args.repeats} runs each (seconds inside the process, imports excluded).",
        "",
        "| run | reference | current |",
        "|---|---:|---:|",
        *(
            f"| {k + 1} | {runs['reference'][k]['seconds']:.1f} | "
            f"{runs['current'][k]['seconds']:.1f} |"
            for k in range(args.repeats)
        ),
        f"| median | {medians['reference']:.1f} | {medians['current']:.1f} |",
        "",
        f"Ratio current / reference: **{ratio:.2f}** (the target of issue 13: at most 1.5).",
        "",
    ]
    text = "\n".join(lines)
    print(text)
    (ROOT / "benchmarks" / "results" / "claims_speed.md").write_text(text, encoding="utf-8")
    if args.work is None:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
