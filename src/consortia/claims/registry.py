"""The claims registry: ``config/claims.yaml``, validated against its schema.

A registry is data: one record per quantitative claim of the review (quote,
section, cited source, estimand, evaluator, comparison group, required
columns, and one or more tests, each with its claimed value / threshold /
direction, tolerance and rival value). :func:`load_registry` reads it,
validates it against ``config/schemas/claims.schema.yaml`` (every error is
reported, with its place in the file) and against the evaluators (a method or
test name the code does not know is an error, never silently ignored), and
returns a :class:`Registry`. Which claims run, and what they are tested
against, comes from the registry and nowhere else.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from consortia import config
from consortia.config import ConfigError, load_schema, schema_errors

# the methods package imported for its effect, made explicit here: each method module's
# @evaluator enters its method in EVALUATORS, which the records are checked against
from . import methods  # noqa: F401
from .catalogue import EVALUATORS
from .records import ClaimRecord, Registry, TestSpec
from .verdict import Claimed, rival_inside

SCHEMA_NAME = "claims.schema.yaml"
TABLES = ("panel", "tasks", "consortia")


class RegistryError(ConfigError):
    """A registry that does not follow the schema or names unknown evaluators/tests."""


def load_registry(
    source: str | Path | Mapping[str, Any], schema_path: str | Path | None = None
) -> Registry:
    """Read (a path) or take (a dict) a registry, validate it, and build the records."""
    if isinstance(source, Mapping):
        raw = copy.deepcopy(dict(source))
        text = json.dumps(raw, sort_keys=True, default=str)
        where = "<dict>"
    else:
        path = Path(source)
        text = path.read_text(encoding="utf-8")
        raw = yaml.safe_load(text)
        where = str(path)
    file = None if isinstance(source, Mapping) else source
    schema = load_schema(schema_path or config.schema_path(SCHEMA_NAME, file))
    errors = schema_errors(raw, schema)
    if errors:
        raise RegistryError(
            f"claims registry {where} does not follow {SCHEMA_NAME}:\n  " + "\n  ".join(errors)
        )
    claims = tuple(_build_claim(c) for c in raw["claims"])
    _check_semantics(claims, where)
    rules = raw["verdict_rules"]
    return Registry(
        version=int(raw["version"]),
        document=dict(raw["document"]),
        ci_level=float(rules["ci_level"]),
        power=float(rules["power"]),
        error_rate=float(rules["error_rate"]),
        claims=claims,
        source=where,
        sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
        raw=raw,
    )


def _requires(raw: Mapping[str, Any] | None) -> dict[str, tuple[str, ...]]:
    return {t: tuple(cols) for t, cols in (raw or {}).items()}


def _build_claim(raw: Mapping[str, Any]) -> ClaimRecord:
    tests = []
    for t in raw["tests"]:
        claimed = Claimed.from_dict(t["claimed"])
        null = t.get("rival", claimed.default_rival())
        tests.append(
            TestSpec(
                name=t["name"],
                role=t["role"],
                estimand=t["estimand"],
                claimed=claimed,
                rival=None if null is None else float(null),
                rival_label=str(t.get("rival_label", "")),
                requires=_requires(t.get("requires")),
                raw_claimed=dict(t["claimed"]),
            )
        )
    comparison = raw["comparison"]
    if isinstance(comparison, list):
        comparison = tuple(comparison)
    return ClaimRecord(
        id=raw["id"],
        label=raw["label"],
        quote=" ".join(str(raw["quote"]).split()),
        section=str(raw["section"]),
        source=raw["source"],
        estimand=" ".join(str(raw["estimand"]).split()),
        method=raw["method"],
        comparison=comparison,
        requires=_requires(raw["requires"]),
        params=dict(raw.get("params") or {}),
        tests=tuple(tests),
        notes=" ".join(str(raw.get("notes", "")).split()),
    )


def _check_semantics(claims: tuple[ClaimRecord, ...], where: str) -> None:
    problems = []
    ids = [c.id for c in claims]
    dup = sorted({i for i in ids if ids.count(i) > 1})
    if dup:
        problems.append(f"duplicate claim id(s): {dup}")
    for c in claims:
        if c.method not in EVALUATORS:
            problems.append(f"{c.id}: unknown method {c.method!r} (known: {sorted(EVALUATORS)})")
            continue
        ev = EVALUATORS[c.method]
        names = [t.name for t in c.tests]
        dupt = sorted({n for n in names if names.count(n) > 1})
        if dupt:
            problems.append(f"{c.id}: duplicate test name(s) {dupt}")
        unknown = [n for n in names if n not in ev.tests]
        if unknown:
            problems.append(
                f"{c.id}: method {c.method!r} does not compute test(s) {unknown} "
                f"(it computes: {list(ev.tests)})"
            )
        if not c.primary:
            problems.append(f"{c.id}: at least one test must have role 'primary'")
        for t in c.tests:
            if t.claimed.kind == "value" and t.rival is None:
                problems.append(
                    f"{c.id}.{t.name}: a value claim needs a 'rival' value to be told apart from"
                )
            if t.claimed.kind != "best" and rival_inside(t.claimed.region(), t.rival):
                problems.append(
                    f"{c.id}.{t.name}: the rival {t.rival} lies inside the claim region "
                    f"{t.claimed.region()}; it must lie outside it or on its edge"
                )
            if t.claimed.kind in ("direction", "best") and not (
                t.claimed.min_effect > 0 and t.claimed.why
            ):
                problems.append(
                    f"{c.id}.{t.name}: a {t.claimed.kind} claim needs its smallest effect of "
                    "interest (min_effect > 0) and the reason for its size (why): without it a "
                    "precise zero could never contradict the claim"
                )
            if t.claimed.kind == "best" and not ev.supports_best:
                problems.append(f"{c.id}.{t.name}: method {c.method!r} cannot judge 'best' claims")
            if t.claimed.kind != "best" and t.name in ev.best_tests:
                problems.append(f"{c.id}.{t.name}: this test needs a 'best' claim")
        try:
            ev.check_params(c)
        except ValueError as exc:
            problems.append(f"{c.id}: {exc}")
    if problems:
        raise RegistryError(f"claims registry {where}:\n  " + "\n  ".join(problems))
