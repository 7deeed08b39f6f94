"""Panel linear algebra shared by the estimators: sums and means within groups, demeaning,
column-major design arrays, the choice of linearly independent columns and refined least
squares. Pure numpy on arrays the estimators build; no model knowledge here."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from .vcov import cluster_sums


def group_sums(A: np.ndarray, group: np.ndarray, n_groups: int) -> np.ndarray:
    """Sums of the rows of ``A`` (n or n × k) within each group (codes 0..n_groups−1).

    Rows sorted by group (the panel's order) are added by ``np.add.reduceat`` in one pass;
    otherwise column by column (:func:`.vcov.cluster_sums`).
    """
    A2 = A[:, None] if A.ndim == 1 else A
    if len(group) and np.all(group[1:] >= group[:-1]) and group[-1] == n_groups - 1:
        starts = np.flatnonzero(np.r_[True, group[1:] != group[:-1]])
        if len(starts) == n_groups:  # every group present once, in order
            out = np.add.reduceat(A2, starts, axis=0)
            return out[:, 0] if A.ndim == 1 else out
    out = cluster_sums(A2, group, n_groups)
    return out[:, 0] if A.ndim == 1 else out


def expanded(means: np.ndarray, group: np.ndarray) -> np.ndarray:
    """``means[group]`` (one row of group values per observation) as a column-major array,
    gathered column by column: a row gather of a million rows is several times slower."""
    out = np.empty((len(group), means.shape[1]), order="F")
    for j in range(means.shape[1]):
        np.take(means[:, j], group, out=out[:, j])
    return out


def subtract_expanded(A: np.ndarray, means: np.ndarray, group: np.ndarray) -> np.ndarray:
    """``A − means[group]``, column-major."""
    out = expanded(means, group)
    np.subtract(A, out, out=out)
    return out


def column_major(*frames: pd.DataFrame) -> np.ndarray:
    """The columns of the frames side by side, one column-major float array."""
    out = np.empty((len(frames[0]), sum(f.shape[1] for f in frames)), order="F")
    start = 0
    for f in frames:
        out[:, start : start + f.shape[1]] = f.to_numpy(dtype=float)
        start += f.shape[1]
    return out


def greedy_residuals(
    gram: np.ndarray, scale: np.ndarray, tol: float
) -> tuple[list[int], list[float]]:
    """Pivot-free Cholesky of ``gram`` in column order: column j is kept if the squared norm
    of its residual on the kept columns, relative to ``scale[j]²``, exceeds ``tol``.
    Returns the kept columns and every column's relative squared residual."""
    k = gram.shape[0]
    keep: list[int] = []
    relative: list[float] = []
    L = np.zeros((k, k))
    for j in range(k):
        m = len(keep)
        row = np.linalg.solve(L[:m, :m], gram[keep, j]) if m else np.empty(0)
        rest = gram[j, j] - row @ row
        relative.append(float(rest / scale[j] ** 2))
        if relative[-1] > tol:
            L[m, :m] = row
            L[m, m] = np.sqrt(rest)
            keep.append(j)
    return keep, relative


def greedy_independent(gram: np.ndarray, scale: np.ndarray, tol: float = 1e-10) -> list[int]:
    """The columns :func:`greedy_residuals` keeps."""
    return greedy_residuals(gram, scale, tol)[0]


def solve_refined(
    A: np.ndarray, b: np.ndarray, gram: np.ndarray, cross: np.ndarray, keep: list[int]
) -> tuple[np.ndarray, np.ndarray]:
    """Least squares of ``b`` on the ``keep`` columns of ``A`` from the normal equations
    (``gram`` = A'A, ``cross`` = A'b), with one step of iterative refinement on the
    residual computed from the data (accuracy of a QR solution for condition numbers up to
    ~1e7). Returns (coefficients of all columns, zero where not kept; residual)."""
    beta = np.zeros(A.shape[1])
    if not keep:
        return beta, b.copy()
    G = gram[np.ix_(keep, keep)]
    d = 1.0 / np.sqrt(np.diag(G))
    Gs = G * d[:, None] * d[None, :]
    beta[keep] = d * np.linalg.solve(Gs, d * cross[keep])
    resid = b - A @ beta
    beta[keep] += d * np.linalg.solve(Gs, d * (A.T @ resid)[keep])
    resid = b - A @ beta
    return beta, resid


def r_squared(residual_ss: float, total_ss: float, y_ss: float, nobs: int) -> float:
    """1 − RSS/TSS, NaN if TSS is rounding error (as linearmodels' ``r_squared``)."""
    if total_ss <= (max(nobs, 100) * np.finfo(float).eps) ** 2 * y_ss:
        return float("nan")
    return float(1 - residual_ss / total_ss)


def drop_collinear_columns(
    A: np.ndarray, names: list[str], tol: float = 1e-9
) -> tuple[list[int], list[str]]:
    """Positions of the columns of ``A`` kept, and names of those dropped (last first) as
    making ``A`` rank deficient.

    A column is kept if the columns kept so far plus it have full rank: every singular
    value above ``tol`` times the largest absolute entry of those columns (at least 1).
    Usually the design is far from that limit, which the Gram matrix shows at the cost
    of one matrix product: the smallest singular value of any set of columns is at least
    that of all of them, ≥ √λ_min(D⁻¹A'AD⁻¹)·min D (D the column norms); then every
    column is kept. An exact collinearity is as clear on the Gram matrix: the residual
    of the column on those kept before it is rounding error (relative squared residual
    ≤ 1e-10), while an independent column's is ≥ 1e-6. Only a column in between needs
    one QR of the n × k matrix, which decides column by column (any set of columns of
    A = QR has the singular values of the same columns of R).
    """
    k = A.shape[1]
    if k == 0:
        return [], []
    column_max = np.abs(A).max(axis=0)
    norms = np.sqrt(np.einsum("ij,ij->j", A, A))
    scale = np.where(norms > 0, norms, 1.0)
    scaled = (A.T @ A) / scale[:, None] / scale[None, :]
    lam_min = float(np.linalg.eigvalsh(scaled)[0])
    if norms.min() > 0 and lam_min > 1e-8:
        bound = np.sqrt(lam_min - 1e-10) * norms.min()
        if bound > 10 * tol * max(1.0, column_max.max()):
            return list(range(k)), []
    # an exact collinearity (zero column, age with the year dummies and consortium means)
    # shows as a relative residual at rounding level, an independent column far above it;
    # only a column in between needs the QR
    keep, relative = greedy_residuals(scaled, np.ones(k), 1e-9)
    if all(r <= 1e-10 or r >= 1e-6 for r in relative):
        return keep, [names[j] for j in range(k) if j not in keep]
    R = np.linalg.qr(A, mode="r")
    keep: list[int] = []
    dropped: list[str] = []
    for j in range(k):
        trial = keep + [j]
        threshold = tol * max(1.0, column_max[trial].max())
        singular = np.linalg.svd(R[:, trial], compute_uv=False)
        if int((singular > threshold).sum()) == len(trial):
            keep.append(j)
        else:
            dropped.append(names[j])
    return keep, dropped


def drop_collinear(X: pd.DataFrame, tol: float = 1e-9) -> tuple[pd.DataFrame, list[str]]:
    """:func:`drop_collinear_columns` of a frame: (the frame of kept columns, dropped names)."""
    keep, dropped = drop_collinear_columns(X.to_numpy(dtype=float), list(X.columns), tol)
    return (X if not dropped else X.iloc[:, keep]), dropped


def nested(fe_codes: np.ndarray, cl_codes: np.ndarray) -> bool:
    """Does every group of the fixed effect lie inside one cluster?"""
    s = pd.Series(cl_codes).groupby(fe_codes).nunique()
    return bool((s <= 1).all())


def group_demean(A: np.ndarray, codes: np.ndarray) -> np.ndarray:
    n_groups = int(codes.max()) + 1
    counts = np.bincount(codes, minlength=n_groups).astype(float)
    out = np.empty_like(A)
    for j in range(A.shape[1]):
        means = np.bincount(codes, weights=A[:, j], minlength=n_groups) / counts
        out[:, j] = A[:, j] - means[codes]
    return out


def independent_columns(
    S: np.ndarray, order: Sequence[int], tol: float, scale: np.ndarray
) -> list[int]:
    """Columns (in ``order``) kept by sequential Gram–Schmidt on the cross-product S.

    A column is kept if its residual sum of squares, given the columns kept
    before it, exceeds ``tol`` times ``scale[j]`` (its sum of squares before
    any demeaning, so that a column the demeaning wipes out is dropped).
    """
    keep: list[int] = []
    for j in order:
        ss = S[j, j]
        if ss <= tol * scale[j] or scale[j] <= 0:
            continue
        if keep:
            K = np.asarray(keep)
            coef = np.linalg.lstsq(S[np.ix_(K, K)], S[K, j], rcond=None)[0]
            resid = ss - S[K, j] @ coef
        else:
            resid = ss
        if resid > tol * scale[j]:
            keep.append(j)
    return keep


def variable_matrix(
    X: pd.DataFrame,
    dummies: Sequence[tuple[np.ndarray, Any]],
    y: pd.Series,
    *,
    intercept: bool,
) -> np.ndarray:
    """[1 | X | dummies | y] as one float array (the intercept only if ``intercept``).

    ``dummies``: (values, level) pairs, each the column values == level.  Filled in
    place: one copy of the data, where stacking pandas blocks made several; column
    major, as every later step works column by column (bincount of products, demeaning).
    """
    n, k = X.shape
    lead = int(intercept)
    out = np.empty((n, lead + k + len(dummies) + 1), order="F")
    if intercept:
        out[:, 0] = 1.0
    out[:, lead : lead + k] = X.to_numpy(dtype=float)
    for j, (values, level) in enumerate(dummies, start=lead + k):
        out[:, j] = values == level
    out[:, -1] = y.to_numpy(dtype=float)
    return out
