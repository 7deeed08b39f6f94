"""The estimation sample of a mediation analysis and its variable matrix
(:func:`prepare_sample`): one sample for both equations, fixed effects nested in the
clusters demeaned, the others as dummies, collinear columns left out."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .algebra import group_demean, independent_columns, nested, variable_matrix
from .design import build_design, safe_name
from .spec import ModelSpec, SpecError

_COLLINEAR_TOL = 1e-10
_MAX_DUMMY_LEVELS = 500  # effects not nested in the clusters enter as dummies: keep them few


@dataclass
class MediationSample:
    spec: ModelSpec
    frame: pd.DataFrame  # estimation sample, raw variables (index 0..n-1)
    Z: np.ndarray  # n × q: kept regressors then Y (demeaned if absorbed_within)
    names: list[str]  # q column names (safe)
    labels: dict[str, str]
    cluster_codes: np.ndarray  # 0..G−1, clusters sorted by label
    cluster_labels: np.ndarray
    within: str | None
    within_codes: np.ndarray | None
    dummy_fe: list[str]
    dropped: list[str]
    idx_x: int
    idx_m: int
    idx_y: int
    reg_a: list[int]  # regressor positions of the a- and total equations
    reg_b: list[int]
    sample_report: dict[str, Any]


def prepare_sample(
    data: pd.DataFrame,
    treatment: str,
    mediator: str,
    outcome: str,
    controls: Sequence[str],
    fixed_effects: Sequence[str],
    cluster: str,
    entity: str,
    time: str,
    sample: str | None,
    reference_levels: dict[str, str] | None,
    vcov: dict | str | None,
    name: str | None,
) -> MediationSample:
    """The estimation sample and variable matrix of a mediation analysis (the arguments of
    :func:`mediation`; the name defaults to "treatment->mediator->outcome")."""
    name = name or f"{treatment}->{mediator}->{outcome}"
    if len({treatment, mediator, outcome}) < 3:
        raise SpecError(
            f"mediation {name!r}: treatment, mediator and outcome must be three different "
            f"variables (got {treatment!r}, {mediator!r}, {outcome!r})"
        )
    if not isinstance(cluster, str) or cluster == "driscoll_kraay":
        raise SpecError(
            f"mediation {name!r}: the cluster bootstrap needs one cluster variable "
            f"(a column name), not {cluster!r}"
        )
    fe = list(fixed_effects)
    spec = ModelSpec.from_dict(
        {
            "name": name,
            "outcome": outcome,
            "regressors": [treatment, mediator],
            "controls": [c for c in controls if c not in (treatment, mediator)],
            "estimator": "twfe" if entity in fe else "ols",
            "fixed_effects": fe,
            "cluster": [cluster],
            "sample": sample,
            "entity": entity,
            "time": time,
            "reference_levels": dict(reference_levels or {}),
            "vcov": vcov,
        }
    )
    return _prepare(spec, data, treatment, mediator)


def _prepare(spec: ModelSpec, data: pd.DataFrame, treatment: str, mediator: str) -> MediationSample:
    if not data.index.equals(pd.RangeIndex(len(data))):
        data = data.reset_index(drop=True)
    design = build_design(spec, data)
    frame = design.frame
    cl_raw = data.loc[frame.index, spec.cluster_vars[0]].to_numpy()
    # codes in sorted label order, as np.unique numbers them (it sorts a million strings
    # far more slowly)
    cl_codes, cluster_labels = pd.factorize(cl_raw.astype(str), sort=True)
    if len(cluster_labels) < 2:
        raise SpecError(f"mediation {spec.name!r}: fewer than two clusters in the sample")

    tcol, mcol = safe_name(treatment), safe_name(mediator)
    for var, col in ((treatment, tcol), (mediator, mcol)):
        if col not in design.X.columns or list(design.source.values()).count(var) != 1:
            raise SpecError(
                f"mediation {spec.name!r}: {var!r} must be a numeric variable (one column), "
                "not a categorical one"
            )

    # fixed effects: the first one nested in the clusters (the entity first) is demeaned
    # within its groups, the others enter as dummies
    fes = sorted(spec.fixed_effects, key=lambda f: f != spec.entity)
    within, within_codes, dummy_fe = None, None, []
    for fe in fes:
        codes = pd.factorize(data.loc[frame.index, fe])[0]
        if within is None and nested(codes, cl_codes):
            within, within_codes = fe, codes
        else:
            dummy_fe.append(fe)
    dummy_fe = [fe for fe in spec.fixed_effects if fe in dummy_fe]
    for fe in dummy_fe:
        n_levels = data.loc[frame.index, fe].nunique()
        if n_levels > _MAX_DUMMY_LEVELS:
            raise SpecError(
                f"mediation {spec.name!r}: the {fe!r} effects ({n_levels} levels) are not nested "
                f"in the clusters {spec.cluster_vars[0]!r}, so they would enter as dummies; "
                f"cluster by {fe!r} or by a variable it is nested in"
            )

    labels = {tcol: treatment, mcol: mediator}
    others = [c for c in design.X.columns if c not in (tcol, mcol)]
    labels.update({c: design.labels[c] for c in others})
    names = [tcol, mcol, *others]
    dummies = []
    for fe in dummy_fe:
        vals = data.loc[frame.index, fe].to_numpy()
        levels = sorted(pd.unique(vals).tolist(), key=str)
        for lev in levels[1:]:
            col = f"{safe_name(fe)}__{safe_name(lev)}"
            dummies.append((vals, lev))
            names.append(col)
            labels[col] = f"{fe}[{lev}]"
    raw = variable_matrix(
        design.X[[tcol, mcol, *others]], dummies, design.y, intercept=within is None
    )
    if within is None:
        names = ["const", *names]
        labels["const"] = "(Intercept)"
        Z = raw
    else:
        Z = group_demean(raw, within_codes)
    names.append("__y__")
    labels["__y__"] = spec.outcome

    q = Z.shape[1]
    S = Z.T @ Z
    scale = np.einsum("ij,ij->j", raw, raw)
    iy = q - 1
    ix, im = names.index(tcol), names.index(mcol)
    # collinearity is judged on the a-equation (intercept, effects, controls, then X),
    # then M is added last: X or M collinear with the rest is an error, not a drop
    order = [j for j in range(q - 1) if j not in (ix, im)]
    order = sorted(order, key=lambda j: 0 if names[j] == "const" else 1) + [ix]
    kept_a = independent_columns(S, order, _COLLINEAR_TOL, scale)
    if ix not in kept_a:
        raise SpecError(
            f"mediation {spec.name!r}: the treatment {treatment!r} has no variation left after "
            "the fixed effects and controls"
        )
    kept_b = independent_columns(S, [*kept_a, im], _COLLINEAR_TOL, scale)
    if im not in kept_b:
        raise SpecError(
            f"mediation {spec.name!r}: the mediator {mediator!r} is collinear with the "
            "treatment, controls and fixed effects"
        )
    kept_a = [j for j in kept_a if j in kept_b or j == ix]
    dropped = [labels[names[j]] for j in range(q - 1) if j not in kept_b and j != im]
    # put the kept columns in a fixed order: X, M, the rest in their original order
    rest = [j for j in range(q - 1) if j in kept_b and j not in (ix, im)]
    cols = [ix, im, *rest, iy]
    Z = Z[:, cols]
    names = [names[j] for j in cols]
    reg_b = list(range(len(cols) - 1))
    reg_a = [0, *range(2, len(cols) - 1)]

    raw_cols = list(
        dict.fromkeys(
            [
                spec.outcome,
                treatment,
                mediator,
                *spec.controls,
                *spec.fixed_effects,
                spec.cluster_vars[0],
            ]
        )
    )
    raw_frame = data.loc[frame.index, raw_cols].reset_index(drop=True)
    return MediationSample(
        spec=spec,
        frame=raw_frame,
        Z=Z,
        names=names,
        labels=labels,
        cluster_codes=cl_codes,
        cluster_labels=cluster_labels,
        within=within,
        within_codes=within_codes,
        dummy_fe=dummy_fe,
        dropped=dropped,
        idx_x=0,
        idx_m=1,
        idx_y=len(cols) - 1,
        reg_a=reg_a,
        reg_b=reg_b,
        sample_report=design.report.__dict__.copy(),
    )
