"""The verdict rules on hand-made (estimate, CI) inputs, at and around their boundaries."""

from __future__ import annotations

import math

import numpy as np
import pytest

from consortia.claims.verdict import (
    CONTRADICTED,
    INCONCLUSIVE,
    NOT_TESTABLE,
    SUPPORTED,
    VERDICTS,
    Claimed,
    Contrast,
    classify,
    classify_best,
    combine,
    equivalent,
    holm,
)

EPS = 1e-9


def judge(claimed: dict, lo: float, hi: float, rival=None) -> str:
    c = Claimed.from_dict(claimed)
    return classify(lo, hi, c.region(), c.default_rival() if rival is None else rival)


# ----------------------------------------------------------------- value claims

VALUE = {"value": 0.68, "tolerance": 0.05, "scale": "absolute"}  # region [0.63, 0.73]


@pytest.mark.parametrize(
    ("lo", "hi", "expected"),
    [
        (0.66, 0.70, SUPPORTED),  # around the claim
        (0.50, 0.64, SUPPORTED),  # excludes the claimed value, meets the band, excludes rival
        (0.74, 0.80, CONTRADICTED),  # wholly above the band
        (0.30, 0.44, CONTRADICTED),  # wholly below the band (and below the rival)
        (0.40, 0.64, INCONCLUSIVE),  # meets the band and covers the rival 0.45
        (0.40, 0.90, INCONCLUSIVE),  # covers everything
        # boundaries (closed intervals)
        (0.50, 0.63, SUPPORTED),  # touches the band's lower edge: still meets it
        (0.50, 0.63 - EPS, CONTRADICTED),  # misses it by a hair
        (0.73, 0.80, SUPPORTED),  # touches the upper edge
        (0.73 + EPS, 0.80, CONTRADICTED),
        (0.45, 0.70, INCONCLUSIVE),  # lower bound exactly at the rival: rival inside
        (0.45 + EPS, 0.70, SUPPORTED),
    ],
)
def test_value_claim_boundaries(lo, hi, expected):
    assert judge(VALUE, lo, hi, rival=0.45) == expected


def test_log_scale_region_is_multiplicative():
    c = Claimed.from_dict({"value": 0.75, "tolerance": 0.1, "scale": "log"})
    ((lo, hi),) = c.region()
    assert lo == pytest.approx(0.75 * math.exp(-0.1))
    assert hi == pytest.approx(0.75 * math.exp(0.1))
    # a time ratio near 1 with a tight CI contradicts "25 percent faster"
    assert classify(0.90, 1.05, c.region(), 1.0) == CONTRADICTED
    assert classify(0.70, 0.95, c.region(), 1.0) == SUPPORTED
    assert classify(0.70, 1.05, c.region(), 1.0) == INCONCLUSIVE
    # the 'speed 25% higher' reading (time ratio 0.8) lies inside the band
    assert lo < 0.8 < hi


# ----------------------------------------------------------------- thresholds, directions


@pytest.mark.parametrize(
    ("lo", "hi", "expected"),
    [
        (0.61, 0.70, SUPPORTED),
        (0.60 + EPS, 0.70, SUPPORTED),
        (0.60, 0.70, INCONCLUSIVE),  # the threshold itself is not ruled out
        (0.55, 0.65, INCONCLUSIVE),
        (0.50, 0.60, INCONCLUSIVE),  # touches the claim region [0.6, inf)
        (0.50, 0.60 - EPS, CONTRADICTED),
    ],
)
def test_above_threshold(lo, hi, expected):
    assert judge({"above": 0.6}, lo, hi) == expected


def test_threshold_tolerance_widens_the_claim_region():
    # "over 0.6" with tolerance 0.02 reads "over 0.58": the rival defaults to that edge
    assert judge({"above": 0.6}, 0.585, 0.595) == CONTRADICTED
    assert Claimed.from_dict({"above": 0.6, "tolerance": 0.02}).default_rival() == 0.58
    assert judge({"above": 0.6, "tolerance": 0.02}, 0.585, 0.595) == SUPPORTED
    assert judge({"above": 0.6, "tolerance": 0.02}, 0.575, 0.595) == INCONCLUSIVE
    assert judge({"above": 0.6, "tolerance": 0.02}, 0.50, 0.579) == CONTRADICTED
    assert judge({"below": 0.3}, 0.1, 0.29) == SUPPORTED
    assert judge({"below": 0.3}, 0.31, 0.4) == CONTRADICTED


