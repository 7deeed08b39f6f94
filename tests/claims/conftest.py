"""Shared fixtures for the claims tests: the shipped registry, simulated worlds with a
known truth (clean tables → consortia.measures → the claims), and the demo dataset."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
import yaml

from consortia import measures
from consortia.claims import evaluate_claims, load_registry
from consortia.simulate import simulate_world

ROOT = Path(__file__).resolve().parents[2]
REGISTRY = ROOT / "config" / "claims.yaml"
SEED = 20251220

# A world where the review's numbers are false and enterprise-led consortia have no
# advantage at all: they transfer at the other-led rate (0.45, gap 0) and complete tasks as
# fast as university-led ones (time ratio 1.0); the other claimed quantities are moved off
# their tolerance bands (enterprise share 0.50, lead weight 0.50, industrial share 0.70,
# subsidy elasticity −0.2).
FALSE_TRUTH = {
    "tasks": {"time_ratio": {"enterprise": 1.0}},
    "performance": {"transfer": {"target_rate_enterprise_led": 0.45}},
    "lead_type_shares": {"enterprise": 0.50, "university": 0.28},
    "structure": {"lead_decision_weight_mean": {"enterprise": 0.50}},
    "conduct": {"industrial_task_share_mean": {"enterprise": 0.70}},
    "rd": {"subsidy_elasticity": {"traditional": -0.2, "high_tech": -0.2}},
}
FALSE_CLAIMS = [
    "transfer_rate",
    "breakthrough_speed",
    "enterprise_led_share",
    "lead_decision_weight",
    "industrial_task_share",
    "subsidy_crowding_in",
]


@dataclass
class WorldData:
    panel: pd.DataFrame
    tasks: pd.DataFrame
    consortia: pd.DataFrame
    truth: dict


def world_data(n: int, seed: int, truth: dict | None = None) -> WorldData:
    """A clean simulated world passed through the measures, as the workflow would."""
    w = simulate_world(n_consortia=n, n_years=8, seed=seed, truth=truth, mess={})
    panel = measures.build_panel(w.consortia, w.members, w.panel)
    tasks = measures.build_tasks(
        w.tasks, w.consortia, censoring_date=w.truth["simulator"]["cutoff_date"]
    )
    return WorldData(panel=panel, tasks=tasks, consortia=w.consortia, truth=w.truth)


@pytest.fixture(scope="session")
def make_world():
    """:func:`world_data`, for a test that needs a world of its own size."""
    return world_data


@pytest.fixture(scope="session")
def study_seed() -> int:
    return SEED


@pytest.fixture(scope="session")
def registry():
    return load_registry(REGISTRY)


@pytest.fixture
def registry_raw() -> dict:
    return copy.deepcopy(yaml.safe_load(REGISTRY.read_text(encoding="utf-8")))


@pytest.fixture(scope="session")
def true_world() -> WorldData:
    return world_data(1000, seed=11)


@pytest.fixture(scope="session")
def true_results(registry, true_world):
    d = true_world
    return evaluate_claims(registry, d.panel, d.tasks, consortia=d.consortia, seed=SEED)


@pytest.fixture(scope="session")
def false_world() -> WorldData:
    return world_data(1000, seed=12, truth=FALSE_TRUTH)


@pytest.fixture(scope="session")
def false_results(registry, false_world):
    d = false_world
    return evaluate_claims(
        registry, d.panel, d.tasks, consortia=d.consortia, seed=SEED, only=FALSE_CLAIMS
    )


@pytest.fixture(scope="session")
def small_world() -> WorldData:
    return world_data(200, seed=3)


@pytest.fixture(scope="session")
def demo_tables():
    """The committed demo dataset, read and cleaned as the workflow does."""
    from consortia import workflow
    from consortia.config import load_config

    cfg = load_config(ROOT / "config" / "config.yaml", {"dataset": str(ROOT / "data/raw/demo")})
    plan = workflow.plan_dataset(cfg["dataset"], cfg["tables"], cfg["columns"])
    cleaned = workflow.read_and_clean(
        plan.files,
        cfg["tables"],
        cfg["columns"],
        cfg["org_type_synonyms"],
        cfg["industry_map"],
        cfg["money"],
    )
    t = cleaned.tables
    panel = measures.build_panel(t["consortia"], t["members"], t.get("panel"))
    tasks = measures.build_tasks(t["tasks"], t["consortia"], censoring_date=cfg["censoring_date"])
    return {"panel": panel, "tasks": tasks, "consortia": t["consortia"], "seed": cfg["seed"]}


@pytest.fixture(scope="session")
def demo_results(registry, demo_tables):
    d = demo_tables
    return evaluate_claims(
        registry, d["panel"], d["tasks"], consortia=d["consortia"], seed=d["seed"]
    )
