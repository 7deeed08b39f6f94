"""Model specifications as data.

A specification is a plain dict (a YAML entry of the config) turned into a
:class:`ModelSpec`.  Nothing about a model is hard-coded elsewhere: the design
matrix, the formula text recorded with the fit, the sample, the fixed effects
and the covariance estimator are all built from the spec, so editing the
spec changes the fit (``tests/estimate/test_spec_drives_fit.py``).

Example (YAML)::

    - name: transfer_on_structure
      outcome: transfer_rate
      regressors: [type_diversity, lead_type]
      controls: [n_members, age]
      estimator: fraclogit
      fixed_effects: [year]
      cluster: [consortium_id]
      sample: "n_members >= 3"
      reference_levels: {lead_type: enterprise}
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

ENTITY_EFFECTS = ("required", "allowed", "forbidden")


@dataclass(frozen=True)
class Estimator:
    """Everything the package knows about one estimator, in one record.

    ``fit`` takes the :class:`~consortia.estimate.design.Design` and returns the
    :class:`~consortia.estimate.results.FitResult`; a record without one (``sur``) only
    names results made elsewhere and cannot be chosen in a model spec. ``note`` says in
    table notes what ``short`` stands for ("" when it explains itself). ``family`` is the
    scale of the coefficients (``linear``, ``counts`` or ``rates``), which groups figures.
    ``entity_effects`` says whether the entity may (``allowed``), must (``required``) or
    must not (``forbidden``) be among the fixed effects; the default fixed effects are
    the entity and the time unless it is forbidden, the time alone otherwise.
    ``needs_entity``: the fit uses the panel entity even without entity effects (RE).
    """

    name: str
    label: str
    short: str
    fit: Callable[..., Any] | None
    family: str = "linear"
    note: str = ""
    absorbs_fixed_effects: bool = False
    entity_effects: str = "forbidden"
    needs_entity: bool = False


# Filled by :func:`register`, in registration order (consortia.estimate.estimators first).
ESTIMATORS: dict[str, Estimator] = {}
ESTIMATOR_LABELS: dict[str, str] = {}


def register(estimator: Estimator) -> Estimator:
    """Make an estimator known by its name: to specs, :func:`consortia.estimate.fit`,
    tables and figures. Registering a name again replaces its record."""
    if estimator.entity_effects not in ENTITY_EFFECTS:
        raise ValueError(f"entity_effects must be one of {ENTITY_EFFECTS}")
    ESTIMATORS[estimator.name] = estimator
    ESTIMATOR_LABELS[estimator.name] = estimator.label
    return estimator


def fittable_estimators() -> tuple[str, ...]:
    """The names a model spec may choose: the estimators with a fit function."""
    return tuple(name for name, e in ESTIMATORS.items() if e.fit is not None)


DRISCOLL_KRAAY = "driscoll_kraay"
SMALL_SAMPLE = ("CR1", "CR1-G", "CR0")
G_DF = ("min", "conventional")

DEFAULT_ENTITY = "consortium_id"
DEFAULT_TIME = "year"


class SpecError(ValueError):
    """A specification that cannot be fitted as written (the message says why)."""


class NotEstimable(SpecError):
    """The data cannot identify the model at all: no identified regressor of interest, no
    residual degrees of freedom, fewer than two clusters (the message says which)."""


@dataclass(frozen=True)
class VcovOptions:
    """Small-sample conventions of the covariance estimator.

    small_sample
        ``"CR1"`` (default): G/(G−1)·(N−1)/(N−K), with fixed effects nested
        in the clusters not counted in K (Stata reghdfe, R fixest).
        ``"CR1-G"``: G/(G−1) only (Stata's convention for ``xtreg, re`` and
        for ML estimators such as ``fracreg``).  ``"CR0"``: no correction.
    G_df
        Two-way clustering only.  ``"min"`` (default, reghdfe / fixest):
        every term of V₁+V₂−V₁₂ is scaled with min(G₁,G₂)/(min−1).
        ``"conventional"`` (Cameron–Gelbach–Miller as in Petersen's and
        Thompson's programs, R sandwich, linearmodels): each term with its
        own Gᵢ/(Gᵢ−1).
    """

    small_sample: str = "CR1"
    G_df: str = "min"

    @classmethod
    def from_dict(cls, raw: dict[str, Any] | str | None) -> VcovOptions:
        if raw is None:
            return cls()
        if isinstance(raw, str):
            raw = {"small_sample": raw}
        unknown = set(raw) - {"small_sample", "G_df"}
        if unknown:
            raise SpecError(f"vcov: unknown key(s) {sorted(unknown)}; allowed: small_sample, G_df")
        out = cls(**{k: v for k, v in raw.items() if v is not None})
        if out.small_sample not in SMALL_SAMPLE:
            raise SpecError(
                f"vcov.small_sample must be one of {SMALL_SAMPLE}, not {out.small_sample!r}"
            )
        if out.G_df not in G_DF:
            raise SpecError(f"vcov.G_df must be one of {G_DF}, not {out.G_df!r}")
        return out


@dataclass(frozen=True)
class ModelSpec:
    """One model, as written in the config.

    ``regressors`` are the variables of interest (reported first in tables),
    ``controls`` the rest of the right-hand side.  A regressor or control
    whose column is text / categorical enters as treatment dummies; its
    omitted level is ``reference_levels[var]`` or else the first level in
    sorted order.

    ``fixed_effects``: for ``ols`` and ``re``/``mundlak`` only time-type
    effects are allowed (entered as absorbed effects for OLS, as dummies for
    RE); ``twfe`` needs at least the entity; ``ppml`` takes any; ``fraclogit``
    takes time effects only (entered as dummies: no incidental-parameter
    problem with few periods).

    ``cluster``: list of one or two columns (default: the entity), ``[]`` for
    heteroskedasticity-robust only, or ``"driscoll_kraay"`` with
    ``bandwidth`` (lags; default ⌊4(T/100)^(2/9)⌋).
    """

    name: str
    outcome: str
    regressors: tuple[str, ...]
    controls: tuple[str, ...] = ()
    estimator: str = "twfe"
    fixed_effects: tuple[str, ...] = ()
    cluster: tuple[str, ...] | str = (DEFAULT_ENTITY,)
    bandwidth: int | None = None
    sample: str | None = None
    vcov: VcovOptions = field(default_factory=VcovOptions)
    entity: str = DEFAULT_ENTITY
    time: str = DEFAULT_TIME
    reference_levels: dict[str, str] = field(default_factory=dict)
    mundlak_base: str = "re"
    description: str = ""

    # ------------------------------------------------------------------ build
    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> ModelSpec:
        """Build a spec from a plain dict (a config entry); unknown keys raise."""
        if not isinstance(raw, dict):
            raise SpecError(f"a model spec must be a mapping, not {type(raw).__name__}")
        allowed = {f.name for f in dataclasses.fields(cls)}
        unknown = set(raw) - allowed
        if unknown:
            raise SpecError(
                f"model {raw.get('name', '?')!r}: unknown key(s) {sorted(unknown)}; "
                f"allowed: {sorted(allowed)}"
            )
        for key in ("name", "outcome", "regressors"):
            if raw.get(key) in (None, "", []):
                raise SpecError(f"model {raw.get('name', '?')!r}: {key!r} is required")
        estimator = str(raw.get("estimator", "twfe")).lower()
        if estimator not in fittable_estimators():
            raise SpecError(
                f"model {raw['name']!r}: estimator must be one of {fittable_estimators()}, "
                f"not {estimator!r}"
            )
        entity = raw.get("entity") or DEFAULT_ENTITY
        time = raw.get("time") or DEFAULT_TIME
        fe_raw = raw.get("fixed_effects")
        if fe_raw is None:
            entity_effects = ESTIMATORS[estimator].entity_effects != "forbidden"
            fe_raw = [entity, time] if entity_effects else [time]
        cluster = raw.get("cluster", [entity])
        if cluster is None:
            cluster = [entity]
        if isinstance(cluster, str):
            cluster = cluster if cluster == DRISCOLL_KRAAY else [cluster]
        if not isinstance(cluster, str):
            cluster = tuple(_as_list(cluster, "cluster", raw["name"]))
            if len(cluster) > 2:
                raise SpecError(f"model {raw['name']!r}: at most two cluster variables")
        spec = cls(
            name=str(raw["name"]),
            outcome=str(raw["outcome"]),
            regressors=tuple(_as_list(raw["regressors"], "regressors", raw["name"])),
            controls=tuple(_as_list(raw.get("controls") or [], "controls", raw["name"])),
            estimator=estimator,
            fixed_effects=tuple(_as_list(fe_raw, "fixed_effects", raw["name"])),
            cluster=cluster,
            bandwidth=raw.get("bandwidth"),
            sample=raw.get("sample") or None,
            vcov=VcovOptions.from_dict(raw.get("vcov")),
            entity=entity,
            time=time,
            reference_levels=dict(raw.get("reference_levels") or {}),
            mundlak_base=str(raw.get("mundlak_base", "re")).lower(),
            description=str(raw.get("description", "")),
        )
        spec._check_structure()
        return spec

    def replace(self, **changes: Any) -> ModelSpec:
        """A copy with some fields changed (re-checked)."""
        out = dataclasses.replace(self, **changes)
        out._check_structure()
        return out

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        for k in ("regressors", "controls", "fixed_effects"):
            d[k] = list(d[k])
        if not isinstance(self.cluster, str):
            d["cluster"] = list(self.cluster)
        return d

    # --------------------------------------------------------------- helpers
    @property
    def rhs(self) -> tuple[str, ...]:
        return self.regressors + tuple(c for c in self.controls if c not in self.regressors)

    @property
    def is_driscoll_kraay(self) -> bool:
        return self.cluster == DRISCOLL_KRAAY

    @property
    def cluster_vars(self) -> tuple[str, ...]:
        return () if self.is_driscoll_kraay else tuple(self.cluster)

    def required_columns(self) -> list[str]:
        cols = [self.outcome, *self.rhs, *self.fixed_effects, *self.cluster_vars]
        if self.needs_entity:
            cols.append(self.entity)
        if self.is_driscoll_kraay:
            cols.append(self.time)
        return list(dict.fromkeys(cols))

    @property
    def needs_entity(self) -> bool:
        """RE/Mundlak (``Estimator.needs_entity``) and Driscoll–Kraay need the panel entity;
        other estimators only what they list."""
        return ESTIMATORS[self.estimator].needs_entity or self.is_driscoll_kraay

    def _check_structure(self) -> None:
        n = self.name
        if self.outcome in self.rhs:
            raise SpecError(
                f"model {n!r}: the outcome {self.outcome!r} is also on the right-hand side"
            )
        dup = {v for v in self.rhs if list(self.regressors + self.controls).count(v) > 1}
        if dup:
            raise SpecError(f"model {n!r}: variable(s) listed twice: {sorted(dup)}")
        entity_effects = ESTIMATORS[self.estimator].entity_effects
        if entity_effects == "required" and self.entity not in self.fixed_effects:
            raise SpecError(
                f"model {n!r}: estimator {self.estimator!r} needs the entity {self.entity!r} "
                "in fixed_effects"
            )
        if entity_effects == "forbidden" and self.entity in self.fixed_effects:
            raise SpecError(
                f"model {n!r}: estimator {self.estimator!r} cannot take entity fixed effects "
                f"({self.entity!r}); use 'twfe' (or 'ppml' for counts)"
            )
        if self.mundlak_base not in ("re", "ols"):
            raise SpecError(f"model {n!r}: mundlak_base must be 're' or 'ols'")
        if self.is_driscoll_kraay and self.estimator == "fraclogit":
            raise SpecError(
                f"model {n!r}: Driscoll–Kraay is available for linear models and PPML only"
            )
        if self.bandwidth is not None and not self.is_driscoll_kraay:
            raise SpecError(f"model {n!r}: 'bandwidth' is only used with cluster: driscoll_kraay")
        if self.is_driscoll_kraay and self.estimator in ("re", "mundlak"):
            raise SpecError(
                f"model {n!r}: Driscoll–Kraay is implemented for ols/twfe/ppml; "
                "use clustered errors with re/mundlak"
            )


def _as_list(value: Any, key: str, name: str) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, Iterable):
        out = [str(v) for v in value]
        return out
    raise SpecError(f"model {name!r}: {key!r} must be a list of column names")


def validate_spec(spec: ModelSpec | dict, available_columns: Iterable[str]) -> ModelSpec:
    """Check that every variable the spec uses is a column of the data.

    Returns the spec (built from the dict if need be).  Raises
    :class:`SpecError` naming the model and *all* missing variables, so the
    workflow can skip the model with that message.
    """
    if isinstance(spec, dict):
        spec = ModelSpec.from_dict(spec)
    cols = set(available_columns)
    missing = [c for c in spec.required_columns() if c not in cols]
    if missing:
        raise SpecError(
            f"model {spec.name!r} skipped: variable(s) not in the data: {', '.join(missing)}"
        )
    return spec


def load_specs(entries: Iterable[dict[str, Any]]) -> list[ModelSpec]:
    """Build all specs of a config list; names must be unique."""
    specs = [ModelSpec.from_dict(e) for e in entries]
    names = [s.name for s in specs]
    dups = sorted({n for n in names if names.count(n) > 1})
    if dups:
        raise SpecError(f"duplicate model name(s): {dups}")
    return specs
