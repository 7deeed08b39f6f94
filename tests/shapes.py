"""Contract-conforming datasets of shapes our simulator never draws, and an in-process
driver of the workflow's library steps (issue 12: any contract-conforming dataset runs to
the end).

A :class:`Shape` is a small frozen description of a dataset; :func:`write_dataset`
turns it into a folder of CSV (or Parquet) files that follow docs/data-contract.md
exactly, and :func:`shapes` is the hypothesis strategy that draws it. What a shape
varies, each independently:

* membership: static (``join_year``/``exit_year`` absent, or present with every cell
  empty) or changing (real spells: members joining after the founding, leaving early);
* which of the five lead types occur (one to five of them);
* the years: a single year up to eleven (the span of the study config's price index);
* a balanced panel (every consortium alive in every year, a row each year) or an
  unbalanced one (consortia founded and dissolved inside the window, years missing);
* 3 to 10,000 consortia;
* each optional table (``panel``, ``tasks``): absent, header only, or with rows;
* count columns that are zero in every row (achievements with achievements_transferred,
  patents, collaboration events, R&D tasks, ...), or counts in the millions;
* every optional column of every table, present or absent on its own;
* the size of money values: typical, huge but finite (1e12 in the file), tiny, zero;
* decision weights given for all, some or no members; ``is_lead`` flagging one member
  of every consortium, of some, or of none (never two);
* tasks all running, all closed, or mixed; statuses given, partly blank or absent; a
  closed task ending on its start day;
* blank cells in the optional panel columns;
* CSV or Parquet files;
* optional intentional defects (rows the contract says to quarantine or collapse).

Cell values are drawn with numpy from the shape's ``seed``: hypothesis shrinks the
structure and the seed, and a failure prints the shape that reproduces it. None of
this uses ``consortia.simulate``: the point is to leave the simulator's assumptions.

:func:`run_library_steps` runs, in this process, the step function of every rule the
workflow would run on the dataset, planned by the same functions the rules use.
"""

from __future__ import annotations

import gc
import traceback
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from hypothesis import strategies as st

from consortia import workflow as wf
from consortia.claims.steps import (
    claims_step,
    claims_tables_step,
    km_figure_step,
    transfer_figure_step,
)
from consortia.config import load_config
from consortia.contract import CHAIN_POSITIONS, ORG_TYPES, TABLES
from consortia.estimate import models_config, planning
from consortia.estimate.steps import (
    coefficient_plots_step,
    fit_models_step,
    mediation_step,
    path_diagram_step,
    specification_tests_step,
    system_step,
    tables_step,
)

ROOT = Path(__file__).resolve().parents[1]
STUDY_CONFIG = ROOT / "config" / "config.yaml"


# --------------------------------------------------------------------------- #
# Shapes
# --------------------------------------------------------------------------- #

# Years the study config's price index covers (config/config.yaml money.deflator): money
# is deflated by the panel year and funding by the founding year, so both stay inside.
INDEX_YEARS = (2014, 2024)
OPTIONAL_TABLE_STATES = ("rows", "header_only", "absent")
OPTIONAL_COLUMNS: dict[str, tuple[str, ...]] = {
    table: tuple(c for c in spec.columns if c not in spec.required)
    for table, spec in TABLES.items()
}
# Count columns that a shape can set to zero in every row, in groups that keep the
# contract's orderings (transferred <= achievements, industrial <= total).
ZERO_GROUPS: dict[str, tuple[str, ...]] = {
    "achievements": ("achievements", "achievements_transferred"),
    "achievements_transferred": ("achievements_transferred",),
    "patents": ("patents_filed", "patents_granted"),
    "collab_events": ("collab_events",),
    "tasks_total": ("tasks_total", "tasks_industrial"),
    "tasks_industrial": ("tasks_industrial",),
    "publications": ("publications",),
    "personnel_exchange": ("personnel_exchange",),
    "standards": ("standards",),
}
# Factors on the typical money values (R&D ~500 and revenue ~5,000 in the panel's 10k CNY,
# funding ~1e6 CNY): "huge" is ~1e18 CNY after conversion, large and still finite.
MONEY_SCALES = {"typical": 1.0, "huge": 1e12, "tiny": 1e-6, "zero": 0.0}
# Rows the contract sets aside, added on purpose: name -> (table, the quarantine rule it
# breaks, or None for an exact copy of a row, which cleaning collapses).
DEFECTS: dict[str, tuple[str, str | None]] = {
    "duplicate_member_row": ("members", None),
    "member_of_unknown_consortium": ("members", "unknown_consortium_key"),
    "negative_panel_money": ("panel", "negative_value"),
    "task_ends_before_start": ("tasks", "end_before_start"),
    "unknown_lead_type": ("consortia", "unknown_org_type"),
}
INDUSTRIES = ("materials", "biomedicine", "ICT", "new energy", "equipment")
REGIONS = ("Jiangsu", "Bavaria", "Île-de-France", "Ontario")


