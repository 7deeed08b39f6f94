"""Fitted results as plain data: stored as JSON files, tables built from them
without refitting."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from consortia.files import json_safe
from consortia.files import software_versions as installed_versions

SCHEMA_VERSION = 1


@dataclass
class FitResult:
    name: str
    estimator: str  # ols | twfe | re | mundlak | ppml | fraclogit
    estimator_label: str
    outcome: str
    formula: str
    terms: list[str]
    params: dict[str, float]
    std_errors: dict[str, float]
    stats: dict[str, float]
    pvalues: dict[str, float]
    conf_int: dict[str, list[float]]  # term -> [lower, upper]
    vcov: list[list[float]]  # in the order of ``terms``
    stat_kind: str  # "t" or "z"
    df_inference: int | None  # t degrees of freedom (None for z)
    nobs: int
    n_clusters: dict[str, int]
    r2: dict[str, float]  # labelled: within / between / overall / pseudo ...
    fixed_effects: list[str]
    clustering: str
    small_sample: str
    sample: str | None = None
    sample_report: dict[str, Any] = field(default_factory=dict)
    dropped_terms: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    marginal_effects: dict[str, dict[str, float]] | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    spec: dict[str, Any] = field(default_factory=dict)
    software: dict[str, str] = field(default_factory=dict)
    level: float = 0.95
    schema_version: int = SCHEMA_VERSION

    # ------------------------------------------------------------- accessors
    @property
    def params_series(self) -> pd.Series:
        return pd.Series(self.params, dtype=float)[self.terms]

    @property
    def se_series(self) -> pd.Series:
        return pd.Series(self.std_errors, dtype=float)[self.terms]

    @property
    def vcov_frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.vcov, index=self.terms, columns=self.terms)

    def wald(self, terms: list[str]) -> dict[str, float]:
        """Wald test that the listed coefficients are jointly zero (stored V)."""
        b = self.params_series[terms].to_numpy()
        V = self.vcov_frame.loc[terms, terms].to_numpy()
        W = float(b @ np.linalg.solve(V, b))
        q = len(terms)
        out = {"chi2": W, "df": q, "p_chi2": float(stats.chi2.sf(W, q))}
        if self.df_inference:
            out.update(
                F=W / q, df2=self.df_inference, p_F=float(stats.f.sf(W / q, q, self.df_inference))
            )
        return out

    def to_frame(self) -> pd.DataFrame:
        """One row per reported quantity: coefficients, then (fraclogit) AMEs."""
        rows = []
        for t in self.terms:
            rows.append(
                {
                    "model": self.name,
                    "quantity": "coef",
                    "term": t,
                    "estimate": self.params[t],
                    "std_error": self.std_errors[t],
                    "statistic": self.stats[t],
                    "p_value": self.pvalues[t],
                    "ci_lower": self.conf_int[t][0],
                    "ci_upper": self.conf_int[t][1],
                }
            )
        for t, me in (self.marginal_effects or {}).items():
            rows.append(
                {
                    "model": self.name,
                    "quantity": "ame",
                    "term": t,
                    "estimate": me["estimate"],
                    "std_error": me["std_error"],
                    "statistic": me["statistic"],
                    "p_value": me["p_value"],
                    "ci_lower": me["ci_lower"],
                    "ci_upper": me["ci_upper"],
                }
            )
        return pd.DataFrame(rows)

    # ----------------------------------------------------------------- JSON
    def to_dict(self) -> dict[str, Any]:
        return json_safe(asdict(self))

    def to_json(self, path: str | Path | None = None, indent: int = 1) -> str:
        return result_json(self.to_dict(), path, indent)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> FitResult:
        d = dict(d)
        if d.get("schema_version", SCHEMA_VERSION) != SCHEMA_VERSION:
            raise ValueError(f"unsupported FitResult schema_version {d.get('schema_version')}")
        d = _restore(d)
        return cls(**d)

    @classmethod
    def from_json(cls, text_or_path: str | Path) -> FitResult:
        return cls.from_dict(json_payload(text_or_path))


def term_estimates(
    terms: list[str],
    beta: np.ndarray,
    se: np.ndarray,
    stat: np.ndarray,
    p: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
) -> dict[str, Any]:
    """The per-term fields of a :class:`FitResult` (``params`` … ``conf_int``), keyed by
    the term labels."""
    return {
        "params": dict(zip(terms, map(float, beta))),
        "std_errors": dict(zip(terms, map(float, se))),
        "stats": dict(zip(terms, map(float, stat))),
        "pvalues": dict(zip(terms, map(float, p))),
        "conf_int": {t: [float(a), float(b)] for t, a, b in zip(terms, lo, hi)},
    }


def result_json(payload: dict[str, Any], path: str | Path | None, indent: int) -> str:
    """The JSON text of a result's dict, also written to ``path`` (newline at the end) if
    given."""
    text = json.dumps(payload, indent=indent, ensure_ascii=False, allow_nan=False)
    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(text + "\n", encoding="utf-8")
    return text


def json_payload(text_or_path: str | Path) -> Any:
    """JSON given as its text (starting with "{") or as the path of a file."""
    p = Path(text_or_path) if not str(text_or_path).lstrip().startswith("{") else None
    text = p.read_text(encoding="utf-8") if p is not None else str(text_or_path)
    return json.loads(text)


def _restore(obj: Any) -> Any:
    """None inside numeric containers back to NaN (inverse of json_safe)."""
    num_maps = ("params", "std_errors", "stats", "pvalues", "r2")
    for k in num_maps:
        if k in obj and obj[k] is not None:
            obj[k] = {t: (math.nan if v is None else v) for t, v in obj[k].items()}
    if obj.get("conf_int"):
        obj["conf_int"] = {
            t: [math.nan if x is None else x for x in v] for t, v in obj["conf_int"].items()
        }
    if obj.get("vcov"):
        obj["vcov"] = [[math.nan if x is None else x for x in row] for row in obj["vcov"]]
    if obj.get("marginal_effects"):
        obj["marginal_effects"] = {
            t: {k: (math.nan if x is None else x) for k, x in me.items()}
            for t, me in obj["marginal_effects"].items()
        }
    return obj


def inference(
    params: np.ndarray, V: np.ndarray, df: int | None, level: float = 0.95
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """SEs, statistics, p-values and CI bounds; t(df) if df is given, else normal."""
    se = np.sqrt(np.clip(np.diag(V), 0, None))
    with np.errstate(divide="ignore", invalid="ignore"):
        stat = params / se
    if df:
        p = 2 * stats.t.sf(np.abs(stat), df)
        q = stats.t.ppf(0.5 + level / 2, df)
    else:
        p = 2 * stats.norm.sf(np.abs(stat))
        q = stats.norm.ppf(0.5 + level / 2)
    return se, stat, p, params - q * se, params + q * se


FIT_SOFTWARE = ("pyfixest", "linearmodels", "statsmodels", "pandas", "numpy")


def software_versions() -> dict[str, str]:
    """The versions a fit records of the packages that fit it."""
    return installed_versions(FIT_SOFTWARE)
