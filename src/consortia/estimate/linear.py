"""Linear models for continuous outcomes through pyfixest, and the FitResult every
estimator's fit is assembled into (:func:`assemble`, :func:`from_pyfixest`).

* ``ols``     pooled OLS, time effects absorbed (pyfixest ``feols``)
* ``twfe``    fixed effects (entity, and time if listed) absorbed (pyfixest)

``re`` and ``mundlak`` are in :mod:`.random_effects`. Standard errors follow one
convention (see :mod:`.vcov`).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from .design import Design
from .results import FitResult, inference, software_versions, term_estimates
from .spec import ESTIMATOR_LABELS, ModelSpec, VcovOptions
from .vcov import clustering_text, small_sample_text


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


def assemble(
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
        **term_estimates(lab, beta, se, stat, p, lo, hi),
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


def from_pyfixest(
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
        design = with_labels(design, dict(design.labels, Intercept="(Intercept)"))
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
    return assemble(
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
    return from_pyfixest(design, fit, fml, "ols", label=label)


def fit_twfe(design: Design) -> FitResult:
    fit, fml = run_pyfixest(design)
    fe = design.spec.fixed_effects
    label = ("Two-way fixed effects" if len(fe) >= 2 else "Fixed effects") + f" ({' + '.join(fe)})"
    r2 = {"within": fit._r2_within, "overall (incl. FE)": fit._r2}
    return from_pyfixest(design, fit, fml, "twfe", label=label, r2=r2)




def with_labels(design: Design, labels: dict[str, str]) -> Design:
    from dataclasses import replace

    return replace(design, labels=labels)


# ------------------------------------------------------------- cross-check
def _panel_index(design: Design) -> pd.MultiIndex:
    return pd.MultiIndex.from_arrays(
        [design.frame["_entity"].to_numpy(), design.frame["_time"].to_numpy()],
        names=["entity", "time"],
    )


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