@dataclass(frozen=True)
class Shape:
    """A dataset's shape: what :func:`write_dataset` varies (module docstring).

    ``absent_columns`` holds ``table.column`` names of optional contract columns left
    out of the files; everything not listed is written.
    """

    n_consortia: int = 20
    first_year: int = 2018
    n_years: int = 4
    lead_types: tuple[str, ...] = ORG_TYPES
    balanced: bool = False
    spells: bool = True  # join_year / exit_year hold real spells (else every cell is empty)
    panel: str = "rows"
    tasks: str = "rows"
    absent_columns: frozenset[str] = frozenset()
    zero_counts: frozenset[str] = frozenset()
    huge_counts: bool = False  # every count a million times larger
    money: str = "typical"
    weights: str = "all"  # decision_weight given for "all", "some" or "none" of the members
    leads_flagged: str = "all"  # consortia with an is_lead member: "all", "some", "none"
    task_ends: str = "some"  # tasks with an end date: "none", "some", "all"
    same_day_tasks: bool = False  # closed tasks end on the day they start
    blank_statuses: bool = False
    blank_cells: bool = False  # some optional panel and task cells empty
    file_format: str = "csv"
    defects: frozenset[str] = frozenset()
    seed: int = 0

    def __post_init__(self):
        if not 1 <= len(self.lead_types) <= self.n_consortia:
            raise ValueError(
                f"{len(self.lead_types)} lead types cannot all occur in "
                f"{self.n_consortia} consortia"
            )

    @property
    def years(self) -> range:
        return range(self.first_year, self.first_year + self.n_years)

    def has(self, table: str, column: str) -> bool:
        return f"{table}.{column}" not in self.absent_columns


@dataclass(frozen=True)
class WrittenDataset:
    """A dataset folder and what was written into it (the independent truths)."""

    folder: Path
    shape: Shape
    rows: dict[str, int]  # data rows written per table (header-only: 0; absent: missing)
    quarantined: dict[str, dict[str, int]]  # table -> rule -> rows set aside on purpose
    duplicates: dict[str, int]  # table -> exact copies written on purpose


def write_dataset(shape: Shape, folder: str | Path) -> WrittenDataset:
    """Write the contract-conforming dataset ``shape`` describes into ``folder``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(shape.seed)
    consortia = _consortia(shape, rng)
    members = _members(shape, consortia, rng)
    leads = members.groupby("consortium_id", sort=False)["member_id"].first()
    consortia["lead_org_id"] = consortia["consortium_id"].map(leads)
    tables = {"consortia": consortia, "members": members}
    if shape.panel != "absent":
        tables["panel"] = _panel(shape, consortia, rng)
    if shape.tasks != "absent":
        tables["tasks"] = _tasks(shape, consortia, rng)
    tables, quarantined, duplicates = _add_defects(shape, tables)
    for table, state in (("panel", shape.panel), ("tasks", shape.tasks)):
        if state == "header_only":
            tables[table] = tables[table].iloc[0:0]
    rows = {}
    for table, frame in tables.items():
        frame = frame[[c for c in TABLES[table].columns if c in frame]]
        frame = frame.drop(columns=[c for c in frame if not shape.has(table, c)])
        if shape.file_format == "parquet":
            frame.to_parquet(folder / f"{table}.parquet", index=False)
        else:
            frame.to_csv(folder / f"{table}.csv", index=False, na_rep="")
        rows[table] = len(frame)
    return WrittenDataset(folder, shape, rows, quarantined, duplicates)


def _money(shape: Shape, rng: np.random.Generator, size: int, typical: float) -> np.ndarray:
    """Positive values around ``typical`` at the shape's scale (zeros for "zero")."""
    return typical * MONEY_SCALES[shape.money] * rng.lognormal(0.0, 1.0, size)


def _consortia(shape: Shape, rng: np.random.Generator) -> pd.DataFrame:
    n = shape.n_consortia
    first, last = shape.first_year, shape.years[-1]
    # every lead type of the shape occurs (n_consortia >= len(lead_types) by construction)
    lead_types = [*shape.lead_types, *rng.choice(shape.lead_types, n - len(shape.lead_types))]
    if shape.balanced:
        founded = rng.integers(INDEX_YEARS[0], first + 1, n)
        dissolved = pd.array([None] * n, dtype="Int64")
    else:
        founded = rng.integers(max(INDEX_YEARS[0], first - 2), last + 1, n)
        ends = founded + rng.integers(0, last - founded + 1)
        dissolved = pd.array(np.where(rng.random(n) < 0.2, ends, None), dtype="Int64")
    return pd.DataFrame(
        {
            "consortium_id": [f"K{i:05d}" for i in range(n)],
            "lead_type": lead_types,
            "founded_year": founded,
            "name": [f"Consortium {i}" for i in range(n)],
            "industry": rng.choice(INDUSTRIES, n),
            "high_tech": pd.array(rng.random(n) < 0.4, dtype="boolean"),
            "region": rng.choice(REGIONS, n),
            "dissolved_year": dissolved,
            "programme": rng.choice(["Provincial programme", "H2020"], n),
        }
    )


