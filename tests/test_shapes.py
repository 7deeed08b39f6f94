"""Any contract-conforming dataset runs to the end (issue 12).

``test_drawn_shapes_run_to_the_end`` draws dataset shapes our simulator never makes
(tests/shapes.py says what they vary), writes each as a dataset folder and runs the
workflow's step functions on it in this process, as the rules would. Per shape: every
step finishes; every model, test, mediation and system record is a result or a skip
that names its reason; every claim has a verdict; every table and figure the rules
declare exists; rows read = kept + quarantined + collapsed for every table, with rows
read equal to the rows written; no table shows inf or nan as a number.

Tiers: a plain ``pytest`` draws a few shapes with a fixed seed. The sweep (at least 200
shapes, larger worlds among them, on two processes) runs in CI (``CI=true``, as .ci/run
sets) or when selected with ``-m shapes_sweep``.

The named tests below are failures the issue reported, each on a copy of the demo
dataset changed in one way.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import tempfile
import traceback
import warnings
from multiprocessing import get_context
from pathlib import Path

import pandas as pd
import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st

from consortia.claims.verdict import NOT_TESTABLE, VERDICTS
from consortia.estimate.mediation_result import MediationResult
from consortia.estimate.results import FitResult
from shapes import (
    ROOT,
    SMALL_WORLDS,
    LibraryRun,
    Shape,
    WrittenDataset,
    run_library_steps,
    shapes,
    write_dataset,
)

SWEEP_MARKER = "shapes_sweep"
DEFAULT_EXAMPLES = 8
SWEEP_EXAMPLES_PER_PROCESS = 100
SWEEP_PROCESSES = 2  # the CI machine's cores
# A few larger worlds among the sweep's draws (one in 40: a step's cost hardly grows with
# the size, but the dataset's does), and the contract's largest size once in every sweep.
LARGE_WORLDS = st.sampled_from([300, 1_000, 3_000])
SWEEP_WORLDS = st.integers(1, 40).flatmap(lambda k: LARGE_WORLDS if k == 40 else SMALL_WORLDS)
LARGEST_WORLD = Shape(n_consortia=10_000, n_years=8, first_year=2016)
DEMO = ROOT / "data" / "raw" / "demo"
CLAIMS_REGISTRY = ROOT / "config" / "claims.yaml"
# inf, infinity or nan where a number stands (signed or not, any case): not the letters
# inside another word ("information", LaTeX's \infty), nor a word of a sentence that
# another word follows (a reason saying "produced NaN steps").
NON_FINITE = re.compile(
    r"(?<![A-Za-z0-9_])(?:inf(?:inity)?|nan)(?![A-Za-z0-9_])(?!\s+[A-Za-z])", re.IGNORECASE
)


def sweep_selected(config) -> bool:
    """The sweep runs in CI (CI=true, as .ci/run sets) or when a -m expression names it."""
    return SWEEP_MARKER in (config.option.markexpr or "") or os.environ.get("CI") == "true"


# --------------------------------------------------------------------------- #
# The property, shape by shape
# --------------------------------------------------------------------------- #


def check_runs_to_the_end(shape: Shape, workdir: Path, unwritten: tuple[str, ...] = ()) -> None:
    """Write ``shape`` under ``workdir``, run every step on it, check what they wrote
    (figure files with a suffix in ``unwritten`` excepted)."""
    written = write_dataset(shape, workdir / "dataset")
    run = run_library_steps(written.folder, workdir / "results")
    raise_first_failure(run)
    check_accounting(run, written)
    check_records_are_results_or_named_skips(run)
    check_every_claim_has_a_verdict(run)
    check_declared_outputs_exist(run, unwritten)
    check_tables_show_no_non_finite_number(run)


def raise_first_failure(run: LibraryRun) -> None:
    """Re-raise the first step's exception as raised (hypothesis tells failures apart by
    where they were raised), with every failure of the run in its notes."""
    if not run.failures:
        return
    error = run.failures[0].error
    for failure in run.failures:
        error.add_note(failure.describe())
    if run.rules_blocked:
        error.add_note(f"not run, an input missing: {', '.join(run.rules_blocked)}")
    raise error


def check_accounting(run: LibraryRun, written: WrittenDataset) -> None:
    quality = json.loads((run.results / "data" / "quality.json").read_text(encoding="utf-8"))
    assert set(quality["tables"]) == set(written.rows)
    for table, account in quality["tables"].items():
        assert account["rows_read"] == written.rows[table], table
        assert account["rows_read"] == (
            account["rows_kept"] + account["rows_quarantined"] + account["duplicates_collapsed"]
        ), table
        # the data are contract-valid but for the defects the shape adds on purpose
        assert account["quarantined_by_rule"] == written.quarantined.get(table, {}), table
        assert account["duplicates_collapsed"] == written.duplicates.get(table, 0), table


def is_named_skip(payload: dict) -> bool:
    return payload.get("status") == "skipped" and bool(str(payload.get("reason", "")).strip())


def is_result(kind: str, payload: dict) -> bool:
    """A record holds an estimate: it loads as the result it claims to be, with data in it."""
    if kind == "fits":
        return FitResult.from_dict(payload).nobs > 0
    if kind == "mediation":
        return MediationResult.from_dict(payload).nobs > 0
    if kind == "tests":
        return payload.get("status") == "done" and {"hausman", "mundlak"} <= set(payload)
    equations = [FitResult.from_dict(e) for e in payload.get("equations", [])]  # a system
    done = payload.get("status") == "done"
    return done and bool(equations) and min(e.nobs for e in equations) > 0


def check_records_are_results_or_named_skips(run: LibraryRun) -> None:
    for kind, paths in run.records.items():
        for path in paths:
            payload = json.loads(path.read_text(encoding="utf-8"))
            assert is_named_skip(payload) or is_result(kind, payload), (
                f"{path.relative_to(run.results)} is neither a result nor a skip with a reason: "
                f"{json.dumps(payload)[:300]}"
            )


def check_every_claim_has_a_verdict(run: LibraryRun) -> None:
    if "claims" not in run.rules_run:
        return
    registered = {c["id"] for c in yaml.safe_load(CLAIMS_REGISTRY.read_text("utf-8"))["claims"]}
    claims = json.loads((run.results / "claims" / "claims.json").read_text("utf-8"))["claims"]
    assert {c["id"] for c in claims} == registered
    for claim in claims:
        assert claim["verdict"] in VERDICTS, claim["id"]
        if claim["verdict"] == NOT_TESTABLE:
            assert str(claim["reason"]).strip(), f"{claim['id']}: not testable, no reason given"


# The files besides tables, figures and model records that a rule declares.
OTHER_OUTPUTS = {
    "clean": ["data/quality.json", "data/quarantine.csv", "data/fixes.csv"],
    "panel": ["data/panel.parquet", "data/panel_measures.json"],
    "tasks": ["data/tasks.parquet"],
    "metadata": ["data/metadata.json"],
    "claims": ["claims/claims.json"],
    "claims_tables": ["claims/claims.csv"],
    "fit_models": ["models/manifest.json"],
}


def check_declared_outputs_exist(run: LibraryRun, unwritten: tuple[str, ...] = ()) -> None:
    figures = [p for p in run.figures if p.suffix not in unwritten]
    expected = [*run.tables, *figures, *(p for paths in run.records.values() for p in paths)]
    expected += [run.results / f for rule in run.rules_run for f in OTHER_OUTPUTS.get(rule, [])]
    missing = [str(p.relative_to(run.results)) for p in expected if not p.is_file()]
    assert not missing, f"declared outputs not written: {missing}"


def non_finite_numbers(path: Path) -> list[str]:
    """The lines of a table file (CSV, Markdown, HTML or LaTeX) that show inf or nan."""
    return [
        line.strip()
        for line in path.read_text(encoding="utf-8").splitlines()
        if NON_FINITE.search(line)
    ]


def check_tables_show_no_non_finite_number(run: LibraryRun) -> None:
    shown = {
        path.name: lines
        for path in sorted((run.results / "tables").glob("*"))
        if path.suffix in (".csv", ".md", ".html", ".tex") and (lines := non_finite_numbers(path))
    }
    assert not shown, f"tables show non-finite numbers: {json.dumps(shown, ensure_ascii=False)}"


# --------------------------------------------------------------------------- #
# Default tier and sweep
# --------------------------------------------------------------------------- #


def shape_property(
    workdir: Path, examples: int, worlds: st.SearchStrategy[int], unwritten: tuple[str, ...] = ()
):
    """The property as a hypothesis test over ``examples`` shapes with ``worlds``
    consortia, each written and run in a fresh folder under ``workdir``; figure files
    with a suffix in ``unwritten`` are not expected."""

    @settings(
        max_examples=examples,
        derandomize=True,  # a fixed seed: the same shapes on every run
        database=None,  # nothing written into the checkout
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
        print_blob=True,
    )
    @given(shape=shapes(n_consortia=worlds))
    def runs_to_the_end(shape: Shape) -> None:
        with tempfile.TemporaryDirectory(dir=workdir) as folder:
            check_runs_to_the_end(shape, Path(folder), unwritten)

    return runs_to_the_end


# The figure files the sweep does not write (cheaper_figure_files).
SWEEP_UNWRITTEN = (".pdf",)


@contextlib.contextmanager
def cheaper_figure_files():
    """Rendering figures is most of a shape's cost (measured: ~0.5 s a figure at 300 dpi
    PNG plus PDF, eight figures a full shape), too much for 200 shapes beside the rest of
    CI. In the sweep every figure is still built by the workflow's code (data, artists,
    caption) and rendered once, to a 60-dpi PNG: what depends on a dataset's shape fails
    there. Left out: the PDF (a second rendering of the same artists, not written; the
    check skips SWEEP_UNWRITTEN) and the layout check (a third, whose findings are log
    warnings the sweep does not read). The default tier, the named tests and
    tests/test_print.py render and check as the workflow does."""
    from matplotlib.figure import Figure

    from consortia.render import figure as figures

    savefig, png_dpi, check_layout = Figure.savefig, figures.PNG_DPI, figures.layout_problems

    def png_only(fig, fname, *args, **kwargs):
        if kwargs.get("format") == "pdf":
            return None
        return savefig(fig, fname, *args, **kwargs)

    Figure.savefig, figures.PNG_DPI, figures.layout_problems = png_only, 60, lambda fig: []
    try:
        yield
    finally:
        Figure.savefig, figures.PNG_DPI, figures.layout_problems = savefig, png_dpi, check_layout


def sweep_part(part: int, workdir: str) -> str | None:
    """One process's share of the sweep (its own seed); the failure report, or None."""
    # Unlike the test's own process, a worker has no pytest capture of log records and
    # warnings: they would all go to its stderr, tens of kilobytes per sweep, into the
    # test's captured output. The report says what failed.
    logging.disable(logging.CRITICAL)
    warnings.simplefilter("ignore")
    property_ = shape_property(
        Path(workdir), SWEEP_EXAMPLES_PER_PROCESS, SWEEP_WORLDS, SWEEP_UNWRITTEN
    )
    if part == 0:
        property_ = example(shape=LARGEST_WORLD)(property_)
    try:
        with cheaper_figure_files():
            hypothesis_seed(part)(property_)()
    except BaseException as error:  # reported to the parent as text: it need not pickle
        return "".join(traceback.format_exception(error))
    return None


