"""Injected mess: synonym labels, duplicates, impossible values, orphans, missing optional
values and outliers, written into copies of the clean tables; every injected row is
logged, and :func:`mess_summary` counts them by table and by the quarantine rule that
cleaning should apply.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from pandas.core.dtypes.cast import maybe_box_native

from consortia.contract import TABLES, Fix, Rule

# Labels written instead of the vocabulary word: all are in the contract's
# synonym list (matched case-insensitively after trimming), none is
# byte-identical to the canonical word. Kind: chinese / code / synonym / case_or_space.
# The simulator's own choice, kept apart from consortia.contract on purpose: the labels
# are what a messy source writes, the oracle cleaning is tested against;
# tests/test_simulate.py checks that each is the contract's synonym of its type.
SYNONYM_LABELS = {
    "enterprise": [
        ("企业", "chinese"),
        ("PRC", "code"),
        ("SOE", "code"),
        ("Firm", "synonym"),
        ("company", "synonym"),
        ("Enterprise", "case_or_space"),
        (" enterprise ", "case_or_space"),
    ],
    "university": [
        ("高校", "chinese"),
        ("大学", "chinese"),
        ("HES", "code"),
        ("higher education", "synonym"),
        ("college", "synonym"),
        (" University ", "case_or_space"),
        ("UNIVERSITY", "case_or_space"),
    ],
    "research_institute": [
        ("科研院所", "chinese"),
        ("研究院", "chinese"),
        ("REC", "code"),
        ("research institute", "synonym"),
        ("Institute", "synonym"),
        ("Research_Institute", "case_or_space"),
    ],
    "government": [
        ("政府", "chinese"),
        ("PUB", "code"),
        ("public body", "synonym"),
        ("agency", "synonym"),
        ("Government ", "case_or_space"),
    ],
    "other": [("OTH", "code"), ("association", "synonym"), ("Other", "case_or_space")],
}

# Columns never empty in a clean world, where mess blanks a value (so a count
# of empty cells in the raw file equals the injected count).
MISSING_OPTIONAL = {
    "consortia": ["name", "region", "programme"],
    "members": ["funding", "country", "equity_tie", "sme"],
    "panel": ["new_product_revenue", "standards", "personnel_exchange", "publications"],
    "tasks": ["field"],
}
_PANEL_SAFE_COUNTS = [
    "collab_events",
    "personnel_exchange",
    "patents_filed",
    "patents_granted",
    "publications",
    "standards",
]


def default_mess() -> dict:
    """Default mess rates: per table, injected rows as a share of the clean table's rows.

    Each kind with a positive rate injects ``max(1, round(rate * rows))`` rows
    (pairs for conflicting duplicates). ``simulate_world(mess={})`` gives a clean
    world; a non-empty dict lists exactly the kinds to inject.
    """
    return {
        "consortia": {"org_type_synonym": 0.05, "missing_optional": 0.03},
        "members": {
            "org_type_synonym": 0.04,
            "exact_duplicate": 0.01,
            "conflicting_duplicate": 0.005,
            "orphan": 0.003,
            "negative_value": 0.004,
            "decision_weight_out_of_range": 0.004,
            "end_before_start": 0.003,
            "missing_optional": 0.02,
        },
        "panel": {
            "exact_duplicate": 0.01,
            "conflicting_duplicate": 0.005,
            "orphan": 0.004,
            "year_outside_life": 0.004,
            "negative_value": 0.004,
            "transferred_exceeds_achievements": 0.005,
            "industrial_exceeds_total": 0.003,
            "outlier": 0.003,
            "missing_optional": 0.02,
        },
        "tasks": {"end_before_start": 0.01, "missing_optional": 0.02},
    }


_MESS_KINDS = {table: set(kinds) for table, kinds in default_mess().items()}
# kind -> (outcome, the id cleaning files it under): a quarantined kind breaks the contract's
# rule of the same name, but for the kinds listed here
_KIND_OUTCOME = {
    "org_type_synonym": ("fix", Fix.ORG_TYPE_SYNONYM.value),
    "exact_duplicate": ("collapsed", "duplicates_collapsed"),
    "orphan": ("quarantine", Rule.UNKNOWN_CONSORTIUM_KEY.value),
    "missing_optional": ("none", "missing_optional"),
    "outlier": ("none", "outlier"),
}
_KIND_OUTCOME |= {
    kind: ("quarantine", Rule(kind).value)
    for kinds in _MESS_KINDS.values()
    for kind in sorted(kinds)
    if kind not in _KIND_OUTCOME
}
# the contract's priority order (a row breaking several rules is filed under the first)
RULE_ORDER = [rule.value for rule in Rule]


def normalise_mess(mess) -> dict:
    if mess is None:
        return default_mess()
    if mess is False or mess == {}:
        return {t: {} for t in TABLES}
    if not isinstance(mess, dict):
        raise TypeError("mess must be None (default rates), {} / False (clean) or a dict")
    out = {t: {} for t in TABLES}
    for table, kinds in mess.items():
        if table not in _MESS_KINDS:
            raise ValueError(f"unknown mess table {table!r} (known: {list(_MESS_KINDS)})")
        for kind, rate in (kinds or {}).items():
            if kind not in _MESS_KINDS[table]:
                raise ValueError(
                    f"unknown mess kind {table}.{kind} (known: {sorted(_MESS_KINDS[table])})"
                )
            if not 0 <= float(rate) < 0.5:
                raise ValueError(f"mess rate {table}.{kind}={rate} must be in [0, 0.5)")
            out[table][kind] = float(rate)
    return out


class _Messer:
    """Injects mess into one table; every original row is touched by at most one kind.

    Cell writes are buffered per column and applied in one step by ``finish``
    (per-cell pandas writes made simulating 100k consortia take minutes). This
    is exact because a row is only ever read (``row``, ``value``) before mess
    touches it; a column's dtype still changes at the write that needs it.
    """

    def __init__(self, table: str, df: pd.DataFrame, rng: np.random.Generator):
        self.table = table
        self.df = df.reset_index(drop=True).copy()
        self.rng = rng
        self.n0 = len(self.df)
        self.used = np.zeros(self.n0, dtype=bool)
        self.order = np.arange(self.n0, dtype=float)
        self.tags: dict[int, list[tuple[str, str, str | None]]] = {}
        self.added: list[tuple[float, dict, list]] = []
        self.pending: dict[str, list[tuple[int, object]]] = {}
        self._cells: dict[str, np.ndarray] = {}
        self._dtypes = dict(self.df.dtypes)

    def count(self, rate: float) -> int:
        return 0 if rate <= 0 else max(1, round(rate * self.n0))

    def pick(self, k: int, eligible=None) -> np.ndarray:
        mask = ~self.used if eligible is None else (np.asarray(eligible, dtype=bool) & ~self.used)
        cand = np.flatnonzero(mask)
        k = min(k, cand.size)
        if k == 0:
            return np.array([], dtype=int)
        chosen = np.sort(self.rng.choice(cand, size=k, replace=False))
        self.used[chosen] = True
        return chosen

    def tag(self, i: int, kind: str, column: str | None = None):
        self.tags.setdefault(int(i), []).append((kind, _KIND_OUTCOME[kind][1], column))

    def _retype(self, column: str, dtype) -> None:
        self.df[column] = self.df[column].astype(dtype)
        self._dtypes[column] = self.df[column].dtype
        self._cells.pop(column, None)

    def set(self, i: int, column: str, value):
        # `dtype` is a numpy/pandas dtype, not a type: `==` compares it with the dtype
        # that `bool` (or `object`) stands for, where `is` would always be False (E721)
        dtype = self._dtypes[column]
        if value is None or (isinstance(value, float) and np.isnan(value)):
            if dtype == np.int64:
                self._retype(column, "Int64")
            elif dtype == bool:  # noqa: E721 (dtype comparison, see above)
                self._retype(column, object)
            value = None if self._dtypes[column] == object else pd.NA  # noqa: E721 (dtype)
        elif dtype == bool or (dtype == np.int64 and isinstance(value, float)):  # noqa: E721 (dtype)
            self._retype(column, object if dtype == bool else float)  # noqa: E721 (dtype)
        self.pending.setdefault(column, []).append((int(i), value))

    def _apply_pending(self) -> None:
        for column, writes in self.pending.items():
            rows = np.array([i for i, _ in writes], dtype=np.intp)
            values = [v for _, v in writes]
            current = self.df[column]
            if isinstance(current.dtype, pd.api.extensions.ExtensionDtype):
                cells = current.array.copy()
                cells[rows] = values
            else:
                cells = current.to_numpy(copy=True)
                if cells.dtype.kind == "f":
                    values = [np.nan if v is pd.NA else v for v in values]
                boxed = np.empty(len(values), dtype=object)
                boxed[:] = values
                cells[rows] = boxed if cells.dtype == object else boxed.astype(cells.dtype)
            self.df[column] = pd.Series(cells, index=current.index, name=column)
        self.pending = {}
        self._cells = {}

    def _column_cells(self, column: str) -> np.ndarray:
        if column not in self._cells:
            self._cells[column] = self.df[column].to_numpy(dtype=object)
        return self._cells[column]

    def value(self, i: int, column: str):
        """Cell (i, column) of a row mess has not touched yet, boxed as ``row`` boxes it."""
        return maybe_box_native(self._column_cells(column)[i])

    def row(self, i: int) -> dict:
        """Row i as ``DataFrame.iloc[i].to_dict()`` gives it (Python scalars, NA kept)."""
        return {column: self.value(i, column) for column in self.df.columns}

    def add(
        self,
        source: int,
        row: dict,
        kind: str,
        column: str | None = None,
        order: float | None = None,
    ):
        pos = source + 0.5 + 1e-3 * len(self.added) if order is None else order
        self.added.append((pos, row, [(kind, _KIND_OUTCOME[kind][1], column)]))

    def finish(self) -> tuple[pd.DataFrame, list[dict]]:
        self._apply_pending()
        frames = [self.df]
        orders = [self.order]
        if self.added:
            extra = pd.DataFrame([r for _, r, _ in self.added], columns=self.df.columns)
            for col in self.df.columns:  # keep the original dtypes where possible
                try:
                    extra[col] = extra[col].astype(self.df[col].dtype)
                except (TypeError, ValueError):
                    pass
            frames.append(extra)
            orders.append(np.array([o for o, _, _ in self.added], dtype=float))
        out = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
        sorted_rows = np.argsort(np.concatenate(orders), kind="stable")
        out = out.iloc[sorted_rows].reset_index(drop=True)
        position = np.empty(len(out), dtype=np.int64)
        position[sorted_rows] = np.arange(len(out))
        tagged = [(int(position[i]), tags) for i, tags in self.tags.items()]
        tagged += [(int(position[self.n0 + k]), t) for k, (_, _, t) in enumerate(self.added)]
        log = []
        for pos, tags in sorted(tagged, key=lambda item: item[0]):
            for kind, outcome, column in tags:
                log.append(
                    {"source_row": pos + 1, "kind": kind, "outcome": outcome, "column": column}
                )
        return out, log


def _synonym(messer, rng, column, k):
    rows = messer.pick(k)
    labels = {}
    for i in rows:
        options = SYNONYM_LABELS[messer.value(i, column)]
        label, _kind = options[int(rng.integers(0, len(options)))]
        messer.set(i, column, label)
        messer.tag(i, "org_type_synonym", column)
        labels[label] = labels.get(label, 0) + 1
    return labels


def _blank(messer, rng, k, eligible=None):
    columns = MISSING_OPTIONAL[messer.table]
    for i in messer.pick(k, eligible):
        col = columns[int(rng.integers(0, len(columns)))]
        messer.set(i, col, None)
        messer.tag(i, "missing_optional", col)


def inject_mess(
    clean: dict,
    spec: dict,
    rng: np.random.Generator,
    first_year: int,
    last_year: int,
    n_consortia: int,
):
    raw, logs, labels = {}, {}, {}
    width = max(4, len(str(n_consortia)))
    orphan_ids = iter(f"C{n_consortia + j + 1:0{width}d}" for j in range(10**6))

    # consortia: labels and blanks only (no quarantine, so nothing cascades)
    s = spec["consortia"]
    m = _Messer("consortia", clean["consortia"], rng)
    labels["consortia"] = _synonym(m, rng, "lead_type", m.count(s.get("org_type_synonym", 0)))
    _blank(m, rng, m.count(s.get("missing_optional", 0)))
    raw["consortia"], logs["consortia"] = m.finish()
    cons = clean["consortia"].set_index("consortium_id")

    # members: the lead rows never get a quarantine-type mess (no lead cascades)
    s = spec["members"]
    m = _Messer("members", clean["members"], rng)
    df = m.df
    nonlead = ~df["is_lead"].to_numpy()
    for i in m.pick(m.count(s.get("exact_duplicate", 0)), nonlead):
        m.add(i, m.row(i), "exact_duplicate")
    for i in m.pick(m.count(s.get("conflicting_duplicate", 0)), nonlead):
        row = m.row(i)
        row["funding"] = round(row["funding"] * rng.uniform(1.05, 1.5))
        m.tag(i, "conflicting_duplicate", "funding")
        m.add(i, row, "conflicting_duplicate", "funding")
    for i in m.pick(m.count(s.get("orphan", 0)), nonlead):
        row = m.row(i)
        row["consortium_id"] = next(orphan_ids)
        m.add(i, row, "orphan", "consortium_id", order=m.n0 + 1e-3 * len(m.added))
    for i in m.pick(m.count(s.get("negative_value", 0)), nonlead & (df["funding"] > 0).to_numpy()):
        m.set(i, "funding", -int(m.value(i, "funding")))
        m.tag(i, "negative_value", "funding")
    ok_w = nonlead & (df["decision_weight"] >= 0.02).to_numpy()
    for i in m.pick(m.count(s.get("decision_weight_out_of_range", 0)), ok_w):
        m.set(i, "decision_weight", round(float(m.value(i, "decision_weight")) * 100, 2))
        m.tag(i, "decision_weight_out_of_range", "decision_weight")
    has_join = nonlead & df["join_year"].notna().to_numpy()
    for i in m.pick(m.count(s.get("end_before_start", 0)), has_join):
        m.set(i, "exit_year", int(m.value(i, "join_year")) - int(rng.integers(1, 3)))
        m.tag(i, "end_before_start", "exit_year")
    labels["members"] = _synonym(m, rng, "member_type", m.count(s.get("org_type_synonym", 0)))
    _blank(m, rng, m.count(s.get("missing_optional", 0)), nonlead)
    raw["members"], logs["members"] = m.finish()

    # panel
    s = spec["panel"]
    m = _Messer("panel", clean["panel"], rng)
    df = m.df
    for i in m.pick(m.count(s.get("exact_duplicate", 0))):
        m.add(i, m.row(i), "exact_duplicate")
    for i in m.pick(m.count(s.get("conflicting_duplicate", 0))):
        row = m.row(i)
        col = ["rd_expenditure", "collab_events", "patents_filed", "publications"][
            int(rng.integers(0, 4))
        ]
        if col == "rd_expenditure":
            row[col] = round(float(row[col]) * rng.uniform(1.05, 1.3), 4)
        else:
            row[col] = int(row[col]) + int(rng.integers(1, 4))
        m.tag(i, "conflicting_duplicate", col)
        m.add(i, row, "conflicting_duplicate", col)
    for i in m.pick(m.count(s.get("orphan", 0))):
        row = m.row(i)
        row["consortium_id"] = next(orphan_ids)
        m.add(i, row, "orphan", "consortium_id", order=m.n0 + 1e-3 * len(m.added))
    # a year outside the consortium's life, inside the panel window (copy of its nearest row)
    founded = df["consortium_id"].map(cons["founded_year"]).to_numpy()
    dissolved = (
        df["consortium_id"]
        .map(cons["dissolved_year"])
        .astype("Float64")
        .fillna(10**6)
        .to_numpy(dtype=float)
    )
    first_row = ~df["consortium_id"].duplicated().to_numpy()
    last_row = ~df["consortium_id"].duplicated(keep="last").to_numpy()
    before_ok = first_row & (df["year"].to_numpy() == founded) & (founded > first_year)
    after_ok = last_row & (df["year"].to_numpy() == dissolved) & (dissolved < last_year)
    for i in m.pick(m.count(s.get("year_outside_life", 0)), before_ok | after_ok):
        row = m.row(i)
        row["year"] = int(row["year"]) + (-1 if before_ok[i] else 1)
        m.add(i, row, "year_outside_life", "year", order=i + (-0.5 if before_ok[i] else 0.5))
    for i in m.pick(m.count(s.get("negative_value", 0))):
        col = _PANEL_SAFE_COUNTS[int(rng.integers(0, len(_PANEL_SAFE_COUNTS)))]
        m.set(i, col, -max(int(m.value(i, col)), 1))
        m.tag(i, "negative_value", col)
    for i in m.pick(m.count(s.get("transferred_exceeds_achievements", 0))):
        m.set(
            i, "achievements_transferred", int(m.value(i, "achievements")) + int(rng.integers(1, 4))
        )
        m.tag(i, "transferred_exceeds_achievements", "achievements_transferred")
    for i in m.pick(m.count(s.get("industrial_exceeds_total", 0))):
        m.set(i, "tasks_industrial", int(m.value(i, "tasks_total")) + int(rng.integers(1, 3)))
        m.tag(i, "industrial_exceeds_total", "tasks_industrial")
    for i in m.pick(m.count(s.get("outlier", 0))):
        m.set(
            i, "rd_expenditure", round(float(m.value(i, "rd_expenditure")) * rng.uniform(20, 60), 4)
        )
        m.tag(i, "outlier", "rd_expenditure")
    _blank(m, rng, m.count(s.get("missing_optional", 0)))
    raw["panel"], logs["panel"] = m.finish()

    # tasks
    s = spec["tasks"]
    m = _Messer("tasks", clean["tasks"], rng)
    df = m.df
    for i in m.pick(m.count(s.get("end_before_start", 0)), df["end_date"].notna().to_numpy()):
        start, end = m.value(i, "start_date"), m.value(i, "end_date")
        m.set(i, "start_date", end)
        m.set(i, "end_date", start)
        m.tag(i, "end_before_start", "end_date")
    _blank(m, rng, m.count(s.get("missing_optional", 0)))
    raw["tasks"], logs["tasks"] = m.finish()
    return raw, logs, labels


def mess_summary(clean, raw, logs, labels, spec) -> dict:
    tables = {}
    for t in TABLES:
        q, fixes, missing, outliers = {}, {}, {}, {}
        collapsed = 0
        for entry in logs[t]:
            kind, outcome = entry["kind"], _KIND_OUTCOME[entry["kind"]][0]
            if outcome == "quarantine":
                q[entry["outcome"]] = q.get(entry["outcome"], 0) + 1
            elif outcome == "collapsed":
                collapsed += 1
            elif outcome == "fix":
                fixes[entry["outcome"]] = fixes.get(entry["outcome"], 0) + 1
            elif kind == "missing_optional":
                missing[entry["column"]] = missing.get(entry["column"], 0) + 1
            elif kind == "outlier":
                outliers[entry["column"]] = outliers.get(entry["column"], 0) + 1
        q = {rule: q[rule] for rule in RULE_ORDER if rule in q}
        read, nq = len(raw[t]), sum(q.values())
        tables[t] = {
            "rows_clean": len(clean[t]),
            "rows_read": read,
            "rows_kept": read - nq - collapsed,
            "rows_quarantined": nq,
            "duplicates_collapsed": collapsed,
            "quarantined_by_rule": q,
            "fixes": fixes,
            "synonym_labels": dict(sorted(labels.get(t, {}).items())),
            "missing_optional": dict(sorted(missing.items())),
            "outliers": dict(sorted(outliers.items())),
        }
        if t in ("members", "panel"):
            tables[t]["conflicting_duplicate_pairs"] = q.get("conflicting_duplicate", 0) // 2
    by_rule = {}
    for t in TABLES:
        for rule, k in tables[t]["quarantined_by_rule"].items():
            by_rule.setdefault(rule, {})[t] = k
    return {
        "spec": spec,
        "definitions": {
            "rows_read": "data rows in the written file (header excluded)",
            "quarantined_by_rule": "rows cleaning must set aside, by docs/design.md rule id; "
            "every injected row breaks exactly one rule, and no clean "
            "row breaks any; conflicting_duplicate counts every copy "
            "(2 rows per pair)",
            "duplicates_collapsed": "exact copies of a row, beyond the first",
            "fixes.org_type_synonym": "rows whose lead_type/member_type is a vocabulary "
            "synonym, a Chinese label, or differs from the "
            "canonical word only by case/spaces (none is byte-"
            "identical to the canonical word)",
            "missing_optional": "cells blanked in optional columns that are never empty in "
            "the clean world (not errors)",
            "outliers": "legitimate extreme values (rd_expenditure x 20-60), not errors",
            "rows_kept": "rows_read - rows_quarantined - duplicates_collapsed",
            "rows.source_row": "1-based data row in the written file, header excluded",
        },
        "tables": tables,
        "quarantined_by_rule": by_rule,
        "rows": logs,
    }
