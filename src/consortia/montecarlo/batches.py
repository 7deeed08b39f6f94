"""One batch of worlds: draw each clean world, run the claims on it, and record per test the
estimate, the CI, the verdict, the true estimand and the claim's status."""

from __future__ import annotations

import copy
import logging
import math
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from consortia import measures
from consortia.claims import evaluate_claims, load_registry
from consortia.claims.records import Registry
from consortia.montecarlo.config import ROOT
from consortia.montecarlo.truths import claim_status, combined_status, true_estimand
from consortia.simulate import simulate_world

log = logging.getLogger("consortia.montecarlo")

CLAIM_LEVEL = ""  # the ``test`` of a row holding a claim's combined verdict

BATCH_COLUMNS = [
    "truth",
    "n_consortia",
    "batch",
    "world",
    "world_seed",
    "claim",
    "test",
    "role",
    "truth_kind",
    "true_value",
    "truth_source",
    "estimate",
    "ci_lower",
    "ci_upper",
    "se",
    "scale",
    "rival",
    "verdict",
    "claim_status",
]


def world_seed(seed: int, batch_index: int, world_index: int) -> int:
    """The seed of world ``world_index`` of batch ``batch_index`` (any truth)."""
    state = np.random.SeedSequence([int(seed), int(batch_index), int(world_index)]).generate_state(
        2, np.uint32
    )
    return int(state[0]) << 31 | int(state[1]) >> 1


def evaluate_world(
    registry: Registry,
    n_consortia: int,
    n_years: int,
    first_year: int,
    seed: int,
    overrides: Mapping,
) -> tuple[dict, list]:
    """Draw one clean world and run the claims on it; returns (truth, claim results)."""
    w = simulate_world(
        n_consortia=n_consortia,
        n_years=n_years,
        first_year=first_year,
        seed=seed,
        truth=copy.deepcopy(dict(overrides)),
        mess={},
    )
    panel = measures.build_panel(w.consortia, w.members, w.panel)
    tasks = measures.build_tasks(
        w.tasks, w.consortia, censoring_date=w.truth["simulator"]["cutoff_date"]
    )
    results = evaluate_claims(registry, panel, tasks, consortia=w.consortia, seed=seed)
    return w.truth, results.claims


def world_rows(registry: Registry, truth: dict, claims: Sequence) -> list[dict]:
    """One row per test and one per claim (``test`` = :data:`CLAIM_LEVEL`) of one world."""
    rows = []
    for result in claims:
        record = registry.claim(result.id)
        primary_status = []
        for t in result.tests:
            true = true_estimand(truth, record, t.name)
            status = claim_status(record, t.name, true)
            if t.role == "primary":
                # the claim's truth is the truth of all its parts, whether or not the
                # world's data let each be tested
                primary_status.append(status)
            rows.append(
                {
                    "claim": result.id,
                    "test": t.name,
                    "role": t.role,
                    "truth_kind": "none" if true is None else true.kind,
                    "true_value": math.nan if true is None else true.value,
                    "truth_source": "" if true is None else true.source,
                    "estimate": _float(t.estimate),
                    "ci_lower": _float(t.ci_lower),
                    "ci_upper": _float(t.ci_upper),
                    "se": _float(t.se),
                    "scale": t.scale,
                    "rival": _float(t.rival),
                    "verdict": t.verdict,
                    "claim_status": status,
                }
            )
        rows.append(
            {
                "claim": result.id,
                "test": CLAIM_LEVEL,
                "role": "claim",
                "truth_kind": "verdict",
                "true_value": math.nan,
                "truth_source": "",
                "estimate": math.nan,
                "ci_lower": math.nan,
                "ci_upper": math.nan,
                "se": math.nan,
                "scale": "",
                "rival": math.nan,
                "verdict": result.verdict,
                "claim_status": combined_status(primary_status) if primary_status else None,
            }
        )
    return rows


def _float(x) -> float:
    return math.nan if x is None else float(x)


def run_batch(
    truth_name: str,
    batch_index: int,
    n_worlds: int,
    world_size: int,
    seed: int,
    *,
    overrides: Mapping | None = None,
    n_years: int = 8,
    first_year: int = 2016,
    registry: Registry | str | Path = ROOT / "config" / "claims.yaml",
    claims: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Claims on ``n_worlds`` worlds of ``world_size`` consortia drawn under one truth.

    ``overrides``: the truth's overrides of ``simulate.default_truth()`` (the truth
    named ``truth_name`` in the config); ``claims``: the claim ids to evaluate (all of
    the registry's by default). One row per world and test, plus one per world and
    claim (:data:`BATCH_COLUMNS`).
    """
    reg = registry if isinstance(registry, Registry) else load_registry(registry)
    if claims is not None:
        reg = reg.select(claims)
    rows = []
    for j in range(int(n_worlds)):
        s = world_seed(seed, batch_index, j)
        started = time.perf_counter()
        truth, claims = evaluate_world(reg, world_size, n_years, first_year, s, overrides or {})
        log.info(
            "truth %s batch %d world %d (seed %d): %.2f s",
            truth_name,
            batch_index,
            j,
            s,
            time.perf_counter() - started,
        )
        for row in world_rows(reg, truth, claims):
            rows.append(
                {
                    "truth": truth_name,
                    "n_consortia": int(world_size),
                    "batch": batch_index,
                    "world": j,
                    "world_seed": s,
                    **row,
                }
            )
    frame = pd.DataFrame(rows, columns=BATCH_COLUMNS)
    return frame.astype(
        {"n_consortia": "int64", "batch": "int64", "world": "int64", "world_seed": "int64"}
    )