def _sweep_worker_setup() -> None:
    # One BLAS thread per worker (two workers already fill the cores), and a lower
    # priority: the sweep starts with the session (tests/conftest.py) and uses the core the
    # rest of the suite leaves idle, without slowing it.
    for variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[variable] = "1"
    os.nice(10)


class Sweep:
    """The sweep's worker processes, started once per session, and their reports."""

    def __init__(self, workdir: Path):
        # spawn: the environment is set before numpy loads in the worker
        self.pool = get_context("spawn").Pool(SWEEP_PROCESSES, initializer=_sweep_worker_setup)
        self.parts = [
            self.pool.apply_async(sweep_part, (part, str(workdir)))
            for part in range(SWEEP_PROCESSES)
        ]

    def failures(self) -> list[str]:
        reports = [part.get() for part in self.parts]
        return [f"sweep process {k}:\n{report}" for k, report in enumerate(reports) if report]

    def stop(self) -> None:
        """End the workers, finished or not (a session stopped early does not wait)."""
        self.pool.terminate()
        self.pool.join()


@pytest.mark.slow
@pytest.mark.shapes_sweep
def test_drawn_shapes_run_to_the_end(request, tmp_path):
    if not sweep_selected(request.config):
        shape_property(tmp_path, DEFAULT_EXAMPLES, SMALL_WORLDS)()
        return
    sweep = getattr(request.config, "shapes_sweep", None)  # started with the session
    if sweep is None:
        sweep = Sweep(tmp_path)
        request.addfinalizer(sweep.stop)
    failed = sweep.failures()
    if failed:
        pytest.fail("\n\n".join(failed), pytrace=False)


