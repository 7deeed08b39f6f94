"""Adapters: public data sources turned into contract-conforming dataset folders.

Each adapter reads a source in the layout its publisher uses and writes the
contract's tables (docs/data-contract.md) plus a ``source.json`` that records
where the data came from, how it was mapped and what it cannot say. Oddities
the contract's cleaning rules handle are passed on unchanged, so that the
run's quality report counts them; what the adapter itself decides is logged
row by row.

An adapter is one module with two functions, and two optional ones:

``plan(config) -> consortia.workflow.DatasetPlan``
    the tables and contract columns it will write into ``config["dataset"]``, so that
    the workflow is planned before the folder exists;
``ingest(config, out_dir) -> dict``
    write the folder :func:`plan` promised; returns the summary of what it did;
``sources(config) -> {name: path}`` (optional)
    the files it reads, so that the workflow re-ingests when one changes;
``sidecars(config) -> {name: path}`` (optional)
    the files it writes beside the contract tables (e.g. ``source.json``).

A config selects one by name, ``adapter: NAME``: the module ``consortia.adapters.NAME``,
or a module outside the package named by its dotted path; the adapter's own settings sit
under a key of the same name (``cordis:``). The workflow's one ``ingest`` rule
(rules/ingest.smk) writes the folder for any adapter. Without the key the dataset folder
already follows the contract, and the workflow plans from its headers.

* :mod:`consortia.adapters.cordis` — EU framework-programme projects (FP7,
  H2020, Horizon Europe) from the European Commission's CORDIS exports.
* :mod:`consortia.adapters.overrides` — a dataset's claims registry: the base
  registry with the config's ``claims_overrides``.
* :mod:`consortia.adapters.accounting` — the CORDIS accounting page.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from types import ModuleType

from consortia.workflow import DatasetPlan, plan_dataset

PROTOCOL = ("plan", "ingest")


def adapter_named(name: str) -> ModuleType:
    """The adapter module ``name`` selects; a ValueError says what is missing."""
    module_name = name if "." in name else f"{__name__}.{name}"
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        if error.name != module_name:
            raise
        raise ValueError(
            f"adapter {name!r}: no module {module_name}; expected a module of "
            f"consortia.adapters (e.g. cordis) or a module's dotted path"
        ) from error
    missing = [function for function in PROTOCOL if not callable(getattr(module, function, None))]
    if missing:
        raise ValueError(f"adapter {name!r}: {module_name} lacks {', '.join(missing)}()")
    return module


def adapter_for(config: Mapping) -> ModuleType | None:
    """The adapter the config's ``adapter`` key selects; None for a contract folder."""
    name = config.get("adapter")
    return adapter_named(name) if name else None


def sources(adapter: ModuleType, config: Mapping) -> dict[str, str]:
    """{name: path} of the files the adapter reads (none if it does not say)."""
    return dict(adapter.sources(config)) if hasattr(adapter, "sources") else {}


def sidecars(adapter: ModuleType, config: Mapping) -> dict[str, str]:
    """{name: path} of the files the adapter writes beside the contract tables."""
    return dict(adapter.sidecars(config)) if hasattr(adapter, "sidecars") else {}


def settings_key(config: Mapping) -> str:
    """The key of the selected adapter's own settings: its module's last name."""
    return config["adapter"].rsplit(".", 1)[-1]


def settings(config: Mapping) -> Mapping:
    """The selected adapter's own settings: the config's block named like the adapter."""
    return config.get(settings_key(config), {})


def adapter_config(config: Mapping) -> dict:
    """What an adapter reads of the run's config (its name, the dataset folder, its own
    settings): the ingest rule's params, so that a change of any of them re-ingests."""
    return {
        "adapter": config["adapter"],
        "dataset": config["dataset"],
        settings_key(config): settings(config),
    }


def ingest(config: Mapping) -> dict:
    """Write the dataset folder (``config["dataset"]``) with the adapter the config selects."""
    return adapter_for(config).ingest(config, config["dataset"])


def plan_for(config: Mapping) -> DatasetPlan:
    """The workflow's plan of the dataset: the adapter's promise, or the folder's headers."""
    adapter = adapter_for(config)
    if adapter is not None:
        return adapter.plan(config)
    return plan_dataset(
        dataset=config["dataset"],
        tables_cfg=config.get("tables", {}),
        columns_cfg=config.get("columns", {}),
    )