def _members(shape: Shape, consortia: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Members from a pool of organisations (an organisation keeps its type and may belong
    to several consortia); the first member of each consortium is its lead."""
    n = len(consortia)
    pool = max(10, 3 * n)  # organisation k has type ORG_TYPES[k % 5]
    kinds = len(ORG_TYPES)
    sizes = rng.integers(1, 9, n)
    type_of_lead = consortia["lead_type"].map({t: i for i, t in enumerate(ORG_TYPES)})
    leads = type_of_lead.to_numpy() + kinds * rng.integers(0, pool // kinds, n)
    orgs = []
    for lead, size in zip(leads, sizes, strict=True):
        # distinct organisations other than the lead: draw from the pool less one, and
        # move those at or after the lead's position up by one
        others = rng.choice(pool - 1, size - 1, replace=False)
        orgs += [lead, *(others + (others >= lead))]
    orgs = np.array(orgs)
    owner = np.repeat(np.arange(n), sizes)
    first_of_owner = np.repeat(np.cumsum(sizes) - sizes, sizes)
    total = len(owner)
    # Dirichlet(1, ..., 1) weights per consortium: exponential draws over their sum
    draws = rng.exponential(size=total)
    weights = (draws / np.bincount(owner, draws)[owner]).round(6)
    given = {"all": np.ones(total, bool), "some": rng.random(total) < 0.5}
    flagged = {"all": np.ones(n, bool), "some": rng.random(n) < 0.5}
    founded = consortia["founded_year"].to_numpy()[owner]
    last = consortia["dissolved_year"].fillna(shape.years[-1]).to_numpy(dtype=int)[owner]
    join = np.where(shape.spells & (rng.random(total) < 0.4), rng.integers(founded, last + 1), -1)
    start = np.where(join >= 0, join, founded)
    exit_ = np.where(shape.spells & (rng.random(total) < 0.3), rng.integers(start, last + 1), -1)
    frame = pd.DataFrame(
        {
            "consortium_id": consortia["consortium_id"].to_numpy()[owner],
            "member_id": [f"ORG{org:05d}" for org in orgs],
            "member_type": np.array(ORG_TYPES)[orgs % kinds],
            "is_lead": (np.arange(total) == first_of_owner)
            & flagged.get(shape.leads_flagged, np.zeros(n, bool))[owner],
            "decision_weight": np.where(
                given.get(shape.weights, np.zeros(total, bool)), weights, np.nan
            ),
            "equity_tie": rng.random(total) < 0.3,
            "funding": _money(shape, rng, total, 1e6),
            "join_year": pd.array(join, dtype="Int64"),
            "exit_year": pd.array(exit_, dtype="Int64"),
            "chain_position": rng.choice(np.array([*CHAIN_POSITIONS, None], dtype=object), total),
            "country": rng.choice(["China", "Germany", "France"], total),
            "sme": rng.random(total) < 0.5,
        }
    )
    missing_year = {"join_year": frame["join_year"] < 0, "exit_year": frame["exit_year"] < 0}
    for column, missing in missing_year.items():
        frame.loc[missing, column] = pd.NA
    return frame.astype({"decision_weight": "Float64"})


def _panel(shape: Shape, consortia: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """One row per consortium and year alive in the window; an unbalanced panel skips
    about a quarter of them."""
    keys = []
    for c in consortia.itertuples(index=False):
        end = shape.years[-1] if pd.isna(c.dissolved_year) else int(c.dissolved_year)
        for year in range(max(c.founded_year, shape.first_year), end + 1):
            if shape.balanced or rng.random() < 0.75:
                keys.append((c.consortium_id, year))
    frame = pd.DataFrame(keys, columns=["consortium_id", "year"])
    n = len(frame)
    counts = {
        "collab_events": rng.poisson(10, n),
        "personnel_exchange": rng.poisson(2, n),
        "tasks_total": rng.poisson(5, n),
        "patents_filed": rng.poisson(3, n),
        "publications": rng.poisson(4, n),
        "achievements": rng.poisson(3, n),
        "standards": rng.poisson(0.5, n),
    }
    counts["tasks_industrial"] = rng.binomial(counts["tasks_total"], 0.5)
    counts["patents_granted"] = rng.binomial(counts["patents_filed"], 0.5)
    counts["achievements_transferred"] = rng.binomial(counts["achievements"], 0.6)
    for group in shape.zero_counts:
        for column in ZERO_GROUPS[group]:
            counts[column] = np.zeros(n, dtype=int)
    if shape.huge_counts:  # scaled alike, so the contract's orderings still hold
        counts = {column: values * 1_000_000 for column, values in counts.items()}
    rd = _money(shape, rng, n, 500.0)
    frame = frame.assign(
        rd_expenditure=rd,
        subsidy=rd * rng.uniform(0, 0.5, n),
        shared_platform=pd.array(rng.random(n) < 0.5, dtype="boolean"),
        new_product_revenue=_money(shape, rng, n, 5000.0),
        **{column: pd.array(values, dtype="Int64") for column, values in counts.items()},
    )
    if shape.blank_cells:
        for column in frame.columns.drop(["consortium_id", "year"]):
            frame.loc[rng.random(n) < 0.1, column] = None
    return frame


def _tasks(shape: Shape, consortia: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Tasks started in the window; closed ones achieved or abandoned with an end date
    no later than the window's last day, running ones without."""
    window_end = np.datetime64(f"{shape.years[-1]}-12-31")
    counts = rng.poisson(3, len(consortia))
    owner = np.repeat(np.arange(len(consortia)), counts)
    total = len(owner)
    number = np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)
    first = np.maximum(consortia["founded_year"].to_numpy(), shape.first_year)[owner]
    opens = np.array([f"{year}-01-01" for year in first], dtype="datetime64[D]")
    span = (window_end - opens).astype(int)
    start = opens + rng.integers(0, span + 1)
    closed = {"all": np.ones(total, bool), "some": rng.random(total) < 0.5}.get(
        shape.task_ends, np.zeros(total, bool)
    )
    days = np.zeros(total, int) if shape.same_day_tasks else rng.integers(1, 1500, total)
    end = np.minimum(start + days, window_end)
    status = np.where(
        closed, rng.choice(["achieved", "abandoned"], total, p=[0.7, 0.3]), "ongoing"
    ).astype(object)
    if shape.blank_statuses:
        status[rng.random(total) < 0.3] = None
    ids = consortia["consortium_id"].to_numpy()[owner]
    frame = pd.DataFrame(
        {
            "consortium_id": ids,
            "task_id": [f"{c}-T{k}" for c, k in zip(ids, number, strict=True)],
            "start_date": pd.to_datetime(start),
            "end_date": pd.to_datetime(np.where(closed, end, np.datetime64("NaT"))),
            "status": status,
            "field": rng.choice(np.array(["batteries", "chips", "vaccines", None], object), total),
        }
    )
    if shape.blank_cells:
        frame.loc[rng.random(total) < 0.1, "start_date"] = pd.NaT
    return frame


