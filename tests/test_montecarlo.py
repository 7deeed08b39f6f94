"""Monte Carlo validation of the claims (consortia.montecarlo): scoring against closed
forms and hand-computed tables, true estimands read from the simulator's truth,
seeded batches, and the Snakemake targets (dry run)."""

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from consortia import montecarlo as mc
from consortia.claims import load_registry
from consortia.render import figure as figures
from consortia.simulate import simulate_world
from consortia.simulate.truth import claim_truths

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "config" / "montecarlo.yaml"


def rows(estimate, lower, upper, *, true_value, rival, verdict, status, truth="t", test="x"):
    """Batch rows of one test over worlds, as run_batch writes them."""
    n = len(estimate)
    return pd.DataFrame(
        {
            "truth": truth,
            "n_consortia": 100,
            "batch": 0,
            "world": np.arange(n),
            "world_seed": np.arange(n),
            "claim": "c",
            "test": test,
            "role": "primary",
            "truth_kind": "value",
            "true_value": true_value,
            "truth_source": "closed form",
            "estimate": estimate,
            "ci_lower": lower,
            "ci_upper": upper,
            "se": (np.asarray(upper) - np.asarray(lower)) / (2 * 1.96),
            "scale": "absolute",
            "rival": rival,
            "verdict": verdict,
            "claim_status": status,
        },
        columns=mc.BATCH_COLUMNS,
    )


def test_summary_of_a_hand_computed_table():
    # θ = 1, rival 0: CIs [0.5, 1.5] [1.2, 2] [-0.1, 0.9] [0.9, 1.1] [-1, 3]
    lower = [0.5, 1.2, -0.1, 0.9, -1.0]
    upper = [1.5, 2.0, 0.9, 1.1, 3.0]
    estimate = [1.0, 1.6, 0.4, 1.0, 1.0]
    verdict = ["supported", "supported", "contradicted", "supported", "inconclusive"]
    batch = rows(estimate, lower, upper, true_value=1.0, rival=0.0, verdict=verdict, status="true")
    (s,) = mc.summarise(batch).to_dict("records")
    assert s["coverage"] == pytest.approx(3 / 5)  # worlds 1, 4, 5 contain θ = 1
    assert s["supported_if_true"] == pytest.approx(3 / 5)
    assert s["contradicted_if_true"] == pytest.approx(1 / 5)
    assert s["contradicted_if_true_mc_se"] == pytest.approx(math.sqrt(0.2 * 0.8 / 5))
    assert math.isnan(s["supported_if_false"]) and s["supported_if_false_worlds"] == 0
    assert s["share_supported"] == pytest.approx(3 / 5)
    assert s["share_inconclusive"] == pytest.approx(1 / 5)
    assert s["mean_estimate"] == pytest.approx(5.0 / 5)
    assert s["bias"] == pytest.approx(0.0)
    assert s["coverage_mc_se"] == pytest.approx(math.sqrt(0.6 * 0.4 / 5))
    assert s["coverage_in_target"] is False
    false = rows(estimate, lower, upper, true_value=1.0, rival=0.0, verdict=verdict,
                 status="false")
    (f,) = mc.summarise(false).to_dict("records")
    assert f["supported_if_false"] == pytest.approx(3 / 5) and f["supported_if_false_worlds"] == 5


def test_coverage_of_a_normal_mean_interval_matches_the_closed_form():
    # x̄ of n draws ~ N(θ, σ²): the interval x̄ ± c σ/√n covers θ with probability 2Φ(c) − 1
    rng = np.random.default_rng(1)
    theta, sigma, n, worlds = 2.0, 3.0, 25, 20000
    xbar = rng.normal(theta, sigma, size=(worlds, n)).mean(axis=1)
    half = sigma / math.sqrt(n)
    for c in (stats.norm.ppf(0.975), 1.0):
        batch = rows(
            xbar,
            xbar - c * half,
            xbar + c * half,
            true_value=theta,
            rival=theta - 1.0,
            verdict="supported",
            status="true",
        )
        (s,) = mc.summarise(batch).to_dict("records")
        closed_form = 2 * stats.norm.cdf(c) - 1  # 0.95, then 0.6827
        assert abs(s["coverage"] - closed_form) < 4 * math.sqrt(
            closed_form * (1 - closed_form) / worlds
        )


def test_worlds_without_an_estimate_count_as_worlds_not_as_misses():
    batch = rows(
        [0.2, np.nan],
        [0.1, np.nan],
        [0.3, np.nan],
        true_value=0.25,
        rival=0.0,
        verdict=["supported", "not_testable"],
        status="true",
    )
    (s,) = mc.summarise(batch).to_dict("records")
    assert s["estimated"] == 1 and s["worlds"] == 2
    assert s["coverage"] == 1.0  # over the world with an interval
    assert s["supported_if_true"] == 0.5  # a not_testable world supports nothing
    assert s["share_not_testable"] == 0.5


