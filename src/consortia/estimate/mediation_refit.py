"""The slow reference of :func:`consortia.estimate.mediation.mediation`: the same
arguments and bootstrap draws, but every replicate (and every jackknife sample) is rebuilt
from the drawn clusters' raw rows and both regressions refitted. For tests and the speed
benchmark."""

from __future__ import annotations

import time as _time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .algebra import group_demean
from .mediation import assemble_result, bootstrap_draws, check_bootstrap_args
from .mediation_result import QUANTITIES, MediationResult
from .mediation_sample import MediationSample, prepare_sample


@dataclass
class _Raw:
    """The raw variables of the estimation sample, as arrays (for the refit reference)."""

    numeric: np.ndarray  # n × k: X, M, numeric controls
    categorical: list[np.ndarray]  # integer codes of categorical controls and dummy effects
    n_levels: list[int]
    y: np.ndarray
    within: np.ndarray | None  # codes of the demeaned effect
    n_within: int


def _raw_arrays(P: MediationSample) -> _Raw:
    spec, d = P.spec, P.frame
    t, m = P.labels[P.names[P.idx_x]], P.labels[P.names[P.idx_m]]
    numeric = [d[t].to_numpy(float), d[m].to_numpy(float)]
    cats = []
    for c in spec.controls:
        if c in (t, m):
            continue
        s = d[c]
        if pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s):
            numeric.append(s.to_numpy(float))
        else:
            cats.append(pd.factorize(s.astype(str), sort=True)[0])
    for fe in P.dummy_fe:
        cats.append(pd.factorize(d[fe].astype(str), sort=True)[0])
    within = pd.factorize(d[P.within])[0] if P.within else None
    return _Raw(
        numeric=np.column_stack(numeric),
        categorical=cats,
        n_levels=[int(c.max()) + 1 for c in cats],
        y=d[spec.outcome].to_numpy(float),
        within=within,
        n_within=int(within.max()) + 1 if within is not None else 0,
    )


def _refit_one(R: _Raw, rows: np.ndarray, copy: np.ndarray) -> dict[str, float]:
    """Rebuild both designs from the raw variables of ``rows`` and fit them (lstsq).

    ``copy[i]`` numbers the drawn copy of the cluster row i came from: each
    copy's within-groups are separate groups (as if relabelled).  Dummies keep
    every level present (with the intercept or the demeaning they are collinear;
    ``lstsq``'s minimum-norm solution leaves the X and M coefficients as a fit
    without the redundant column would give them).
    """
    parts = [R.numeric[rows]]
    for codes, L in zip(R.categorical, R.n_levels, strict=True):
        parts.append(np.eye(L)[codes[rows]])
    X = np.column_stack(parts)  # X in column 0, M in column 1
    y = R.y[rows]
    if R.within is None:
        X = np.column_stack([X, np.ones(len(rows))])
    else:
        g = copy.astype(np.int64) * R.n_within + R.within[rows]
        _, g = np.unique(g, return_inverse=True)
        Xy = group_demean(np.column_stack([X, y]), g.ravel())
        X, y = Xy[:, :-1], Xy[:, -1]
    ba = np.linalg.lstsq(np.delete(X, 1, axis=1), X[:, 1], rcond=None)[0]
    bb = np.linalg.lstsq(X, y, rcond=None)[0]
    a, c, b = ba[0], bb[0], bb[1]
    return {"a": a, "b": b, "direct": c, "indirect": a * b, "total": c + a * b}


def mediation_refit(
    data: pd.DataFrame,
    treatment: str,
    mediator: str,
    outcome: str,
    *,
    controls: Sequence[str] = (),
    fixed_effects: Sequence[str] = ("consortium_id", "year"),
    cluster: str = "consortium_id",
    n_boot: int = 999,
    seed: int,
    ci: float = 0.95,
    bca: bool = True,
    sample: str | None = None,
    entity: str = "consortium_id",
    time: str = "year",
    reference_levels: dict[str, str] | None = None,
    vcov: dict | str | None = None,
    name: str | None = None,
) -> MediationResult:
    """The slow reference: same arguments and draws as :func:`mediation`, but every
    replicate (and every jackknife sample) rebuilds the data set from the drawn
    clusters' raw rows — dummies, within-group demeaning — and refits both
    regressions (``numpy.linalg.lstsq``).  For tests and the speed benchmark."""
    check_bootstrap_args(n_boot, ci, seed)
    t0 = _time.perf_counter()
    P = prepare_sample(data, treatment, mediator, outcome, controls, fixed_effects, cluster,
                       entity, time, sample, reference_levels, vcov, name)
    spec, name = P.spec, P.spec.name
    G = len(P.cluster_labels)
    order = np.argsort(P.cluster_codes, kind="stable")
    bounds = np.searchsorted(P.cluster_codes[order], np.arange(G + 1))
    rows_of = [order[bounds[g] : bounds[g + 1]] for g in range(G)]
    R = _raw_arrays(P)
    t1 = _time.perf_counter()
    boot = {k: np.empty(n_boot) for k in QUANTITIES}
    for r, draw in enumerate(bootstrap_draws(int(seed), G, n_boot)):
        rows = np.concatenate([rows_of[g] for g in draw])
        cl_new = np.repeat(np.arange(G), [len(rows_of[g]) for g in draw])
        eff = _refit_one(R, rows, cl_new)
        for k in QUANTITIES:
            boot[k][r] = eff[k]
    t2 = _time.perf_counter()
    jack = None
    if bca:
        jack = {k: np.empty(G) for k in QUANTITIES}
        for g in range(G):
            rows = np.flatnonzero(P.cluster_codes != g)
            eff = _refit_one(R, rows, np.zeros(len(rows), dtype=np.int64))
            for k in QUANTITIES:
                jack[k][g] = eff[k]
    t3 = _time.perf_counter()
    timings = {
        "prepare_seconds": t1 - t0,
        "bootstrap_seconds": t2 - t1,
        "jackknife_seconds": t3 - t2,
    }
    res = assemble_result(
        P, spec.vcov, name, n_boot, int(seed), ci, boot, jack, 0, timings, "refit"
    )
    res.timings["total_seconds"] = _time.perf_counter() - t0
    return res