def _add_defects(shape: Shape, tables: dict[str, pd.DataFrame]):
    """Add the shape's intentional defects that its tables can carry; return the tables
    and what cleaning must set aside (table -> rule -> rows) and collapse (table -> exact
    copies)."""
    tables = dict(tables)
    quarantined: dict[str, dict[str, int]] = {}
    duplicates: dict[str, int] = {}
    for name in sorted(shape.defects):
        table, rule = DEFECTS[name]
        frame = _with_defect(name, shape, tables[table]) if table in tables else None
        if frame is None:
            continue
        tables[table] = frame
        if rule is None:
            duplicates[table] = duplicates.get(table, 0) + 1
        else:
            by_rule = quarantined.setdefault(table, {})
            by_rule[rule] = by_rule.get(rule, 0) + 1
    return tables, quarantined, duplicates


def _with_defect(name: str, shape: Shape, frame: pd.DataFrame) -> pd.DataFrame | None:
    """``frame`` with the defect ``name`` (an added or altered row), or None when the shape
    cannot carry it: its table is written without rows, or a column it needs is left out."""
    first = frame.iloc[[0]]
    if name == "duplicate_member_row":
        return pd.concat([frame, first], ignore_index=True)
    if name == "member_of_unknown_consortium":
        orphan = first.assign(consortium_id="NO-SUCH-CONSORTIUM")
        return pd.concat([frame, orphan], ignore_index=True)
    if name == "unknown_lead_type":
        extra = first.assign(consortium_id="K-UNKNOWN-LEAD", lead_type="alien")
        return pd.concat([frame, extra], ignore_index=True)
    table, needs = {
        "negative_panel_money": ("panel", ("rd_expenditure",)),
        "task_ends_before_start": ("tasks", ("start_date", "end_date")),
    }[name]
    state = shape.panel if table == "panel" else shape.tasks
    if state != "rows" or frame.empty or not all(shape.has(table, c) for c in needs):
        return None
    frame = frame.copy()
    if name == "negative_panel_money":
        frame.loc[0, "rd_expenditure"] = -1.0
    else:
        start = frame.loc[0, "start_date"]
        start = pd.Timestamp(f"{shape.years[-1]}-12-31") if pd.isna(start) else start
        frame.loc[0, ["start_date", "end_date"]] = [start, start - pd.Timedelta(days=1)]
        frame.loc[0, "status"] = "achieved"
    return frame


