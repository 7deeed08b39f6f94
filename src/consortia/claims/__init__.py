"""The claims registry: every quantitative claim of the review, tested on the data.

Public API::

    from consortia.claims import load_registry, evaluate_claims

    registry = load_registry("config/claims.yaml")          # validated (schema + methods)
    results = evaluate_claims(registry, panel, tasks, consortia=None, seed=20251220)
    results.verdicts    # {claim id: supported | contradicted | inconclusive | not_testable}

The workflow's steps are in :mod:`.steps` (``claims_step`` evaluates and writes
``claims.json``; ``claims_tables_step`` renders the CSV, table and forest plot from it);
the writers of those outputs (``write_outputs``) are in :mod:`.outputs`.

Modules: :mod:`.records` (the registry's records), :mod:`.registry` (load + validate),
:mod:`.catalogue` (the catalogue of methods and their shared inference helpers),
:mod:`.methods` (the methods, one module per family), :mod:`.driver` (evaluate, judge,
power, Holm across the registry), :mod:`.results` (the result types), :mod:`.verdict`
(the verdict rules), :mod:`.intervals` (Wilson and Newcombe score intervals),
:mod:`.power` (minimum detectable effects, consortia needed), :mod:`.outputs` (claims
CSV and table, forest plot, JSON), :mod:`.steps` (the workflow's steps), :mod:`.figures`
(Kaplan–Meier curves, transfer rate vs the claim). See ``docs/claims.md``.
"""

from __future__ import annotations

from .catalogue import EVALUATORS
from .driver import evaluate_claim, evaluate_claims
from .records import ClaimRecord, Registry, TestSpec
from .registry import RegistryError, load_registry
from .results import ClaimResult, ClaimsResults, TestResult
from .verdict import VERDICTS

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
    "evaluate_claim",
    "evaluate_claims",
    "load_registry",
]
