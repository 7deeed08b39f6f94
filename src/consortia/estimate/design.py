"""From a spec and the panel to the estimation sample and design matrix.

Every row that leaves the sample is counted, by reason: the spec's sample
filter, a missing value in a variable the model uses (counted per
variable), a singleton in an absorbed fixed effect (dropped as R fixest
does, iteratively), and for PPML a fixed-effect group whose outcome is
zero throughout (no information; fixest / ppmlhdfe drop it too).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .spec import ESTIMATORS, ModelSpec, SpecError, validate_spec


@dataclass
class SampleReport:
    n_input: int
    n_dropped_sample_filter: int = 0
    n_dropped_missing: int = 0
    missing_by_variable: dict[str, int] = field(default_factory=dict)
    n_dropped_singletons: int = 0
    n_dropped_all_zero_fe: int = 0
    nobs: int = 0

    def messages(self) -> list[str]:
        out = []
        if self.n_dropped_sample_filter:
            out.append(f"{self.n_dropped_sample_filter} row(s) outside the sample filter")
        if self.n_dropped_missing:
            by = ", ".join(f"{k}: {v}" for k, v in self.missing_by_variable.items() if v)
            out.append(f"{self.n_dropped_missing} row(s) dropped for missing values ({by})")
        if self.n_dropped_singletons:
            out.append(
                f"{self.n_dropped_singletons} singleton observation(s) dropped (fixed effects)"
            )
        if self.n_dropped_all_zero_fe:
            out.append(
                f"{self.n_dropped_all_zero_fe} observation(s) in fixed-effect groups with an "
                "all-zero outcome dropped (PPML)"
            )
        return out


@dataclass
class Design:
    spec: ModelSpec
    y: pd.Series
    X: pd.DataFrame  # numeric, safe column names, no constant
    labels: dict[str, str]  # safe column name -> display label
    source: dict[str, str]  # safe column name -> spec variable it came from
    absorbed: list[str]  # fixed effects absorbed by the estimator (column names in frame)
    frame: pd.DataFrame  # y, X, absorbed FE, clusters, entity, time (for formula interfaces)
    report: SampleReport
    time_dummies: list[str] = field(default_factory=list)
    # term or variable -> why the sample does not identify it (it is left out of the fit)
    not_identified: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)  # said under the fit (e.g. reference level)

    @property
    def clusters(self) -> np.ndarray | None:
        cv = self.spec.cluster_vars
        if not cv:
            return None
        return self.frame[[f"_cl_{c}" for c in cv]].to_numpy()

    @property
    def entity(self) -> pd.Series:
        return self.frame["_entity"]

    @property
    def time(self) -> pd.Series:
        return self.frame["_time"]

    def formula(self, extra: list[str] | None = None) -> str:
        rhs = list(self.X.columns) + list(extra or [])
        f = f"{self.y.name} ~ {' + '.join(rhs) if rhs else '1'}"
        if self.absorbed:
            f += " | " + " + ".join(self.absorbed)
        return f


def safe_name(text: str) -> str:
    s = re.sub(r"\W+", "_", str(text)).strip("_")
    if not s or s[0].isdigit():
        s = "v_" + s
    return s


def _is_categorical(s: pd.Series) -> bool:
    return (
        isinstance(s.dtype, pd.CategoricalDtype)
        or pd.api.types.is_object_dtype(s)
        or pd.api.types.is_string_dtype(s)
    )


def _level_codes(s: pd.Series) -> tuple[np.ndarray, list]:
    """Integer codes of the values of ``s`` (−1: missing) and the levels they index, from
    the categories of a categorical column (no hashing of strings), else one factorize."""
    if isinstance(s.dtype, pd.CategoricalDtype):
        return s.cat.codes.to_numpy(), s.cat.categories.tolist()
    codes, uniques = pd.factorize(s)
    return codes, list(uniques)


def _dummy_levels(
    s: pd.Series, var: str, reference: str | None, as_text: bool = False
) -> tuple[np.ndarray, list[tuple[int, object]], str, str | None]:
    """(codes, [(code, level) of every non-reference level present, levels in string order],
    reference level, a note when the configured reference level is not in the sample and the
    first level present stands in for it). ``as_text``: levels compared and named as their
    text (time effects)."""
    codes, values = _level_codes(s)
    present = np.bincount(codes[codes >= 0], minlength=len(values)) > 0
    levels = [(c, str(v) if as_text else v) for c, v in enumerate(values) if present[c]]
    levels.sort(key=lambda item: str(item[1]))
    names = [lev for _, lev in levels]
    note = None
    if reference is not None and reference not in names and len(names) > 1:
        note = (
            f"{var}: the reference level {reference!r} is not in the estimation sample; "
            f"the contrasts are against {names[0]!r}"
        )
    if reference is None or reference not in names:
        reference = names[0] if names else reference
    return codes, [(c, lev) for c, lev in levels if lev != reference], str(reference), note


def drop_singletons(fe: pd.DataFrame) -> np.ndarray:
    """Boolean mask of rows kept after iteratively removing FE singletons (fixest rule)."""
    keep = np.ones(len(fe), dtype=bool)
    if fe.shape[1] == 0 or len(fe) == 0:
        return keep
    codes = [pd.factorize(fe[c])[0] for c in fe.columns]  # -1: missing, never a singleton
    while True:
        changed = False
        for code in codes:
            counts = np.bincount(code[keep & (code >= 0)], minlength=code.max(initial=-1) + 1)
            single = keep & (code >= 0) & (counts[code] == 1)
            if single.any():
                keep[single] = False
                changed = True
        if not changed:
            return keep


def _all_zero_groups(y: pd.Series, fe: pd.DataFrame, keep: np.ndarray) -> np.ndarray:
    """Rows (among ``keep``) in a group of some fixed effect whose outcome is zero throughout."""
    drop = np.zeros(len(y), dtype=bool)
    nonzero = (y[keep].to_numpy() != 0).astype(float)
    for c in fe.columns:
        codes = pd.factorize(fe.loc[keep, c])[0]  # counted per group, not a lambda per group
        n_nonzero = np.bincount(
            codes[codes >= 0], weights=nonzero[codes >= 0], minlength=codes.max(initial=-1) + 1
        )
        zero_group = (codes >= 0) & (n_nonzero[codes] == 0)
        drop[np.flatnonzero(keep)[zero_group]] = True
    return drop


def build_design(spec: ModelSpec, data: pd.DataFrame) -> Design:
    """The estimation sample and numeric design of ``spec`` on ``data``."""
    spec = validate_spec(spec, data.columns)
    report = SampleReport(n_input=len(data))
    df = data
    if spec.sample:
        try:
            df = data.query(spec.sample)
        except Exception as exc:
            raise SpecError(
                f"model {spec.name!r}: sample filter {spec.sample!r} failed: {exc}"
            ) from exc
        report.n_dropped_sample_filter = len(data) - len(df)
    cols = spec.required_columns()
    na = df[cols].isna()
    report.missing_by_variable = {c: int(v) for c, v in na.sum().items() if v}
    complete = ~na.any(axis=1)
    report.n_dropped_missing = int((~complete).sum())
    # only the columns the model uses: copying a wide panel of a million rows is what took time
    used = [c for c in dict.fromkeys([*cols, spec.entity, spec.time]) if c in df.columns]
    df = df.loc[complete, used]

    absorbing = ESTIMATORS[spec.estimator].absorbs_fixed_effects
    absorbed = list(spec.fixed_effects) if absorbing else []
    if absorbed:
        keep = drop_singletons(df[absorbed])
        report.n_dropped_singletons = int((~keep).sum())
        if spec.estimator == "ppml":
            while True:
                zero = _all_zero_groups(df[spec.outcome], df[absorbed], keep)
                if not zero.any():
                    break
                report.n_dropped_all_zero_fe += int(zero.sum())
                keep &= ~zero
                k2 = drop_singletons(df.loc[keep, absorbed])
                report.n_dropped_singletons += int((~k2).sum())
                keep[np.flatnonzero(keep)[~k2]] = False
        df = df.loc[keep]
    if len(df) == 0:
        raise SpecError(f"model {spec.name!r}: no observations left in the estimation sample")

    y = pd.to_numeric(df[spec.outcome], errors="raise").astype(float)
    if spec.estimator == "fraclogit" and ((y < 0) | (y > 1)).any():
        raise SpecError(f"model {spec.name!r}: fractional logit needs {spec.outcome!r} in [0, 1]")
    if spec.estimator == "ppml" and (y < 0).any():
        raise SpecError(f"model {spec.name!r}: PPML needs a non-negative outcome {spec.outcome!r}")

    # one float array holds y and X (y first): X, y and the frame pyfixest reads are views
    # of it, and dummies are filled from integer level codes, not string comparisons
    fills, labels, source = [], {}, {}
    not_identified, notes = {}, []
    for var in spec.rhs:
        s = df[var]
        if _is_categorical(s):
            codes, levels, reference, note = _dummy_levels(s, var, spec.reference_levels.get(var))
            if note:
                notes.append(note)
            if not levels:
                not_identified[var] = (
                    f"a single level in the estimation sample ({reference}): no contrast to "
                    "estimate"
                )
            for code, lev in levels:
                col = f"{safe_name(var)}__{safe_name(lev)}"
                fills.append((col, codes, code))
                labels[col] = f"{var}[{lev}]"
                source[col] = var
        else:
            col = safe_name(var)
            fills.append((col, pd.to_numeric(s).astype(float).to_numpy(), None))
            labels[col] = var
            source[col] = var
    time_dummies: list[str] = []
    if not absorbing:
        for fe in spec.fixed_effects:  # time-type effects entered as dummies
            codes, levels, _, _ = _dummy_levels(df[fe], fe, None, as_text=True)
            for code, lev in levels:
                col = f"{safe_name(fe)}__{safe_name(lev)}"
                fills.append((col, codes, code))
                labels[col] = f"{fe}[{lev}]"
                source[col] = fe
                time_dummies.append(col)
    names = [col for col, _, _ in fills]
    yname = (
        "y_" + safe_name(spec.outcome)
        if safe_name(spec.outcome) in names
        else safe_name(spec.outcome)
    )
    values = np.empty((len(df), 1 + len(fills)), order="F")
    values[:, 0] = y.to_numpy()
    for j, (_, column, code) in enumerate(fills, start=1):
        if code is None:
            values[:, j] = column
        else:
            np.equal(column, code, out=values[:, j], casting="unsafe")
    del fills
    y = pd.Series(values[:, 0], index=df.index, name=yname)
    X = pd.DataFrame(values[:, 1:], index=df.index, columns=names)
    frame = pd.DataFrame(values, index=df.index, columns=[yname, *names])
    for fe in absorbed:
        frame[f"_fe_{safe_name(fe)}"] = pd.factorize(df[fe])[0]
    for c in spec.cluster_vars:
        frame[f"_cl_{c}"] = pd.factorize(df[c])[0]
    frame["_entity"] = pd.factorize(df[spec.entity])[0] if spec.entity in df else np.arange(len(df))
    if spec.time in df:
        frame["_time"] = pd.to_numeric(df[spec.time], errors="coerce").to_numpy()
        if frame["_time"].isna().any():
            frame["_time"] = pd.factorize(df[spec.time], sort=True)[0]
    else:
        frame["_time"] = 0
    report.nobs = len(frame)
    return Design(
        spec=spec,
        y=y,
        X=X,
        labels=labels,
        source=source,
        absorbed=[f"_fe_{safe_name(fe)}" for fe in absorbed],
        frame=frame,
        report=report,
        time_dummies=time_dummies,
        not_identified=not_identified,
        notes=notes,
    )


def entity_means(X: pd.DataFrame, entity: pd.Series, columns: list[str]) -> pd.DataFrame:
    """Within-entity means (over the estimation sample) of the given columns."""
    m = X[columns].groupby(entity.to_numpy()).transform("mean")
    m.columns = [f"mean__{c}" for c in columns]
    m.index = X.index
    return m


def time_varying(X: pd.DataFrame, entity: pd.Series, tol: float = 1e-12) -> list[str]:
    """Columns of X that vary within at least one entity."""
    sd = X.groupby(entity.to_numpy()).std(ddof=0).fillna(0.0)
    return [c for c in X.columns if (sd[c] > tol).any()]
