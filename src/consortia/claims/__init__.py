"""The claims registry: every quantitative claim of the review, tested on the data.

Public API::

    from consortia.claims import load_registry, evaluate_claims, write_outputs

    registry = load_registry("config/claims.yaml")          # validated (schema + evaluators)
    results = evaluate_claims(registry, panel, tasks, consortia=None, seed=20251220)
    results.verdicts                 # {claim id: supported | contradicted | inconclusive | not_testable}
    write_outputs(results, table_stem, figure_stem, json_path, csv_path)
    claims_step(registry_path, panel_path, json_path, table_stem, figure_stem,
                tasks_path=..., consortia_path=..., csv_path=..., seed=...)   # the workflow step

Modules: :mod:`.registry` (load + validate), :mod:`.evaluators` (one function
per method, and the driver), :mod:`.verdict` (the verdict rules),
:mod:`.intervals` (Wilson and Newcombe score intervals), :mod:`.power`
(minimum detectable effects, consortia needed), :mod:`.outputs` (claims CSV
and table, forest plot, JSON), :mod:`.figures` (Kaplan–Meier curves, transfer
rate vs the claim). See ``docs/claims.md``.
"""

from __future__ import annotations

from .registry import ClaimRecord, Registry, RegistryError, TestSpec, load_registry
from .verdict import VERDICTS

# the evaluators pull in scipy, statsmodels and lifelines: loaded on first use, so that a
# light step (provenance reads the verdict history) does not pay for them
_FROM_EVALUATORS = (
    "EVALUATORS",
    "ClaimResult",
    "ClaimsResults",
    "TestResult",
    "evaluate_claim",
    "evaluate_claims",
)


def __getattr__(name: str):
    if name in _FROM_EVALUATORS:
        from . import evaluators

        return getattr(evaluators, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

__all__ = [
    "EVALUATORS",
    "VERDICTS",
    "ClaimRecord",
    "ClaimResult",
    "ClaimsResults",
    "Registry",
    "RegistryError",
    "TestResult",
    "TestSpec",
    "claims_step",
    "evaluate_claim",
    "evaluate_claims",
    "load_registry",
    "write_outputs",
]


def claims_step(*args, **kwargs):
    """See :func:`consortia.claims.outputs.claims_step` (the workflow entry over paths)."""
    from .outputs import claims_step as _step

    return _step(*args, **kwargs)


def write_outputs(*args, **kwargs):
    """See :func:`consortia.claims.outputs.write_outputs`."""
    from .outputs import write_outputs as _write

    return _write(*args, **kwargs)
