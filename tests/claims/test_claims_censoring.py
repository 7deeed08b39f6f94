"""Censoring: where ignoring right-censoring biases the time ratio, the pipeline's AFT does not.

Tasks of enterprise-led consortia take 0.75 times as long as those of university-led ones
(Weibull, shape 1.6). Each task is observed until a cut-off that falls uniformly within 2.5
years of its start, so about two thirds are censored, and more of the slower university-led
tasks than of the enterprise-led ones. Reading every censored duration as a completed cycle
(the naive analysis) shortens the university-led cycles most and pulls the time ratio towards
1; the same evaluator on the correctly flagged data recovers 0.75.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from consortia.claims import evaluate_claims, load_registry
from consortia.claims.verdict import CONTRADICTED, SUPPORTED

REGISTRY = Path(__file__).resolve().parents[2] / "config" / "claims.yaml"
TRUE_TIME_RATIO = 0.75


def censored_tasks(n_consortia: int = 1200, per: int = 3, seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    lead = np.where(rng.random(n_consortia) < 0.5, "enterprise", "university")
    industry = rng.choice(["machinery", "electronics"], n_consortia)
    cid = np.repeat(np.arange(n_consortia), per)
    scale = 2.6 * np.where(lead[cid] == "enterprise", TRUE_TIME_RATIO, 1.0)
    duration = scale * rng.weibull(1.6, cid.size)
    cutoff = rng.uniform(0, 2.5, cid.size)
    return pd.DataFrame(
        {
            "consortium_id": [f"C{i:04d}" for i in cid],
            "lead_type": lead[cid],
            "industry": industry[cid],
            "duration_years": np.minimum(duration, cutoff),
            "event": (duration <= cutoff).astype(float),
        }
    )


@pytest.fixture(scope="module")
def time_ratio_only():
    """The shipped breakthrough_speed record with its Weibull AFT test only, as the primary
    (no bootstrap)."""
    raw = yaml.safe_load(REGISTRY.read_text(encoding="utf-8"))
    record = next(c for c in raw["claims"] if c["id"] == "breakthrough_speed")
    record["tests"] = [
        {**t, "role": "primary"} for t in record["tests"] if t["name"] == "time_ratio"
    ]
    raw["claims"] = [record]
    return load_registry(raw)


def time_ratio(registry, tasks):
    return evaluate_claims(registry, None, tasks, seed=1)["breakthrough_speed"].test("time_ratio")


@pytest.mark.slow
def test_ignoring_censoring_biases_the_time_ratio_and_the_pipeline_does_not(time_ratio_only):
    tasks = censored_tasks()
    censored = 1 - tasks["event"].mean()
    assert 0.55 < censored < 0.8  # heavy censoring, as designed
    by_lead = 1 - tasks.groupby("lead_type")["event"].mean()
    assert by_lead["university"] > by_lead["enterprise"]  # the slower group is censored more

    aft = time_ratio(time_ratio_only, tasks)
    naive = time_ratio(time_ratio_only, tasks.assign(event=1.0))  # censored read as completed
    tolerance = 0.10  # the registry's band: ×/÷ e^0.1
    assert abs(math.log(aft.estimate / TRUE_TIME_RATIO)) < tolerance
    assert aft.ci_lower <= TRUE_TIME_RATIO <= aft.ci_upper
    assert aft.verdict == SUPPORTED
    assert abs(math.log(naive.estimate / TRUE_TIME_RATIO)) > tolerance
    assert naive.ci_lower > TRUE_TIME_RATIO  # biased towards 1, and confidently so
    assert naive.verdict == CONTRADICTED
    assert aft.details["censored"] == int((tasks["event"] == 0).sum())
