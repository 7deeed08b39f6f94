"""Kaplan–Meier medians without a model: of one sample, of cluster-bootstrap samples, and of
survival curves standardised over strata.

The breakthrough-speed claim ("25 percent faster") is a statement about how long tasks
take. Its primary estimand is the ratio of the median times to breakthrough of two
groups of tasks whose survival curves are *directly standardised* over a stratifying
variable (industry): each group's curve is the mixture Σ_k w_k S_gk(t) of its
Kaplan–Meier curves within the strata, with the same weights w_k for both groups (the
strata's shares of the two groups' tasks together). No shape is assumed: if the
groups' times differ by a constant factor within every stratum (any accelerated
failure time model, Weibull or log-normal or other), the standardised curves differ by
that factor too, and the ratio of their medians equals it; otherwise it is the ratio of
the medians of the two groups in a population with the pooled industry mix.

Bootstrap samples are drawn by cluster (consortium) and represented by how often each
cluster is drawn (a B × G matrix of counts): a sample's deaths and rows at each
distinct time are those counts times the per-cluster tallies, so no sample is ever
materialised (:func:`standardised_median_draws`; one stratum and one group give the plain
Kaplan–Meier median of each sample).
"""

from __future__ import annotations

import math

import numpy as np
from scipy import sparse

_CHUNK_CELLS = 4_000_000  # bounds the B × times work arrays


def _tallies(t_index, e, codes, n_clusters, n_times):
    """Per-cluster deaths and rows at each distinct time (sparse, clusters × times)."""
    shape = (n_clusters, n_times)
    deaths = sparse.csr_matrix((e.astype(float), (codes, t_index)), shape=shape)
    rows = sparse.csr_matrix((np.ones(len(t_index)), (codes, t_index)), shape=shape)
    return deaths, rows


def _survival(deaths, rows, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Kaplan–Meier curves (B × times) of the samples of ``counts`` (B × G), and each
    sample's number of rows."""
    c = counts.T.astype(float)
    d = (deaths.T @ c).T
    n = (rows.T @ c).T
    at_risk = n[:, ::-1].cumsum(axis=1)[:, ::-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = np.where(n > 0, 1.0 - d / at_risk, 1.0)
    return np.cumprod(factor, axis=1), at_risk[:, 0]


# S(t) reaching one half exactly (k of 2k tasks ended) is a running product that rounds to
# either side of 0.5 depending on the order of the factors: compare with a margin
HALF = 0.5 + 1e-12


def _first_at_or_below_half(times: np.ndarray, surv: np.ndarray) -> np.ndarray:
    """The first time the curve is at or below one half (the median), inf if never."""
    hit = surv <= HALF
    return np.where(hit.any(axis=1), times[hit.argmax(axis=1)], math.inf)


def standardised_median_draws(
    t: np.ndarray,
    e: np.ndarray,
    group: np.ndarray,
    stratum: np.ndarray,
    codes: np.ndarray,
    counts: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Medians of the directly standardised survival curves of group 1 and group 0 (module
    docstring), one pair per row of ``counts`` (B × G cluster-draw counts; a single row of
    ones is the sample itself).

    ``group``: 1 or 0 per task; ``stratum``: integer codes 0 … K−1; ``codes``: each task's
    cluster. A stratum without tasks of both groups in a sample (a bootstrap draw that
    missed its few consortia) is left out of that sample's standardisation, the weights
    of the others renormalised: if the groups' times differ by the same factor in every
    stratum the ratio of medians does not depend on the weights. Both medians are NaN in a
    sample where no stratum has both groups; inf where a standardised curve never reaches
    one half.
    """
    times, which = np.unique(t, return_inverse=True)
    n_clusters = int(counts.shape[1])
    strata = int(stratum.max()) + 1
    # tasks of each stratum per cluster (both groups): the standardisation weights
    size = sparse.csr_matrix(
        (np.ones(len(t)), (codes, stratum)), shape=(n_clusters, strata)
    )
    cells = {
        (g, k): _tallies(which[m], e[m], codes[m], n_clusters, len(times))
        for g in (0, 1)
        for k in range(strata)
        if (m := (group == g) & (stratum == k)).any()
    }
    medians = np.empty((2, len(counts)))
    chunk = max(1, _CHUNK_CELLS // max(1, 2 * strata * len(times)))
    for lo in range(0, len(counts), chunk):
        block = counts[lo : lo + chunk]
        weights = (size.T @ block.T.astype(float)).T  # B × K tasks per stratum
        curves = {}
        for (g, k), tallies in cells.items():
            surv, n_rows = _survival(*tallies, block)
            curves[(g, k)] = surv
            weights[:, k] *= n_rows > 0
        for g in (0, 1):
            for k in range(strata):
                if (g, k) not in cells:
                    weights[:, k] = 0.0
        total = weights.sum(axis=1, keepdims=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            weights = weights / total
        for g in (0, 1):
            mixture = np.zeros((len(block), len(times)))
            for k in range(strata):
                if (g, k) in cells:
                    mixture += weights[:, [k]] * curves[(g, k)]
            medians[g, lo : lo + chunk] = _first_at_or_below_half(times, mixture)
        medians[:, lo : lo + chunk][:, total[:, 0] == 0] = math.nan
    return medians[1], medians[0]
