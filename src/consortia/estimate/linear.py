"""Linear models for continuous outcomes.

* ``ols``     pooled OLS, time effects absorbed (pyfixest ``feols``)
* ``twfe``    fixed effects (entity, and time if listed) absorbed (pyfixest)
* ``re``      random effects GLS, Swamy–Arora (the package's own, as linearmodels ``RandomEffects``),
              time effects as dummies
* ``mundlak`` correlated random effects: RE (or pooled OLS) plus the entity
              means of the time-varying regressors (Mundlak 1978; Wooldridge
              2019 for unbalanced panels, hence also the means of the time
              dummies when they vary across entities)

Standard errors follow one convention (see :mod:`.vcov`).  For RE/Mundlak
the sandwich is computed here on the GLS quasi-demeaned data, which is what
linearmodels does; ``tests/estimate`` checks the two agree.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .design import Design
from .results import FitResult, inference, software_versions
from .spec import ESTIMATOR_LABELS, ModelSpec, SpecError, VcovOptions
from .vcov import cluster_sums, clustering_text, sandwich, small_sample_text


# ----------------------------------------------------------------- pyfixest
def pyfixest_ssc(opts: VcovOptions) -> dict:
    import pyfixest as pf

    return pf.ssc(
        k_adj=opts.small_sample == "CR1",
        k_fixef="nonnested",
        G_adj=opts.small_sample != "CR0",
        G_df=opts.G_df,
    )


def pyfixest_vcov(spec: ModelSpec, design: Design):
    if spec.is_driscoll_kraay:
        kw = {"time_id": "_time", "panel_id": "_entity"}
        T = design.frame["_time"].nunique()
        kw["lag"] = (
            int(spec.bandwidth)
            if spec.bandwidth is not None
            else int(np.floor(4 * (T / 100) ** (2 / 9)))
        )
        return "DK", kw
    cv = [f"_cl_{c}" for c in spec.cluster_vars]
    if not cv:
        return "hetero", None
    return {"CRV1": "+".join(cv)}, None


def run_pyfixest(design: Design, X: pd.DataFrame | None = None, poisson: bool = False):
    """Fit with pyfixest on the design frame (optionally with extra columns)."""
    import pyfixest as pf

    # pyfixest reads a shallow copy (it resets the index in place) instead of copying the
    # million-row frame again
    frame = design.frame.copy(deep=False) if X is None else pd.concat([design.frame, X], axis=1)
    fml = design.formula(extra=None if X is None else list(X.columns))
    vcov, vcov_kwargs = pyfixest_vcov(design.spec, design)
    ssc = pyfixest_ssc(design.spec.vcov)
    est = pf.fepois if poisson else pf.feols
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = est(
            fml,
            data=frame,
            vcov=vcov,
            vcov_kwargs=vcov_kwargs,
            ssc=ssc,
            fixef_rm="singleton",
            copy_data=False,
        )
    return fit, fml


def _n_clusters(design: Design) -> dict[str, int]:
    spec = design.spec
    if spec.is_driscoll_kraay:
        return {spec.time: int(design.frame["_time"].nunique())}
    return {c: int(design.frame[f"_cl_{c}"].nunique()) for c in spec.cluster_vars}


def _df_inference(design: Design, nobs: int, k: int, linear: bool) -> int | None:
    if not linear:
        return None
    nc = _n_clusters(design)
    if nc:
        return min(nc.values()) - 1
    return nobs - k


def not_identified_notes(not_identified: dict[str, str]) -> list[str]:
    """One note per reason, naming the terms it left out (as R fixest reports them)."""
    by_reason: dict[str, list[str]] = {}
    for term, reason in not_identified.items():
        by_reason.setdefault(reason, []).append(term)
    return [f"left out, {reason}: {', '.join(terms)}" for reason, terms in by_reason.items()]


def _assemble(
    design: Design,
    estimator: str,
    names: list[str],
    beta: np.ndarray,
    V: np.ndarray,
    formula: str,
    r2: dict[str, float],
    linear: bool,
    k_df: int,
    label: str | None = None,
    dropped: list[str] | None = None,
    extra: dict | None = None,
    notes: list[str] | None = None,
) -> FitResult:
    spec = design.spec
    df = _df_inference(design, len(design.y), k_df, linear)
    se, stat, p, lo, hi = inference(beta, V, df)
    lab = [design.labels.get(n, n) for n in names]
    rep = design.report
    return FitResult(
        name=spec.name,
        estimator=estimator,
        estimator_label=label or ESTIMATOR_LABELS[estimator],
        outcome=spec.outcome,
        formula=formula,
        terms=lab,
        params=dict(zip(lab, map(float, beta))),
        std_errors=dict(zip(lab, map(float, se))),
        stats=dict(zip(lab, map(float, stat))),
        pvalues=dict(zip(lab, map(float, p))),
        conf_int={t: [float(a), float(b)] for t, a, b in zip(lab, lo, hi)},
        vcov=np.asarray(V, dtype=float).tolist(),
        stat_kind="t" if df else "z",
        df_inference=df,
        nobs=len(design.y),
        n_clusters=_n_clusters(design),
        r2={k: float(v) for k, v in r2.items()},
        fixed_effects=list(spec.fixed_effects),
        clustering=clustering_text(spec),
        small_sample=small_sample_text(spec),
        sample=spec.sample,
        sample_report=rep.__dict__.copy(),
        dropped_terms=[
            *design.not_identified,
            *(design.labels.get(d, d) for d in (dropped or [])),
        ],
        notes=rep.messages() + not_identified_notes(design.not_identified) + design.notes
        + list(notes or []),
        extra=extra or {},
        spec=spec.to_dict(),
        software=software_versions(),
    )


def _from_pyfixest(
    design: Design,
    fit,
    fml: str,
    estimator: str,
    label: str | None = None,
    r2: dict | None = None,
    extra: dict | None = None,
    linear: bool = True,
) -> FitResult:
    names = [str(n) for n in fit._coefnames]
    if "Intercept" in names and "Intercept" not in design.labels:
        design = _with_labels(design, dict(design.labels, Intercept="(Intercept)"))
    requested = [
        c for c in fml.split("~")[1].split("|")[0].replace(" ", "").split("+") if c and c != "1"
    ]
    dropped = [c for c in requested if c not in names]
    notes = []
    if dropped:
        notes.append(
            "dropped as collinear with the fixed effects or other regressors: "
            + ", ".join(design.labels.get(d, d) for d in dropped)
        )
    beta = np.asarray(fit.coef()[names], dtype=float)
    V = np.asarray(fit._vcov, dtype=float)
    if r2 is None:
        r2 = {"overall": fit._r2}
        if design.absorbed:
            r2["within"] = fit._r2_within
    k_df = int(getattr(fit, "_df_k", len(names)))
    return _assemble(
        design,
        estimator,
        names,
        beta,
        V,
        fml,
        r2,
        linear,
        k_df,
        label=label,
        dropped=dropped,
        extra=extra,
        notes=notes,
    )


def fit_ols(design: Design) -> FitResult:
    fit, fml = run_pyfixest(design)
    label = ESTIMATOR_LABELS["ols"] + (
        f" with {', '.join(design.spec.fixed_effects)} effects" if design.spec.fixed_effects else ""
    )
    return _from_pyfixest(design, fit, fml, "ols", label=label)


def fit_twfe(design: Design) -> FitResult:
    fit, fml = run_pyfixest(design)
    fe = design.spec.fixed_effects
    label = ("Two-way fixed effects" if len(fe) >= 2 else "Fixed effects") + f" ({' + '.join(fe)})"
    r2 = {"within": fit._r2_within, "overall (incl. FE)": fit._r2}
    return _from_pyfixest(design, fit, fml, "twfe", label=label, r2=r2)


# ---------------------------------------------------------- random effects
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


def _expanded(means: np.ndarray, group: np.ndarray) -> np.ndarray:
    """``means[group]`` (one row of group values per observation) as a column-major array,
    gathered column by column: a row gather of a million rows is several times slower."""
    out = np.empty((len(group), means.shape[1]), order="F")
    for j in range(means.shape[1]):
        np.take(means[:, j], group, out=out[:, j])
    return out


def _subtract_expanded(A: np.ndarray, means: np.ndarray, group: np.ndarray) -> np.ndarray:
    """``A − means[group]``, column-major."""
    out = _expanded(means, group)
    np.subtract(A, out, out=out)
    return out


def _column_major(*frames: pd.DataFrame) -> np.ndarray:
    """The columns of the frames side by side, one column-major float array."""
    out = np.empty((len(frames[0]), sum(f.shape[1] for f in frames)), order="F")
    start = 0
    for f in frames:
        out[:, start : start + f.shape[1]] = f.to_numpy(dtype=float)
        start += f.shape[1]
    return out


def _greedy_residuals(
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


def _greedy_independent(gram: np.ndarray, scale: np.ndarray, tol: float = 1e-10) -> list[int]:
    """The columns :func:`_greedy_residuals` keeps."""
    return _greedy_residuals(gram, scale, tol)[0]


def _solve_refined(
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


def _r_squared(residual_ss: float, total_ss: float, y_ss: float, nobs: int) -> float:
    """1 − RSS/TSS, NaN if TSS is rounding error (as linearmodels' ``r_squared``)."""
    if total_ss <= (max(nobs, 100) * np.finfo(float).eps) ** 2 * y_ss:
        return float("nan")
    return float(1 - residual_ss / total_ss)


@dataclass
class RandomEffectsFit:
    """Swamy–Arora random-effects GLS, as linearmodels ``RandomEffects().fit()``.

    ``Xs``, ``e``: the quasi-demeaned regressors and GLS residuals the clustered sandwich
    uses; ``bread`` = (Xs'Xs)⁻¹; ``theta``: one value per entity (codes 0..G−1).
    """

    names: list[str]
    params: np.ndarray
    Xs: np.ndarray
    e: np.ndarray
    bread: np.ndarray
    theta: np.ndarray
    sigma2_effects: float
    sigma2_residual: float
    rho: float
    r2: dict[str, float]
    dropped: list[str]
    within: np.ndarray  # entity-demeaned regressors (kept columns), for the Hausman FE fit
    within_y: np.ndarray

    @property
    def s2(self) -> float:
        """Classical error variance e'e/(N−K) of the GLS regression (linearmodels ``s2``)."""
        n, k = self.Xs.shape
        return float(self.e @ self.e) / (n - k)

    @property
    def cov_classical(self) -> np.ndarray:
        """Non-robust covariance s²(Xs'Xs)⁻¹ (linearmodels ``cov_type="unadjusted"``)."""
        return self.s2 * self.bread

    @property
    def std_errors_classical(self) -> pd.Series:
        return pd.Series(np.sqrt(np.diag(self.cov_classical)), index=self.names)


def random_effects(
    X: np.ndarray, names: list[str], y: np.ndarray, entity: np.ndarray
) -> RandomEffectsFit:
    """Random-effects GLS of ``y`` on a constant and ``X`` (entity codes ``entity``).

    The estimator of linearmodels ``RandomEffects`` (7.1) computed with numpy on the group
    sums: σ²_e from the within regression (df: N − G − rank of the within regressors),
    σ²_u from the between regression of the entity means (df: G − its rank) less σ²_e/T̄
    (T̄ the harmonic mean of the entity sizes), θ_i = 1 − √(σ²_e / (T_i σ²_u + σ²_e)),
    then OLS on the quasi-demeaned data. Ranks are decided on the Gram matrices (a column
    leaves a regression when its residual on the columns before it is below 1e-5 of its
    norm), which is linearmodels' decision unless a regressor is collinear to within a
    relative 1e-5 without being exactly so. ``tests/estimate`` checks the equality with
    linearmodels.
    """
    n = len(y)
    exog = np.empty((n, X.shape[1] + 1), order="F")  # column-major: contiguous columns
    exog[:, 0] = 1.0
    exog[:, 1:] = X
    names = ["const", *names]
    keep, dropped = drop_collinear_columns(exog, names)
    if len(keep) < exog.shape[1]:
        exog = exog[:, keep]
        names = [names[j] for j in keep]
    k = exog.shape[1]
    n_groups = int(entity.max()) + 1
    t = np.bincount(entity, minlength=n_groups).astype(float)
    xbar = group_sums(exog, entity, n_groups) / t[:, None]
    ybar = group_sums(y, entity, n_groups) / t

    # within regression: the variance of the idiosyncratic error
    xw = _subtract_expanded(exog, xbar, entity)
    yw = y - ybar[entity]
    x_norm = np.sqrt(np.einsum("ij,ij->j", exog, exog))
    x_norm[x_norm == 0] = 1.0
    gram_w = xw.T @ xw
    keep_w = _greedy_independent(gram_w, x_norm)
    _, resid_w = _solve_refined(xw, yw, gram_w, xw.T @ yw, keep_w)
    df_within = n - n_groups - len(keep_w)
    # between regression of the entity means: the variance of the effects
    gram_b = xbar.T @ xbar
    keep_b = _greedy_independent(gram_b, np.sqrt(np.diag(gram_b)) + (np.diag(gram_b) == 0))
    _, resid_b = _solve_refined(xbar, ybar, gram_b, xbar.T @ ybar, keep_b)
    df_between = n_groups - len(keep_b)
    if df_within <= 0 or df_between <= 0:
        raise SpecError(
            "random effects: the within or between regression has no residual degrees of "
            f"freedom (N = {n}, {n_groups} entities)"
        )
    sigma2_e = float(resid_w @ resid_w) / df_within
    t_bar = n_groups / (1.0 / t).sum()
    sigma2_u = max(0.0, float(resid_b @ resid_b) / df_between - sigma2_e / t_bar)
    theta = 1.0 - np.sqrt(sigma2_e / (t * sigma2_u + sigma2_e))

    # GLS on the quasi-demeaned data
    Xs = _subtract_expanded(exog, theta[:, None] * xbar, entity)
    ys = y - (theta * ybar)[entity]
    gram_s = Xs.T @ Xs
    beta, e = _solve_refined(Xs, ys, gram_s, Xs.T @ ys, list(range(k)))
    bread = np.linalg.inv(gram_s)

    # R² as linearmodels reports them (within, between, overall)
    y_ss = float(y @ y)
    resid_within = yw - xw @ beta
    ub = ybar - xbar @ beta
    uo = y - exog @ beta
    r2 = {
        "within": _r_squared(float(resid_within @ resid_within), float(yw @ yw), y_ss, n),
        "between": _r_squared(
            float(ub @ ub), float(((ybar - ybar.mean()) ** 2).sum()), float(ybar @ ybar), n_groups
        ),
        "overall": _r_squared(float(uo @ uo), float(((y - y.mean()) ** 2).sum()), y_ss, n),
    }
    if k == 1:
        r2 = {key: (v if np.isnan(v) else 0.0) for key, v in r2.items()}
    return RandomEffectsFit(
        names=names,
        params=beta,
        Xs=Xs,
        e=e,
        bread=bread,
        theta=theta,
        sigma2_effects=sigma2_u,
        sigma2_residual=sigma2_e,
        rho=sigma2_u / (sigma2_u + sigma2_e),
        r2=r2,
        dropped=dropped,
        within=xw,
        within_y=yw,
    )


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
    keep, relative = _greedy_residuals(scaled, np.ones(k), 1e-9)
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


def _drop_collinear(X: pd.DataFrame, tol: float = 1e-9) -> tuple[pd.DataFrame, list[str]]:
    """:func:`drop_collinear_columns` of a frame: (the frame of kept columns, dropped names)."""
    keep, dropped = drop_collinear_columns(X.to_numpy(dtype=float), list(X.columns), tol)
    return (X if not dropped else X.iloc[:, keep]), dropped


def _panel_index(design: Design) -> pd.MultiIndex:
    return pd.MultiIndex.from_arrays(
        [design.frame["_entity"].to_numpy(), design.frame["_time"].to_numpy()],
        names=["entity", "time"],
    )


def run_random_effects(design: Design, X: pd.DataFrame) -> RandomEffectsFit:
    """:func:`random_effects` of the design's outcome on a constant and ``X``."""
    return random_effects(
        X.to_numpy(dtype=float),
        list(X.columns),
        design.y.to_numpy(dtype=float),
        design.frame["_entity"].to_numpy(),
    )


def _re_vcov(design: Design, re_: RandomEffectsFit) -> tuple[np.ndarray, int]:
    k = re_.Xs.shape[1]
    V, _, _ = sandwich(re_.bread, re_.Xs * re_.e[:, None], design.clusters, design.spec.vcov, k)
    return V, k


def _varies_within(W: np.ndarray, entity: np.ndarray, counts: np.ndarray, tol: float = 1e-12):
    """Columns of the entity-demeaned ``W`` whose within-entity standard deviation (ddof 0)
    exceeds ``tol`` in some entity (:func:`consortia.estimate.design.time_varying`)."""
    largest = np.abs(W).max(axis=0) if len(W) else np.zeros(W.shape[1])
    varies = largest > tol * np.sqrt(counts.max())  # some |deviation| > tol·√T_i: sd_i > tol
    unsure = np.flatnonzero((largest > tol) & ~varies)
    if len(unsure):
        ss = group_sums(W[:, unsure] ** 2, entity, len(counts))
        varies[unsure] = (np.sqrt(ss / counts[:, None]) > tol).any(axis=0)
    return varies


def hausman_inputs(design: Design, re_: RandomEffectsFit) -> dict:
    """What the classical Hausman test of this RE fit needs, stored with the fit.

    The FE side is the within (entity-demeaned) regression on the design's time-varying
    columns, time dummies first (a regressor collinear with them and the entity effects,
    e.g. age = year − founding year, is the one left out, as a textbook FE spec does),
    with the classical covariance s²(X̃'X̃)⁻¹, s² = RSS/(N − G − K) (linearmodels
    ``PanelOLS(entity_effects=True).fit(cov_type="unadjusted")``). The RE side: the
    coefficients and classical covariance s²(X*'X*)⁻¹, s² = e*'e*/(N − K) of the GLS.
    """
    entity = design.frame["_entity"].to_numpy()
    n_groups = int(entity.max()) + 1
    counts = np.bincount(entity, minlength=n_groups).astype(float)
    position = {c: j for j, c in enumerate(re_.names)}
    columns = [c for c in design.X.columns if c in position]
    W = re_.within[:, [position[c] for c in columns]]
    missing = [c for c in design.X.columns if c not in position]
    if missing:  # left out of the RE fit as collinear in levels; may vary within
        Xm = design.X[missing].to_numpy(dtype=float)
        W = np.column_stack([W, Xm - (group_sums(Xm, entity, n_groups) / counts[:, None])[entity]])
        columns += missing
    varies = _varies_within(W, entity, counts)
    tv = [c for c, v in zip(columns, varies) if v]
    order = [c for c in design.time_dummies if c in tv] + [
        c for c in tv if c not in design.time_dummies
    ]
    where = {c: j for j, c in enumerate(columns)}
    Wo = W[:, [where[c] for c in order]]
    keep, absorbed = drop_collinear_columns(Wo, order)
    order = [order[j] for j in keep]
    Wo = Wo[:, keep]
    gram = Wo.T @ Wo
    b_fe, resid = _solve_refined(
        Wo, re_.within_y, gram, Wo.T @ re_.within_y, list(range(len(order)))
    )
    s2_fe = float(resid @ resid) / (len(resid) - n_groups - len(order))
    common = [c for c in order if c in position]
    fe_pos = [order.index(c) for c in common]
    re_pos = [position[c] for c in common]
    label = design.labels
    return {
        "terms": [label.get(c, c) for c in common],
        "b_fe": b_fe[fe_pos],
        "V_fe": (s2_fe * np.linalg.inv(gram))[np.ix_(fe_pos, fe_pos)],
        "s2_fe": s2_fe,
        "b_re": re_.params[re_pos],
        "V_re": re_.cov_classical[np.ix_(re_pos, re_pos)],
        "s2_re": re_.s2,
        "not_identified": [label.get(c, c) for c in absorbed],
    }


def fit_re(design: Design) -> FitResult:
    re_ = run_random_effects(design, design.X)
    V, k = _re_vcov(design, re_)
    extra = {
        "theta_mean": float(np.mean(re_.theta)),
        "sigma2_effects": re_.sigma2_effects,
        "sigma2_residual": re_.sigma2_residual,
        "rho": re_.rho,
        "hausman": hausman_inputs(design, re_),
    }
    labels = dict(design.labels, const="(Intercept)")
    design_l = _with_labels(design, labels)
    fml = design.formula().replace(" ~ ", " ~ 1 + ") + f"  [random effect: {design.spec.entity}]"
    dropped = re_.dropped
    notes = ["dropped as collinear: " + ", ".join(dropped)] if dropped else []
    return _assemble(
        design_l,
        "re",
        re_.names,
        re_.params,
        V,
        fml,
        re_.r2,
        True,
        k,
        dropped=dropped,
        extra=extra,
        notes=notes,
    )


def _with_labels(design: Design, labels: dict[str, str]) -> Design:
    from dataclasses import replace

    return replace(design, labels=labels)


def mundlak_columns(design: Design) -> pd.DataFrame:
    """Entity means of the time-varying columns (incl. time dummies), over the sample."""
    entity = design.frame["_entity"].to_numpy()
    n_groups = int(entity.max()) + 1
    counts = np.bincount(entity, minlength=n_groups).astype(float)
    X = design.X.to_numpy(dtype=float)
    means = group_sums(X, entity, n_groups) / counts[:, None]
    varies = _varies_within(_subtract_expanded(X, means, entity), entity, counts)
    M = _expanded(means[:, varies], entity)
    names = [c for c, v in zip(design.X.columns, varies) if v]
    # means that do not vary across entities (e.g. time dummies of a balanced panel) are
    # collinear with the constant: leave them out
    spread = M.std(axis=0) if len(M) else np.zeros(M.shape[1])
    keep = spread > 1e-12
    return pd.DataFrame(
        M[:, keep],
        index=design.X.index,
        columns=[f"mean__{c}" for c, k in zip(names, keep) if k],
    )


def fit_mundlak(design: Design) -> FitResult:
    M = mundlak_columns(design)
    labels = dict(design.labels, const="(Intercept)")
    for c in M.columns:
        labels[c] = f"mean({labels.get(c[len('mean__') :], c[len('mean__') :])})"
    design_l = _with_labels(design, labels)
    base = design.spec.mundlak_base
    if base == "ols":
        fit, fml = run_pyfixest(design, X=M)
        res = _from_pyfixest(
            design_l, fit, fml, "mundlak", label="Correlated random effects (Mundlak, pooled OLS)"
        )
        mean_terms = [labels[c] for c in M.columns if labels[c] in res.terms]
    else:
        mean_columns = list(M.columns)
        re_ = random_effects(
            _column_major(design.X, M),
            [*design.X.columns, *mean_columns],
            design.y.to_numpy(dtype=float),
            design.frame["_entity"].to_numpy(),
        )
        del M
        V, k = _re_vcov(design, re_)
        fml = (
            design.formula(extra=mean_columns).replace(" ~ ", " ~ 1 + ")
            + f"  [random effect: {design.spec.entity}]"
        )
        res = _assemble(
            design_l,
            "mundlak",
            re_.names,
            re_.params,
            V,
            fml,
            re_.r2,
            True,
            k,
            label="Correlated random effects (Mundlak, RE)",
            dropped=re_.dropped,
        )
        mean_terms = [labels[c] for c in mean_columns if c in re_.names]
    res.extra["mean_terms"] = mean_terms
    if mean_terms:
        res.extra["mundlak_test"] = res.wald(mean_terms)
    return res


# ------------------------------------------------------------- cross-check
def linearmodels_twfe_crosscheck(design: Design, match: bool = True):
    """The spec's TWFE fit redone with linearmodels ``PanelOLS``.

    With ``match=True`` the options reproduce the package convention (CR1,
    K = regressors + FE not nested in the clusters, as fixest / reghdfe):

    * one-way clustering by the entity: entity effects absorbed, a constant
      and the time dummies as regressors (so K = k + T, as fixest counts the
      time FE), ``cov_type="clustered", debiased=True, group_debias=True``
      and the default ``auto_df`` (the nested entity effects are not counted);
    * two-way clustering (entity, time): entity and time effects absorbed
      with a constant, ``auto_df=False, count_effects=False`` (both effects
      nested in a cluster: K = k + 1 as fixest); this equals pyfixest with
      ``G_df="conventional"`` since linearmodels scales each term by its own G.

    With ``match=False`` linearmodels' defaults for a two-way FE model are
    used (``PanelOLS(entity_effects, time_effects).fit(cov_type="clustered",
    cluster_entity=True)``): effects counted in K, no G/(G−1).
    """
    from linearmodels import PanelOLS

    spec = design.spec
    idx = _panel_index(design)
    y = pd.Series(design.y.to_numpy(), index=idx)
    X = pd.DataFrame(design.X.to_numpy(), index=idx, columns=design.X.columns)
    cl = pd.DataFrame(
        {c: design.frame[f"_cl_{c}"].to_numpy() for c in spec.cluster_vars}, index=idx
    )
    has_time = spec.time in spec.fixed_effects
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if not match:
            mod = PanelOLS(y, X, entity_effects=True, time_effects=has_time)
            return mod.fit(cov_type="clustered", clusters=cl)
        if len(spec.cluster_vars) == 1:
            Xc = X.copy()
            Xc.insert(0, "const", 1.0)
            if has_time:
                td = pd.get_dummies(
                    design.frame["_time"].to_numpy(), prefix="t", drop_first=True, dtype=float
                )
                td.index = idx
                Xc = pd.concat([Xc, td], axis=1)
            mod = PanelOLS(y, Xc, entity_effects=True)
            return mod.fit(cov_type="clustered", clusters=cl, debiased=True, group_debias=True)
        Xc = X.copy()
        Xc.insert(0, "const", 1.0)
        mod = PanelOLS(y, Xc, entity_effects=True, time_effects=has_time)
        return mod.fit(
            cov_type="clustered",
            clusters=cl,
            debiased=True,
            group_debias=True,
            auto_df=False,
            count_effects=False,
        )