def _preferring(ordinary, values):
    """Draw from ``values``, shrinking towards the one nearest ``ordinary`` (hypothesis
    shrinks a ``sampled_from`` towards its first element): a minimal failing shape then
    differs from an ordinary dataset only where it has to."""
    first = min(values, key=lambda v: abs(v - ordinary))
    return st.sampled_from([first, *(v for v in values if v != first)])


ALL_OPTIONAL_COLUMNS = frozenset(
    f"{table}.{column}" for table, columns in OPTIONAL_COLUMNS.items() for column in columns
)
SMALL_WORLDS = _preferring(20, range(3, 61))


@st.composite
def shapes(draw, n_consortia: st.SearchStrategy[int] = SMALL_WORLDS) -> Shape:
    """Shapes of contract-conforming datasets (:class:`Shape`); ``n_consortia`` draws
    the number of consortia (small by default: the sweep adds larger ones)."""
    n = draw(n_consortia)
    n_years = draw(_preferring(4, range(1, INDEX_YEARS[1] - INDEX_YEARS[0] + 2)))
    first_year = draw(_preferring(2018, range(INDEX_YEARS[0], INDEX_YEARS[1] - n_years + 2)))
    lead_types = draw(
        st.one_of(
            st.just(ORG_TYPES[: min(n, len(ORG_TYPES))]),
            st.lists(st.sampled_from(ORG_TYPES), min_size=1, max_size=min(n, 5), unique=True),
        )
    )
    return Shape(
        n_consortia=n,
        first_year=first_year,
        n_years=n_years,
        lead_types=tuple(t for t in ORG_TYPES if t in lead_types),
        balanced=draw(st.booleans()),
        spells=draw(st.sampled_from([True, False])),
        # a table with rows more often than not: most steps need the panel's rows
        panel=draw(st.one_of(st.just("rows"), st.sampled_from(OPTIONAL_TABLE_STATES))),
        tasks=draw(st.one_of(st.just("rows"), st.sampled_from(OPTIONAL_TABLE_STATES))),
        # all optional columns often enough that every model is planned, a few absent,
        # many absent, or none but the required ones
        absent_columns=draw(
            st.one_of(
                st.just(frozenset()),
                st.frozensets(st.sampled_from(sorted(ALL_OPTIONAL_COLUMNS)), max_size=3),
                st.frozensets(st.sampled_from(sorted(ALL_OPTIONAL_COLUMNS))),
                st.just(ALL_OPTIONAL_COLUMNS),
            )
        ),
        zero_counts=draw(st.frozensets(st.sampled_from(list(ZERO_GROUPS)))),
        huge_counts=draw(st.booleans()),
        money=draw(st.sampled_from(list(MONEY_SCALES))),
        weights=draw(st.sampled_from(["all", "some", "none"])),
        leads_flagged=draw(st.sampled_from(["all", "some", "none"])),
        task_ends=draw(st.sampled_from(["some", "none", "all"])),
        same_day_tasks=draw(st.booleans()),
        blank_statuses=draw(st.booleans()),
        blank_cells=draw(st.booleans()),
        file_format=draw(st.sampled_from(["csv", "parquet"])),
        defects=draw(st.frozensets(st.sampled_from(list(DEFECTS)), max_size=2)),
        seed=draw(st.integers(0, 2**32 - 1)),
    )


# --------------------------------------------------------------------------- #
# The driver: the workflow's library steps, in process
# --------------------------------------------------------------------------- #

# Every rule run_library_steps can run, in the order it runs them.
RULES = (
    "clean",
    "panel",
    "tasks",
    "metadata",
    "table1",
    "figure_transfer_rate",
    "claims",
    "claims_tables",
    "claims_km",
    "claims_transfer_rate",
    "fit_models",
    "specification_tests",
    "mediation",
    "system_fit",
    "scp_tables",
    "scp_coefficient_plots",
    "scp_path_diagram",
)


@dataclass(frozen=True)
class StepFailure:
    """A step that raised: the rule it stands for and the exception."""

    rule: str
    error: BaseException

    def describe(self) -> str:
        where = traceback.extract_tb(self.error.__traceback__)[-1]
        return (
            f"rule {self.rule}: {type(self.error).__name__}: {self.error} "
            f"(raised at {where.filename}:{where.lineno})"
        )