# --------------------------------------------------------------------------- #
# The failures issue 12 reports, on copies of the demo
# --------------------------------------------------------------------------- #


def demo_tables() -> dict[str, pd.DataFrame]:
    """The demo's tables as written (every cell as text, empty cells empty)."""
    return {
        table: pd.read_csv(DEMO / f"{table}.csv", dtype=str, keep_default_na=False)
        for table in ("consortia", "members", "panel", "tasks")
    }


def write_tables(tables: dict[str, pd.DataFrame], folder: Path) -> Path:
    folder.mkdir(parents=True)
    for table, frame in tables.items():
        frame.to_csv(folder / f"{table}.csv", index=False)
    return folder


def demo_truth() -> dict:
    return json.loads((DEMO / "truth.json").read_text(encoding="utf-8"))["mess"]


def clean_row(table: str, frame: pd.DataFrame, wanted: pd.Series) -> int:
    """Index of the first row of the demo's ``table`` meeting ``wanted`` that the simulator
    left clean (truth.json lists the rows it made messy, by 1-based source row)."""
    messy = {row["source_row"] - 1 for row in demo_truth()["rows"][table]}
    return next(i for i in frame.index[wanted] if i not in messy)


def assert_finished(run: LibraryRun) -> None:
    assert not run.failures, "\n".join(f.describe() for f in run.failures)
    assert not run.rules_blocked


