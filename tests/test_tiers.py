"""Which tests a plain `pytest` runs: not the SLURM tier, which installs system packages
and starts daemons (tests/test_slurm.py); `-m slurm`, or CI=true as .ci/run sets, runs it."""

import ast
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SLURM_TESTS = ROOT / "tests" / "test_slurm.py"


def collected(*args: str, ci: str | None = None) -> set[str]:
    env = {key: value for key, value in os.environ.items() if key != "CI"}
    if ci is not None:
        env["CI"] = ci
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
         *args, str(SLURM_TESTS.relative_to(ROOT))],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert run.returncode in (0, 5), run.stdout + run.stderr  # 5: nothing collected
    return {line.split("::")[1] for line in run.stdout.splitlines() if "::" in line}


def slurm_test_names() -> set[str]:
    tree = ast.parse(SLURM_TESTS.read_text(encoding="utf-8"))
    return {node.name for node in tree.body
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")}  # fmt: skip


def test_plain_pytest_leaves_the_slurm_tier_out():
    assert collected() == set()
    assert collected("-m", "workflow") == set()  # the SLURM tests are workflow tests too


def test_the_slurm_tier_runs_when_asked_for_or_in_ci():
    expected = slurm_test_names()
    assert len(expected) == 3
    assert collected("-m", "slurm") == expected
    assert collected(ci="true") == expected


def test_ci_runs_the_tests_with_ci_set():
    assert "\nexport CI=true\n" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")
