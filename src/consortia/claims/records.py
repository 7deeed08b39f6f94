"""The records of the claims registry: a :class:`Registry` of :class:`ClaimRecord`, each
with its :class:`TestSpec`. :mod:`.registry` builds them from ``config/claims.yaml``; the
methods (:mod:`.methods`) and the driver (:mod:`.driver`) read them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from .verdict import Claimed


@dataclass(frozen=True)
class TestSpec:
    """One test of a claim: an estimand, what the review claims about it, the rival value."""

    name: str
    role: str  # primary | secondary | cross_check
    estimand: str
    claimed: Claimed
    rival: float | None
    rival_label: str = ""
    requires: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    raw_claimed: Mapping[str, Any] = field(default_factory=dict)

    __test__ = False  # not a pytest class


@dataclass(frozen=True)
class ClaimRecord:
    id: str
    label: str
    quote: str
    section: str
    source: str
    estimand: str
    method: str
    comparison: str | tuple[str, ...] | None
    requires: Mapping[str, tuple[str, ...]]
    params: Mapping[str, Any]
    tests: tuple[TestSpec, ...]
    notes: str = ""

    def test(self, name: str) -> TestSpec:
        for t in self.tests:
            if t.name == name:
                return t
        raise KeyError(f"claim {self.id!r} has no test {name!r}")

    @property
    def primary(self) -> tuple[TestSpec, ...]:
        return tuple(t for t in self.tests if t.role == "primary")


@dataclass(frozen=True)
class Registry:
    version: int
    document: Mapping[str, str]
    ci_level: float
    power: float
    error_rate: float
    claims: tuple[ClaimRecord, ...]
    source: str = "<dict>"
    sha256: str = ""
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)

    @property
    def ids(self) -> list[str]:
        return [c.id for c in self.claims]

    def claim(self, claim_id: str) -> ClaimRecord:
        for c in self.claims:
            if c.id == claim_id:
                return c
        raise KeyError(f"no claim {claim_id!r} in the registry (ids: {self.ids})")

    def select(self, ids: Iterable[str]) -> Registry:
        """A registry with only the listed claims (in registry order)."""
        wanted = set(ids)
        unknown = wanted - set(self.ids)
        if unknown:
            raise KeyError(f"unknown claim id(s) {sorted(unknown)}")
        return replace(self, claims=tuple(c for c in self.claims if c.id in wanted))
