"""A claims registry for one dataset: the base registry with the dataset config's
``claims_overrides``, which change how a claim is measured on its data, never what the
review claims. Any adapter whose data measure a claim differently uses it (CORDIS:
rule cordis_claims_registry)."""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Mapping
from pathlib import Path

import yaml

from consortia.claims import load_registry

# What a dataset config may change in a claim record: how the claim is measured on its
# data, never what the review claims (quote, tests, claimed values, rivals).
OVERRIDABLE = ("label", "estimand", "notes", "params", "requires")


def registry_with_overrides(base: Mapping, overrides: Mapping[str, Mapping]) -> dict:
    """The claims registry ``base`` with per-claim overrides applied: ``params`` merged key
    by key, the other fields of :data:`OVERRIDABLE` replaced."""
    registry = copy.deepcopy(dict(base))
    records = {record["id"]: record for record in registry["claims"]}
    for claim_id, change in (overrides or {}).items():
        if claim_id not in records:
            raise ValueError(f"claims_overrides: no claim {claim_id!r} in the registry")
        unknown = sorted(set(change) - set(OVERRIDABLE))
        if unknown:
            raise ValueError(
                f"claims_overrides.{claim_id}: {unknown} cannot be overridden (only "
                f"{', '.join(OVERRIDABLE)}: a dataset changes how a claim is measured, not "
                f"what the review claims)"
            )
        record = records[claim_id]
        for key, value in change.items():
            if key == "params":
                record["params"] = {**(record.get("params") or {}), **dict(value)}
            else:
                record[key] = copy.deepcopy(value)
    return registry


def claims_registry_step(
    base_path: str | Path, overrides: Mapping, config_block: str, out_path: str | Path
) -> None:
    """Write the registry the claims rule reads for this dataset, validated like any other;
    ``config_block`` names the config block the overrides come from (in the header)."""
    base_text = Path(base_path).read_text(encoding="utf-8")
    registry = registry_with_overrides(yaml.safe_load(base_text), overrides)
    load_registry(registry)
    header = (
        f"# Derived from {base_path} (sha256 "
        f"{hashlib.sha256(base_text.encode('utf-8')).hexdigest()}) with the claims_overrides "
        f"of the {config_block} config block: {', '.join(sorted(overrides)) or 'none'}.\n"
    )
    Path(out_path).parent.mkdir(parents=True, exist_ok=True)
    Path(out_path).write_text(
        header + yaml.safe_dump(registry, sort_keys=False, allow_unicode=True, width=100),
        encoding="utf-8",
    )
