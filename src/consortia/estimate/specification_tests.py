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

Both tests are computed from stored fits: an RE fit carries what its Hausman
test needs (``extra["hausman"]``: the coefficients and classical covariances
of the RE and of the within regression on the same time-varying columns), a
Mundlak fit its Wald test. :func:`hausman` and :func:`mundlak_test` fit those
models from a spec and the data; the workflow reads the fitted files
(:func:`re_vs_fe_tests_from_fits`) and never refits.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from .results import FitResult
from .spec import ModelSpec


@dataclass
class SpecificationTest:
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


def _as_spec(spec: ModelSpec | dict, estimator: str) -> ModelSpec:
    spec = spec if isinstance(spec, ModelSpec) else ModelSpec.from_dict(spec)
    return spec.replace(
        estimator=estimator,
        fixed_effects=tuple(f for f in spec.fixed_effects if f != spec.entity),
    )


def hausman_from_fit(re_fit: FitResult, sigmamore: bool = False) -> SpecificationTest:
    """The classical Hausman test of a stored RE fit (its ``extra["hausman"]``).

    ``sigmamore=True`` is Stata's ``hausman, sigmamore``: both covariance
    matrices are scaled with the RE estimate of the idiosyncratic variance.
    """
    inputs = re_fit.extra["hausman"]
    labels = list(inputs["terms"])
    b_fe, b_re = np.asarray(inputs["b_fe"], float), np.asarray(inputs["b_re"], float)
    V_fe = np.asarray(inputs["V_fe"], float).reshape(len(labels), len(labels))
    V_re = np.asarray(inputs["V_re"], float).reshape(len(labels), len(labels))
    d = b_fe - b_re
    Vd = V_fe - V_re
    notes = ["classical (non-robust) covariances: valid only if RE is efficient under H0"]
    if inputs["not_identified"]:
        notes.append(
            "not identified under FE (collinear with the entity and time effects): "
            + ", ".join(inputs["not_identified"])
        )
    if sigmamore:
        # Both covariances with the efficient (RE) estimate of the idiosyncratic
        # variance: the two estimates' sampling noise is what can make the
        # classical V_FE − V_RE indefinite and the statistic negative.
        Vd = V_fe * (inputs["s2_re"] / inputs["s2_fe"]) - V_re
        notes.append("sigmamore: both covariances use the RE estimate of the error variance")
    if _positive_definite(Vd):
        H = float(d @ np.linalg.solve(Vd, d))
        q = len(labels)
    else:
        notes.append("V_FE − V_RE is not positive definite: generalised inverse used, df = rank")
        H = float(d @ np.linalg.pinv(Vd) @ d)
        q = int(np.linalg.matrix_rank(Vd))
    return SpecificationTest(
        "Hausman (classical, sigmamore)" if sigmamore else "Hausman (classical)",
        H,
        q,
        float(stats.chi2.sf(H, q)),
        "chi2",
        labels,
        False,
        notes,
        extra={
            "b_fe": dict(zip(labels, map(float, b_fe))),
            "b_re": dict(zip(labels, map(float, b_re))),
        },
    )


def hausman(
    spec: ModelSpec | dict, data: pd.DataFrame, sigmamore: bool = False
) -> SpecificationTest:
    """Classical Hausman test of RE against FE for the spec's regressors (fits the RE model)."""
    from . import fit

    return hausman_from_fit(fit(_as_spec(spec, "re"), data), sigmamore=sigmamore)


def mundlak_test_from_fit(mundlak_fit: FitResult) -> SpecificationTest:
    """The cluster-robust Wald test that the Mundlak means of a stored fit are jointly zero."""
    w = mundlak_fit.extra.get("mundlak_test")
    terms = mundlak_fit.extra.get("mean_terms", [])
    if not w:
        return SpecificationTest(
            "Mundlak (cluster-robust)",
            np.nan,
            0,
            np.nan,
            "chi2",
            [],
            True,
            ["no time-varying regressor: nothing to test"],
        )
    notes = [f"covariance: {mundlak_fit.clustering}; {mundlak_fit.small_sample}"]
    extra = {k: w[k] for k in ("F", "df2", "p_F") if k in w}
    return SpecificationTest(
        "Mundlak (cluster-robust)",
        w["chi2"],
        w["df"],
        w["p_chi2"],
        "chi2",
        list(terms),
        True,
        notes,
        extra=extra,
    )


def mundlak_test(spec: ModelSpec | dict, data: pd.DataFrame) -> SpecificationTest:
    """Cluster-robust Wald test that the Mundlak means are jointly zero (fits the model)."""
    from . import fit

    return mundlak_test_from_fit(fit(_as_spec(spec, "mundlak"), data))


def re_vs_fe_tests_from_fits(
    re_fit: FitResult, mundlak_fit: FitResult
) -> dict[str, SpecificationTest]:
    """Both tests from the stored RE fit and the Mundlak fit of the same specification.

    A negative classical Hausman statistic says nothing; it is then replaced
    by the sigmamore version, whose name and notes say so.
    """
    classical = hausman_from_fit(re_fit)
    if classical.statistic < 0:
        replacement = hausman_from_fit(re_fit, sigmamore=True)
        replacement.notes.append(
            f"the classical statistic was negative ({classical.statistic:.2f}): sigmamore reported"
        )
        classical = replacement
    return {"hausman": classical, "mundlak": mundlak_test_from_fit(mundlak_fit)}


def re_vs_fe_tests(spec: ModelSpec | dict, data: pd.DataFrame) -> dict[str, SpecificationTest]:
    """Both tests for one spec, fitting its RE and Mundlak models: ``{"hausman", "mundlak"}``."""
    from . import fit

    return re_vs_fe_tests_from_fits(
        fit(_as_spec(spec, "re"), data), fit(_as_spec(spec, "mundlak"), data)
    )
