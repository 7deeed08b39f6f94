"""The results of evaluating the claims: a :class:`TestResult` per test, a
:class:`ClaimResult` per claim (its verdict, p-values, cross-check disagreements) and the
:class:`ClaimsResults` of a registry, as the driver (:mod:`.driver`) builds them and
``claims.json`` stores them (:mod:`.outputs`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class TestResult:
    name: str
    role: str
    estimand: str
    claimed: dict[str, Any]
    claimed_text: str
    rival: float | None
    rival_label: str
    region: list[list[float]] | None
    verdict: str
    reason: str = ""
    missing_columns: list[str] = field(default_factory=list)
    estimate: float | None = None
    ci_lower: float | None = None
    ci_upper: float | None = None
    ci_level: float | None = None
    se: float | None = None
    scale: str = "absolute"
    df: int | None = None
    ci_one_sided: list[float] | None = None  # the (1 − 2α) interval
    p_support: float | None = None  # p-value of "the claim is false" (verdict module)
    p_contradict: float | None = None  # p-value of "the claim is true"
    contradict_level: float | None = None  # α, or α/m for one of a claim's m primary tests
    n_obs: int | None = None
    n_clusters: int | None = None
    method: str = ""
    method_short: str = ""
    power: dict[str, Any] = field(default_factory=dict)
    contrasts: list[dict[str, Any]] | None = None
    details: dict[str, Any] = field(default_factory=dict)

    __test__ = False


@dataclass
class ClaimResult:
    id: str
    label: str
    quote: str
    section: str
    source: str
    estimand: str
    method: str
    comparison: Any
    verdict: str
    reason: str
    tests: list[TestResult]
    missing_columns: list[str] = field(default_factory=list)
    partial: bool = False
    notes: str = ""
    p_value: float | None = None
    p_holm: float | None = None
    # cross-checks whose verdict differs from the claim's
    disagreements: list[str] = field(default_factory=list)

    def test(self, name: str) -> TestResult:
        for t in self.tests:
            if t.name == name:
                return t
        raise KeyError(name)


@dataclass
class ClaimsResults:
    claims: list[ClaimResult]
    registry: dict[str, Any]
    settings: dict[str, Any]
    data: dict[str, Any]
    software: dict[str, str]

    def __getitem__(self, claim_id: str) -> ClaimResult:
        for c in self.claims:
            if c.id == claim_id:
                return c
        raise KeyError(f"no result for claim {claim_id!r}")

    @property
    def ids(self) -> list[str]:
        return [c.id for c in self.claims]

    @property
    def verdicts(self) -> dict[str, str]:
        return {c.id: c.verdict for c in self.claims}
