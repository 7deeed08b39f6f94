"""The conda environment, the pip project and CI must describe the same install."""

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def _requirement_map(specs):
    parsed = {}
    for spec in specs:
        match = re.match(r"^\s*([A-Za-z0-9_.\-]+)\s*(.*)$", spec)
        name, version = match.group(1).lower().replace("_", "-"), match.group(2).replace(" ", "")
        parsed[name] = version
    return parsed


def test_environment_yml_lists_exactly_the_pyproject_dependencies():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pip_side = _requirement_map(
        project["dependencies"] + project["optional-dependencies"]["test"]
    )
    conda = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda_side = _requirement_map(
        dep
        for dep in conda["dependencies"]
        if isinstance(dep, str) and not dep.startswith(("python", "pip"))
    )
    assert conda_side == pip_side


def _readme_command(label):
    readme = (ROOT / "README.md").read_text()
    match = re.search(rf"<!-- {label} -->\s*```(?:bash|sh)?\n(.+?)\n```", readme, re.S)
    assert match, f"README.md has no fenced command after <!-- {label} -->"
    return match.group(1).strip()


def test_ci_runs_the_readme_test_command():
    ci_script = (ROOT / ".ci" / "run").read_text()
    assert _readme_command("test-command") in ci_script


def test_readme_demo_command_sets_up_and_runs_the_workflow():
    command = _readme_command("demo-command")
    assert "venv" in command and "pip install" in command
    # the workflow through `consortia run`, whose short output tests/test_print.py checks
    assert command.endswith(".venv/bin/consortia run")
