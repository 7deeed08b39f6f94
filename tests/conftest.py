"""Shared test fixtures."""

import difflib
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

SNAPSHOTS = Path(__file__).parent / "snapshots"
ROOT = Path(__file__).resolve().parents[1]
SLURM_MARKER = "slurm"
# What a plain `pytest` leaves out, so that it is a quick loop (about two minutes on two
# cores): the whole-workflow runs and the long simulation studies. CI runs them all.
LONG_TIERS = ("workflow", "slow", SLURM_MARKER)


def full_suite() -> bool:
    """CI (CI=true, as .ci/run sets) runs every tier."""
    return os.environ.get("CI") == "true"


def slurm_tier_selected(config) -> bool:
    """The SLURM tier installs system packages and starts daemons (tests/test_slurm.py), so
    it runs only when asked for: a -m expression naming it, or CI."""
    return SLURM_MARKER in (config.option.markexpr or "") or full_suite()


def left_out_tiers(config) -> tuple[str, ...]:
    """The markers whose tests this run deselects: the long tiers for a plain `pytest`,
    the SLURM tier unless asked for, nothing in CI."""
    if full_suite():
        return ()
    if not config.option.markexpr:
        return LONG_TIERS
    return () if slurm_tier_selected(config) else (SLURM_MARKER,)


def pytest_report_header(config):
    left_out = left_out_tiers(config)
    if not left_out:
        return None
    return (
        f"tests marked {' / '.join(left_out)} deselected: CI=true runs every tier, "
        f"-m {left_out[0]!r} (or any -m expression) selects them"
    )


SHAPE_SWEEP_TEST = "test_drawn_shapes_run_to_the_end"


def pytest_collection_modifyitems(config, items):
    # last: the shape sweep's processes run beside every other test (pytest_collection_finish)
    items.sort(key=lambda item: item.name == SHAPE_SWEEP_TEST)
    left_out = left_out_tiers(config)
    kept, deselected = [], []
    for item in items:
        left = any(item.get_closest_marker(marker) for marker in left_out)
        (deselected if left else kept).append(item)
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = kept


def pytest_collection_finish(session):
    """The shape sweep (tests/test_shapes.py) starts with the session when it was collected
    and selected, so its processes run beside the rest of the suite; its test collects them."""
    if session.config.option.collectonly or not any(
        item.name == SHAPE_SWEEP_TEST for item in session.items
    ):
        return
    from test_shapes import Sweep, sweep_selected

    if sweep_selected(session.config):
        workdir = Path(session.config._tmp_path_factory.mktemp("shapes_sweep"))
        session.config.shapes_sweep = Sweep(workdir)


def pytest_sessionfinish(session):
    sweep = getattr(session.config, "shapes_sweep", None)
    if sweep is not None:
        sweep.stop()


@dataclass(frozen=True)
class DemoRun:
    results: Path
    output: str  # what `consortia run` printed


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory) -> DemoRun:
    """One full workflow run on the demo dataset through `consortia run`, shared by every test
    that reads a finished results folder (report, replication, notebooks, determinism, CLI)."""
    results = tmp_path_factory.mktemp("demo_results")
    command = [sys.executable, "-m", "consortia.cli", "run", "--results", str(results),
               "--cores", "2", "--", "--nolock"]
    run = subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, timeout=1800, check=False
    )
    if run.returncode != 0:
        pytest.fail(f"the demo run failed:\n{run.stdout[-6000:]}\n{run.stderr[-3000:]}")
    return DemoRun(results=results, output=run.stdout)


CORDIS_SAMPLE = ROOT.parent / "shared" / "data" / "cordis-sample"


@pytest.fixture(scope="session")
def cordis_run(tmp_path_factory) -> Path:
    """The workflow on the CORDIS sample (config/cordis.yaml) up to Table 1, the claims and
    their figures: shared by tests/test_cordis.py and the print checks (tests/test_print.py)."""
    if not (CORDIS_SAMPLE / "project.csv").is_file():
        pytest.skip(f"the CORDIS sample is not at {CORDIS_SAMPLE}")
    results = tmp_path_factory.mktemp("cordis_results")
    targets = [
        results / "claims" / "claims.json",
        results / "tables" / "table1_descriptives.csv",
        results / "data" / "cordis_accounting.md",
        results / "figures" / "claims_km.png",
    ]
    command = [
        sys.executable, "-m", "snakemake", "--nolock", "--cores", "2",
        "--configfile", "config/cordis.yaml",
        "--config", f"results={results}", f"dataset={results / 'dataset'}",
        f"claims={results / 'claims' / 'registry.yaml'}",
        "--", *map(str, targets),
    ]  # fmt: skip
    run = subprocess.run(
        command, check=False, cwd=ROOT, capture_output=True, text=True, timeout=600
    )
    if run.returncode != 0:
        raise AssertionError(f"snakemake failed:\n{run.stdout[-4000:]}\n{run.stderr[-4000:]}")
    return results


@pytest.fixture
def assert_snapshot(request):
    """Compare rendered text with tests/snapshots/<name>; UPDATE_SNAPSHOTS=1 rewrites it."""
    test_file = Path(request.node.fspath).relative_to(Path(__file__).parents[1])

    def check(text: str, name: str) -> None:
        path = SNAPSHOTS / name
        if os.environ.get("UPDATE_SNAPSHOTS") == "1":
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8", newline="\n")
            return
        how = (
            f"If the change is intended, regenerate with `UPDATE_SNAPSHOTS=1 .venv/bin/pytest "
            f"{test_file}` and review `git diff tests/snapshots/` before committing."
        )
        if not path.exists():
            pytest.fail(f"snapshot {path} does not exist. {how}")
        expected = path.read_text(encoding="utf-8")
        if text != expected:
            diff = "".join(
                difflib.unified_diff(
                    expected.splitlines(keepends=True),
                    text.splitlines(keepends=True),
                    fromfile=f"snapshots/{name}",
                    tofile="rendered",
                )
            )
            pytest.fail(f"rendered output differs from snapshot {name}:\n{diff}\n{how}")

    return check
