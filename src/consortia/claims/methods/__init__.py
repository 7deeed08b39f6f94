"""The evaluation methods of the claims registry, one module per family.

Each module enters its methods in :data:`consortia.claims.catalogue.EVALUATORS` with the
:func:`~consortia.claims.catalogue.evaluator` decorator when it is imported; this package
imports every family, and :mod:`..registry` and :mod:`..driver` import this package, so the
catalogue is complete wherever a claim is checked or evaluated. A new method family is one
more module here and one more name in the import below.
"""

from . import durations, effects, levels, mediation, rates, shares, single_case

__all__ = ["durations", "effects", "levels", "mediation", "rates", "shares", "single_case"]