@dataclass
class LibraryRun:
    """What :func:`run_library_steps` ran on a dataset, and the files the rules it ran
    declare as outputs (from the same plan as the workflow's)."""

    dataset_plan: wf.DatasetPlan
    model_plan: planning.ModelPlan
    results: Path
    tables: list[Path] = field(default_factory=list)  # every file of every table
    figures: list[Path] = field(default_factory=list)  # every PNG and PDF
    # "fits", "tests", "mediation", "system": the JSON record of each planned item
    records: dict[str, list[Path]] = field(default_factory=dict)
    rules_run: list[str] = field(default_factory=list)
    # rules not run because a step they depend on failed (Snakemake would not start them)
    rules_blocked: list[str] = field(default_factory=list)
    failures: list[StepFailure] = field(default_factory=list)
    returned: dict[str, object] = field(default_factory=dict)  # rule -> its step's value


def study_config(**overrides) -> dict:
    """config/config.yaml, validated and defaulted as the Snakefile does, with
    ``overrides`` as ``snakemake --config key=value`` would apply them."""
    return load_config(STUDY_CONFIG, overrides)


def run_library_steps(
    dataset_dir: str | Path,
    results_dir: str | Path,
    *,
    rules: Collection[str] = RULES,
) -> LibraryRun:
    """Run every rule's step function on ``dataset_dir`` as the workflow would, writing
    under ``results_dir`` the files the rules write there (same relative paths).

    Planning is the workflow's own, with config/config.yaml, config/models.yaml and
    config/claims.yaml: ``workflow.plan_dataset`` from the headers (as
    rules/common.smk) and ``estimate.planning.plan_models`` with ``panel_availability``
    (as rules/models_helpers.smk). Each call stands for one rule, run under the
    condition its rule file puts on it, with the arguments its script passes:

    ================================  ===========================================
    rule                              step function
    ================================  ===========================================
    clean                             workflow.clean_step
    panel                             workflow.panel_step
    tasks (with a tasks table)        workflow.tasks_step
    metadata                          workflow.metadata_step
    table1                            workflow.table1_step
    figure_transfer_rate              workflow.figure_transfer_rate_step
    claims                            claims.steps.claims_step
    claims_tables                     claims.steps.claims_tables_step
    claims_km                         claims.figures.km_figure_step
    claims_transfer_rate              claims.figures.transfer_figure_step
    fit_models                        estimate.steps.fit_models_step
    specification_tests               estimate.steps.specification_tests_step
    mediation (one per mediation)     estimate.steps.mediation_step
    system_fit                        estimate.steps.system_step, per system
    scp_tables                        estimate.steps.tables_step
    scp_coefficient_plots             estimate.steps.coefficient_plots_step
    scp_path_diagram                  estimate.steps.path_diagram_step
    ================================  ===========================================

    Not run: provenance and replication (they describe the Snakemake run itself).
    ``rules`` runs only those of them (a test of one step runs it and what it needs).
    Like ``snakemake --keep-going``, a step that raises is recorded in ``failures``,
    the steps that need its outputs in ``rules_blocked``, and the others still run.
    """
    unknown = set(rules) - set(RULES)
    if unknown:
        raise ValueError(f"not rules of the workflow: {sorted(unknown)}")
    # fit_models_step collects garbage after every model; the workflow runs it in a fresh
    # process, here the test process's heap would make each collection take ~0.1 s
    gc.freeze()
    try:
        return _run_steps(Path(dataset_dir), Path(results_dir), set(rules))
    finally:
        gc.unfreeze()


class _Steps:
    """Runs steps for :func:`run_library_steps` and records them in its LibraryRun; knows
    where the rules put their files under the results folder."""

    def __init__(self, run: LibraryRun, rules: set[str]):
        self.run, self.rules = run, rules

    def data(self, *parts: str) -> str:
        return str(self.run.results.joinpath("data", *parts))

    def model_json(self, *parts: str) -> str:
        return str(self.run.results.joinpath("models", *parts))

    def table_stems(self, *names: str) -> list[Path]:
        stems = [self.run.results / "tables" / name for name in names]
        self.run.tables += [s.with_name(s.name + e) for s in stems for e in wf.TABLE_EXTENSIONS]
        return stems

    def figure_stems(self, *names: str) -> list[Path]:
        stems = [self.run.results / "figures" / name for name in names]
        self.run.figures += [s.with_name(s.name + e) for s in stems for e in wf.FIGURE_EXTENSIONS]
        return stems

    def step(self, rule: str, needs: list[str], function: Callable, /, **arguments) -> None:
        if not all(Path(p).exists() for p in needs):
            self.run.rules_blocked.append(rule)
            return
        self.run.rules_run.append(rule)
        try:
            self.run.returned[rule] = function(**arguments)
        except Exception as error:  # recorded, the independent steps go on
            self.run.failures.append(StepFailure(rule, error))


