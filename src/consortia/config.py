"""YAML files checked against their JSON schema, and the study configuration.

:func:`load_yaml` is the one loader of a schema-validated YAML file: it finds the schema
(``<file's dir>/schemas/<schema name>``, else the repository's ``config/schemas/``),
reports every violation at once in one format (:class:`ConfigError`) and can fill the
schema's ``default`` values the way Snakemake's ``validate`` does. :func:`load_config`
reads the study configuration with it outside Snakemake (CLI, notebooks, tests); the
Snakefile validates the same file against the same schema with
``snakemake.utils.validate``, so both callers see one configuration.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import jsonschema
import yaml

REPO_SCHEMAS = Path(__file__).resolve().parents[2] / "config" / "schemas"
STUDY_SCHEMA = "config.schema.yaml"


class ConfigError(ValueError):
    """A YAML file that does not follow its schema; the message lists every violation."""


def schema_path(schema_name: str, yaml_path: str | Path | None = None) -> Path:
    """The schema travels with the file, ``<file's dir>/schemas/<schema_name>``; without
    one there, the repository's ``config/schemas/<schema_name>``."""
    if yaml_path is not None:
        sibling = Path(yaml_path).parent / "schemas" / schema_name
        if sibling.exists():
            return sibling
    return REPO_SCHEMAS / schema_name


def load_schema(schema_file: str | Path) -> dict:
    return yaml.safe_load(Path(schema_file).read_text(encoding="utf-8"))


def read_yaml(path: str | Path, error: type[ConfigError] = ConfigError, what: str = "") -> Any:
    """A YAML file's content; ``error`` (naming ``what`` the file is) if it is absent or
    not YAML."""
    try:
        return yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise error(f"{what}{path} does not exist") from exc
    except yaml.YAMLError as exc:
        raise error(f"{path}: not valid YAML: {exc}") from exc


def entry_name(data: Any, path: Sequence[Any]) -> str:
    """Where in ``data`` a violation is: 'models[3] (sc_collab_re) → estimator' for one at
    models/3/estimator when that entry has a name, else 'a/b/c'."""
    if len(path) >= 2 and isinstance(path[1], int):
        section, index = path[0], path[1]
        try:
            name = data[section][index].get("name")
        except (KeyError, IndexError, TypeError, AttributeError):
            name = None
        where = f"{section}[{index}]" + (f" ({name})" if name else "")
        rest = "/".join(str(p) for p in path[2:])
        return where + (f" → {rest}" if rest else "")
    return "/".join(str(p) for p in path) or "<root>"


def schema_errors(
    data: Any, schema: Mapping, fill_defaults: bool = False, named_entries: bool = False
) -> list[str]:
    """Every violation of ``schema`` by ``data`` as 'path: message', ordered by path (empty:
    valid). With ``fill_defaults`` the schema's ``default`` values are set in ``data``; with
    ``named_entries`` a path into a list of named entries names the entry (:func:`entry_name`)."""
    validator_class = jsonschema.validators.validator_for(schema)
    if fill_defaults:
        validator_class = _with_defaults(validator_class)
    errors = sorted(
        validator_class(schema).iter_errors(data), key=lambda e: [str(p) for p in e.absolute_path]
    )

    def where(error) -> str:
        path = list(error.absolute_path)
        return entry_name(data, path) if named_entries else "/".join(map(str, path)) or "<root>"

    return [f"{where(e)}: {e.message}" for e in errors]


def load_yaml(
    path: str | Path,
    schema_name: str,
    overrides: Mapping | None = None,
    fill_defaults: bool = False,
) -> Any:
    """Read a YAML file, replace its top-level keys by ``overrides`` (like ``snakemake
    --config key=value``), validate it against ``schema_name`` (:func:`schema_path`) and,
    with ``fill_defaults``, fill the schema's defaults. Raises :class:`ConfigError`."""
    path = Path(path)
    data = read_yaml(path)
    if overrides:
        data = {**(data or {}), **overrides}
    schema_file = schema_path(schema_name, path)
    schema = load_schema(schema_file)
    errors = schema_errors(data, schema, fill_defaults)
    if errors:
        raise ConfigError(f"{path} does not follow {schema_file.name}:\n  " + "\n  ".join(errors))
    return data


def load_config(config_path: str | Path, overrides: dict | None = None) -> dict:
    """Read, override, validate and default a study config (``config.schema.yaml``)."""
    return load_yaml(config_path, STUDY_SCHEMA, overrides, fill_defaults=True) or {}


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
