"""Loading the study configuration outside Snakemake (CLI, notebooks, tests).

The Snakefile validates the same file against the same schema with
``snakemake.utils.validate``; this module does it with jsonschema and fills
the schema's defaults the same way, so both callers see one configuration.
"""

from __future__ import annotations

from pathlib import Path

import jsonschema
import yaml


def schema_path_for(config_path: str | Path) -> Path:
    """The schema travels with the config: ``<config dir>/schemas/config.schema.yaml``."""
    return Path(config_path).parent / "schemas" / "config.schema.yaml"


def load_config(config_path: str | Path, overrides: dict | None = None) -> dict:
    """Read, override (like ``snakemake --config key=value``), validate and default a config."""
    config_path = Path(config_path)
    config = yaml.safe_load(config_path.read_text(encoding="utf-8")) or {}
    config.update(overrides or {})
    schema = yaml.safe_load(schema_path_for(config_path).read_text(encoding="utf-8"))
    validator_class = jsonschema.validators.validator_for(schema)
    validator = _with_defaults(validator_class)(schema)
    validator.validate(config)
    return config


def _with_defaults(validator_class):
    """A validator that also fills ``default`` values, as Snakemake's validate does."""
    validate_properties = validator_class.VALIDATORS["properties"]

    def set_defaults(validator, properties, instance, schema):
        if isinstance(instance, dict):
            for name, subschema in properties.items():
                if "default" in subschema:
                    instance.setdefault(name, subschema["default"])
        yield from validate_properties(validator, properties, instance, schema)

    return jsonschema.validators.extend(validator_class, {"properties": set_defaults})
