"""Linear models for continuous outcomes.

* ``ols``     pooled OLS, time effects absorbed (pyfixest ``feols``)
* ``twfe``    fixed effects (entity, and time if listed) absorbed (pyfixest)
* ``re``      random effects GLS, Swamy–Arora (linearmodels ``RandomEffects``),
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

import numpy as np
import pandas as pd

from .design import Design, entity_means, time_varying
from .results import FitResult, inference, software_versions
from .spec import ESTIMATOR_LABELS, ModelSpec, VcovOptions
from .vcov import clustering_text, sandwich, small_sample_text


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

    frame = design.frame if X is None else pd.concat([design.frame, X], axis=1)
    fml = design.formula(extra=None if X is None else list(X.columns))
    vcov, vcov_kwargs = pyfixest_vcov(design.spec, design)
    ssc = pyfixest_ssc(design.spec.vcov)
    est = pf.fepois if poisson else pf.feols
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = est(
            fml, data=frame, vcov=vcov, vcov_kwargs=vcov_kwargs, ssc=ssc, fixef_rm="singleton"
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
        dropped_terms=[design.labels.get(d, d) for d in (dropped or [])],
        notes=rep.messages() + list(notes or []),
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
def _panel_index(design: Design) -> pd.MultiIndex:
    return pd.MultiIndex.from_arrays(
        [design.frame["_entity"].to_numpy(), design.frame["_time"].to_numpy()],
        names=["entity", "time"],
    )


def _drop_collinear(X: pd.DataFrame, tol: float = 1e-9) -> tuple[pd.DataFrame, list[str]]:
    """Drop columns (last first) that make X rank deficient; returns kept frame and dropped names.

    A column is kept if the columns kept so far plus it have full rank: every singular
    value above ``tol`` times the largest absolute entry of those columns (at least 1).
    With X = QR, any set of columns of X has the singular values of the same columns of R,
    so one QR of the n × k matrix replaces an SVD of n rows per column (seconds per fit
    on a million rows).
    """
    A = X.to_numpy(dtype=float)
    if A.shape[1] == 0:
        return X, []
    R = np.linalg.qr(A, mode="r")
    column_max = np.abs(A).max(axis=0)
    keep: list[int] = []
    dropped: list[str] = []
    for j, c in enumerate(X.columns):
        trial = keep + [j]
        threshold = tol * max(1.0, column_max[trial].max())
        singular = np.linalg.svd(R[:, trial], compute_uv=False)
        if int((singular > threshold).sum()) == len(trial):
            keep.append(j)
        else:
            dropped.append(c)
    return X.iloc[:, keep], dropped


def run_random_effects(design: Design, X: pd.DataFrame):
    """linearmodels RandomEffects on [const, X]; returns (fit, exog, transformed X*, y*, residual e*)."""
    from linearmodels import RandomEffects

    idx = _panel_index(design)
    exog = pd.concat([pd.Series(1.0, index=X.index, name="const"), X], axis=1)
    exog, dropped = _drop_collinear(exog)
    y = design.y
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = RandomEffects(
            pd.Series(y.to_numpy(), index=idx, name=y.name),
            pd.DataFrame(exog.to_numpy(), index=idx, columns=exog.columns),
        ).fit()
    ent = design.frame["_entity"].to_numpy()
    th = res.theta
    if len(th) == len(ent):
        theta = th.to_numpy().ravel()
    else:  # one value per entity, indexed by entity
        theta = (
            pd.Series(th.iloc[:, 0].to_numpy(), index=th.index.get_level_values(0))
            .reindex(ent)
            .to_numpy()
        )
    Xm = exog.groupby(ent).transform("mean").to_numpy()
    ym = y.groupby(ent).transform("mean").to_numpy()
    Xs = exog.to_numpy() - theta[:, None] * Xm
    ys = y.to_numpy() - theta * ym
    beta = res.params[exog.columns].to_numpy()
    e = ys - Xs @ beta
    return res, exog, Xs, ys, e, dropped


def _re_vcov(design: Design, Xs: np.ndarray, e: np.ndarray) -> tuple[np.ndarray, int]:
    bread = np.linalg.inv(Xs.T @ Xs)
    k = Xs.shape[1]
    V, _, _ = sandwich(bread, Xs * e[:, None], design.clusters, design.spec.vcov, k)
    return V, k


def fit_re(design: Design) -> FitResult:
    res, exog, Xs, _ys, e, dropped = run_random_effects(design, design.X)
    V, k = _re_vcov(design, Xs, e)
    names = list(exog.columns)
    r2 = {
        "within": res.rsquared_within,
        "between": res.rsquared_between,
        "overall": res.rsquared_overall,
    }
    vd = res.variance_decomposition
    extra = {
        "theta_mean": float(np.mean(res.theta.to_numpy())),
        "sigma2_effects": float(vd["Effects"]),
        "sigma2_residual": float(vd["Residual"]),
        "rho": float(vd["Percent due to Effects"]),
    }
    labels = dict(design.labels, const="(Intercept)")
    design_l = _with_labels(design, labels)
    fml = design.formula().replace(" ~ ", " ~ 1 + ") + f"  [random effect: {design.spec.entity}]"
    notes = ["dropped as collinear: " + ", ".join(dropped)] if dropped else []
    return _assemble(
        design_l,
        "re",
        names,
        res.params[names].to_numpy(),
        V,
        fml,
        r2,
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
    tv = time_varying(design.X, design.entity)
    M = entity_means(design.X, design.entity, tv)
    # means that do not vary across entities (e.g. time dummies of a balanced panel) are
    # collinear with the constant: leave them out
    keep = [c for c in M.columns if M[c].std(ddof=0) > 1e-12]
    return M[keep]


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
        X = pd.concat([design.X, M], axis=1)
        re_, exog, Xs, _ys, e, dropped = run_random_effects(design, X)
        V, k = _re_vcov(design, Xs, e)
        names = list(exog.columns)
        r2 = {
            "within": re_.rsquared_within,
            "between": re_.rsquared_between,
            "overall": re_.rsquared_overall,
        }
        fml = design.formula(extra=list(M.columns)).replace(" ~ ", " ~ 1 + ") + (
            f"  [random effect: {design.spec.entity}]"
        )
        res = _assemble(
            design_l,
            "mundlak",
            names,
            re_.params[names].to_numpy(),
            V,
            fml,
            r2,
            True,
            k,
            label="Correlated random effects (Mundlak, RE)",
            dropped=dropped,
        )
        mean_terms = [labels[c] for c in M.columns if c in names]
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
