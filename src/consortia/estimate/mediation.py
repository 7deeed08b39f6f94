"""Mediation along the structure → conduct → performance chain.

Two linear equations on one estimation sample (Baron & Kenny 1986;
product-of-coefficients, MacKinnon et al. 2002)::

    a-equation:  M = a·X + controls + effects + e        (structure → conduct)
    b-equation:  Y = c′·X + b·M + controls + effects + u  (conduct → performance)

    direct = c′,   indirect = a·b,   total = c′ + a·b

``total`` equals the coefficient of X in the regression of Y on X and the
same controls and effects (an exact OLS identity on a common sample; also
true in every bootstrap replicate, so the total-effect CI is that of c′+a·b).

Inference
---------
* a, b, c′ and the total effect: cluster-robust covariance with the package
  convention (:mod:`.vcov`: CR1 = G/(G−1)·(N−1)/(N−K), K counting the
  regressors and year dummies plus one for the intercept absorbed in the
  consortium effect, whose other levels are nested in the clusters — as R
  fixest / Stata reghdfe), t(G−1) confidence intervals —
  the same numbers :func:`consortia.estimate.fit` reports for the two
  equations as ``twfe``/``ols`` specs (tested).
* a·b: the cluster (pairs) bootstrap — whole clusters (consortia) drawn with
  replacement, ``n_boot`` replicates from ``numpy.random.default_rng(seed)``
  (replicate r: ``rng.integers(0, G, size=G)``, see :func:`bootstrap_draws`).
  Two intervals are reported for every quantity: the **percentile** interval
  (``numpy.quantile``, linear interpolation) and the **BCa** interval
  (Efron 1987: bias correction z₀ from the share of replicates below the
  estimate, replicates equal to it up to 1e-12 counted half; acceleration
  from the leave-one-cluster-out jackknife).  The
  headline interval of the indirect effect is the percentile one; BCa is the
  robustness check (it is undefined, NaN, when every replicate lies on one
  side of the estimate).
* Sobel (1982) test as a cross-check: z = a·b / √(b²·se_a² + a²·se_b²) with
  the cluster-robust SEs of a and b, two-sided normal p-value.  (The
  first-order delta method ignores cov(â, b̂); the cluster-robust cov of the
  two equations is reported too, as ``cov_ab`` and the delta SE using it.)

Speed: no regression is refitted per replicate
----------------------------------------------
All variables of both equations form one matrix Z = [regressors | Y]; for
every cluster g the cross-product Z_g′Z_g is computed once (its upper
triangle, by ``bincount``).  A replicate is a vector w of cluster
multiplicities (how often each cluster was drawn), and its cross-product is
Σ_g w_g Z_g′Z_g — for a block of replicates at once, one matrix product
W @ C.  Each equation's normal equations are then solved in a batch.

Fixed effects: an effect nested in the clusters (the consortium effect when
clustering by consortium) is removed by demeaning within its groups once:
a resampled cluster brings its rows unchanged, so its demeaned rows are what
re-demeaning the replicate would give (a cluster drawn twice has the same
group means).  Effects not nested in the clusters (year) are regressors
(dummies, the first level omitted), as in the cross-products.  Hence the
replicate estimates are *identical* (to rounding) to refitting both
regressions on the resampled data: :func:`mediation_refit` does exactly
that, from the raw variables, and the tests compare the two to 1e-10.

Leave-one-cluster-out (the BCa jackknife) is the same algebra with
Σ − Z_g′Z_g; a cheap bound (:func:`_jackknife_suspects`) spares the
eigenvalue check of the clusters whose removal cannot make a design singular.
The full-sample coefficients and cluster-robust covariances come from the
same per-cluster cross-products (score sums X_g′y_g − X_g′X_g β̂), so no step
after the cross-products touches the n rows again.
"""

from __future__ import annotations

import math
import time as _time
import warnings
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from .mediation_result import QUANTITIES, MediationResult
from .mediation_sample import MediationSample, prepare_sample
from .results import inference, software_versions
from .spec import SpecError, VcovOptions
from .vcov import cluster_sums, clustering_text, cr_factor, small_sample_text

