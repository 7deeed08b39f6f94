"""The linters, run by the tests so that CI runs them: ruff over every Python file (the
rules are in pyproject.toml) and snakefmt over the Snakefile and the rule files."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def run(*command: str) -> subprocess.CompletedProcess:
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_ruff_finds_nothing():
    result = run(str(BIN / "ruff"), "check", "--no-cache", "--output-format", "concise", ".")
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]


def test_the_rules_are_formatted_as_snakefmt_writes_them():
    result = run(str(BIN / "snakefmt"), "--check", "--diff", "Snakefile", "rules")
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
