"""Benchmark suite: time every workflow stage on simulated worlds of growing size.

    .venv/bin/python benchmarks/run.py [--sizes 1000 10000 100000] [--years 10]
                                       [--out benchmarks/results] [--work DIR]

For each size the script simulates a world (``consortia.simulate``, written as
CSV like the demo data), then runs each stage in a fresh Python process and
records its wall time (process start to exit, imports included), the time of
the stage's own work (measured inside the process) and its peak resident
memory (``ru_maxrss`` of that process, read with ``os.wait4``). The whole
workflow then runs through Snakemake (``--cores 2``) on the same folder, and
the demo workflow runs once, cold (fresh results folder). Side by side in the
model stage: the two-way FE spec fitted by the pipeline
(``consortia.estimate.fit``), directly with pyfixest (warm: second call) and
with linearmodels ``PanelOLS``; every pyfixest-fittable spec of
config/models.yaml through the pipeline and directly. The mediation stage times
the vectorised 999-replicate cluster bootstrap and ``mediation_refit`` on a few
replicates (extrapolated to 999, and labelled as such).

Writes ``benchmarks.csv`` (one row per size and stage) and ``benchmarks.md``
(machine, versions, the table, the targets of issue 7 with met / missed).
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import datetime as dt
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
SNAKEMAKE = str(Path(PYTHON).with_name("snakemake"))
SEED = 20251220
FIRST_YEAR = 2015

# Every consortium is in the window from its first year and few dissolve, so that
# 100k consortia x 10 years gives about 1M consortium-years (the scale issue 7 names);
# the rest of the data-generating process is the simulator's default.
TRUTH_OVERRIDES = {"founding": {"share_before_window": 1.0, "dissolution_hazard": 0.01}}

STAGES = [
    ("simulate", "simulate + write CSV (not part of the workflow)"),
    ("clean", "read + validate + clean (rule clean)"),
    ("measures", "clean + measures: panel, tasks, metadata (rules panel, tasks, metadata)"),
    ("models", "SCP models: fit every spec in config/models.yaml"),
    ("model_reference", "TWFE spec: pipeline vs pyfixest (warm) vs linearmodels"),
    ("mediation", "mediation: 999-replicate cluster bootstrap (+ refit reference)"),
    ("claims", "claims: verdicts on config/claims.yaml"),
    ("tables_figures", "tables and figures (Table 1, transfer-rate figure, regression tables)"),
    ("snakemake", "whole workflow through Snakemake, --cores 2, cold"),
]
DEMO_STAGE = ("demo_cold", "demo workflow through Snakemake, --cores 2, cold")


# --------------------------------------------------------------------------- helpers


def _load_config(dataset: Path) -> dict:
    from consortia.config import load_config

    config = load_config(ROOT / "config" / "config.yaml", {"dataset": str(dataset)})
    config["money"]["deflator"]["index"] = _deflator_index(config)
    return config


def _deflator_index(config: dict) -> dict[int, float]:
    """The study index, carried flat to the years the benchmark world needs.

    The simulator founds consortia up to ``max_years_before_window`` years before
    the window; both the simulator and the workflow get the same extended index.
    """
    from consortia.simulate import default_truth

    index = {
        int(year): float(value) for year, value in config["money"]["deflator"]["index"].items()
    }
    before = default_truth()["founding"]["max_years_before_window"]
    for year in range(FIRST_YEAR - before, min(index)):
        index[year] = index[min(index)]
    return dict(sorted(index.items()))


def _paths(work: Path, size: int) -> dict[str, Path]:
    base = work / f"n{size}"
    return {
        "base": base,
        "dataset": base / "dataset",
        "overlay": base / "config_overlay.yaml",
        "stage": base / "stage",
        "snakemake": base / "snakemake_results",
    }


def _write_json(payload: dict, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=1, default=str) + "\n")


# --------------------------------------------------------------------------- stages
# Each runs inside its own process (``run.py stage NAME ...``) and returns a dict
# of facts; its "seconds" is the stage's own work, imports excluded.


def stage_simulate(work: Path, size: int, years: int, **_) -> dict:
    import yaml

    from consortia.simulate import simulate_world, write_world

    p = _paths(work, size)
    config = _load_config(p["dataset"])
    index = config["money"]["deflator"]["index"]
    overrides = dict(
        TRUTH_OVERRIDES, money={"deflator_index": {str(k): v for k, v in index.items()}}
    )
    start = time.perf_counter()
    world = simulate_world(
        n_consortia=size, n_years=years, first_year=FIRST_YEAR, seed=SEED, truth=overrides
    )
    simulated = time.perf_counter() - start
    write_world(world, p["dataset"], fmt="csv")
    seconds = time.perf_counter() - start
    overlay = {"money": {"deflator": {"base_year": config["money"]["deflator"]["base_year"],
                                      "index": index}}}
    p["overlay"].write_text(yaml.safe_dump(overlay, sort_keys=False))
    rows = {table: len(frame) for table, frame in world.raw.items()}
    return {"seconds": seconds, "simulate_seconds": simulated, "rows": rows}


def stage_clean(work: Path, size: int, **_) -> dict:
    from consortia import workflow as wf

    p = _paths(work, size)
    config = _load_config(p["dataset"])
    start = time.perf_counter()
    plan = wf.plan_dataset(config["dataset"], config["tables"], config["columns"])
    out = p["stage"] / "data"
    clean = {table: str(out / "clean" / f"{table}.parquet") for table in plan.files}
    quality = wf.clean_step(
        plan.files,
        clean,
        str(out / "quarantine.csv"),
        str(out / "fixes.csv"),
        str(out / "quality.json"),
        plan.absent_tables,
        tables_cfg=config["tables"],
        columns_cfg=config["columns"],
        org_type_synonyms=config["org_type_synonyms"],
        industry_map=config["industry_map"],
        money=config["money"],
    )
    seconds = time.perf_counter() - start
    kept = {table: info.get("rows_kept") for table, info in quality["tables"].items()}
    return {"seconds": seconds, "rows_kept": kept}


def stage_measures(work: Path, size: int, **_) -> dict:
    from consortia import workflow as wf

    p = _paths(work, size)
    config = _load_config(p["dataset"])
    out = p["stage"] / "data"
    clean = {
        t: str(out / "clean" / f"{t}.parquet") for t in ("consortia", "members", "panel", "tasks")
    }
    start = time.perf_counter()
    wf.panel_step(clean, str(out / "panel.parquet"), str(out / "panel_measures.json"))
    panel_seconds = time.perf_counter() - start
    wf.tasks_step(clean["tasks"], clean["consortia"], str(out / "tasks.parquet"),
                  config.get("censoring_date"))
    tasks_seconds = time.perf_counter() - start - panel_seconds
    inputs = {
        "quality": str(out / "quality.json"),
        "panel": str(out / "panel.parquet"),
        "measures": str(out / "panel_measures.json"),
        "tasks": str(out / "tasks.parquet"),
    }
    wf.metadata_step(inputs, str(out / "metadata.json"), str(p["dataset"]), config["money"],
                     config.get("censoring_date"))
    seconds = time.perf_counter() - start
    import pandas as pd

    rows = {"panel": len(pd.read_parquet(out / "panel.parquet", columns=["year"])),
            "tasks": len(pd.read_parquet(out / "tasks.parquet", columns=["censored"]))}
    return {"seconds": seconds, "panel_seconds": panel_seconds, "tasks_seconds": tasks_seconds,
            "rows": rows}


def _models_config():
    """(model entries, derived variables, table entries) of config/models.yaml."""
    from consortia.estimate import models_config

    cfg = models_config.load_models_config(ROOT / "config" / "models.yaml")
    return list(cfg.models.values()), cfg.derived, cfg


def _panel_with_derived(work: Path, size: int, narrow: bool = False):
    """The panel with the derived variables; ``narrow``: as rule fit_models reads it (only
    the specs' columns, text as categoricals), the fair input for direct pyfixest too."""
    from consortia.estimate import steps

    entries, derived, _ = _models_config()
    path = _paths(work, size)["stage"] / "data" / "panel.parquet"
    if not narrow:
        return steps.read_panel(path, derived)
    return steps.read_panel(path, derived, columns=steps.model_columns(entries),
                            categorical=True)


def stage_models(work: Path, size: int, **_) -> dict:
    import logging

    from consortia.estimate import steps

    logging.getLogger("consortia").setLevel(logging.WARNING)
    entries, derived, _ = _models_config()
    out = _paths(work, size)["stage"] / "models"
    fit_paths = {e["name"]: str(out / "fits" / f"{e['name']}.json") for e in entries}
    start = time.perf_counter()
    manifest = steps.fit_models_step(
        entries, derived, _paths(work, size)["stage"] / "data" / "panel.parquet", fit_paths,
        out / "manifest.json",
    )
    seconds = time.perf_counter() - start
    fitted = [r["name"] for r in manifest["models"] if r["status"] == "fitted"]
    return {"seconds": seconds, "specs": len(entries), "fitted": len(fitted),
            "skipped": [r["name"] for r in manifest["skipped"]]}


def _pyfixest_formula(entry: dict, panel) -> tuple[str, list[str]] | None:
    """The spec as a direct pyfixest formula (None if pyfixest does not fit it)."""
    from consortia.estimate import ModelSpec

    spec = ModelSpec.from_dict(dict(entry))
    if spec.estimator not in ("ols", "twfe", "ppml") or spec.sample or spec.is_driscoll_kraay:
        return None
    terms, used = [], []
    for var in spec.rhs:
        column = panel[var]
        if column.dtype == object or str(column.dtype) in ("category", "string"):
            base = spec.reference_levels.get(var)
            terms.append(f"C({var}, contr.treatment(base={base!r}))" if base else f"C({var})")
        else:
            terms.append(var)
        used.append(var)
    formula = f"{spec.outcome} ~ {' + '.join(terms)}"
    if spec.fixed_effects:
        formula += " | " + " + ".join(spec.fixed_effects)
    return formula, used


def _timed(function, repeat: int = 1):
    best, value = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        value = function()
        best = min(best, time.perf_counter() - start)
    return best, value


def stage_model_reference(work: Path, size: int, **_) -> dict:
    import warnings

    import numpy as np
    import pandas as pd
    import pyfixest as pf
    from linearmodels import PanelOLS

    from consortia.estimate import ModelSpec, fit
    from consortia.estimate.linear import pyfixest_ssc

    warnings.simplefilter("ignore")
    entries, _, _ = _models_config()
    # Both sides get the frame fit_models works on, and pyfixest is told not to copy it:
    # pyfixest's default copy of a wide text panel would flatter the pipeline.
    panel = _panel_with_derived(work, size, narrow=True)
    for column in panel.columns:  # formulaic reads booleans as categories; numbers as numbers
        if panel[column].dtype == bool or str(panel[column].dtype) == "boolean":
            panel[column] = panel[column].astype(float)

    twfe = next(e for e in entries if e["estimator"] == "twfe")
    spec = ModelSpec.from_dict(dict(twfe))
    formula, used = _pyfixest_formula(twfe, panel)
    ssc = pyfixest_ssc(spec.vcov)
    cluster = spec.cluster_vars[0]

    def direct_pyfixest(f=formula, estimator=pf.feols):
        return estimator(f, data=panel, vcov={"CRV1": cluster}, ssc=ssc, copy_data=False).coef()

    def linearmodels_fit():
        frame = panel[[spec.outcome, *used, spec.entity, spec.time]].dropna()
        frame = frame.set_index([spec.entity, spec.time])
        model = PanelOLS(frame[spec.outcome], frame[used], entity_effects=True, time_effects=True,
                         drop_absorbed=True)
        return model.fit(cov_type="clustered", cluster_entity=True).params

    pipeline_first, _ = _timed(lambda: fit(spec, panel))
    pyfixest_first, _ = _timed(direct_pyfixest)
    pipeline_warm, result = _timed(lambda: fit(spec, panel), repeat=2)
    pyfixest_warm, direct = _timed(direct_pyfixest, repeat=2)
    linearmodels_seconds, lm_params = _timed(linearmodels_fit)
    common = [v for v in used if v in result.params and v in lm_params.index and v in direct.index]
    max_diff = float(np.max(np.abs(np.array([result.params[v] for v in common]) - direct[common])))

    # every spec pyfixest can fit: through the pipeline and directly, both warm
    per_spec, pipeline_total, direct_total = [], 0.0, 0.0
    for entry in entries:
        made = _pyfixest_formula(entry, panel)
        if made is None:
            continue
        f, _ = made
        spec_i = ModelSpec.from_dict(dict(entry))
        estimator = pf.fepois if spec_i.estimator == "ppml" else pf.feols
        try:
            direct_pyfixest(f, estimator)  # warm both paths
            fit(spec_i, panel)
            t_direct, _ = _timed(lambda f=f, e=estimator: direct_pyfixest(f, e))
            t_pipe, _ = _timed(lambda s=spec_i: fit(s, panel))
        except Exception as error:  # noqa: BLE001 - a spec pyfixest rejects is reported
            per_spec.append({"name": entry["name"], "error": f"{type(error).__name__}: {error}"})
            continue
        pipeline_total += t_pipe
        direct_total += t_direct
        per_spec.append({"name": entry["name"], "estimator": spec_i.estimator,
                         "pipeline_seconds": t_pipe, "pyfixest_seconds": t_direct})
    return {
        "seconds": pipeline_warm,
        "spec": twfe["name"],
        "formula": formula,
        "nobs": result.nobs,
        "pipeline_first_seconds": pipeline_first,
        "pyfixest_first_seconds": pyfixest_first,
        "pipeline_warm_seconds": pipeline_warm,
        "pyfixest_warm_seconds": pyfixest_warm,
        "linearmodels_seconds": linearmodels_seconds,
        "ratio_pipeline_to_pyfixest": pipeline_warm / pyfixest_warm,
        "speedup_vs_linearmodels": linearmodels_seconds / pipeline_warm,
        "max_abs_coef_diff_vs_pyfixest": max_diff,
        "max_abs_coef_diff_vs_linearmodels": float(
            np.max(np.abs(lm_params[common].to_numpy() - direct[common].to_numpy()))
        ),
        "pyfixest_specs": per_spec,
        "pyfixest_specs_pipeline_seconds": pipeline_total,
        "pyfixest_specs_direct_seconds": direct_total,
        "pyfixest_specs_ratio": pipeline_total / direct_total if direct_total else None,
        "pandas": pd.__version__,
    }


def stage_mediation(work: Path, size: int, refit_reps: int = 3, **_) -> dict:
    import warnings

    from consortia.estimate.mediation import mediation
    from consortia.estimate.mediation_refit import mediation_refit

    warnings.simplefilter("ignore")
    _, _, cfg = _models_config()
    entry = dict(next(iter(cfg.mediation.values())))
    panel = _panel_with_derived(work, size)
    args = (entry.pop("treatment"), entry.pop("mediator"), entry.pop("outcome"))
    entry.pop("n_boot", None)
    name = entry.pop("name")
    start = time.perf_counter()
    fast = mediation(panel, *args, **entry, n_boot=999, seed=SEED, name=name)
    seconds = time.perf_counter() - start
    slow = mediation_refit(
        panel, *args, **entry, n_boot=refit_reps, seed=SEED, bca=False, name=name
    )
    per_replicate = slow.timings["bootstrap_seconds"] / refit_reps
    vectorised_replicates = (
        fast.timings["crossproducts_seconds"] + fast.timings["bootstrap_seconds"]
    )
    same = max(
        abs(a - b)
        for q in ("a", "b", "indirect")
        for a, b in zip(fast.replicates[q][:refit_reps], slow.replicates[q], strict=True)
    )
    return {
        "seconds": seconds,
        "name": name,
        "nobs": fast.nobs,
        "n_clusters": fast.n_clusters,
        "timings": fast.timings,
        "refit_replicates_timed": refit_reps,
        "refit_seconds_per_replicate": per_replicate,
        "refit_999_seconds_extrapolated": per_replicate * 999,
        "vectorised_999_replicates_seconds": vectorised_replicates,
        "speedup_vs_refit": per_replicate * 999 / vectorised_replicates,
        "max_abs_diff_first_replicates": same,
    }


def stage_claims(work: Path, size: int, **_) -> dict:
    import logging

    from consortia.claims.steps import claims_step, claims_tables_step

    logging.getLogger("consortia").setLevel(logging.WARNING)
    data = _paths(work, size)["stage"] / "data"
    out = _paths(work, size)["stage"] / "claims"
    start = time.perf_counter()
    results = claims_step(
        registry_path=ROOT / "config" / "claims.yaml",
        panel_path=data / "panel.parquet",
        json_path=out / "claims.json",
        tasks_path=data / "tasks.parquet",
        consortia_path=data / "clean" / "consortia.parquet",
        seed=SEED,
    )
    claims_tables_step(
        json_path=out / "claims.json",
        table_stem=out / "claims",
        figure_stem=out / "claims_forest",
    )
    seconds = time.perf_counter() - start
    verdicts = getattr(results, "verdicts", {})
    return {"seconds": seconds, "claims": len(verdicts)}


def stage_tables_figures(work: Path, size: int, **_) -> dict:
    from consortia import workflow as wf
    from consortia.estimate import steps

    data = _paths(work, size)["stage"] / "data"
    out = _paths(work, size)["stage"] / "outputs"
    _, _, cfg = _models_config()
    fits = _paths(work, size)["stage"] / "models" / "fits"
    start = time.perf_counter()
    wf.table1_step(str(data / "panel.parquet"), str(data / "metadata.json"),
                   [str(out / f"table1_descriptives{ext}") for ext in wf.TABLE_EXTENSIONS])
    wf.figure_transfer_rate_step(
        str(data / "panel.parquet"),
        [str(out / f"transfer_rate_by_lead_type{ext}") for ext in wf.FIGURE_EXTENSIONS],
        seed=SEED,
    )
    made = 2
    for name, entry in cfg.tables.items():
        paths = [fits / f"{m}.json" for m in entry["models"]]
        if all(path.exists() for path in paths):
            steps.regression_table_step(paths, out / name, title=entry.get("title", ""),
                                        labels=cfg.labels)
            made += 1
    return {"seconds": time.perf_counter() - start, "outputs": made}


STAGE_FUNCTIONS = {
    "simulate": stage_simulate,
    "clean": stage_clean,
    "measures": stage_measures,
    "models": stage_models,
    "model_reference": stage_model_reference,
    "mediation": stage_mediation,
    "claims": stage_claims,
    "tables_figures": stage_tables_figures,
}


# --------------------------------------------------------------------------- processes


class TreeMemory:
    """Samples the summed RSS of a process and its descendants (concurrent jobs add up)."""

    def __init__(self, pid: int, interval: float = 0.2):
        self.pid, self.interval, self.peak_kb = pid, interval, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    def _run(self):
        while not self._stop.is_set():
            self.peak_kb = max(self.peak_kb, self._tree_rss_kb())
            self._stop.wait(self.interval)

    def _tree_rss_kb(self) -> int:
        children: dict[int, list[int]] = {}
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            with contextlib.suppress(OSError):
                stat = Path(entry.path, "stat").read_text()
                ppid = int(stat.rsplit(")", 1)[1].split()[1])
                children.setdefault(ppid, []).append(int(entry.name))
        total, todo = 0, [self.pid]
        while todo:
            pid = todo.pop()
            todo.extend(children.get(pid, []))
            with contextlib.suppress(OSError):
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        return total


def run_process(command: list[str], log_path: Path, timeout: float) -> dict:
    """Run a command; wall time, exit status, peak RSS of its largest process (wait4) and
    the sampled peak of the summed RSS of its process tree. Past ``timeout`` seconds the
    command's process group is stopped and the row says so."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    timed_out = False
    with open(log_path, "w") as log:
        start = time.perf_counter()
        process = subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)
        with TreeMemory(process.pid) as tree:
            while True:
                pid, status, usage = os.wait4(process.pid, os.WNOHANG)
                if pid:
                    break
                if not timed_out and time.perf_counter() - start > timeout:
                    timed_out = True
                    os.killpg(process.pid, signal.SIGTERM)
                time.sleep(0.2)
        wall = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    measured = {
        "wall_seconds": wall,
        "returncode": process.returncode,
        "peak_rss_mb": usage.ru_maxrss / 1024,
        "peak_tree_rss_mb": tree.peak_kb / 1024,
    }
    if timed_out:
        measured["error"] = f"stopped after the {timeout:.0f} s time limit"
    return measured


def run_stage(name: str, work: Path, size: int, years: int, refit_reps: int,
              timeout: float) -> dict:
    p = _paths(work, size)
    facts_path = p["base"] / "facts" / f"{name}.json"
    facts_path.unlink(missing_ok=True)
    command = [PYTHON, str(Path(__file__).resolve()), "stage", name, "--work", str(work),
               "--size", str(size), "--years", str(years), "--refit-reps", str(refit_reps),
               "--facts", str(facts_path)]
    measured = run_process(command, p["base"] / "logs" / f"{name}.log", timeout)
    facts = json.loads(facts_path.read_text()) if facts_path.exists() else {}
    if measured["returncode"] != 0 and "error" not in measured:
        tail = (p["base"] / "logs" / f"{name}.log").read_text().strip().splitlines()[-3:]
        facts["error"] = " | ".join(tail)
    return {**measured, **facts}


def run_snakemake(dataset: Path, results: Path, overlay: Path | None, log_path: Path,
                  timeout: float) -> dict:
    shutil.rmtree(results, ignore_errors=True)
    # --nolock: other runs may share the working directory; their outputs do not overlap
    command = [SNAKEMAKE, "--cores", "2", "--nolock", "--config", f"dataset={dataset}",
               f"results={results}"]
    if overlay is not None:
        command[1:1] = ["--configfile", str(overlay)]
    measured = run_process(command, log_path, timeout)
    measured["seconds"] = measured["wall_seconds"]
    measured["rules"] = _rule_seconds(log_path)
    if measured["returncode"] != 0 and "error" not in measured:
        measured["error"] = " | ".join(log_path.read_text().strip().splitlines()[-3:])
    return measured


def _rule_seconds(log_path: Path) -> dict[str, float]:
    """Per-rule wall seconds from Snakemake's log (job start and finish stamps)."""
    started, jobs, stamp, out = {}, {}, None, {}
    rule = None
    for line in log_path.read_text(errors="replace").splitlines():
        line = line.strip()
        if line.startswith("[") and line.endswith("]"):
            with contextlib.suppress(ValueError):
                stamp = dt.datetime.strptime(line[1:-1], "%a %b %d %H:%M:%S %Y")
        elif line.startswith(("localrule ", "rule ")) and line.endswith(":"):
            rule = line.split()[1].rstrip(":")
        elif line.startswith("jobid:") and rule is not None:
            started[line.split()[1]] = (rule, stamp)
            rule = None
        elif line.startswith("Finished jobid:"):
            jobid = line.split()[2]
            if jobid in started and stamp is not None and started[jobid][1] is not None:
                name, begun = started[jobid]
                jobs[jobid] = (name, (stamp - begun).total_seconds())
    for name, seconds in jobs.values():
        out[name] = out.get(name, 0.0) + seconds
    return dict(sorted(out.items(), key=lambda item: -item[1]))


# --------------------------------------------------------------------------- report


def machine_info() -> dict:
    import importlib.metadata as md

    memory_gb = None
    with contextlib.suppress(OSError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory_gb = round(int(line.split()[1]) / 1024**2, 1)
    cpu = platform.processor()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    versions = {}
    for package in ("numpy", "pandas", "pyarrow", "scipy", "pyfixest", "linearmodels",
                    "statsmodels", "lifelines", "pandera", "snakemake"):
        with contextlib.suppress(md.PackageNotFoundError):
            versions[package] = md.version(package)
    return {
        "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "host": platform.node(),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gb": memory_gb,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "versions": versions,
        "load_average_at_start": os.getloadavg(),
    }


def _fmt(value, digits: int = 1) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def targets(results: dict[int, dict[str, dict]], demo: dict | None) -> list[dict]:
    """Issue 7's targets, each with the measured figure and met / missed."""
    out = []
    sizes = sorted(results)
    top = sizes[-1]
    big = results[top]

    def add(target, figure, met):
        out.append({"target": target, "measured": figure,
                    "status": "not measured" if met is None else ("met" if met else "missed")})

    snake = big.get("snakemake", {})
    stopped = "time limit" in snake.get("error", "")
    ok = snake.get("returncode") == 0
    wall = snake.get("wall_seconds")
    add(f"{top:,} consortia: whole workflow (Snakemake, 2 cores) < 180 s",
        (f"> {_fmt(wall)} s (stopped at the time limit)" if stopped else f"{_fmt(wall)} s")
        + ("" if ok or stopped else " (failed)"),
        (ok and wall < 180) if snake and (ok or stopped) else None)
    peak = max(snake.get("peak_tree_rss_mb", 0), snake.get("peak_rss_mb", 0)) if snake else None
    add(f"{top:,} consortia: peak memory < 6 GB (summed over concurrent jobs)",
        f"{'≥ ' if stopped else ''}{_fmt(peak / 1024 if peak else None, 2)} GB "
        f"(largest job {_fmt(snake.get('peak_rss_mb', 0) / 1024, 2)} GB)",
        peak < 6144 if peak and (ok or peak >= 6144) else None)
    if 10_000 in results and 100_000 in results:
        a = results[10_000].get("snakemake", {})
        b = results[100_000].get("snakemake", {})
        ratio = b["wall_seconds"] / a["wall_seconds"] if a.get("wall_seconds") and b.get(
            "wall_seconds") else None
        lower = "time limit" in b.get("error", "")
        met = None if ratio is None or (lower and ratio <= 11) else ratio <= 11 and not lower
        add("10k → 100k consortia: workflow time grows ≤ 11×",
            f"{'≥ ' if lower else ''}{_fmt(ratio, 2)}×" + (" (100k run stopped)" if lower else ""),
            met)
        stage_ratios = []
        for name, _ in STAGES[1:-1]:
            fa, fb = results[10_000].get(name, {}), results[100_000].get(name, {})
            bound = "> " if "time limit" in fb.get("error", "") else ""
            sa = fa.get("seconds")
            sb = fb.get("wall_seconds") if bound else fb.get("seconds")
            if sa and sb:
                stage_ratios.append(f"{name} {bound}{sb / sa:.1f}×")
        if stage_ratios:
            out[-1]["measured"] += " (stages' work: " + ", ".join(stage_ratios) + ")"
    ref = big.get("model_reference", {})
    r = ref.get("ratio_pipeline_to_pyfixest")
    add(f"{top:,}: TWFE through the pipeline within 1.2× of direct pyfixest (warm)",
        f"{_fmt(r, 2)}× ({_fmt(ref.get('pipeline_warm_seconds'), 2)} s vs "
        f"{_fmt(ref.get('pyfixest_warm_seconds'), 2)} s)", r <= 1.2 if r else None)
    rs = ref.get("pyfixest_specs_ratio")
    add(f"{top:,}: all pyfixest-fittable specs of config/models.yaml within 1.2× of direct "
        "pyfixest (warm)",
        f"{_fmt(rs, 2)}× ({_fmt(ref.get('pyfixest_specs_pipeline_seconds'), 1)} s vs "
        f"{_fmt(ref.get('pyfixest_specs_direct_seconds'), 1)} s)", rs <= 1.2 if rs else None)
    s = ref.get("speedup_vs_linearmodels")
    add(f"{top:,}: TWFE ≥ 2.5× faster than linearmodels PanelOLS",
        f"{_fmt(s, 2)}× ({_fmt(ref.get('linearmodels_seconds'), 2)} s)", s >= 2.5 if s else None)
    med = big.get("mediation", {})
    m = med.get("seconds")
    add(f"{top:,}: 999-replicate mediation bootstrap < 30 s", f"{_fmt(m)} s",
        m < 30 if m else None)
    sp = med.get("speedup_vs_refit")
    add(f"{top:,}: bootstrap ≥ 20× faster than refitting per replicate",
        f"{_fmt(sp, 0)}× (refit extrapolated from {med.get('refit_replicates_timed')} replicates)",
        sp >= 20 if sp else None)
    d = (demo or {}).get("wall_seconds")
    add("demo workflow, cold, < 60 s", f"{_fmt(d)} s", d < 60 if d and demo.get("returncode") == 0
        else None)
    return out


def write_report(results, demo, info, out: Path, years: int, load_end) -> None:
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for size, stages in sorted(results.items()):
        for name, label in STAGES:
            facts = stages.get(name)
            if facts is None:
                continue
            rows.append(_row(size, years, name, label, facts))
    if demo is not None:
        rows.append(_row("demo", None, *DEMO_STAGE, demo))
    with open(out / "benchmarks.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    info = dict(info, load_average_at_end=list(load_end))
    (out / "benchmarks.json").write_text(
        json.dumps({"machine": info, "results": {str(k): v for k, v in results.items()},
                    "demo": demo}, indent=1, default=str) + "\n"
    )
    lines = ["# Benchmarks", "",
             (f"Run {info['date']} on {info['cpu']} ({info['cores']} cores, "
              f"{info['memory_gb']} GB RAM), Python {info['python']}; "
              + ", ".join(f"{k} {v}" for k, v in info["versions"].items()) + "."),
             (f"Load average (1, 5, 15 min) at start {_loads(info['load_average_at_start'])}, "
              f"at end {_loads(load_end)}: the machine is shared, so absolute times are "
              "noisy; ratios measured side by side in one run are what count."),
             "",
             ("Wall = process start to exit (Python start-up and imports included); work = "
              "the stage's own work, timed inside the process; peak RSS = `ru_maxrss` of the "
              "process (Snakemake rows: of its largest job, and the sampled sum over "
              "concurrent jobs)."),
             "", "## Targets (issue 7)", "",
             "| target | measured | status |", "| --- | --- | --- |"]
    for t in targets(results, demo):
        lines.append(f"| {t['target']} | {t['measured']} | **{t['status']}** |")
    lines += ["", "## Stages", "",
              "| consortia | stage | wall s | work s | peak RSS MB | notes |",
              "| ---: | --- | ---: | ---: | ---: | --- |"]
    for row in rows:
        lines.append(f"| {row['size']} | {row['label']} | {row['wall_seconds']} | "
                     f"{row['work_seconds']} | {row['peak_rss_mb']} | {row['notes']} |")
    lines += ["", "## Snakemake rules (wall seconds per rule, largest world)", ""]
    top = max(results)
    for name, seconds in results[top].get("snakemake", {}).get("rules", {}).items():
        lines.append(f"- {name}: {seconds:.0f} s")
    (out / "benchmarks.md").write_text("\n".join(lines) + "\n")


def _loads(loads) -> str:
    return ", ".join(f"{x:.2f}" for x in loads)


def _row(size, years, name, label, facts) -> dict:
    notes = []
    if "rows" in facts and isinstance(facts["rows"], dict):
        notes.append("rows " + ", ".join(f"{k} {v:,}" for k, v in facts["rows"].items()))
    if name == "model_reference" and "pyfixest_warm_seconds" in facts:
        notes.append(
            f"pipeline {facts['pipeline_warm_seconds']:.2f} s, "
            f"pyfixest {facts['pyfixest_warm_seconds']:.2f} s "
            f"(first calls {facts['pipeline_first_seconds']:.2f} / "
            f"{facts['pyfixest_first_seconds']:.2f} s), "
            f"linearmodels {facts['linearmodels_seconds']:.2f} s; all pyfixest-fittable specs: "
            f"pipeline {facts['pyfixest_specs_pipeline_seconds']:.1f} s vs direct "
            f"{facts['pyfixest_specs_direct_seconds']:.1f} s; N = {facts['nobs']:,}"
        )
    if name == "mediation" and "timings" in facts:
        t = facts["timings"]
        notes.append(
            f"N = {facts['nobs']:,}, G = {facts['n_clusters']:,}; "
            f"prepare {t['prepare_seconds']:.1f} s, "
            f"cross-products {t['crossproducts_seconds']:.1f} s, 999 replicates "
            f"{t['bootstrap_seconds']:.1f} s, jackknife (BCa) {t['jackknife_seconds']:.1f} s; "
            f"refit {facts['refit_seconds_per_replicate']:.2f} s per replicate "
            f"({facts['refit_replicates_timed']} timed) → 999 ≈ "
            f"{facts['refit_999_seconds_extrapolated']:.0f} s (extrapolated)"
        )
    if name == "models" and "specs" in facts:
        notes.append(f"{facts['fitted']} of {facts['specs']} specs fitted")
    if name in ("snakemake", "demo_cold") and "peak_tree_rss_mb" in facts:
        notes.append(f"summed RSS of concurrent jobs {facts['peak_tree_rss_mb']:.0f} MB")
    if facts.get("error"):
        notes.append("FAILED: " + facts["error"][:300])
    return {
        "size": size,
        "years": years,
        "stage": name,
        "label": label,
        "wall_seconds": _fmt(facts.get("wall_seconds"), 2),
        "work_seconds": _fmt(facts.get("seconds"), 2),
        "peak_rss_mb": _fmt(facts.get("peak_rss_mb"), 0),
        "notes": "; ".join(notes).replace("|", "/"),
    }


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command")
    stage = sub.add_parser("stage", help="(internal) run one stage in this process")
    stage.add_argument("name", choices=list(STAGE_FUNCTIONS))
    stage.add_argument("--work", type=Path, required=True)
    stage.add_argument("--size", type=int, required=True)
    stage.add_argument("--years", type=int, default=10)
    stage.add_argument("--refit-reps", type=int, default=3)
    stage.add_argument("--facts", type=Path, required=True)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10_000, 100_000])
    parser.add_argument("--years", type=int, default=10)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    parser.add_argument("--work", type=Path, default=None,
                        help="where the simulated data and stage outputs go (default: a "
                        "temporary folder, removed at the end)")
    parser.add_argument("--refit-reps", type=int, default=3,
                        help="replicates of mediation_refit actually run (extrapolated to 999)")
    parser.add_argument("--no-snakemake", action="store_true",
                        help="skip the Snakemake runs (stages only)")
    parser.add_argument("--no-demo", action="store_true", help="skip the cold demo run")
    parser.add_argument("--timeout", type=float, default=1800,
                        help="seconds after which a stage is stopped and reported as such")
    parser.add_argument("--report-from", type=Path, default=None,
                        help="rewrite benchmarks.md/.csv from a run's benchmarks.json (no run)")
    args = parser.parse_args(argv)

    if args.command == "stage":
        sys.path.insert(0, str(ROOT / "src"))
        facts = STAGE_FUNCTIONS[args.name](work=args.work, size=args.size, years=args.years,
                                           refit_reps=args.refit_reps)
        _write_json(facts, args.facts)
        return 0

    if args.report_from is not None:
        stored = json.loads(args.report_from.read_text())
        results = {int(size): stages for size, stages in stored["results"].items()}
        info = stored["machine"]
        write_report(results, stored.get("demo"), info, args.out, args.years,
                     info["load_average_at_end"])
        print(f"wrote {args.out / 'benchmarks.md'} and {args.out / 'benchmarks.csv'}")
        return 0

    info = machine_info()
    keep = args.work is not None
    work = args.work or Path(tempfile.mkdtemp(prefix="consortia-bench-"))
    results: dict[int, dict[str, dict]] = {}
    try:
        for size in args.sizes:
            results[size] = {}
            for name, _ in STAGES:
                if name == "snakemake":
                    if args.no_snakemake:
                        continue
                    p = _paths(work, size)
                    facts = run_snakemake(p["dataset"], p["snakemake"], p["overlay"],
                                          p["base"] / "logs" / "snakemake.log", args.timeout)
                else:
                    facts = run_stage(name, work, size, args.years, args.refit_reps,
                                      args.timeout)
                results[size][name] = facts
                status = "ok" if facts.get("returncode") == 0 else "FAILED"
                print(f"{size:>8} {name:<16} {facts.get('wall_seconds', 0):8.1f} s  "
                      f"{facts.get('peak_rss_mb', 0):7.0f} MB  {status}", flush=True)
        demo = None
        if not (args.no_demo or args.no_snakemake):
            demo = run_snakemake(ROOT / "data" / "raw" / "demo", work / "demo_results", None,
                                 work / "demo.log", args.timeout)
            print(f"{'demo':>8} {'demo_cold':<16} {demo['wall_seconds']:8.1f} s", flush=True)
        write_report(results, demo, info, args.out, args.years, os.getloadavg())
    finally:
        if not keep:
            shutil.rmtree(work, ignore_errors=True)
    print(f"wrote {args.out / 'benchmarks.md'} and {args.out / 'benchmarks.csv'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
