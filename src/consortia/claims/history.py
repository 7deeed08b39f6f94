"""The verdicts a results folder has seen, one entry per claims registry: a rule changed after
results exist shows as a new registry hash, with the earlier verdicts kept beside the new.

The history sits beside ``claims.json`` and is not a workflow output, so the rerun that
replaces the claims outputs keeps it; ``provenance.json`` copies it (``claims_history``).
Plain JSON, so the light provenance step can read it without the claims code.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

HISTORY_FILE = "verdict_history.jsonl"


def record_verdicts(
    registry_sha256: str, registry_source: str, verdicts: dict[str, str], history_path: str | Path
) -> list[dict[str, Any]]:
    """Append this run's registry hash and verdicts to the history, unless the last entry has
    the same hash and verdicts; return the whole history."""
    path = Path(history_path)
    history = read_verdict_history(path)
    entry = {
        "registry_sha256": registry_sha256,
        "registry_source": registry_source,
        "verdicts": dict(verdicts),
    }
    last = history[-1] if history else {}
    if {k: last.get(k) for k in entry} != entry:
        entry["recorded"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        with path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(entry, ensure_ascii=False, sort_keys=True) + "\n")
        history.append(entry)
    return history


def read_verdict_history(path: str | Path) -> list[dict[str, Any]]:
    """The entries of a verdict history file, oldest first (empty if there is none yet)."""
    path = Path(path)
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
