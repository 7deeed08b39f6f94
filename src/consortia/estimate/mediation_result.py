"""A mediation analysis as plain data: :class:`MediationResult`, stored as JSON, from
which tables and figures are built without refitting."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from consortia.files import json_safe

from .results import json_payload, result_json

SCHEMA_VERSION = 1


QUANTITIES = ("a", "b", "direct", "indirect", "total")


QUANTITY_LABELS = {
    "a": "Path a (X on M)",
    "b": "Path b (M on Y, given X)",
    "direct": "Direct effect c'",
    "indirect": "Indirect effect a·b",
    "total": "Total effect c' + a·b",
}


@dataclass
class MediationResult:
    """A mediation analysis as plain data (JSON round trip: :meth:`to_json`)."""

    name: str
    treatment: str
    mediator: str
    outcome: str
    controls: list[str]
    fixed_effects: list[str]
    cluster: str
    absorbed_within: str | None  # fixed effect removed by within-group demeaning
    nobs: int
    n_clusters: int
    level: float
    n_boot: int
    seed: int
    estimates: dict[str, float]  # a, b, direct, indirect, total
    std_errors: dict[str, float]  # cluster-robust; indirect: Sobel (first-order delta)
    conf_int: dict[str, list[float]]  # analytic: t(G−1); indirect: normal with the Sobel SE
    boot_se: dict[str, float]  # SD of the replicates
    ci_percentile: dict[str, list[float]]
    ci_bca: dict[str, list[float]] | None
    bca: dict[str, dict[str, float]] | None  # z0, acceleration per quantity
    sobel: dict[str, float]  # se, z, p
    cov_ab: float  # cluster-robust covariance of â and b̂ (joint scores)
    df_inference: int
    clustering: str
    small_sample: str
    ci_method: str
    primary_ci: str  # which interval the tables headline ("percentile")
    terms_a: list[str]
    terms_b: list[str]
    n_degenerate: int = 0  # replicates whose design was singular (min-norm solution used)
    sample: str | None = None
    sample_report: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    method: str = "vectorised"  # or "refit"
    replicates: dict[str, list[float]] | None = None
    software: dict[str, str] = field(default_factory=dict)
    schema_version: int = SCHEMA_VERSION

    # ------------------------------------------------------------- accessors
    def replicate_frame(self) -> pd.DataFrame:
        """The bootstrap replicate estimates, one row per replicate."""
        if self.replicates is None:
            raise ValueError("this result was stored without its replicates")
        return pd.DataFrame({q: self.replicates[q] for q in QUANTITIES})

    def to_frame(self) -> pd.DataFrame:
        """One row per quantity: estimate, SEs, analytic / percentile / BCa CIs."""
        rows = []
        for q in QUANTITIES:
            bca = (self.ci_bca or {}).get(q, [math.nan, math.nan])
            rows.append(
                {
                    "model": self.name,
                    "quantity": q,
                    "estimate": self.estimates[q],
                    "std_error": self.std_errors[q],
                    "ci_lower": self.conf_int[q][0],
                    "ci_upper": self.conf_int[q][1],
                    "boot_se": self.boot_se[q],
                    "pct_lower": self.ci_percentile[q][0],
                    "pct_upper": self.ci_percentile[q][1],
                    "bca_lower": bca[0],
                    "bca_upper": bca[1],
                }
            )
        return pd.DataFrame(rows)

    # ------------------------------------------------------------------ JSON
    def to_dict(self, include_replicates: bool = True) -> dict[str, Any]:
        d = asdict(self)
        if not include_replicates:
            d["replicates"] = None
        return json_safe(d)

    def to_json(
        self, path: str | Path | None = None, indent: int = 1, include_replicates: bool = True
    ) -> str:
        return result_json(self.to_dict(include_replicates), path, indent)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> MediationResult:
        d = dict(d)
        if d.get("schema_version", SCHEMA_VERSION) != SCHEMA_VERSION:
            raise ValueError(f"unsupported MediationResult schema_version {d['schema_version']}")
        return cls(**_restore(d))

    @classmethod
    def from_json(cls, text_or_path: str | Path) -> MediationResult:
        return cls.from_dict(json_payload(text_or_path))


def _nan(x: Any) -> Any:
    if x is None:
        return math.nan
    if isinstance(x, list):
        return [_nan(v) for v in x]
    if isinstance(x, dict):
        return {k: _nan(v) for k, v in x.items()}
    return x


def _restore(d: dict[str, Any]) -> dict[str, Any]:
    for key in (
        "estimates",
        "std_errors",
        "conf_int",
        "boot_se",
        "ci_percentile",
        "ci_bca",
        "bca",
        "sobel",
        "replicates",
    ):
        if d.get(key) is not None:
            d[key] = _nan(d[key])
    if d.get("cov_ab") is None:
        d["cov_ab"] = math.nan
    return d
