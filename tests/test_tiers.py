"""Which tests a run selects (tests/conftest.py): a plain `pytest` is the quick tier and
leaves out the tests marked workflow, slow or slurm; any -m expression selects by itself,
but the SLURM tier (which installs system packages and starts daemons) only when the
expression names it; CI=true, as .ci/run sets, runs every tier."""

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# One file of each kind: the SLURM tier, and a file of quick tests beside workflow tests.
SLURM_TESTS = ROOT / "tests" / "test_slurm.py"
MIXED_TESTS = ROOT / "tests" / "test_provenance.py"

pytestmark = pytest.mark.slow


def collected(*args: str, ci: str | None = None) -> set[str]:
    env = {key: value for key, value in os.environ.items() if key != "CI"}
    if ci is not None:
        env["CI"] = ci
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
         *args, str(SLURM_TESTS.relative_to(ROOT)), str(MIXED_TESTS.relative_to(ROOT))],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert run.returncode in (0, 5), run.stdout + run.stderr  # 5: nothing collected
    return {line.split("::", 1)[1] for line in run.stdout.splitlines() if "::" in line}


def functions_of(path: Path, marker: str | None = None) -> set[str]:
    """The test functions of a file, or those carrying ``marker`` (by decorator or by the
    module's ``pytestmark``)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    module_marked = marker is not None and marker in ast.unparse(
        next((n for n in tree.body if isinstance(n, ast.Assign)
              and any(getattr(t, "id", "") == "pytestmark" for t in n.targets)), ast.Pass())
    )  # fmt: skip
    return {
        node.name
        for node in tree.body
        if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")
        and (marker is None or module_marked
             or any(marker in ast.unparse(d) for d in node.decorator_list))
    }  # fmt: skip


def test_plain_pytest_is_the_quick_tier():
    quick = functions_of(MIXED_TESTS) - functions_of(MIXED_TESTS, "workflow")
    assert quick and functions_of(MIXED_TESTS, "workflow")
    assert collected() == quick


def test_a_marker_expression_selects_by_itself_but_slurm_only_by_name():
    workflow = functions_of(MIXED_TESTS, "workflow")
    assert collected("-m", "workflow") == workflow  # the SLURM tests are workflow tests too
    assert collected("-m", "not slurm") == functions_of(MIXED_TESTS)
    slurm = functions_of(SLURM_TESTS)
    assert len(slurm) == 3
    assert collected("-m", "slurm") == slurm


def test_ci_runs_every_tier():
    assert collected(ci="true") == functions_of(SLURM_TESTS) | functions_of(MIXED_TESTS)
    assert "\nexport CI=true\n" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")