@pytest.fixture(scope="module")
def registry():
    return load_registry(ROOT / "config" / "claims.yaml")


@pytest.fixture(scope="module")
def truths():
    """Truth dicts of tiny worlds under the default truth and a slower-enterprise truth."""
    default = simulate_world(n_consortia=20, n_years=3, seed=1, mess={}).truth
    slower = simulate_world(
        n_consortia=20,
        n_years=3,
        seed=1,
        mess={},
        truth={
            "tasks": {"time_ratio": {"enterprise": 1.0}},
            "performance": {"transfer": {"target_rate_enterprise_led": 0.45}},
        },
    ).truth
    return default, slower


def test_true_estimands_follow_the_simulator_truth(registry, truths):
    default, slower = truths
    speed = registry.claim("breakthrough_speed")
    assert mc.true_estimand(default, speed, "median_ratio").value == pytest.approx(0.75)
    hazard = mc.true_estimand(default, speed, "hazard_ratio")
    assert hazard.value == pytest.approx(0.75**-1.6)  # Weibull shape 1.6: HR = TR^(−shape)
    assert mc.true_estimand(slower, speed, "median_ratio").value == 1.0
    gap = mc.true_estimand(slower, registry.claim("transfer_rate"), "gap")
    assert gap.value == pytest.approx(0.0)
    academic = registry.claim("academic_partner_conversion")
    assert mc.true_estimand(default, academic, "ratio_within_lead").value == pytest.approx(1.30)
    assert mc.true_estimand(default, academic, "ratio").value < 1.30  # pooled over lead types
    # P(Beta(0.65·25, 0.35·25) > 0.6), the lead's weight distribution in the simulator
    share = mc.true_estimand(default, registry.claim("lead_decision_weight"), "share_above")
    draws = np.random.default_rng(0).beta(0.65 * 25, 0.35 * 25, 400_000)
    assert share.value == pytest.approx((draws > 0.6).mean(), abs=0.003)
    assert mc.true_estimand(default, registry.claim("enterprise_led_best"), "patents") is None


def test_claim_status_uses_the_rules_true_and_false_sets(registry, truths):
    default, slower = truths

    def status(truth, claim, test):
        record = registry.claim(claim)
        return mc.claim_status(record, test, mc.true_estimand(truth, record, test))

    assert status(default, "transfer_rate", "level") == "true"
    assert status(default, "breakthrough_speed", "median_ratio") == "true"
    assert status(slower, "transfer_rate", "gap") == "false"  # 0 is outside 0.23 ± 0.05
    assert status(slower, "breakthrough_speed", "median_ratio") == "false"
    # equal hazards: "faster" (HR > 1) is false at the threshold's edge... the edge is true
    assert status(slower, "breakthrough_speed", "hazard_ratio") == "true"
    # the chain's sign is known, its standardised size is not
    assert status(default, "scp_chain", "members_via_collaboration") is None
    null = simulate_world(
        n_consortia=20, n_years=3, seed=1, mess={},
        truth={"conduct": {"a_collab_intensity_per_member": 0.0}},
    ).truth
    assert status(null, "scp_chain", "members_via_collaboration") == "false"
    positive = registry.claim("subsidy_crowding_in").test("elasticity").claimed
    record = registry.claim("subsidy_crowding_in")
    for value, expected in ((0.0, "false"), (positive.min_effect / 2, "neither"),
                            (positive.min_effect, "true")):
        true = mc.TrueEstimand(value, "value", "test")
        assert mc.claim_status(record, "elasticity", true) == expected
    assert mc.combined_status(["true", "false"]) == "false"
    assert mc.combined_status(["true", "true"]) == "true"
    assert mc.combined_status(["true", None]) is None


@pytest.fixture(scope="module")
def small_batches(registry):
    # claims without fixed-effects demeaning: pyfixest's iterative demeaning (tol 1e-8)
    # reproduces only to ~1e-7 across processes (see test_slurm)
    kwargs = {"n_years": 3, "registry": registry.select(["transfer_rate", "enterprise_led_share"])}
    first = mc.run_batch("claims_true", 2, 2, 40, 11, **kwargs)
    again = mc.run_batch("claims_true", 2, 2, 40, 11, **kwargs)
    other = mc.run_batch("claims_true", 3, 2, 40, 11, **kwargs)
    return first, again, other


def test_same_seed_same_batch(small_batches):
    first, again, other = small_batches
    pd.testing.assert_frame_equal(first, again)
    seeds = first.groupby("world")["world_seed"].unique().map(list).tolist()
    assert seeds == [[mc.world_seed(11, 2, 0)], [mc.world_seed(11, 2, 1)]]
    assert mc.world_seed(5, 0, 1) != mc.world_seed(5, 1, 0) != mc.world_seed(6, 0, 1)
    assert not np.allclose(first["estimate"].dropna(), other["estimate"].dropna())


