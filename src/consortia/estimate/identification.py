"""What a design can identify, decided once before any estimator runs.

Users' data break the assumptions a specification makes silently: membership
that never changes makes every structure measure constant within a consortium
(absorbed by consortium effects), one lead type leaves no contrast, three
consortia leave no residual degrees of freedom, one consortium no second
cluster. :func:`identify` checks the design an estimator is about to fit and
either returns it restricted to the columns the data identify, with the reason
each other column left (named in the table notes, as R fixest does), or raises
:class:`NotEstimable` saying why the model cannot be estimated at all. The
estimators then never find out by crashing.

The collinearity decision for the estimators that absorb fixed effects
(pooled OLS with time effects, TWFE, PPML) is pyfixest's own (fixest's
algorithm on the cross-product of the demeaned regressors, with pyfixest's
tolerance), taken on the same demeaned columns, so pyfixest receives a design
it keeps whole. For the others (RE, Mundlak, fractional logit) it is
:func:`consortia.estimate.algebra.drop_collinear_columns` on the levels with the
intercept, which those estimators use themselves.
"""

from __future__ import annotations

import inspect
from dataclasses import replace

import numpy as np

from .design import Design
from .spec import NotEstimable

# fewer clusters than this: cluster-robust standard errors are biased down and t(G − 1)
# inference over-rejects (Cameron & Miller 2015, sec. VI): said in the notes
FEW_CLUSTERS = 20
# relative sum of squares below which a demeaned column is taken to be absorbed
_ABSORBED = 1e-9


def _pyfixest_collin_tol(estimator: str) -> float:
    import pyfixest as pf

    function = pf.fepois if estimator == "ppml" else pf.feols
    return float(inspect.signature(function).parameters["collin_tol"].default)


def _demean(X: np.ndarray, fe_codes: np.ndarray) -> np.ndarray:
    """``X`` net of the fixed effects (integer codes, one column per effect)."""
    if fe_codes.shape[1] == 1:
        codes = fe_codes[:, 0]
        counts = np.bincount(codes).astype(float)
        means = np.column_stack(
            [np.bincount(codes, weights=X[:, j]) / counts for j in range(X.shape[1])]
        ) if X.shape[1] else np.empty((len(counts), 0))
        return X - means[codes]
    from pyfixest.estimation import demean

    demeaned, _ = demean(
        np.ascontiguousarray(X, dtype=float),
        np.ascontiguousarray(fe_codes, dtype=np.uint64),
        np.ones(len(X)),
        tol=1e-10,
    )
    return demeaned


def _sum_of_squares(A: np.ndarray) -> np.ndarray:
    return np.einsum("ij,ij->j", A, A)


def _absorbing_drops(design: Design, names: list[str], X: np.ndarray) -> dict[str, str]:
    """Columns the absorbed fixed effects (or the other columns, net of them) leave unidentified."""
    from pyfixest.core import find_collinear_variables

    fe_names = [fe for fe in design.spec.fixed_effects]
    fe_codes = design.frame[design.absorbed].to_numpy()
    demeaned = _demean(X, fe_codes)
    excluded, _, _ = find_collinear_variables(
        np.ascontiguousarray(demeaned.T @ demeaned), _pyfixest_collin_tol(design.spec.estimator)
    )
    centred = _sum_of_squares(X - X.mean(axis=0))
    residual = _sum_of_squares(demeaned)
    reasons: dict[str, str] = {}
    for j in np.flatnonzero(np.asarray(excluded, dtype=bool)):
        name = names[j]
        if centred[j] <= _ABSORBED * max(1.0, float(X[:, j] @ X[:, j])):
            reasons[name] = "constant in the estimation sample"
        elif residual[j] <= _ABSORBED * centred[j]:
            alone = [
                fe
                for fe, k in zip(fe_names, range(fe_codes.shape[1]))
                if _sum_of_squares(_demean(X[:, [j]], fe_codes[:, [k]]))[0]
                <= _ABSORBED * centred[j]
            ]
            reasons[name] = (
                f"absorbed by the {alone[0]} fixed effects (constant within each {alone[0]})"
                if alone
                else f"collinear with the fixed effects ({' + '.join(fe_names)}) together"
            )
        else:
            reasons[name] = "collinear with the other regressors (net of the fixed effects)"
    return reasons