__all__ = [
    "bootstrap_draws",
    "mediation",
    "mediation_from_dict",
]

CI_METHOD_TEXT = (
    "cluster bootstrap (clusters resampled with replacement); percentile interval "
    "(numpy.quantile, linear interpolation) and BCa interval (bias-corrected and "
    "accelerated, acceleration from the leave-one-cluster-out jackknife)"
)
_CHUNK_ELEMENTS = 8_000_000  # replicates × clusters per block of the weight matrix


# --------------------------------------------------------------------------- #
# Draws, cross-products and batched solves
# --------------------------------------------------------------------------- #


def bootstrap_draws(seed: int, n_clusters: int, n_boot: int) -> Iterator[np.ndarray]:
    """The clusters drawn in each replicate: ``n_boot`` arrays of ``n_clusters`` indices.

    Replicate r is ``rng.integers(0, G, size=G)`` for r = 0, 1, … from one
    ``numpy.random.default_rng(seed)``: the draws depend only on (seed, G),
    never on how the replicates are processed in blocks.  Cluster g is the
    g-th cluster label in sorted (string) order.
    """
    rng = np.random.default_rng(seed)
    for _ in range(n_boot):
        yield rng.integers(0, n_clusters, size=n_clusters)


def _cluster_crossproducts(Z: np.ndarray, codes: np.ndarray, G: int) -> tuple[np.ndarray, tuple]:
    """Upper triangles of Z_g′Z_g for every cluster g: a G × q(q+1)/2 array."""
    q = Z.shape[1]
    iu = np.triu_indices(q)
    C = cluster_sums((Z[:, i] * Z[:, j] for i, j in zip(*iu, strict=True)), codes, G)
    return C, iu


def _positions(iu: tuple, q: int) -> np.ndarray:
    """q × q: where entry (i, j) of the symmetric cross-product is in its flat upper triangle."""
    pos = np.empty((q, q), dtype=np.intp)
    pos[iu[0], iu[1]] = np.arange(len(iu[0]))
    pos[iu[1], iu[0]] = pos[iu[0], iu[1]]
    return pos