def test_summary_step_writes_the_table_and_the_error_rate_figure(small_batches, tmp_path):
    paths = []
    for k, frame in enumerate(small_batches[::2]):
        paths.append(tmp_path / f"batch{k}.parquet")
        frame.to_parquet(paths[-1])
    config = mc.load_config(CONFIG)
    study = dict(config["studies"]["montecarlo_smoke"], truths=["claims_true"])
    summary = mc.summary_step(
        paths,
        tmp_path / "coverage",
        tmp_path / "errors",
        study,
        {"claims_true": config["truths"]["claims_true"]},
        registry_path=ROOT / config["registry"],
    )
    table = pd.read_csv(tmp_path / "coverage.csv")
    assert len(table) == len(summary) and table["worlds"].eq(4).all()
    level = table[(table["claim"] == "transfer_rate") & (table["test"] == "level")].iloc[0]
    assert level["true_value"] == pytest.approx(0.68)  # the default truth's target
    for suffix in (".md", ".html", ".tex", ".png", ".pdf"):
        assert (
            (tmp_path / f"{'errors' if suffix in ('.png', '.pdf') else 'coverage'}{suffix}")
            .stat()
            .st_size
        )
    # the registry's labels, not ids; a caption instead of a title
    assert "Transfer rate of enterprise-led consortia" in (tmp_path / "coverage.md").read_text()
    assert "transfer_rate" not in (tmp_path / "coverage.md").read_text()
    assert "Supported although" not in (tmp_path / "errors.txt").read_text()
    assert "supported although it is false" in (tmp_path / "errors.txt").read_text()


def test_error_rate_figure_has_room_for_every_label():
    summary = pd.DataFrame(
        [
            {"truth": t, "n_consortia": n, "claim": c, "test": mc.CLAIM_LEVEL, "worlds": 100,
             "supported_if_false": 0.02, "supported_if_false_worlds": 100,
             "contradicted_if_true": float("nan"), "contradicted_if_true_worlds": 0}
            for t in ("a", "b") for n in (120, 1500) for c in ("x", "y")
        ]
        + [
            {"truth": "c", "n_consortia": 120, "claim": "x", "test": mc.CLAIM_LEVEL,
             "worlds": 100, "supported_if_false": float("nan"), "supported_if_false_worlds": 0,
             "contradicted_if_true": 0.04, "contradicted_if_true_worlds": 100}
        ]
    )  # fmt: skip
    truths = {t: {"label": f"A truth with a long label {t}"} for t in "abc"}
    labels = {"x": "Breakthrough cycle, enterprise- vs university-led", "y": "Another claim"}
    fig = mc.error_rate_figure(summary, truths, labels)
    assert figures.layout_problems(fig) == []


def test_config_names_are_checked(tmp_path):
    config = mc.load_config(CONFIG)
    study = config["studies"]["montecarlo"]
    assert study["worlds_per_truth"] >= 100 and len(study["truths"]) >= 3
    broken = CONFIG.read_text().replace("target_rate_enterprise_led: 0.45", "target_rate: 0.45")
    (tmp_path / "mc.yaml").write_text(broken)
    with pytest.raises(ValueError, match="truths.no_advantage.overrides: unknown parameter"):
        mc.load_config(tmp_path / "mc.yaml")
    assert mc.batch_sizes(10, 4) == [4, 4, 2]


@pytest.mark.slow
def test_montecarlo_is_a_separate_target_with_one_job_per_batch(tmp_path):
    def dry_run(*target):
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "snakemake",
                "--nolock",
                "-n",
                "--cores",
                "1",
                *target,
                "--config",
                f"results={tmp_path}",
            ],
            check=False,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
        return result.stdout

    config = mc.load_config(CONFIG)
    study = config["studies"]["montecarlo"]
    batches = sum(
        len(mc.truth_sizes(study, config["truths"][t])) for t in study["truths"]
    ) * len(mc.batch_sizes(study["worlds_per_truth"], study["batch_size"]))
    assert dry_run("montecarlo").count("rule montecarlo_batch:") == batches
    assert "montecarlo_batch" not in dry_run()  # the demo run (`rule all`) stays fast


def test_the_simulators_truth_is_keyed_by_the_registrys_claims_and_tests():
    """truth.yaml names claims and tests by the registry's ids, so TRUE_ESTIMANDS reaches them."""
    registry = load_registry(ROOT / "config" / "claims.yaml")
    assert set(claim_truths()) <= set(registry.ids)
    for claim_id, test in mc.TRUE_ESTIMANDS:
        assert test in [t.name for t in registry.claim(claim_id).tests], (claim_id, test)
