"""Shared fixtures: reference numbers, textbook data, a simulated consortium panel."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit

REF = Path(__file__).resolve().parents[1] / "reference"


@pytest.fixture(scope="session")
def published() -> dict:
    return json.loads((REF / "published.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def r_reference() -> dict:
    return json.loads((REF / "r_reference.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def petersen() -> pd.DataFrame:
    return pd.read_csv(REF / "petersen_test_data.csv")


@pytest.fixture(scope="session")
def grunfeld() -> pd.DataFrame:
    import statsmodels.api as sm

    g = sm.datasets.grunfeld.load_pandas().data
    g = g[g.firm != "American Steel"].reset_index(drop=True)
    g["year"] = g["year"].astype(int)
    return g


@pytest.fixture(scope="session")
def wagepan() -> pd.DataFrame:
    from linearmodels.datasets import wage_panel

    return wage_panel.load()


@pytest.fixture(scope="session")
def k401() -> pd.DataFrame:
    d = pd.read_csv(REF / "k401_wooldridge.csv")
    d["rate"] = d["prate"] / 100
    return d


LEADS = ("enterprise", "university", "research_institute")
TRUTH = {
    "type_diversity": 0.8,
    "n_members": 0.05,
    "lead_university": -0.3,
    "lead_research_institute": 0.2,
    "pois_type_diversity": 0.5,
    "frac_type_diversity": 1.0,
    "frac_n_members": -0.04,
}


def simulate_panel(
    n: int = 60, T: int = 8, seed: int = 0, unbalanced: bool = True, correlated: bool = True
) -> pd.DataFrame:
    """A consortium-year panel with design.md column names and a known truth (TRUTH).

    Continuous outcome rd_per_member = 1 + 0.8 type_diversity + 0.05 n_members
    + lead-type effects + a_i + λ_t + e; a_i is correlated with the regressors
    when ``correlated`` (so RE is inconsistent, FE/Mundlak are not).
    Counts: patents_filed ~ Poisson(exp(0.2 + 0.5 type_diversity + a_i/2 + λ_t)).
    Rate: transfer_rate ~ Beta with mean Λ(−0.5 + 1.0 type_diversity − 0.04 n_members).
    """
    rng = np.random.default_rng(seed)
    ids = np.array([f"C{i:03d}" for i in range(n)])
    lead = rng.choice(LEADS, size=n)
    a = rng.normal(0, 1, n)
    rows = []
    years = np.arange(2015, 2015 + T)
    lam = rng.normal(0, 0.3, T)
    for i in range(n):
        start = rng.integers(0, 3) if unbalanced else 0
        for t in range(start, T):
            rows.append((i, t))
    idx = np.array(rows)
    i, t = idx[:, 0], idx[:, 1]
    m = len(idx)
    div = 0.4 + 0.15 * rng.normal(size=m) + (0.3 * a[i] if correlated else 0.0) * 0.3
    nm = rng.poisson(6 + (2 * a[i] if correlated else 0).clip(-5, 5), size=m) + 1
    lead_eff = np.select(
        [lead[i] == "university", lead[i] == "research_institute"],
        [TRUTH["lead_university"], TRUTH["lead_research_institute"]],
        0.0,
    )
    e = rng.normal(0, 0.5, m) + rng.normal(0, 0.3, n)[i] * 0  # idiosyncratic
    y = 1 + TRUTH["type_diversity"] * div + TRUTH["n_members"] * nm + lead_eff + a[i] + lam[t] + e
    mu_p = np.exp(0.2 + TRUTH["pois_type_diversity"] * div + 0.5 * a[i] + lam[t])
    counts = rng.poisson(mu_p)
    mu_f = expit(-0.5 + TRUTH["frac_type_diversity"] * div + TRUTH["frac_n_members"] * nm)
    phi = 20.0
    rate = rng.beta(mu_f * phi, (1 - mu_f) * phi)
    return pd.DataFrame(
        {
            "consortium_id": ids[i],
            "year": years[t],
            "lead_type": lead[i],
            "type_diversity": div,
            "n_members": nm.astype(float),
            "rd_per_member": y,
            "patents_filed": counts.astype(float),
            "transfer_rate": rate,
            "industry": np.where(i % 2 == 0, "ICT", "biotech"),
        }
    )


@pytest.fixture
def panel() -> pd.DataFrame:
    return simulate_panel()