def _run_steps(dataset_dir: Path, results: Path, rules: set[str]) -> LibraryRun:
    config = study_config(dataset=str(dataset_dir), results=str(results))
    seed = config["seed"]
    registry_path = ROOT / config["claims"]
    plan = wf.plan_dataset(
        dataset=config["dataset"],
        tables_cfg=config.get("tables", {}),
        columns_cfg=config.get("columns", {}),
    )
    models = planning.plan_models(
        models_config.load_models_config(ROOT / config["models"]), planning.panel_availability(plan)
    )
    run = LibraryRun(dataset_plan=plan, model_plan=models, results=results)
    steps = _Steps(run, rules)
    data, step = steps.data, steps.step

    clean_paths = {table: data("clean", f"{table}.parquet") for table in plan.files}
    if "clean" in rules:
        step(
            "clean",
            [],
            wf.clean_step,
            files=dict(plan.files),
            clean_paths=clean_paths,
            quarantine_path=data("quarantine.csv"),
            fixes_path=data("fixes.csv"),
            quality_path=data("quality.json"),
            tables_cfg=config.get("tables", {}),
            columns_cfg=config.get("columns", {}),
            org_type_synonyms=config.get("org_type_synonyms", {}),
            industry_map=config.get("industry_map", {}),
            money=config["money"],
            censoring_date=config.get("censoring_date"),
            absent_tables=plan.absent_tables,
        )
    if "panel" in rules:
        step(
            "panel",
            list(clean_paths.values()),
            wf.panel_step,
            clean_paths=clean_paths,
            panel_path=data("panel.parquet"),
            measures_path=data("panel_measures.json"),
        )
    has_tasks = plan.has_table("tasks")
    if has_tasks and "tasks" in rules:
        step(
            "tasks",
            [clean_paths["tasks"], clean_paths["consortia"]],
            wf.tasks_step,
            clean_tasks_path=clean_paths["tasks"],
            clean_consortia_path=clean_paths["consortia"],
            tasks_path=data("tasks.parquet"),
            censoring_date=config.get("censoring_date"),
        )
    if "metadata" in rules:
        metadata_inputs = {
            "quality": data("quality.json"),
            "panel": data("panel.parquet"),
            "measures": data("panel_measures.json"),
            **({"tasks": data("tasks.parquet")} if has_tasks else {}),
        }
        step(
            "metadata",
            list(metadata_inputs.values()),
            wf.metadata_step,
            inputs=metadata_inputs,
            metadata_path=data("metadata.json"),
            dataset=config["dataset"],
            money=config["money"],
            censoring_date=config.get("censoring_date"),
        )
    if "table1" in rules:
        (table1,) = steps.table_stems("table1_descriptives")
        step(
            "table1",
            [data("panel.parquet"), data("metadata.json")],
            wf.table1_step,
            panel_path=data("panel.parquet"),
            metadata_path=data("metadata.json"),
            outputs=[str(table1) + ext for ext in wf.TABLE_EXTENSIONS],
            labels=config["labels"],
        )
    if plan.can_build("transfer_rate") and "figure_transfer_rate" in rules:
        (transfer,) = steps.figure_stems("transfer_rate_by_lead_type")
        step(
            "figure_transfer_rate",
            [data("panel.parquet")],
            wf.figure_transfer_rate_step,
            panel_path=data("panel.parquet"),
            outputs=[str(transfer) + ext for ext in wf.FIGURE_EXTENSIONS],
            seed=seed,
        )
    claims_json = str(results / "claims" / "claims.json")
    if "claims" in rules:
        step(
            "claims",
            [data("panel.parquet"), clean_paths["consortia"]]
            + ([data("tasks.parquet")] if has_tasks else []),
            claims_step,
            registry_path=registry_path,
            panel_path=data("panel.parquet"),
            json_path=claims_json,
            tasks_path=data("tasks.parquet") if has_tasks else None,
            consortia_path=clean_paths["consortia"],
            seed=seed,
        )
    if "claims_tables" in rules:
        (claims_table,) = steps.table_stems("claims")
        (forest,) = steps.figure_stems("claims_forest")
        step(
            "claims_tables",
            [claims_json],
            claims_tables_step,
            json_path=claims_json,
            table_stem=claims_table,
            figure_stem=forest,
            csv_path=str(results / "claims" / "claims.csv"),
        )
    if has_tasks and "start_date" in plan.columns["tasks"] and "claims_km" in rules:
        (km,) = steps.figure_stems("claims_km")
        step(
            "claims_km",
            [data("tasks.parquet"), claims_json],
            km_figure_step,
            tasks_path=data("tasks.parquet"),
            figure_stem=km,
            json_path=claims_json,
            labels=config["labels"],
        )
    if plan.can_build("transfer_rate") and "claims_transfer_rate" in rules:
        (claims_transfer,) = steps.figure_stems("claims_transfer_rate")
        step(
            "claims_transfer_rate",
            [data("panel.parquet")],
            transfer_figure_step,
            registry_path=registry_path,
            panel_path=data("panel.parquet"),
            figure_stem=claims_transfer,
            seed=seed,
        )
    _run_model_steps(steps, models, seed)
    return run