def _level_drops(names: list[str], X: np.ndarray) -> dict[str, str]:
    """Columns that are constant, or collinear with the intercept and the columns before them."""
    from .algebra import drop_collinear_columns

    with_intercept = np.column_stack([np.ones(len(X)), X])
    _, dropped = drop_collinear_columns(with_intercept, ["(intercept)", *names])
    reasons = {}
    for name in dropped:
        column = X[:, names.index(name)]
        reasons[name] = (
            "constant in the estimation sample"
            if np.ptp(column) == 0
            else "collinear with the intercept and the other regressors"
        )
    return reasons


def _parameter_count(design: Design, n_columns: int) -> int:
    """Coefficients plus fixed-effect levels plus the intercept (whatever absorbs it)."""
    levels = [int(design.frame[c].max()) + 1 for c in design.absorbed]
    if levels:
        return n_columns + sum(levels) - (len(levels) - 1)
    return n_columns + 1


def _cluster_problem(design: Design) -> tuple[str | None, list[str]]:
    """(why the covariance cannot be estimated, or None; notes on few clusters)."""
    spec = design.spec
    if spec.is_driscoll_kraay:
        periods = int(design.frame["_time"].nunique())
        if periods < 2:
            return f"Driscoll–Kraay errors need at least two periods ({spec.time}: {periods})", []
        return None, []
    notes = []
    for var in spec.cluster_vars:
        groups = int(design.frame[f"_cl_{var}"].nunique())
        if groups < 2:
            return (
                f"one cluster ({var}): a cluster-robust covariance needs at least two",
                [],
            )
        if groups < FEW_CLUSTERS:
            notes.append(
                f"only {groups} clusters ({var}): cluster-robust standard errors are biased "
                f"down and t(G − 1) inference over-rejects with fewer than about {FEW_CLUSTERS} "
                "clusters (Cameron & Miller 2015)"
            )
    return None, notes


def identify(design: Design) -> Design:
    """``design`` restricted to the columns its data identify, with the reasons recorded.

    Raises :class:`NotEstimable` when no regressor of interest is identified, when
    the parameters leave no residual degrees of freedom, when the outcome does
    not vary, or when there are fewer than two clusters.
    """
    spec = design.spec
    y = design.y.to_numpy()
    if len(y) and np.ptp(y) == 0:
        raise NotEstimable(
            f"model {spec.name!r}: the outcome {spec.outcome} does not vary in the estimation "
            f"sample (every value {y[0]:g}; N = {len(y)})"
        )
    names = list(design.X.columns)
    X = design.X.to_numpy(dtype=float)
    if names:
        reasons = (
            _absorbing_drops(design, names, X) if design.absorbed else _level_drops(names, X)
        )
    else:
        reasons = {}
    kept = [n for n in names if n not in reasons]
    why = {**design.not_identified}
    why.update({design.labels.get(n, n): reason for n, reason in reasons.items()})
    interest = [c for c in kept if design.source.get(c) in spec.regressors]
    if not interest:
        from .linear import not_identified_notes

        listed = "; ".join(not_identified_notes(why)) or "no regressor in the design"
        raise NotEstimable(
            f"model {spec.name!r}: no regressor of interest is identified in this sample "
            f"({listed})"
        )
    n, k = len(y), _parameter_count(design, len(kept))
    if n <= k:
        raise NotEstimable(
            f"model {spec.name!r}: N = {n} observations leave no residual degrees of freedom "
            f"for K = {k} parameters (coefficients, intercept and fixed-effect levels)"
        )
    problem, notes = _cluster_problem(design)
    if problem:
        raise NotEstimable(f"model {spec.name!r}: {problem}")
    return replace(
        design,
        X=design.X if len(kept) == len(names) else design.X[kept],
        not_identified=why,
        notes=[*design.notes, *notes],
    )
