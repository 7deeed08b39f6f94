"""Shared test fixtures."""

import difflib
import os
from pathlib import Path

import pytest

SNAPSHOTS = Path(__file__).parent / "snapshots"


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
