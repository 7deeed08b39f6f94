"""Structure → conduct → performance models, with specifications as data.

Public API::

    spec = ModelSpec.from_dict({...})          # a config entry
    validate_spec(spec, panel.columns)         # SpecError naming missing variables
    res = fit(spec, panel)                     # FitResult
    res.to_frame(); res.to_json(path); FitResult.from_json(path)
    re_vs_fe_tests(spec, panel)                # {"hausman": ..., "mundlak": ...}

Estimators (one :class:`Estimator` record each, in :mod:`consortia.estimate.estimators`;
:func:`register` adds one): ``ols`` (pooled, time effects), ``twfe``, ``re``, ``mundlak``,
``ppml`` (counts), ``fraclogit`` (rates in [0, 1]).  Standard errors are
clustered by the entity by default, CR1 as Stata reghdfe / R fixest (see
:mod:`consortia.estimate.vcov`).
"""

from __future__ import annotations

import pandas as pd

from . import estimators  # noqa: F401  (registers the built-in estimators)
from .design import Design, SampleReport, build_design
from .identification import identify
from .mediation import mediation, mediation_from_dict
from .mediation_refit import mediation_refit
from .mediation_result import MediationResult
from .results import FitResult
from .spec import (
    ESTIMATORS,
    Estimator,
    ModelSpec,
    NotEstimable,
    SpecError,
    VcovOptions,
    load_specs,
    register,
    validate_spec,
)
from .specification_tests import SpecificationTest, hausman, mundlak_test, re_vs_fe_tests
from .system import system_fit
from .tables import mediation_table, regression_table
from .vcov import CR1_TEXT

__all__ = [
    "CR1_TEXT",
    "ESTIMATORS",
    "Design",
    "Estimator",
    "FitResult",
    "ModelSpec",
    "NotEstimable",
    "SampleReport",
    "SpecError",
    "SpecificationTest",
    "VcovOptions",
    "build_design",
    "fit",
    "hausman",
    "identify",
    "load_specs",
    "mundlak_test",
    "register",
    "re_vs_fe_tests",
    "validate_spec",
]


def fit(spec: ModelSpec | dict, data: pd.DataFrame) -> FitResult:
    """Fit one model spec on the consortium-year panel: the columns the sample does not
    identify are left out with the reason (:func:`identify`); :class:`NotEstimable` when
    nothing of interest is left."""
    spec = spec if isinstance(spec, ModelSpec) else ModelSpec.from_dict(spec)
    design = identify(build_design(spec, data))
    return ESTIMATORS[spec.estimator].fit(design)


# --- mediation, the SUR system view, regression / mediation tables (issue 3); the figures
# are in consortia.estimate.figures (imported on its own: it loads matplotlib)
__all__ += [
    "MediationResult",
    "mediation",
    "mediation_from_dict",
    "mediation_refit",
    "mediation_table",
    "regression_table",
    "system_fit",
]