def run_to_the_end(tables: dict[str, pd.DataFrame], folder: Path, rules: set[str]) -> LibraryRun:
    """Write ``tables`` as a dataset under ``folder``, run ``rules`` on it, and check that
    every one finished."""
    dataset = write_tables(tables, folder / "dataset")
    run = run_library_steps(dataset, folder / "results", rules=rules)
    assert_finished(run)
    return run


def fits(run: LibraryRun) -> dict[str, dict]:
    return {p.stem: json.loads(p.read_text(encoding="utf-8")) for p in run.records["fits"]}


@pytest.mark.slow
def test_static_membership_fits_models_and_evaluates_claims(tmp_path):
    """join_year / exit_year left out: membership never changes, so the structure
    measures are constant within a consortium. Was: pyfixest's "All variables are
    collinear" stopped fit_models and claims."""
    tables = demo_tables()
    tables["members"] = tables["members"].drop(columns=["join_year", "exit_year"])
    run = run_to_the_end(tables, tmp_path, {"clean", "panel", "tasks", "fit_models", "claims"})
    check_records_are_results_or_named_skips(run)
    check_every_claim_has_a_verdict(run)
    # With consortium effects, a model whose regressors are all structure measures (and
    # log members) has nothing left to estimate: a skip with its reason, not a crash.
    within = fits(run)
    for name in ("sc_collab_twfe", "sc_industrial_twfe", "sc_rd_twfe"):
        assert is_named_skip(within[name]), name


@pytest.mark.slow
def test_three_consortia_fit_the_fractional_logit_or_say_why_not(tmp_path):
    """The demo cut to three consortia. Was: ZeroDivisionError in
    estimate.vcov.cr_factor from the fractional logit."""
    tables = demo_tables()
    kept = tables["consortia"]["consortium_id"].iloc[:3]
    tables = {t: f[f["consortium_id"].isin(kept)] for t, f in tables.items()}
    run = run_to_the_end(tables, tmp_path, {"clean", "panel", "tasks", "fit_models", "claims"})
    check_records_are_results_or_named_skips(run)
    check_every_claim_has_a_verdict(run)
    assert {"cp_transfer_fraclogit", "scp_transfer_fraclogit"} <= set(fits(run))


