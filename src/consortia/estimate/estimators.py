"""The estimators, one :class:`~consortia.estimate.spec.Estimator` record each.

Specs, :func:`consortia.estimate.fit`, the design (absorbed fixed effects), regression
tables (the Estimator row and its notes) and figures (families) all read these records;
``config/schemas/models.schema.yaml`` lists the names with a fit function (a test checks).
Adding an estimator: its fit function (``Design -> FitResult``), a record here, and its
name in the schema's ``estimator`` enum.
"""

from __future__ import annotations

from .counts import fit_ppml
from .fractional import fit_fraclogit
from .linear import fit_ols, fit_twfe
from .random_effects import fit_mundlak, fit_re
from .spec import Estimator, register

register(
    Estimator(
        name="ols",
        label="Pooled OLS",
        short="OLS",
        fit=fit_ols,
        absorbs_fixed_effects=True,
    )
)
register(
    Estimator(
        name="twfe",
        label="Fixed effects (within)",
        short="FE",
        fit=fit_twfe,
        absorbs_fixed_effects=True,
        entity_effects="required",
    )
)
register(
    Estimator(
        name="re",
        label="Random effects (GLS, Swamy–Arora)",
        short="RE",
        fit=fit_re,
        needs_entity=True,
    )
)
register(
    Estimator(
        name="mundlak",
        label="Correlated random effects (Mundlak)",
        short="CRE",
        note="correlated random effects (Mundlak; consortium means not shown)",
        fit=fit_mundlak,
        needs_entity=True,
    )
)
register(
    Estimator(
        name="ppml",
        label="Poisson pseudo-maximum likelihood",
        short="PPML",
        note="Poisson pseudo-maximum likelihood",
        fit=fit_ppml,
        family="counts",
        absorbs_fixed_effects=True,
        entity_effects="allowed",
    )
)
register(
    Estimator(
        name="fraclogit",
        label="Fractional logit (Papke–Wooldridge QMLE)",
        short="Frac. logit",
        note="fractional logit (Papke–Wooldridge)",
        fit=fit_fraclogit,
        family="rates",
    )
)
# The equations of a system fit (consortia.estimate.system), estimated together.
register(
    Estimator(
        name="sur",
        label="Seemingly unrelated regressions",
        short="SUR",
        note="seemingly unrelated regressions",
        fit=None,
    )
)
