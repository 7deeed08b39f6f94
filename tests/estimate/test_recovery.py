"""Recovery of a known β by the package's TWFE and Mundlak fits on simulated
consortium panels (seeded, 200 replications): the 95% CIs must cover β with
a frequency inside the 99.9% binomial band around 0.95, and the estimate must
lie within 3 SE in at least 98% of replications."""

import numpy as np
import pytest
from scipy import stats

from conftest import TRUTH, simulate_panel
from consortia.estimate import fit

REPS = 200


def _band(reps, p=0.95, level=0.999):
    lo, hi = stats.binom.interval(level, reps, p)
    return lo / reps, hi / reps


@pytest.mark.slow
def test_twfe_coverage_and_three_se():
    spec = {
        "name": "rec",
        "outcome": "rd_per_member",
        "regressors": ["type_diversity"],
        "controls": ["n_members"],
        "estimator": "twfe",
    }
    cover, within3 = [], []
    for r in range(REPS):
        d = simulate_panel(n=40, T=6, seed=1000 + r)
        res = fit(spec, d)
        b, se = res.params["type_diversity"], res.std_errors["type_diversity"]
        lo, hi = res.conf_int["type_diversity"]
        cover.append(lo <= TRUTH["type_diversity"] <= hi)
        within3.append(abs(b - TRUTH["type_diversity"]) <= 3 * se)
    lo, hi = _band(REPS)
    assert lo <= np.mean(cover) <= hi, np.mean(cover)
    assert np.mean(within3) >= 0.98


def test_mundlak_recovers_lead_type_contrast_re_does_not_need_to():
    """Lead type is time-invariant: FE drops it, Mundlak (CRE) estimates its contrast.
    With a_i correlated with the time-varying regressors, Mundlak's slope is the FE slope."""
    d = simulate_panel(n=400, T=6, seed=11)
    base = {
        "name": "lead",
        "outcome": "rd_per_member",
        "regressors": ["type_diversity", "lead_type"],
        "controls": ["n_members"],
        "reference_levels": {"lead_type": "enterprise"},
    }
    fe = fit(dict(base, estimator="twfe"), d)
    assert "lead_type[university]" in fe.dropped_terms
    m = fit(dict(base, estimator="mundlak"), d)
    assert (
        abs(m.params["type_diversity"] - TRUTH["type_diversity"])
        < 4 * m.std_errors["type_diversity"]
    )
    assert m.params["type_diversity"] == np.float64(m.params["type_diversity"])
    assert abs(m.params["lead_type[university]"] - TRUTH["lead_university"]) < 0.5
