"""Model-free medians (consortia.claims.survival) against lifelines and a known truth."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from lifelines import KaplanMeierFitter

from consortia.claims.catalogue import Context, Unavailable
from consortia.claims.methods.durations import _standardised_median_ratio
from consortia.claims.survival import standardised_median_draws


def km_median(t, e) -> float:
    """The first time lifelines' Kaplan–Meier curve is at or below one half (inf if never;
    a curve at exactly one half counts, whatever the rounding of its running product)."""
    from lifelines import KaplanMeierFitter

    curve = KaplanMeierFitter().fit(t, e).survival_function_.iloc[:, 0]
    reached = curve[curve <= 0.5 + 1e-12]
    return float(reached.index[0]) if len(reached) else math.inf


def km_curve(t, e, grid):
    """lifelines' Kaplan–Meier S(t) on a grid of times (right-continuous steps)."""
    kmf = KaplanMeierFitter().fit(t, e)
    return kmf.survival_function_at_times(grid).to_numpy()


def first_half(grid, surv):
    hit = np.flatnonzero(surv <= 0.5)
    return grid[hit[0]] if hit.size else math.inf


def tasks(n_per_cell: int, ratio: float, seed: int, censor_at: float = 6.0):
    """Two strata with different baseline scales and a different share of group 1 in each
    (so the strata confound a crude comparison); group 1's times are ``ratio`` × group 0's
    within every stratum (an accelerated failure time world, log-normal)."""
    rng = np.random.default_rng(seed)
    rows = []
    for k, (scale, share1) in enumerate(((1.0, 0.8), (3.0, 0.2))):
        n1 = int(2 * n_per_cell * share1)
        n0 = 2 * n_per_cell - n1
        for g, n in ((1, n1), (0, n0)):
            times = scale * np.exp(rng.normal(0, 0.6, n)) * (ratio if g else 1.0)
            rows.append((np.minimum(times, censor_at), (times <= censor_at).astype(float),
                         np.full(n, g), np.full(n, k)))
    t, e, g, k = (np.concatenate(parts) for parts in zip(*rows))
    return t, e, g, k


def test_one_stratum_is_the_kaplan_meier_median_of_each_group():
    t, e, g, _ = tasks(300, 0.7, seed=1)
    codes = np.arange(len(t))
    m1, m0 = standardised_median_draws(
        t, e, g, np.zeros(len(t), dtype=int), codes, np.ones((1, len(t)), dtype=np.int64)
    )
    assert m1[0] == km_median(t[g == 1], e[g == 1])
    assert m0[0] == KaplanMeierFitter().fit(t[g == 0], e[g == 0]).median_survival_time_


def test_a_bootstrap_draw_equals_the_hand_made_standardisation_of_its_rows():
    t, e, g, k = tasks(60, 0.7, seed=2)
    clusters = np.arange(len(t)) // 3  # three tasks per consortium
    rng = np.random.default_rng(3)
    n_clusters = clusters.max() + 1
    counts = np.stack([np.bincount(rng.integers(0, n_clusters, n_clusters),
                                   minlength=n_clusters) for _ in range(4)])
    m1, m0 = standardised_median_draws(t, e, g, k, clusters, counts)
    grid = np.unique(t)
    for b in range(len(counts)):
        rows = np.repeat(np.arange(len(t)), counts[b][clusters])
        tb, eb, gb, kb = t[rows], e[rows], g[rows], k[rows]
        weights = np.array([np.mean(kb == s) for s in (0, 1)])
        for group, median in ((1, m1[b]), (0, m0[b])):
            mixture = sum(
                weights[s] * km_curve(tb[(gb == group) & (kb == s)],
                                      eb[(gb == group) & (kb == s)], grid)
                for s in (0, 1)
            )
            assert median == pytest.approx(first_half(grid, mixture)), (b, group)


def test_the_standardised_ratio_recovers_the_time_ratio_the_crude_one_misses():
    t, e, g, k = tasks(4000, 0.75, seed=4)
    codes = np.arange(len(t))
    one = np.ones((1, len(t)), dtype=np.int64)
    m1, m0 = standardised_median_draws(t, e, g, k, codes, one)
    assert m1[0] / m0[0] == pytest.approx(0.75, abs=0.03)
    crude = km_median(t[g == 1], e[g == 1]) / km_median(t[g == 0], e[g == 0])
    assert crude < 0.5  # group 1 sits mostly in the fast stratum


def test_a_draw_without_both_groups_in_a_stratum_uses_the_others():
    t, e, g, k = tasks(50, 0.7, seed=5)
    codes = np.arange(len(t))
    counts = np.ones((1, len(t)), dtype=np.int64)
    counts[0, (k == 1) & (g == 1)] = 0  # stratum 1 keeps only group 0 in this draw
    m1, m0 = standardised_median_draws(t, e, g, k, codes, counts)
    s0 = k == 0
    assert m1[0] == km_median(t[s0 & (g == 1)], e[s0 & (g == 1)])
    assert m0[0] == km_median(t[s0 & (g == 0)], e[s0 & (g == 0)])
    counts[0, k == 0] = 0  # and now stratum 0 has no tasks at all: nothing is comparable
    m1, m0 = standardised_median_draws(t, e, g, k, codes, counts)
    assert math.isnan(m1[0]) and math.isnan(m0[0])


def test_bootstrap_draws_reaching_neither_median_are_counted_not_taken_for_missing_strata():
    """Half the consortia of each group see both their tasks break through, half neither:
    each sample median is just reached, and a draw misses it in either group about half the
    time, so about a quarter of the draws have no ratio. They are named as such (not as
    draws without a stratum) and leave the test without an interval."""
    rng = np.random.default_rng(11)
    rows = []
    for lead in ("enterprise", "university"):
        for i in range(40):
            broke = i % 2 == 0
            for _ in range(2):
                time = rng.uniform(0.5, 5.0) if broke else 10.0
                rows.append((f"{lead[0]}{i}", lead, time, broke))
    d = pd.DataFrame(rows, columns=["consortium_id", "lead_type", "T", "E"])
    ctx = Context(0.95, 0.05, np.random.SeedSequence(1), frozenset({"median_ratio"}))
    result = _standardised_median_ratio(d, "enterprise", "university", [], 199, ctx, {})
    assert isinstance(result, Unavailable)
    assert " 0 have no stratum" in result.reason and "reach neither median" in result.reason