def _batched_ols(
    flat: np.ndarray,
    pos: np.ndarray,
    reg: list[int],
    dep: int,
    suspect: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """OLS coefficients from a batch of cross-products, and which were singular.

    ``flat``: B × q(q+1)/2 upper triangles, ``pos`` their positions
    (:func:`_positions`); the regressors' block and the right-hand side are
    gathered from them directly.

    Singular replicates (a dummy that is all zero in the drawn clusters) get
    the minimum-norm solution, which leaves identified coefficients — those
    of X and M — as a refit that drops the column would give them.
    ``suspect``: the only replicates that can be singular (the others are not
    checked), see :func:`_effects`.
    """
    A = flat[:, pos[np.ix_(reg, reg)]]
    r = flat[:, pos[reg, dep]]
    d = np.sqrt(np.einsum("bii->bi", A))
    bad = (d <= 0).any(axis=1)
    check = np.arange(len(A)) if suspect is None else np.flatnonzero(suspect)
    if check.size:
        with np.errstate(divide="ignore", invalid="ignore"):
            scale = np.where(d[check] > 0, 1.0 / d[check], 0.0)
        As = A[check] * scale[:, :, None] * scale[:, None, :]
        ev = np.linalg.eigvalsh(As)
        bad[check] |= ev[:, 0] <= 1e-11 * np.maximum(ev[:, -1], 1e-300)
    beta = np.empty(r.shape)
    good = ~bad
    if good.all():
        beta = np.linalg.solve(A, r[..., None])[..., 0]
    elif good.any():
        beta[good] = np.linalg.solve(A[good], r[good][..., None])[..., 0]
    for i in np.flatnonzero(bad):
        beta[i] = np.linalg.lstsq(A[i], r[i], rcond=1e-11)[0]
    return beta, bad


def _effects(
    flat: np.ndarray, pos: np.ndarray, P: MediationSample, suspect_b: np.ndarray | None = None
) -> tuple[dict[str, np.ndarray], int]:
    """a, b, c′, a·b and c′+a·b for a batch of cross-products (flat upper triangles).

    ``suspect_b``: the only replicates whose b-equation can be singular
    (default: all are checked), see :func:`_jackknife_suspects`.

    The a-equation's regressors are the b-equation's without M, in the same
    positions, so its scaled cross-product is a principal submatrix of the
    b-equation's: by eigenvalue interlacing it is at least as well conditioned.
    Only replicates singular in the b-equation need the a-equation's check
    (half the eigenvalue work, most of the cost of the jackknife).
    """
    beta_b, bad_b = _batched_ols(flat, pos, P.reg_b, P.idx_y, suspect=suspect_b)
    beta_a, bad_a = _batched_ols(flat, pos, P.reg_a, P.idx_m, suspect=bad_b)
    a = beta_a[:, 0]
    c = beta_b[:, 0]
    b = beta_b[:, 1]
    effects = {"a": a, "b": b, "direct": c, "indirect": a * b, "total": c + a * b}
    return effects, max(int(bad_a.sum()), int(bad_b.sum()))


def _jackknife_suspects(
    C: np.ndarray, total: np.ndarray, pos: np.ndarray, reg: list[int]
) -> np.ndarray | None:
    """Clusters whose removal could make the b-equation singular (the others skip the
    eigenvalue check of :func:`_batched_ols`, by far the jackknife's largest cost).

    With D the diagonal of the full-sample cross-product T (b-equation block),
    M = D^(-1/2) T D^(-1/2) and M_g likewise for cluster g's Z_g′Z_g (positive
    semidefinite, so its largest eigenvalue is at most its trace): Weyl's
    inequality gives λ_min(M − M_g) ≥ λ_min(M) − tr M_g.  The check rescales
    T − Z_g′Z_g by its own diagonal, no larger than D, which can only raise
    λ_min; and its λ_max is at most its trace, the number p of regressors.  So
    λ_min(M) − tr M_g > 1e-11·p certifies the check would pass; a margin of 10
    covers rounding in the eigenvalues.
    """
    A = total[pos[np.ix_(reg, reg)]]
    diag = np.diag(A)
    if (diag <= 0).any():
        return None
    scale = 1.0 / np.sqrt(diag)
    lam_min = np.linalg.eigvalsh(A * scale[:, None] * scale[None, :])[0]
    trace_g = C[:, pos[reg, reg]] @ (scale**2)
    return lam_min - trace_g <= 10 * 1e-11 * len(reg)


def _weights(draws: Sequence[np.ndarray], G: int) -> np.ndarray:
    W = np.empty((len(draws), G))
    for i, d in enumerate(draws):
        W[i] = np.bincount(d, minlength=G)
    return W


# --------------------------------------------------------------------------- #
# Full-sample inference
# --------------------------------------------------------------------------- #


def _analytic(
    P: MediationSample,
    opts: VcovOptions,
    crossproducts: tuple[np.ndarray, np.ndarray] | None = None,
) -> dict[str, Any]:
    """Coefficients and cluster-robust covariances of the a-, b- and total equations.

    All from the clusters' cross-products C (rows: upper triangles of Z_g′Z_g,
    ``pos`` their positions; computed here unless given): X′X = Σ_g X_g′X_g and
    each cluster's score sum X_g′e_g = X_g′y_g − X_g′X_g β̂, so no n-row array
    is formed.  The sandwich is :func:`.vcov.sandwich`'s one-way cluster case.
    """
    cl = P.cluster_codes
    n = len(P.Z)
    G = len(P.cluster_labels)
    if crossproducts is None:
        C, iu = _cluster_crossproducts(P.Z, cl, G)
        crossproducts = (C, _positions(iu, P.Z.shape[1]))
    C, pos = crossproducts
    total = C.sum(axis=0)
    out: dict[str, Any] = {}
    sums, breads, factors = [], [], []
    for eq, reg, dep in (
        ("a", P.reg_a, P.idx_m),
        ("b", P.reg_b, P.idx_y),
        ("total", P.reg_a, P.idx_y),
    ):
        bread = np.linalg.inv(total[pos[np.ix_(reg, reg)]])
        beta = bread @ total[pos[reg, dep]]
        score_sums = C[:, pos[reg, dep]] - np.stack([C[:, pos[j, reg]] @ beta for j in reg], axis=1)
        # K as fixest / reghdfe count it: a fixed effect nested in the clusters adds
        # nothing but the intercept it absorbs
        k = len(reg) + (1 if P.within else 0)
        f = cr_factor(G, n, k, opts.small_sample)
        V = f * bread @ (score_sums.T @ score_sums) @ bread
        out[eq] = (beta, (V + V.T) / 2)
        if eq in ("a", "b"):
            sums.append(score_sums)
            breads.append(bread)
            factors.append(f)
    # joint covariance of (â, b̂): cross block of the stacked-score sandwich
    cross = breads[0] @ (sums[0].T @ sums[1]) @ breads[1]
    out["cov_ab"] = float(math.sqrt(factors[0] * factors[1]) * cross[0, 1])  # a is col 0, b col 1
    out["df"] = G - 1
    return out


def _percentile(boot: np.ndarray, level: float) -> list[float]:
    alpha = 1 - level
    ok = boot[np.isfinite(boot)]
    if not len(ok):  # no replicate could be estimated: no interval, not an error
        return [math.nan, math.nan]
    return [float(x) for x in np.quantile(ok, [alpha / 2, 1 - alpha / 2])]


def _bca(
    boot: np.ndarray, theta: float, jack: np.ndarray, level: float
) -> tuple[list[float], dict]:
    ok = boot[np.isfinite(boot)]
    B = len(ok)
    if not B:
        return [math.nan, math.nan], {"z0": math.nan, "acceleration": math.nan}
    # replicates equal to the estimate up to rounding (a draw of every cluster once) are
    # ties, counted half: the same answer whatever the order of floating-point sums
    tie = np.abs(ok - theta) <= 1e-12 * max(1.0, abs(theta))
    prop = (np.sum((ok < theta) & ~tie) + 0.5 * np.sum(tie)) / B
    d = jack.mean() - jack
    denom = 6.0 * float(np.sum(d**2)) ** 1.5
    acc = float(np.sum(d**3) / denom) if denom > 0 else 0.0
    if prop <= 0 or prop >= 1:
        return [math.nan, math.nan], {"z0": math.nan, "acceleration": acc}
    z0 = float(stats.norm.ppf(prop))
    alpha = 1 - level
    qs = []
    for zq in (stats.norm.ppf(alpha / 2), stats.norm.ppf(1 - alpha / 2)):
        adj = z0 + (z0 + zq) / (1 - acc * (z0 + zq))
        qs.append(float(stats.norm.cdf(adj)))
    return [float(x) for x in np.quantile(ok, qs)], {"z0": z0, "acceleration": acc}


def assemble_result(
    P: MediationSample,
    opts: VcovOptions,
    name: str,
    n_boot: int,
    seed: int,
    level: float,
    boot: dict[str, np.ndarray],
    jack: dict[str, np.ndarray] | None,
    n_degenerate: int,
    timings: dict[str, float],
    method: str,
    crossproducts: tuple[np.ndarray, np.ndarray] | None = None,
) -> MediationResult:
    spec = P.spec
    an = _analytic(P, opts, crossproducts)
    beta_a, Va = an["a"]
    beta_b, Vb = an["b"]
    _, Vt = an["total"]
    a, b, c = float(beta_a[0]), float(beta_b[1]), float(beta_b[0])
    est = {"a": a, "b": b, "direct": c, "indirect": a * b, "total": c + a * b}
    se_a, se_b = math.sqrt(Va[0, 0]), math.sqrt(Vb[1, 1])
    sobel_se = math.sqrt(b**2 * se_a**2 + a**2 * se_b**2)
    sobel_z = a * b / sobel_se if sobel_se > 0 else math.nan
    sobel_p = float(2 * stats.norm.sf(abs(sobel_z)))
    df = an["df"]
    se = {
        "a": se_a,
        "b": se_b,
        "direct": math.sqrt(Vb[0, 0]),
        "indirect": sobel_se,
        "total": math.sqrt(Vt[0, 0]),
    }
    ci = {}
    for q, V, pos in (("a", Va, 0), ("b", Vb, 1), ("direct", Vb, 0), ("total", Vt, 0)):
        _, _, _, lo, hi = inference(np.array([est[q]]), np.array([[V[pos, pos]]]), df, level)
        ci[q] = [float(lo[0]), float(hi[0])]
    zq = stats.norm.ppf(0.5 + level / 2)
    ci["indirect"] = [a * b - zq * sobel_se, a * b + zq * sobel_se]
    ci = {q: ci[q] for q in QUANTITIES}
    pct = {q: _percentile(boot[q], level) for q in QUANTITIES}
    bse = {q: float(np.nanstd(boot[q], ddof=1)) for q in QUANTITIES}
    if jack is not None:
        bca_ci, bca_par = {}, {}
        for q in QUANTITIES:
            bca_ci[q], bca_par[q] = _bca(boot[q], est[q], jack[q], level)
    else:
        bca_ci = bca_par = None
    delta_cov_se = math.sqrt(max(b**2 * se_a**2 + a**2 * se_b**2 + 2 * a * b * an["cov_ab"], 0.0))
    notes = []
    if P.dropped:
        notes.append("dropped as collinear: " + ", ".join(P.dropped))
    if n_degenerate:
        notes.append(
            f"{n_degenerate} bootstrap replicate(s) with a singular design (a dummy absent "
            "from the drawn clusters): minimum-norm solution, X and M coefficients unaffected"
        )
    if P.within:
        notes.append(
            f"{P.within} effects removed by demeaning within {P.within} (nested in the "
            f"clusters); {', '.join(P.dummy_fe) or 'no other'} effects as dummies"
        )
    return MediationResult(
        name=name,
        treatment=P.labels[P.names[P.idx_x]],
        mediator=P.labels[P.names[P.idx_m]],
        outcome=spec.outcome,
        controls=list(spec.controls),
        fixed_effects=list(spec.fixed_effects),
        cluster=spec.cluster_vars[0],
        absorbed_within=P.within,
        nobs=len(P.Z),
        n_clusters=len(P.cluster_labels),
        level=level,
        n_boot=n_boot,
        seed=seed,
        estimates=est,
        std_errors=se,
        conf_int=ci,
        boot_se=bse,
        ci_percentile=pct,
        ci_bca=bca_ci,
        bca=bca_par,
        sobel={"se": sobel_se, "z": sobel_z, "p": sobel_p, "delta_se_with_cov": delta_cov_se},
        cov_ab=an["cov_ab"],
        df_inference=df,
        clustering=clustering_text(spec),
        small_sample=small_sample_text(spec),
        ci_method=CI_METHOD_TEXT,
        primary_ci="percentile",
        terms_a=[P.labels[P.names[j]] for j in P.reg_a],
        terms_b=[P.labels[P.names[j]] for j in P.reg_b],
        n_degenerate=n_degenerate,
        sample=spec.sample,
        sample_report=P.sample_report,
        notes=notes,
        timings=timings,
        method=method,
        replicates={q: boot[q].tolist() for q in QUANTITIES},
        software=software_versions(),
    )


# --------------------------------------------------------------------------- #
# Public API
# --------------------------------------------------------------------------- #


def check_bootstrap_args(n_boot: int, ci: float, seed: Any) -> None:
    if not isinstance(n_boot, (int, np.integer)) or n_boot < 2:
        raise ValueError(f"n_boot must be an integer ≥ 2, not {n_boot!r}")
    if not 0 < ci < 1:
        raise ValueError(f"ci must be in (0, 1), not {ci!r}")
    if not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be an integer (the bootstrap is seeded), not {seed!r}")


def mediation(
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
    chunk_size: int | None = None,
) -> MediationResult:
    """Mediation of ``treatment`` → ``mediator`` → ``outcome`` with a cluster bootstrap.

    Both equations are linear, on one estimation sample (rows complete in all
    variables; the spec's ``sample`` filter; fixed-effect singletons dropped as
    :func:`consortia.estimate.fit` does).  ``fixed_effects`` containing the
    entity gives the within (TWFE) equations, otherwise pooled OLS with the
    listed effects.  ``controls`` may be categorical (dummies).  Replicates
    are computed without refitting (module docstring); ``bca=False`` skips the
    jackknife and the BCa interval.  ``chunk_size``: replicates per block of
    the weight matrix (default: about 8 million weights per block).
    """
    check_bootstrap_args(n_boot, ci, seed)
    t0 = _time.perf_counter()
    P = prepare_sample(data, treatment, mediator, outcome, controls, fixed_effects, cluster,
                       entity, time, sample, reference_levels, vcov, name)
    spec, name = P.spec, P.spec.name
    G = len(P.cluster_labels)
    q = P.Z.shape[1]
    t1 = _time.perf_counter()
    C, iu = _cluster_crossproducts(P.Z, P.cluster_codes, G)
    pos = _positions(iu, q)
    total = C.sum(axis=0)
    t2 = _time.perf_counter()

    chunk = chunk_size or max(1, min(n_boot, _CHUNK_ELEMENTS // G))
    boot = {k: np.empty(n_boot) for k in QUANTITIES}
    n_bad = 0
    draws = bootstrap_draws(int(seed), G, n_boot)
    for start in range(0, n_boot, chunk):
        block = [next(draws) for _ in range(min(chunk, n_boot - start))]
        eff, bad = _effects(_weights(block, G) @ C, pos, P)
        n_bad += bad
        for k in QUANTITIES:
            boot[k][start : start + len(block)] = eff[k]
    t3 = _time.perf_counter()

    jack = None
    if bca:
        jack = {k: np.empty(G) for k in QUANTITIES}
        suspects = _jackknife_suspects(C, total, pos, P.reg_b)
        jchunk = max(1, _CHUNK_ELEMENTS // (q * q))
        for start in range(0, G, jchunk):
            stop = min(G, start + jchunk)
            eff, _ = _effects(
                total[None, :] - C[start:stop],
                pos,
                P,
                suspect_b=None if suspects is None else suspects[start:stop],
            )
            for k in QUANTITIES:
                jack[k][start:stop] = eff[k]
    t4 = _time.perf_counter()
    timings = {
        "prepare_seconds": t1 - t0,
        "crossproducts_seconds": t2 - t1,
        "bootstrap_seconds": t3 - t2,
        "jackknife_seconds": t4 - t3,
    }
    res = assemble_result(
        P,
        spec.vcov,
        name,
        n_boot,
        int(seed),
        ci,
        boot,
        jack,
        n_bad,
        timings,
        "vectorised",
        crossproducts=(C, pos),
    )
    res.timings["total_seconds"] = _time.perf_counter() - t0
    return res


MEDIATION_KEYS = (
    "name",
    "treatment",
    "mediator",
    "outcome",
    "controls",
    "fixed_effects",
    "cluster",
    "n_boot",
    "seed",
    "ci",
    "bca",
    "sample",
    "entity",
    "time",
    "reference_levels",
    "vcov",
)


def mediation_from_dict(entry: dict[str, Any], data: pd.DataFrame) -> MediationResult:
    """Run :func:`mediation` from a config entry (a plain dict; unknown keys raise).

    Keys: ``name, treatment, mediator, outcome`` (required), ``seed``
    (required), ``controls, fixed_effects, cluster, n_boot, ci, bca, sample,
    entity, time, reference_levels, vcov`` (optional, defaults of
    :func:`mediation`).
    """
    unknown = set(entry) - set(MEDIATION_KEYS)
    if unknown:
        raise SpecError(
            f"mediation {entry.get('name', '?')!r}: unknown key(s) {sorted(unknown)}; "
            f"allowed: {list(MEDIATION_KEYS)}"
        )
    for key in ("treatment", "mediator", "outcome", "seed"):
        if entry.get(key) is None:
            raise SpecError(f"mediation {entry.get('name', '?')!r}: {key!r} is required")
    kw = {k: v for k, v in entry.items() if v is not None}
    args = [kw.pop("treatment"), kw.pop("mediator"), kw.pop("outcome")]
    for k in ("controls", "fixed_effects"):
        if k in kw and isinstance(kw[k], str):
            kw[k] = [kw[k]]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return mediation(data, *args, **kw)