def _run_model_steps(steps: _Steps, models: planning.ModelPlan, seed: int) -> None:
    """The rules of rules/models.smk, each under the condition that file puts on it."""
    rules, step, model_json = steps.rules, steps.step, steps.model_json
    panel = steps.data("panel.parquet")
    fits = {name: model_json("fits", f"{name}.json") for name in models.models}
    tests = {name: model_json("tests", f"{name}.json") for name in models.tests}
    mediations = {name: model_json("mediation", f"{name}.json") for name in models.mediation}
    systems = {name: model_json("system", f"{name}.json") for name in models.system}
    records = {
        "fits": ("fit_models", fits),
        "tests": ("specification_tests", tests),
        "mediation": ("mediation", mediations),
        "system": ("system_fit", systems),
    }
    steps.run.records = {
        kind: [Path(p) for p in paths.values()]
        for kind, (rule, paths) in records.items()
        if rule in rules
    }
    if models.models and "fit_models" in rules:
        step(
            "fit_models",
            [panel],
            fit_models_step,
            entries=list(models.models.values()),
            derived=models.derived,
            panel_path=panel,
            fit_paths=fits,
            manifest_path=model_json("manifest.json"),
            planned_skips=models.skipped,
        )
    if models.tests and "specification_tests" in rules:
        step(
            "specification_tests",
            [fits[pair[kind]] for pair in models.tests.values() for kind in ("re", "mundlak")],
            specification_tests_step,
            pairs=models.tests,
            re_fits={name: fits[pair["re"]] for name, pair in models.tests.items()},
            mundlak_fits={name: fits[pair["mundlak"]] for name, pair in models.tests.items()},
            out_paths=tests,
        )
    if "mediation" in rules:
        for name, entry in models.mediation.items():
            step(
                "mediation",
                [panel],
                mediation_step,
                entries=[entry],
                derived=models.derived,
                panel_path=panel,
                seed=seed,
                out_paths={name: mediations[name]},
            )
    if models.system and "system_fit" in rules:
        step(
            "system_fit",
            [panel],
            _system_fits,
            systems=list(models.system.values()),
            equations={
                name: [models.models[eq] for eq in entry["equations"]]
                for name, entry in models.system.items()
            },
            derived=models.derived,
            panel_path=panel,
            out_paths=systems,
        )
    if (models.tables or models.mediation_table or models.system) and "scp_tables" in rules:
        names = [
            *models.tables,
            *([models.mediation_table["name"]] if models.mediation_table else []),
            *models.system,
        ]
        step(
            "scp_tables",
            [*fits.values(), *tests.values(), *mediations.values(), *systems.values()],
            tables_step,
            plan_tables=models.tables,
            fit_jsons=fits,
            test_jsons=tests,
            table_stems=dict(zip(names, steps.table_stems(*names), strict=True)),
            labels=models.labels,
            tests=models.tests,
            mediation_table=models.mediation_table,
            mediation_jsons=mediations,
            systems=list(models.system),
            system_jsons=systems,
        )
    if models.figures and "scp_coefficient_plots" in rules:
        step(
            "scp_coefficient_plots",
            list(fits.values()),
            coefficient_plots_step,
            figures=models.figures,
            fit_jsons=fits,
            figure_stems=dict(
                zip(models.figures, steps.figure_stems(*models.figures), strict=True)
            ),
            labels=models.labels,
        )
    if models.path_diagram and "scp_path_diagram" in rules:
        diagram = models.path_diagram
        (stem,) = steps.figure_stems(diagram["name"])
        inputs = [mediations[name] for name in diagram["mediation"]]
        step(
            "scp_path_diagram",
            inputs,
            path_diagram_step,
            mediation_jsons=inputs,
            stem=stem,
            title=diagram.get("title"),
            labels=models.labels,
        )


def _system_fits(systems, equations, derived, panel_path, out_paths) -> None:
    """rules/scripts/models_system.py: one ``system_step`` call per system of the plan."""
    for system in systems:
        system_step(
            system=system,
            equations=equations[system["name"]],
            derived=derived,
            panel_path=panel_path,
            out_json=out_paths[system["name"]],
        )
