"""Covariance conventions: the text for table footnotes, and the sandwich
used where the package computes it itself (random effects / Mundlak on the
GLS-transformed data, fractional logit).

One convention for every estimator (the default, ``small_sample="CR1"``):

    V = c · B (Σ_g s_g s_g') B,   c = G/(G−1) · (N−1)/(N−K)

with K the number of estimated coefficients, not counting fixed effects that
are nested in a cluster variable (Stata ``reghdfe``, R ``fixest``).  For
two-way clustering V = V₁ + V₂ − V₁₂ (Cameron–Gelbach–Miller); with
``G_df="min"`` (reghdfe, fixest) all three terms use min(G₁,G₂), with
``"conventional"`` each its own G.  Inference for linear models uses
t(min G − 1); Poisson and fractional logit use the normal.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from .spec import ModelSpec, NotEstimable, VcovOptions

CR1_TEXT = (
    "CR1: G/(G−1)·(N−1)/(N−K), K excludes FE nested in clusters (as Stata reghdfe / R fixest)"
)


def small_sample_text(spec: ModelSpec, k: int | None = None) -> str:
    """The convention, as it should read in a table footnote."""
    o = spec.vcov
    two_way = len(spec.cluster_vars) == 2
    if spec.is_driscoll_kraay:
        base = (
            "Driscoll–Kraay (Bartlett kernel over time periods); scaled by "
            "T/(T−1)·(N−1)/(N−K) as in R fixest"
            if o.small_sample == "CR1"
            else "Driscoll–Kraay (Bartlett kernel over time periods), no small-sample scaling"
        )
        return base
    if not spec.cluster_vars:
        return {
            "CR1": "HC1: heteroskedasticity-robust, N/(N−K)",
            "CR1-G": "HC0·N/(N−1): heteroskedasticity-robust",
            "CR0": "HC0: heteroskedasticity-robust, no small-sample scaling",
        }[o.small_sample]
    text = {
        "CR1": CR1_TEXT,
        "CR1-G": "CR1 (G only): G/(G−1), as Stata xtreg re / fracreg vce(cluster)",
        "CR0": "CR0: no small-sample scaling",
    }[o.small_sample]
    if two_way and o.small_sample != "CR0":
        text += (
            "; two-way V₁+V₂−V₁₂ with G = min(G₁,G₂) in every term"
            if o.G_df == "min"
            else "; two-way V₁+V₂−V₁₂, each term with its own G (conventional)"
        )
    return text


def clustering_text(spec: ModelSpec) -> str:
    if spec.is_driscoll_kraay:
        bw = (
            "default bandwidth ⌊4(T/100)^(2/9)⌋"
            if spec.bandwidth is None
            else f"bandwidth {spec.bandwidth}"
        )
        return f"Driscoll–Kraay over {spec.time} ({bw})"
    if not spec.cluster_vars:
        return "heteroskedasticity-robust (no clustering)"
    if len(spec.cluster_vars) == 1:
        return f"clustered by {spec.cluster_vars[0]}"
    return f"two-way clustered by {spec.cluster_vars[0]} and {spec.cluster_vars[1]}"


def codes(values) -> np.ndarray:
    """Integer codes 0..G−1 of a 1-d array of labels."""
    _, inv = np.unique(np.asarray(values), return_inverse=True)
    return inv.ravel()


def cluster_sums(
    scores: np.ndarray | Iterable[np.ndarray], g: np.ndarray, n_groups: int | None = None
) -> np.ndarray:
    """G × k sums of the score rows of each cluster (codes ``g`` in 0..G−1).

    ``scores`` is the n × k array or its k columns one by one: a caller that computes each
    column as it goes (x_j·u, z_i·z_j) never forms the n × k array. ``n_groups`` is G
    (default: the largest code + 1). ``bincount`` adds the rows in order, as ``np.add.at``
    does (same sums, to the bit), at a fraction of its cost on a million rows.
    """
    n_groups = int(g.max()) + 1 if n_groups is None else n_groups
    columns = scores.T if isinstance(scores, np.ndarray) else scores
    sums = [np.bincount(g, weights=column, minlength=n_groups) for column in columns]
    return np.column_stack(sums) if sums else np.empty((n_groups, 0))


def cluster_meat(scores: np.ndarray, group: np.ndarray) -> np.ndarray:
    """Σ_g s_g s_g' with s_g the sum of the scores of cluster g."""
    sums = cluster_sums(scores, codes(group))
    return sums.T @ sums


def cr_factor(G: int, n: int, k: int, small_sample: str) -> float:
    if G < 2:
        raise NotEstimable(f"one cluster: a cluster-robust covariance needs at least two (G = {G})")
    if n <= k:
        raise NotEstimable(f"N = {n} observations leave no residual degrees of freedom for K = {k}")
    if small_sample == "CR0":
        return 1.0
    f = G / (G - 1.0)
    if small_sample == "CR1":
        f *= (n - 1.0) / (n - k)
    return f


def sandwich(
    bread: np.ndarray,
    scores: np.ndarray,
    clusters: np.ndarray | None,
    opts: VcovOptions,
    k: int,
) -> tuple[np.ndarray, list[int], int]:
    """Cluster-robust (one- or two-way) or HC covariance ``B M B``.

    ``bread`` is the inverse Hessian (for OLS (X'X)⁻¹), ``scores`` the n×k
    per-observation scores (x_i e_i), ``clusters`` an n×c array (c = 1, 2)
    or None for heteroskedasticity-robust.  ``k`` is the K of the (N−1)/(N−K)
    factor.  Returns (V, cluster counts, df for t inference).
    """
    n = scores.shape[0]
    if clusters is None:
        if n <= k:
            raise NotEstimable(
                f"N = {n} observations leave no residual degrees of freedom for K = {k}"
            )
        meat = scores.T @ scores
        f = {"CR1": n / (n - k), "CR1-G": n / (n - 1.0), "CR0": 1.0}[opts.small_sample]
        V = f * bread @ meat @ bread
        return (V + V.T) / 2, [], n - k
    clusters = np.asarray(clusters)
    if clusters.ndim == 1:
        clusters = clusters[:, None]
    if clusters.shape[1] == 1:
        G = len(np.unique(clusters[:, 0]))
        V = (
            cr_factor(G, n, k, opts.small_sample)
            * bread
            @ cluster_meat(scores, clusters[:, 0])
            @ bread
        )
        return (V + V.T) / 2, [G], G - 1
    a, b = codes(clusters[:, 0]), codes(clusters[:, 1])
    ab = a * (b.max() + 1) + b
    Gs = [a.max() + 1, b.max() + 1, len(np.unique(ab))]
    meats = [cluster_meat(scores, a), cluster_meat(scores, b), cluster_meat(scores, ab)]
    Gmin = min(Gs[:2])
    V = np.zeros_like(bread)
    for sign, G, meat in zip((1, 1, -1), Gs, meats):
        Guse = Gmin if opts.G_df == "min" else G
        V += sign * cr_factor(Guse, n, k, opts.small_sample) * bread @ meat @ bread
    return (V + V.T) / 2, Gs[:2], Gmin - 1
