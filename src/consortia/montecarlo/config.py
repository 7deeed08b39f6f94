"""The Monte Carlo study configuration (``config/montecarlo.yaml``): validation and the
worlds each study draws."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from consortia.claims import load_registry
from consortia.config import load_yaml
from consortia.simulate import default_truth
from consortia.simulate.truth import merge_overrides

ROOT = Path(__file__).resolve().parents[3]
SCHEMA_NAME = "montecarlo.schema.yaml"
STUDIES = ("montecarlo", "montecarlo_smoke")  # the workflow's target rules


def load_config(path: str | Path) -> dict:
    """Read ``config/montecarlo.yaml``, validate it against its schema, check the names.

    Every study a target rule runs (:data:`STUDIES`) must exist, every truth a study
    names must be defined, and every truth's overrides must be parameters the
    simulator knows (merged exactly as :func:`simulate_world` will merge them).
    """
    path = Path(path)
    config = load_yaml(path, SCHEMA_NAME)
    problems = [f"studies: no study {s!r}" for s in STUDIES if s not in config["studies"]]
    for name, study in config["studies"].items():
        problems += [
            f"studies.{name}.truths: no truth {t!r} under truths:"
            for t in study["truths"]
            if t not in config["truths"]
        ]
    registry = load_registry(ROOT / config["registry"])
    for name, truth in config["truths"].items():
        unknown = sorted(set(truth.get("claims") or []) - set(registry.ids))
        if unknown:
            problems.append(f"truths.{name}.claims: not in the registry: {unknown}")
    defaults = default_truth()
    for name, truth in config["truths"].items():
        try:
            merge_overrides(defaults, truth["overrides"])  # the simulator's own merge
        except ValueError as exc:
            problems.append(f"truths.{name}.overrides: {exc}")
    if problems:
        raise ValueError(f"{path}:\n  " + "\n  ".join(problems))
    return config


def truth_sizes(study: Mapping, truth: Mapping) -> list[int]:
    """The world sizes (consortia) a study draws a truth at: the truth's own, else the
    study's."""
    return [int(n) for n in (truth.get("sizes") or study["sizes"])]


def batch_sizes(worlds_per_truth: int, batch_size: int) -> list[int]:
    """Worlds in each batch of one truth: full batches, then the remainder."""
    full, rest = divmod(int(worlds_per_truth), int(batch_size))
    return [int(batch_size)] * full + ([rest] if rest else [])