@pytest.mark.slow
def test_no_achievements_give_transfer_figures_naming_why(tmp_path):
    """Every achievements and achievements_transferred zero: the transfer rate is
    undefined everywhere. Was: figure_transfer_rate and claims_transfer_rate raised
    "nothing to plot"."""
    tables = demo_tables()
    tables["panel"] = tables["panel"].assign(achievements="0", achievements_transferred="0")
    figure_rules = ("figure_transfer_rate", "claims_transfer_rate")
    run = run_to_the_end(tables, tmp_path, {"clean", "panel", *figure_rules})
    check_declared_outputs_exist(run)
    for rule in figure_rules:  # a placeholder was drawn, and the step says why
        assert str(run.returned[rule] or "").strip(), rule


@pytest.mark.slow
def test_header_only_panel_and_tasks_run_to_the_end(tmp_path):
    """panel.csv and tasks.csv with a header and no row. Was: claims_km raised "no task
    has a positive duration"."""
    tables = demo_tables()
    for table in ("panel", "tasks"):
        tables[table] = tables[table].iloc[0:0]
    run = run_to_the_end(
        tables, tmp_path, {"clean", "panel", "tasks", "metadata", "table1", "claims", "claims_km"}
    )
    check_declared_outputs_exist(run)
    check_every_claim_has_a_verdict(run)
    assert str(run.returned["claims_km"] or "").strip()  # a placeholder, and why


@pytest.mark.slow
def test_revenue_overflowing_on_conversion_is_quarantined(tmp_path):
    """new_product_revenue = 1e305 in one panel row: finite as written, inf once the
    demo's 10k CNY are converted to CNY. Was: Table 1 printed inf and the mediation
    bootstrap crashed (IndexError in _percentile)."""
    tables = demo_tables()
    panel = tables["panel"]
    row = clean_row("panel", panel, panel["new_product_revenue"] != "")
    panel.loc[row, "new_product_revenue"] = "1e305"
    run = run_to_the_end(
        tables, tmp_path, {"clean", "panel", "tasks", "metadata", "table1", "mediation"}
    )
    quality = json.loads((run.results / "data" / "quality.json").read_text(encoding="utf-8"))
    expected = {**demo_truth()["tables"]["panel"]["quarantined_by_rule"], "value_overflow": 1}
    assert quality["tables"]["panel"]["quarantined_by_rule"] == expected
    quarantine = pd.read_csv(run.results / "data" / "quarantine.csv")
    overflow = quarantine[quarantine["rule"] == "value_overflow"]
    assert overflow[["table", "source_row"]].values.tolist() == [["panel", row + 1]]
    check_records_are_results_or_named_skips(run)
    check_tables_show_no_non_finite_number(run)


@pytest.mark.slow
def test_task_dated_2099_is_quarantined_and_the_censoring_date_kept(tmp_path):
    """One achieved task's end_date mistyped as 2099-01-01. Was: the default censoring
    date (the latest date in the tasks table) silently moved to 2099."""
    tables = demo_tables()
    tasks = tables["tasks"]
    row = clean_row("tasks", tasks, (tasks["status"] == "achieved") & (tasks["end_date"] != ""))
    rules = {"clean", "panel", "tasks", "metadata"}
    runs = {"without_task": run_to_the_end(
        {**tables, "tasks": tasks.drop(index=row)}, tmp_path / "without_task", rules
    )}  # fmt: skip
    tasks.loc[row, "end_date"] = "2099-01-01"
    runs["mistyped"] = run_to_the_end(tables, tmp_path / "mistyped", rules)
    quality, metadata = (
        {name: json.loads((run.results / "data" / f"{what}.json").read_text("utf-8"))
         for name, run in runs.items()}
        for what in ("quality", "metadata")
    )  # fmt: skip
    expected = {**demo_truth()["tables"]["tasks"]["quarantined_by_rule"], "date_far_beyond_data": 1}
    assert quality["mistyped"]["tables"]["tasks"]["quarantined_by_rule"] == expected
    assert (
        metadata["mistyped"]["tasks"]["censoring_date"]
        == metadata["without_task"]["tasks"]["censoring_date"]
    )
