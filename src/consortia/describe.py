"""What the clean panel looks like: Table 1 (descriptive statistics by lead type) and the
transfer-rate figure, the data stage's own table and figure, built on
:mod:`consortia.render`."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter

from consortia.contract import LEAD_TYPE_LABELS, LEAD_TYPE_ORDER
from consortia.render.figure import NothingToDraw, lead_type_colour, set_caption, theme
from consortia.render.table import MISSING, Table, auto_decimals, format_count, format_number

# Clean-panel columns holding money (base currency, constant prices of the base year).
MONEY_COLUMNS = frozenset({"rd_expenditure", "subsidy", "new_product_revenue", "rd_per_member"})




@dataclass(frozen=True)
class Variable:
    """One row block of Table 1.

    ``label`` may contain ``{currency}``. ``scale`` multiplies the displayed
    mean and SD only (e.g. 1e-6 with "million" in the label); the CSV keeps the
    panel's own units. ``decimals=None`` chooses them from the magnitude
    (:func:`auto_decimals`). ``money=None`` means "if the column is in
    :data:`MONEY_COLUMNS`".
    """

    column: str
    label: str
    decimals: int | None = None
    scale: float = 1.0
    money: bool | None = None

    @property
    def is_money(self) -> bool:
        return self.column in MONEY_COLUMNS if self.money is None else self.money


# Structure, conduct, performance (design.md's panel columns).
TABLE1_VARIABLES: tuple[Variable, ...] = (
    Variable("n_members", "Members (count)"),
    Variable("type_diversity", "Type diversity (Blau index, 0\u20131)"),
    Variable("lead_decision_weight", "Lead's decision weight (0\u20131)"),
    Variable("decision_hhi", "Decision-weight concentration (HHI, 0\u20131)"),
    # the network before the consortium started (consortia.network)
    Variable("lead_prior_led", "Consortia the lead had led before (count)"),
    Variable("lead_prior_joined", "Consortia the lead had joined before (count)"),
    Variable("lead_prior_partners", "Lead's earlier partners (count)"),
    Variable("lead_effective_size", "Lead's effective size (Burt; non-redundant partners)"),
    Variable("repeat_tie_share", "Member pairs that had worked together (0\u20131)"),
    Variable("collab_intensity", "Collaboration events per member"),
    Variable("industrial_task_share", "Industrial share of tasks (0\u20131)"),
    Variable("rd_per_member", "R&D expenditure per member (million {currency})", scale=1e-6),
    Variable("patents_filed", "Patents filed (count)"),
    Variable("transfer_rate", "Technology-transfer rate (0\u20131)"),
    Variable("new_product_revenue", "New-product revenue (million {currency})", scale=1e-6),
)

_STATS = ("mean", "sd", "n")
_SAMPLE = "_sample"
_TABLE1_ROW_LABELS = {
    "mean": "Mean",
    "sd": "SD",
    "n": "N",
    _SAMPLE: "Sample",
    "consortia": "Consortia",
    "consortium_years": "Consortium-years",
}
_TABLE1_COLUMN_LABELS = {
    **LEAD_TYPE_LABELS,
    "research_institute": "Research\ninstitute",  # two header lines keep the column narrow
    "all": "All",
}


def _as_variable(spec: Variable | tuple) -> Variable:
    if isinstance(spec, Variable):
        return spec
    if isinstance(spec, tuple) and len(spec) == 2:
        return Variable(str(spec[0]), str(spec[1]))
    raise TypeError(f"a variable is a Variable or a (column, label) tuple, got {spec!r}")


def _numeric(series: pd.Series, column: str) -> np.ndarray:
    if not (pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series)):
        raise TypeError(
            f"panel column {column!r} is not numeric (dtype {series.dtype}); "
            f"Table 1 reports means and SDs of numeric columns only"
        )
    if isinstance(series.dtype, pd.api.extensions.ExtensionDtype):
        return series.to_numpy(dtype=float, na_value=np.nan)
    return series.to_numpy(dtype=float)


def _n_distinct(codes: np.ndarray) -> int:
    """Distinct values among non-negative integer codes."""
    return int(np.count_nonzero(np.bincount(codes))) if codes.size else 0


def _lead_type_order(present: Iterable[str]) -> list[str]:
    present = set(present)
    known = [t for t in LEAD_TYPE_ORDER if t in present]
    return known + sorted(present - set(LEAD_TYPE_ORDER))


def descriptives_by_lead_type(
    panel: pd.DataFrame,
    variables: Sequence[Variable | tuple[str, str]] | None = None,
    *,
    currency: str,
    base_year: int | None,
    sample: str = "all consortium-years of the clean panel",
    title: str = "Descriptive statistics by lead type",
    label: str | None = "tab:descriptives",
) -> Table:
    """Table 1: N, mean and SD of each variable, by the consortium's lead type and overall.

    Unit of observation: the consortium-year (one panel row). For each variable
    and lead type, N counts consortium-years with a non-missing value; the SD is
    the sample SD (``ddof=1``, denominator N - 1), undefined (shown as an en
    dash) for N < 2. Columns: the lead types present in ``panel`` in the order
    of :data:`LEAD_TYPE_ORDER` (unknown types after them, alphabetically), then
    All. A last section gives the number of consortia and of consortium-years.

    Variables absent from the panel, or present but missing in every row, are
    left out and named in a note. ``currency`` and ``base_year`` describe the
    panel's money columns (``base_year=None``: current prices, not deflated).

    ``table.data`` (what the CSV holds) is long-form and numeric: one row per
    (variable, lead_type) with ``n, n_consortia, mean, sd`` in the panel's own
    units (not scaled as displayed), ``lead_type == "all"`` for the All column,
    and ``variable == "sample"`` rows with ``n`` = consortium-years and
    ``n_consortia`` = consortia (mean and sd empty). ``n_consortia`` of a
    variable counts consortia with at least one non-missing value.
    """
    missing_cols = [c for c in ("consortium_id", "lead_type") if c not in panel.columns]
    if missing_cols:
        raise ValueError(f"panel lacks column(s) {missing_cols} needed for Table 1")
    specs = [_as_variable(v) for v in (TABLE1_VARIABLES if variables is None else variables)]
    columns = [v.column for v in specs]
    if len(set(columns)) != len(columns):
        raise ValueError(f"a variable is listed twice: {columns}")
    if "sample" in columns or _SAMPLE in columns:
        raise ValueError("'sample' is reserved for the sample-size rows of Table 1")

    absent = [v for v in specs if v.column not in panel.columns]
    all_missing = [
        v for v in specs if v.column in panel.columns and panel[v.column].notna().sum() == 0
    ]
    shown = [v for v in specs if v not in absent and v not in all_missing]
    if not shown:
        raise ValueError(
            "none of the Table 1 variables has data in the panel: "
            f"absent {[v.column for v in absent]}, all missing {[v.column for v in all_missing]}"
        )

    lead = panel["lead_type"].astype("string")
    no_lead = int(lead.isna().sum())
    keep = lead.notna().to_numpy()
    lead_arr = lead.to_numpy(dtype=object, na_value=None)[keep]
    # Consortia counted by integer code: counting distinct strings per cell is slow.
    consortium_ids = panel["consortium_id"].to_numpy(dtype=object)[keep]
    ids = pd.factorize(consortium_ids, use_na_sentinel=False)[0]
    groups = _lead_type_order(set(lead_arr))
    masks = {g: lead_arr == g for g in groups}
    masks["all"] = np.ones(len(lead_arr), dtype=bool)
    group_keys = [*groups, "all"]

    records = []
    body_rows: dict[tuple[str, str], dict[str, str]] = {}
    for var in shown:
        x = _numeric(panel[var.column], var.column)[keep]
        stats = {}
        for g in group_keys:
            vals = x[masks[g] & ~np.isnan(x)]
            n = int(vals.size)
            mean = float(vals.mean()) if n else math.nan
            sd = float(vals.std(ddof=1)) if n >= 2 else math.nan
            n_cons = _n_distinct(ids[masks[g] & ~np.isnan(x)])
            stats[g] = (n, mean, sd)
            records.append((var.column, g, n, n_cons, mean, sd))
        decimals = (
            var.decimals
            if var.decimals is not None
            else auto_decimals(m * var.scale for _, m, _ in stats.values())
        )
        body_rows[(var.column, "mean")] = {
            g: format_number(m * var.scale, decimals) for g, (_, m, _) in stats.items()
        }
        body_rows[(var.column, "sd")] = {
            g: format_number(s * var.scale, decimals) for g, (_, _, s) in stats.items()
        }
        body_rows[(var.column, "n")] = {g: format_count(n) for g, (n, _, _) in stats.items()}
    n_years = {g: int(masks[g].sum()) for g in group_keys}
    n_cons = {g: _n_distinct(ids[masks[g]]) for g in group_keys}
    for g in group_keys:
        records.append(("sample", g, n_years[g], n_cons[g], math.nan, math.nan))
    body_rows[(_SAMPLE, "consortia")] = {g: format_count(n_cons[g]) for g in group_keys}
    body_rows[(_SAMPLE, "consortium_years")] = {g: format_count(n_years[g]) for g in group_keys}

    body = pd.DataFrame.from_dict(body_rows, orient="index")[group_keys]
    body.index = pd.MultiIndex.from_tuples(list(body_rows), names=["variable", "statistic"])
    data = pd.DataFrame.from_records(
        records, columns=["variable", "lead_type", "n", "n_consortia", "mean", "sd"]
    )

    row_labels = {v.column: v.label.replace("{currency}", currency) for v in shown}
    row_labels.update(_TABLE1_ROW_LABELS)

    notes = [
        f"Unit of observation: the consortium-year. Sample: {sample} "
        f"({format_count(n_years['all'])} consortium-years of "
        f"{format_count(n_cons['all'])} consortia); columns group consortia by the type "
        f"of their lead organisation. N: consortium-years with a value.",
    ]
    details = [
        "Mean and SD (sample standard deviation, denominator N \u2212 1) over the "
        "consortium-years with a non-missing value; N counts those consortium-years, so it "
        "varies across variables (a ratio is missing when its denominator is zero, e.g. the "
        "transfer rate in a year without achievements).",
    ]
    if any(v.is_money for v in shown):
        prices = (
            f"at constant {base_year} prices" if base_year is not None
            else "at current prices (not deflated)"
        )
        notes.append(f"Money in {currency} {prices}.")
    if (body == MISSING).any().any():
        notes.append(f"{MISSING}: not defined (no observation, or a single one for the SD).")
    if no_lead:
        notes.append(f"{format_count(no_lead)} consortium-years without a lead type are left out.")
    if absent:
        notes.append(
            "Not in the panel, so not shown: "
            + ", ".join(f"{v.label.replace('{currency}', currency)} ({v.column})" for v in absent)
            + "."
        )
    if all_missing:
        notes.append(
            "Missing in every consortium-year, so not shown: "
            + ", ".join(
                f"{v.label.replace('{currency}', currency)} ({v.column})" for v in all_missing
            )
            + "."
        )

    return Table(
        body=body,
        title=title,
        row_labels=row_labels,
        column_labels=_TABLE1_COLUMN_LABELS,
        stub_header=("", ""),
        notes=notes,
        details=details,
        rule_after=(3 * len(shown) - 1,),
        label=label,
        data=data,
        long=True,  # four rows a variable: taller than a page at 12 pt
    )


def _order(lead_types: pd.Series) -> list[str]:
    present = set(lead_types.dropna().astype(str))
    return [t for t in LEAD_TYPE_ORDER if t in present] + sorted(present - set(LEAD_TYPE_ORDER))


def transfer_rate_by_lead_type(
    panel: pd.DataFrame,
    *,
    level: str = "consortium",
    seed: int = 0,
    title: str | None = None,
) -> Figure:
    """Distribution of the technology-transfer rate by the consortium's lead type.

    ``level="consortium"`` (default): one point per consortium, its mean rate
    over the years in which the rate is defined (at least one achievement), so
    long-lived consortia do not dominate; ``level="consortium-year"``: one point
    per consortium-year. Boxes show the median and interquartile range (whiskers
    1.5 IQR); every point is drawn with a small horizontal jitter drawn from
    ``seed``. Tick labels give N per lead type (N = 0 when a lead type is in the
    panel but never has a defined rate); lead types absent from the panel are
    left out, and colours follow :data:`LEAD_TYPE_PALETTE`. The claims step
    draws the pooled rates against the review's claim in a figure of its own
    (:func:`consortia.claims.figures.transfer_rate_vs_claim`).

    Raises ``ValueError`` if ``transfer_rate`` (or ``lead_type``/``consortium_id``)
    is not in the panel, :class:`NothingToDraw` if the rate is missing in every row.
    """
    if level not in ("consortium", "consortium-year"):
        raise ValueError(f"level must be 'consortium' or 'consortium-year', got {level!r}")
    if "transfer_rate" not in panel.columns:
        raise ValueError(
            "the panel has no 'transfer_rate' column: the technology-transfer rate needs "
            "'achievements' and 'achievements_transferred' in the dataset's panel table"
        )
    need = [c for c in ("consortium_id", "lead_type") if c not in panel.columns]
    if need:
        raise ValueError(f"the panel lacks column(s) {need} needed for the transfer-rate figure")
    rate = pd.to_numeric(panel["transfer_rate"], errors="raise").astype(float)
    if rate.notna().sum() == 0:
        raise NothingToDraw(
            "transfer_rate is missing in every consortium-year (no achievements reported, "
            "or achievements = 0 throughout): nothing to plot"
        )

    frame = pd.DataFrame(
        {
            "consortium_id": panel["consortium_id"].astype(str).to_numpy(),
            "lead_type": panel["lead_type"].astype("string").to_numpy(),
            "rate": rate.to_numpy(),
        }
    )
    if "year" in panel.columns:
        frame["year"] = panel["year"].to_numpy()
    order = _order(frame["lead_type"])
    defined = frame.dropna(subset=["rate", "lead_type"])
    if level == "consortium":
        points = defined.groupby(["lead_type", "consortium_id"], sort=True, observed=True)[
            "rate"
        ].mean()
        unit_label = "consortia"
        explanation = "one point per consortium (its mean over years with at least one achievement)"
    else:
        sort_cols = ["lead_type", "consortium_id"] + (["year"] if "year" in defined else [])
        points = defined.sort_values(sort_cols, kind="stable").set_index(
            ["lead_type", "consortium_id"]
        )["rate"]
        unit_label = "consortium-years"
        explanation = "one point per consortium-year with at least one achievement"

    rng = np.random.default_rng(seed)
    with theme():
        fig = Figure(figsize=(6.4, 4.0), layout="constrained")
        ax = fig.add_subplot()
        tick_labels = []
        for pos, lead_type in enumerate(order):
            values = (
                points.xs(lead_type, level="lead_type").to_numpy(dtype=float)
                if lead_type in points.index.get_level_values("lead_type")
                else np.array([], dtype=float)
            )
            colour = lead_type_colour(lead_type)
            if values.size:
                ax.boxplot(
                    [values],
                    positions=[pos],
                    widths=0.55,
                    patch_artist=True,
                    showfliers=False,  # every point is drawn below
                    manage_ticks=False,
                    boxprops={"facecolor": mpl.colors.to_rgba(colour, 0.25), "edgecolor": colour},
                    medianprops={"color": colour, "linewidth": 2},
                    whiskerprops={"color": colour},
                    capprops={"color": colour},
                    zorder=2,
                )
                jitter = rng.uniform(-0.17, 0.17, size=values.size)
                ax.scatter(
                    pos + jitter,
                    values,
                    s=12,
                    color=colour,
                    alpha=0.75,
                    edgecolors="white",
                    linewidths=0.3,
                    zorder=3,
                    # A bitmap (at the PNG's 300 dpi) in the PDF: 100,000 vector markers
                    # make the file slow to write and to view; boxes and text stay vector.
                    rasterized=True,
                )
            name = LEAD_TYPE_LABELS.get(lead_type, lead_type)
            tick_labels.append(f"{name}\n(N = {values.size:,d})")
        ax.set_xticks(range(len(order)), tick_labels)
        ax.set_xlim(-0.6, len(order) - 0.4)
        top = max(1.0, float(np.nanmax(points.to_numpy()))) if len(points) else 1.0
        ax.set_ylim(-0.03, top + 0.03)
        ax.yaxis.set_major_formatter(PercentFormatter(xmax=1.0, decimals=0))
        ax.set_ylabel("Technology-transfer rate\n(% of achievements transferred)")
        ax.set_xlabel(f"Lead type of the consortium (N: number of {unit_label})")
        ax.grid(axis="x", visible=False)
        if title:
            fig.suptitle(title)
    return set_caption(
        fig,
        f"Technology-transfer rate by lead type: {explanation}; boxes: median and "
        "interquartile range, whiskers up to 1.5 times the IQR.",
    )