@pytest.mark.parametrize(
    ("claimed", "lo", "hi", "expected"),
    [
        ({"direction": "positive"}, 0.1, 0.3, SUPPORTED),
        ({"direction": "positive"}, -0.3, -0.1, CONTRADICTED),
        ({"direction": "positive"}, -0.1, 0.1, INCONCLUSIVE),
        ({"direction": "positive"}, -0.1, 0.0, INCONCLUSIVE),  # touches 0 (closed)
        ({"direction": "positive"}, 0.0, 0.2, INCONCLUSIVE),  # 0 inside
        ({"direction": "positive", "min_effect": 0.05}, 0.01, 0.04, CONTRADICTED),
        ({"direction": "positive", "min_effect": 0.05}, 0.01, 0.06, SUPPORTED),
        ({"direction": "negative"}, -0.3, -0.1, SUPPORTED),
        ({"direction": "negative"}, 0.1, 0.3, CONTRADICTED),
        ({"direction": "nonzero"}, -0.3, -0.1, SUPPORTED),
        ({"direction": "nonzero"}, 0.1, 0.3, SUPPORTED),
        ({"direction": "nonzero"}, -0.1, 0.1, INCONCLUSIVE),
        # with a smallest effect of interest, a CI inside (−d, d) rules the claim out
        ({"direction": "nonzero", "min_effect": 0.2}, -0.1, 0.1, CONTRADICTED),
        ({"direction": "nonzero", "min_effect": 0.2}, -0.1, 0.25, INCONCLUSIVE),
    ],
)
def test_directions(claimed, lo, hi, expected):
    assert judge(claimed, lo, hi) == expected


def test_equivalence_tost_flag():
    region = Claimed.from_dict(VALUE).region()
    assert equivalent(0.64, 0.72, region)
    assert equivalent(0.63, 0.73, region)  # closed
    assert not equivalent(0.62, 0.70, region)


def test_rival_inside_the_claim_region_is_refused():
    with pytest.raises(ValueError, match="inside the claim region"):
        judge({"above": 0.6, "tolerance": 0.02}, 0.585, 0.595, rival=0.6)
    with pytest.raises(ValueError, match="inside the claim region"):
        judge(VALUE, 0.6, 0.7, rival=0.68)


def test_invalid_interval_raises():
    region = Claimed.from_dict(VALUE).region()
    with pytest.raises(ValueError, match="exceeds"):
        classify(0.7, 0.6, region, 0.45)
    with pytest.raises(ValueError, match="NaN"):
        classify(math.nan, 0.6, region, 0.45)


def test_claimed_describe_and_kinds():
    assert Claimed.from_dict(VALUE).describe() == "0.68 ± 0.05"
    assert Claimed.from_dict({"above": 0.8}).describe() == "> 0.8"
    assert Claimed.from_dict({"direction": "nonzero"}).describe() == "≠ 0"
    assert Claimed.from_dict({"best": "a", "over": ["b"]}).kind == "best"
    with pytest.raises(ValueError):
        Claimed.from_dict({"best": "a", "over": ["b"]}).region()


# ----------------------------------------------------------------- best, Holm, combining


def contrast(est, p_holm):
    return Contrast("enterprise", "x", est, 0.1, p_holm, est - 0.2, est + 0.2, p_holm=p_holm)


def test_classify_best():
    a = 0.05
    assert classify_best([contrast(0.3, 0.001), contrast(0.2, 0.04)], a) == SUPPORTED
    assert classify_best([contrast(0.3, 0.001), contrast(0.2, 0.05)], a) == INCONCLUSIVE
    assert classify_best([contrast(0.3, 0.001), contrast(-0.2, 0.01)], a) == CONTRADICTED
    assert classify_best([contrast(0.3, 0.001), contrast(-0.2, 0.2)], a) == INCONCLUSIVE


def test_holm_matches_hand_computation():
    p = [0.01, 0.04, 0.03, 0.005]
    # sorted: 0.005*4=0.02, 0.01*3=0.03, 0.03*2=0.06, 0.04*1=0.04 -> monotone 0.06
    assert holm(p) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm([]) == [] and holm([0.7]) == [0.7]


def test_holm_matches_statsmodels():
    from statsmodels.stats.multitest import multipletests

    rng = np.random.default_rng(4)
    for size in (2, 7, 30):
        p = rng.uniform(0, 0.2, size) ** 2
        p[0] = p[1]  # ties
        assert holm(p) == pytest.approx(list(multipletests(p, method="holm")[1]), abs=1e-15)


@pytest.mark.parametrize(
    ("verdicts", "expected"),
    [
        ([SUPPORTED, SUPPORTED], SUPPORTED),
        ([SUPPORTED, INCONCLUSIVE], INCONCLUSIVE),
        ([SUPPORTED, CONTRADICTED], CONTRADICTED),
        ([INCONCLUSIVE, CONTRADICTED], CONTRADICTED),
        ([SUPPORTED, NOT_TESTABLE], SUPPORTED),  # rests on the testable part (flagged)
        ([NOT_TESTABLE, NOT_TESTABLE], NOT_TESTABLE),
    ],
)
def test_combine(verdicts, expected):
    assert combine(verdicts) == expected


def test_the_four_verdicts_of_the_issue():
    assert VERDICTS == ("supported", "contradicted", "inconclusive", "not_testable")
