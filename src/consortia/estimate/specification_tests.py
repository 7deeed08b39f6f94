"""RE versus FE: the classical Hausman test and the cluster-robust Mundlak
(correlated random effects) test.

* Hausman (1978): H = (b_FE − b_RE)' [V_FE − V_RE]⁻¹ (b_FE − b_RE) over the
  coefficients both estimate (time-varying regressors and time dummies),
  with the *classical* (non-robust) covariances, as R ``plm::phtest`` and
  Stata ``hausman``.  Caveat: it is valid only if RE is fully efficient
  under H0 (homoskedastic, serially uncorrelated idiosyncratic errors);
  with clustered data it can be badly sized, and V_FE − V_RE need not be
  positive definite (a generalised inverse is then used, df = its rank).
* Mundlak (1978) / Wooldridge (2010, §10.7.3): add the entity means of the
  time-varying regressors to the RE (or pooled OLS) equation and test, with
  the cluster-robust covariance, that their coefficients are jointly zero.
  Robust to heteroskedasticity and serial correlation; the preferred test.
  In an unbalanced panel the means of the time dummies enter (and are
  tested) too (Wooldridge 2019, J. Econometrics 211:137–150).
"""

from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from .design import build_design, time_varying
from .linear import _drop_collinear, _panel_index, fit_mundlak, run_random_effects
from .spec import ModelSpec


@dataclass
class TestResult:
    name: str
    statistic: float
    df: int
    p_value: float
    distribution: str
    terms: list[str]
    robust: bool
    notes: list[str] = field(default_factory=list)
    extra: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


def _positive_definite(matrix: np.ndarray) -> bool:
    try:
        np.linalg.cholesky(matrix)
    except np.linalg.LinAlgError:
        return False
    return True


def hausman(spec: ModelSpec | dict, data: pd.DataFrame, sigmamore: bool = False) -> TestResult:
    """Classical Hausman test of RE against FE for the spec's regressors.

    ``sigmamore=True`` is Stata's ``hausman, sigmamore``: both covariance
    matrices are scaled with the RE estimate of the idiosyncratic variance.
    """
    from linearmodels import PanelOLS

    spec = spec if isinstance(spec, ModelSpec) else ModelSpec.from_dict(spec)
    spec = spec.replace(
        estimator="re", fixed_effects=tuple(f for f in spec.fixed_effects if f != spec.entity)
    )
    design = build_design(spec, data)
    re_, _exog, *_ = run_random_effects(design, design.X)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        re_classic = re_.model.fit(cov_type="unadjusted")
    tv = time_varying(design.X, design.entity)
    # FE columns: time dummies first, so that a regressor collinear with them and the entity
    # effects (e.g. experience = age trend) is the one left out, as a textbook FE spec does
    order = [c for c in design.time_dummies if c in tv] + [
        c for c in tv if c not in design.time_dummies
    ]
    within = design.X[order] - design.X[order].groupby(design.entity.to_numpy()).transform("mean")
    kept, absorbed = _drop_collinear(within)
    order = list(kept.columns)
    idx = _panel_index(design)
    Xfe = pd.DataFrame(design.X[order].to_numpy(), index=idx, columns=order)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fe = PanelOLS(
            pd.Series(design.y.to_numpy(), index=idx), Xfe, entity_effects=True, drop_absorbed=True
        ).fit(cov_type="unadjusted")
    common = [c for c in fe.params.index if c in re_classic.params.index]
    d = (fe.params[common] - re_classic.params[common]).to_numpy()
    Vd = fe.cov.loc[common, common].to_numpy() - re_classic.cov.loc[common, common].to_numpy()
    notes = ["classical (non-robust) covariances: valid only if RE is efficient under H0"]
    if absorbed:
        notes.append(
            "not identified under FE (collinear with the entity and time effects): "
            + ", ".join(design.labels.get(c, c) for c in absorbed)
        )
    if sigmamore:
        # Both covariances with the efficient (RE) estimate of the idiosyncratic
        # variance: the two estimates' sampling noise is what can make the
        # classical V_FE − V_RE indefinite and the statistic negative.
        Vd = (
            fe.cov.loc[common, common].to_numpy() * (re_classic.s2 / fe.s2)
            - re_classic.cov.loc[common, common].to_numpy()
        )
        notes.append("sigmamore: both covariances use the RE estimate of the error variance")
    if _positive_definite(Vd):
        H = float(d @ np.linalg.solve(Vd, d))
        q = len(common)
    else:
        notes.append("V_FE − V_RE is not positive definite: generalised inverse used, df = rank")
        H = float(d @ np.linalg.pinv(Vd) @ d)
        q = int(np.linalg.matrix_rank(Vd))
    labels = [design.labels.get(c, c) for c in common]
    return TestResult(
        "Hausman (classical, sigmamore)" if sigmamore else "Hausman (classical)",
        H,
        q,
        float(stats.chi2.sf(H, q)),
        "chi2",
        labels,
        False,
        notes,
        extra={
            "b_fe": dict(zip(labels, fe.params[common])),
            "b_re": dict(zip(labels, re_classic.params[common])),
        },
    )


def mundlak_test(spec: ModelSpec | dict, data: pd.DataFrame) -> TestResult:
    """Cluster-robust Wald test that the Mundlak means are jointly zero."""
    spec = spec if isinstance(spec, ModelSpec) else ModelSpec.from_dict(spec)
    spec = spec.replace(
        estimator="mundlak", fixed_effects=tuple(f for f in spec.fixed_effects if f != spec.entity)
    )
    res = fit_mundlak(build_design(spec, data))
    w = res.extra.get("mundlak_test")
    terms = res.extra.get("mean_terms", [])
    if not w:
        return TestResult(
            "Mundlak (cluster-robust)",
            np.nan,
            0,
            np.nan,
            "chi2",
            [],
            True,
            ["no time-varying regressor: nothing to test"],
        )
    notes = [f"covariance: {res.clustering}; {res.small_sample}"]
    extra = {k: w[k] for k in ("F", "df2", "p_F") if k in w}
    return TestResult(
        "Mundlak (cluster-robust)",
        w["chi2"],
        w["df"],
        w["p_chi2"],
        "chi2",
        terms,
        True,
        notes,
        extra=extra,
    )


def re_vs_fe_tests(spec: ModelSpec | dict, data: pd.DataFrame) -> dict[str, TestResult]:
    """Both tests for one spec: ``{"hausman": ..., "mundlak": ...}``.

    A negative classical Hausman statistic says nothing; it is then replaced
    by the sigmamore version, whose name and notes say so.
    """
    classical = hausman(spec, data)
    if classical.statistic < 0:
        replacement = hausman(spec, data, sigmamore=True)
        replacement.notes.append(
            f"the classical statistic was negative ({classical.statistic:.2f}): sigmamore reported"
        )
        classical = replacement
    return {"hausman": classical, "mundlak": mundlak_test(spec, data)}
