"""Scale benchmarks of the CORDIS adapter and the CORDIS workflow.

``--mode real`` (the default) runs, in one benchmark run on the same machine, the two
real-data commands of the README side by side: the shipped sample
(``--configfile config/cordis.yaml``) and the whole Horizon 2020 programme
(``--configfile config/cordis.yaml config/cordis-h2020.yaml``), each into a fresh results
folder (every rule of ``all``, as on a fresh clone), and times the network of the whole
H2020 export (every project and participation, not only the consortia) built in one
process (``consortia.network``). Writes ``benchmarks/results/cordis_h2020.md``.

``--mode synthetic`` builds a synthetic export in the EC's layout at the size of the full H2020
download (by default 36,000 projects and about 200,000 participations), as
messy as the real sample (quoted objectives with semicolons, quotes and line
breaks; decimal commas; timestamped and day-first dates; participants without
activityType or contribution; empty duplicate organisation rows beside full
ones; exact duplicate rows; projects with two coordinator rows; single-
beneficiary schemes), then times

1. the adapter: ``consortia ingest cordis`` in a child process, and
2. the workflow: ``snakemake --configfile config/cordis.yaml`` on the synthetic
   files (every rule of ``all``),

recording the wall time and the peak resident memory of the largest single
process of each (``/usr/bin/time -v``'s "Maximum resident set size"), the
time of each rule (from Snakemake's log), and the adapter's counts. Writes
``benchmarks/results/cordis_scale.md``.

    .venv/bin/python benchmarks/cordis_scale.py [--cores 2]
    .venv/bin/python benchmarks/cordis_scale.py --mode synthetic [--projects 36000] [--cores 2]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parents[1]
RESULT = ROOT / "benchmarks" / "results" / "cordis_scale.md"
REAL_RESULT = ROOT / "benchmarks" / "results" / "cordis_h2020.md"
SHARED = ROOT.parent / "shared" / "data"
# The README's real-data commands: label -> config files.
REAL_RUNS = {
    "sample (4,410 FP7/H2020 projects)": ["config/cordis.yaml"],
    "whole H2020 programme (31,451 projects)": ["config/cordis.yaml", "config/cordis-h2020.yaml"],
}
GNU_TIME = "/usr/bin/time"

PROJECT_HEADER = [
    "id", "acronym", "status", "title", "startDate", "endDate", "totalCost",
    "ecMaxContribution", "legalBasis", "topics", "ecSignatureDate", "frameworkProgramme",
    "masterCall", "subCall", "fundingScheme", "nature", "objective", "contentUpdateDate", "rcn",
    "grantDoi",
]  # fmt: skip
ORGANIZATION_HEADER = [
    "projectID", "projectAcronym", "organisationID", "vatNumber", "name", "shortName", "SME",
    "activityType", "street", "postCode", "city", "country", "nutsCode", "geolocation",
    "organizationURL", "contactForm", "contentUpdateDate", "rcn", "order", "role",
    "ecContribution", "netEcContribution", "totalCost", "endOfParticipation", "active",
]  # fmt: skip
# scheme: (share of projects, single beneficiary, duration in months, mean extra partners)
SCHEMES = {
    "RIA": (0.22, False, (36, 48), 7.0),
    "IA": (0.12, False, (36, 48), 8.0),
    "CSA": (0.10, False, (18, 36), 6.0),
    "MSCA-ITN-ETN": (0.05, False, (48, 48), 5.0),
    "MSCA-RISE": (0.05, False, (48, 48), 5.0),
    "SME-2": (0.05, True, (24, 24), 0.0),
    "ERC-STG": (0.08, True, (60, 60), 0.0),
    "ERC-COG": (0.05, True, (60, 60), 0.0),
    "MSCA-IF-EF-ST": (0.20, True, (24, 24), 0.0),
    "SME-1": (0.08, True, (6, 6), 0.0),
}
ACTIVITY = {"PRC": 0.35, "HES": 0.30, "REC": 0.20, "PUB": 0.08, "OTH": 0.07}
COUNTRIES = ["DE", "FR", "IT", "ES", "NL", "BE", "UK", "SE", "AT", "PL", "PT", "EL", "FI", "DK"]
# Mess, as shares of participations / projects (the real sample has the same kinds).
MESS = {
    "no_activity_type": 0.03,
    "no_contribution": 0.06,
    "empty_duplicate_row": 0.02,
    "exact_duplicate_row": 0.002,
    "two_coordinator_rows": 0.003,
    "decimal_comma": 0.10,
    "timestamped_date": 0.02,
    "day_first_date": 0.02,
    "terminated": 0.01,
}


def synthetic_export(n_projects: int, seed: int, out: Path) -> dict:
    """Write project.csv and organization.csv in the EC layout; return their sizes."""
    rng = np.random.default_rng(seed)
    names = list(SCHEMES)
    shares = np.array([SCHEMES[s][0] for s in names])
    scheme = rng.choice(names, n_projects, p=shares / shares.sum())
    single = np.array([SCHEMES[s][1] for s in scheme])
    extra = np.array([SCHEMES[s][3] for s in scheme])
    n_partners = np.where(single, 0, 2 + rng.poisson(extra))
    ids = np.arange(100_000_000, 100_000_000 + n_projects).astype(str)
    start = pd.Timestamp("2014-01-01") + pd.to_timedelta(rng.integers(0, 7 * 365, n_projects), "D")
    start = start.to_period("M").to_timestamp()
    low = np.array([SCHEMES[s][2][0] for s in scheme])
    high = np.array([SCHEMES[s][2][1] for s in scheme])
    months = low + (rng.integers(0, 3, n_projects) * (high - low) // 2)
    end = (start.to_period("M") + months).to_timestamp() - pd.Timedelta(days=1)
    start_text = pd.Series(start.strftime("%Y-%m-%d"))
    end_text = pd.Series(end.strftime("%Y-%m-%d"))
    stamped = rng.random(n_projects) < MESS["timestamped_date"]
    day_first = rng.random(n_projects) < MESS["day_first_date"]
    start_text[stamped] = start_text[stamped] + " 00:00:00"
    end_text[day_first] = pd.Series(end.strftime("%d/%m/%Y"))[day_first]
    status = np.where(rng.random(n_projects) < MESS["terminated"], "TERMINATED", "CLOSED")
    objective = [
        f'Objective {i}; work package "{i % 7}"\nsecond line; with semicolons'
        for i in range(n_projects)
    ]
    projects = pd.DataFrame({column: "" for column in PROJECT_HEADER}, index=range(n_projects))
    projects = projects.assign(
        id=ids, acronym=[f"P{i}" for i in range(n_projects)], status=status,
        title=[f"Project {i}; a title" for i in range(n_projects)], startDate=start_text,
        endDate=end_text, legalBasis="H2020-EU.3.", topics=[f"TOPIC-{i % 500}" for i in
        range(n_projects)], frameworkProgramme="H2020", fundingScheme=scheme,
        objective=objective, rcn=ids,
    )  # fmt: skip

    # Participations: the coordinator, then the partners, organisations from a shared pool.
    n_orgs = max(1000, n_projects)
    org_types = rng.choice(list(ACTIVITY), n_orgs, p=list(ACTIVITY.values()))
    size = 1 + n_partners
    project_of = np.repeat(np.arange(n_projects), size)
    position = np.arange(len(project_of)) - np.repeat(np.cumsum(size) - size, size)
    org = rng.integers(0, n_orgs, len(project_of))
    frame = pd.DataFrame({"project": project_of, "org": org, "position": position})
    frame = frame.drop_duplicates(["project", "org"]).reset_index(drop=True)
    n_rows = len(frame)
    amount = rng.lognormal(12.5, 1.0, n_rows).round(2)
    activity = org_types[frame["org"]]
    activity[rng.random(n_rows) < MESS["no_activity_type"]] = ""
    contribution = pd.Series(amount).map(lambda a: f"{a:.2f}")
    comma = rng.random(n_rows) < MESS["decimal_comma"]
    contribution[comma] = contribution[comma].str.replace(".", ",", regex=False)
    contribution[rng.random(n_rows) < MESS["no_contribution"]] = ""
    role = np.where(frame["position"] == 0, "coordinator", "participant")
    orgs = pd.DataFrame({column: "" for column in ORGANIZATION_HEADER}, index=range(n_rows))
    orgs = orgs.assign(
        projectID=ids[frame["project"]], projectAcronym=projects["acronym"].to_numpy()[
        frame["project"]], organisationID=(900_000_000 + frame["org"]).astype(str),
        name=[f"Organisation {o}; {t}" for o, t in zip(frame["org"], org_types[frame["org"]])],
        shortName=[f"ORG{o}" for o in frame["org"]], SME="false", activityType=activity,
        country=np.array(COUNTRIES)[frame["org"] % len(COUNTRIES)], role=role,
        ecContribution=contribution, order=(frame["position"] + 1).astype(str),
    )  # fmt: skip

    # An empty "participant" row beside an organisation's full row (as in the sample).
    shadow = orgs[(rng.random(n_rows) < MESS["empty_duplicate_row"]) & (role != "coordinator")]
    empty = shadow[["projectID", "projectAcronym", "organisationID"]].assign(role="participant")
    orgs.loc[shadow.index, "role"] = "partner"
    # A second, untyped coordinator row in some projects.
    second = orgs[(role == "coordinator") & (rng.random(n_rows) < MESS["two_coordinator_rows"])]
    second = second[["projectID", "projectAcronym"]].assign(
        organisationID=(800_000_000 + np.arange(len(second))).astype(str), role="coordinator"
    )
    copies = orgs[rng.random(n_rows) < MESS["exact_duplicate_row"]]
    orgs = pd.concat([orgs, empty, second, copies], ignore_index=True).fillna("")
    orgs = orgs.sample(frac=1.0, random_state=seed).sort_values("projectID", kind="stable")

    out.mkdir(parents=True, exist_ok=True)
    write = {"sep": ";", "index": False, "quoting": 1, "lineterminator": "\n"}
    projects.to_csv(out / "project.csv", **write)
    orgs[ORGANIZATION_HEADER].to_csv(out / "organization.csv", **write)
    return {
        "projects": n_projects,
        "participations": len(orgs),
        "project_mb": (out / "project.csv").stat().st_size / 1e6,
        "organization_mb": (out / "organization.csv").stat().st_size / 1e6,
    }


def timed(command: list[str], cwd: Path, log: Path) -> dict:
    """Run ``command`` under GNU time: wall time, CPU time (user + system, the waited-for
    child processes included) and the largest process's peak RSS."""
    started = time.perf_counter()
    with open(log, "w") as handle:
        run = subprocess.run(
            [GNU_TIME, "-v", *command], cwd=cwd, stdout=handle, stderr=subprocess.STDOUT,
            check=False,
        )  # fmt: skip
    wall = time.perf_counter() - started
    text = log.read_text(errors="replace")
    if run.returncode != 0:
        raise SystemExit(f"failed ({run.returncode}): {' '.join(command)}\n{text[-3000:]}")
    peak_kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", text).group(1))
    cpu = sum(float(re.search(rf"{kind} time \(seconds\): ([\d.]+)", text).group(1))
              for kind in ("User", "System"))  # fmt: skip
    return {"wall_s": wall, "cpu_s": cpu, "peak_rss_mb": peak_kb / 1024, "load": os.getloadavg()}


def rule_times(snakemake_log: Path) -> dict[str, float]:
    """Seconds from each job's start to its 'Finished' line, per rule (Snakemake's log)."""
    stamp = re.compile(r"^\[(\w{3} \w{3} +\d+ \d\d:\d\d:\d\d \d{4})\]$")
    started, times, now = {}, {}, None
    for line in snakemake_log.read_text().splitlines():
        if m := stamp.match(line.strip()):
            now = dt.datetime.strptime(m.group(1), "%a %b %d %H:%M:%S %Y")
        elif (m := re.match(r"^(?:local)?rule (\w+):$", line.strip())) and now:
            started[m.group(1)] = now
        elif (m := re.search(r"Finished jobid: \d+ \(Rule: (\w+)\)", line)) and m.group(
            1
        ) in started:
            times[m.group(1)] = (now - started[m.group(1)]).total_seconds()
    return times


def whole_h2020_graph(export: Path) -> dict:
    """Build the network measures of every H2020 project (one process): read the two
    exports, then the member–consortium graph of all projects with a start date, the
    lead measures and the repeated ties. Returns counts and seconds."""
    from consortia import network
    from consortia.adapters import cordis

    started = time.perf_counter()
    projects = cordis.read_export(export / "project.csv", "projects")
    rows = cordis.read_export(export / "organization.csv", "organizations")
    read_s = time.perf_counter() - started
    started = time.perf_counter()
    projects = projects[projects["startDate"] != ""]
    founded = pd.Series(projects["startDate"].str[:4].astype(int).to_numpy(), projects["id"])
    rows = rows[rows["projectID"].isin(founded.index) & (rows["organisationID"] != "")]
    # one row per organisation and project, the coordinator's first; one lead per project
    rows = rows.assign(lead=rows["role"] == cordis.COORDINATOR)
    rows = rows.sort_values("lead", ascending=False, kind="stable")
    rows = rows.drop_duplicates(["projectID", "organisationID"])
    rows = rows.assign(lead=rows["lead"] & ~rows.duplicated(["projectID", "lead"]))
    project_code, project_ids = pd.factorize(rows["projectID"])
    year = founded.reindex(project_ids).to_numpy()
    net = network.member_network(
        project_code, pd.factorize(rows["organisationID"])[0], year[project_code],
        np.full(len(rows), 10_000), rows["lead"].to_numpy(), year,
    )  # fmt: skip
    leads = network.lead_measures(net)
    network.repeat_tie_sums(net)
    return {
        "read_s": read_s,
        "build_s": time.perf_counter() - started,
        "projects": len(project_ids),
        "organisations": net.n_orgs,
        "memberships": len(rows),
        "pairs": int(net.pair_start.size),
        "ties": int(net.tie_a.size),
        "leads_with_partners": int((leads["lead_prior_partners"] > 0).sum()),
    }


def real_main(args) -> int:
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="cordis_real_"))
    workdir.mkdir(parents=True, exist_ok=True)
    runs = {}
    for label, configs in REAL_RUNS.items():
        results = workdir / f"results_{len(runs)}"
        shutil.rmtree(results, ignore_errors=True)
        overlay = workdir / f"overlay_{len(runs)}.yaml"
        overlay.write_text(
            yaml.safe_dump(
                {"dataset": str(results / "dataset"), "results": str(results),
                 "claims": str(results / "claims" / "registry.yaml")}
            )
        )  # fmt: skip
        timing = timed(
            [sys.executable, "-m", "snakemake", "--nolock", "--cores", str(args.cores),
             "--configfile", *configs, str(overlay)],
            ROOT, workdir / f"workflow_{len(runs)}.log",
        )  # fmt: skip
        named = re.search(
            r"Complete log\(s\): (\S+)", (workdir / f"workflow_{len(runs)}.log").read_text()
        )
        quality = json.loads((results / "data" / "quality.json").read_text())
        source = json.loads((results / "dataset" / "source.json").read_text())
        runs[label] = {
            "command": f"snakemake --cores {args.cores} --configfile {' '.join(configs)}",
            "timing": timing,
            "per_rule": rule_times(Path(named.group(1))) if named else {},
            "quality": quality,
            "summary": source["summary"],
        }
    graph = whole_h2020_graph(SHARED / "cordis-h2020")
    write_real_report(args, runs, graph)
    print(args.out.read_text())
    return 0


def write_real_report(args, runs, graph):
    lines = [
        "# CORDIS real data: the sample and the whole H2020 programme, side by side",
        "",
        (
            f"Written by `benchmarks/cordis_scale.py` on {dt.date.today().isoformat()} "
            f"({platform.platform()}, Python {platform.python_version()}, {os.cpu_count()} CPUs, "
            f"`--cores {args.cores}`). Each run starts from an empty results folder (every rule "
            "of `all`, as on a fresh clone); wall time depends on what else the machine runs: "
            "the 1-minute load average at the end of each run is shown."
        ),
        "",
        "| run | command | wall time (s) | CPU time (s) | peak RSS (MB) | load average |",
        "|---|---|---:|---:|---:|---:|",
        *(
            f"| {label} | `{r['command']}` | {r['timing']['wall_s']:.1f} | "
            f"{r['timing']['cpu_s']:.1f} | {r['timing']['peak_rss_mb']:.0f} | "
            f"{r['timing']['load'][0]:.1f} |"
            for label, r in runs.items()
        ),
        "",
    ]
    for label, r in runs.items():
        projects = r["summary"]["projects"]
        lines += [
            f"## {label}",
            "",
            f"Projects: {projects['read']:,} read, {projects['written']:,} consortia, "
            f"{projects['excluded']:,} excluded ("
            + ", ".join(f"{k} {v:,}" for k, v in projects["excluded_by_rule"].items())
            + f"). Kind of grant from: {r['summary']['scheme_or_part']['source']}.",
            "",
            "| table | read | kept | quarantined | collapsed | identity holds |",
            "|---|---:|---:|---:|---:|---|",
            *(
                f"| {t} | {i['rows_read']:,} | {i['rows_kept']:,} | {i['rows_quarantined']:,} | "
                f"{i['duplicates_collapsed']:,} | {i['identity_holds']} |"
                for t, i in r["quality"]["tables"].items()
            ),
            "",
            "Per rule (s; Snakemake's log, one-second resolution; jobs may overlap): "
            + ", ".join(
                f"{rule} {s:.0f}" for rule, s in sorted(r["per_rule"].items(), key=lambda x: -x[1])
            )
            + ".",
            "",
        ]
    lines += [
        "## The network of the whole H2020 export",
        "",
        (
            f"Every project with a start date and every participation: {graph['projects']:,} "
            f"projects, {graph['organisations']:,} organisations, {graph['memberships']:,} "
            f"memberships, {graph['pairs']:,} member pairs, {graph['ties']:,} distinct ties. "
            f"Reading the two exports: {graph['read_s']:.1f} s; building the graph and every "
            f"consortium's network measures (`consortia.network`, one process): "
            f"{graph['build_s']:.1f} s."
        ),
        "",
    ]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=("real", "synthetic"), default="real")
    parser.add_argument("--projects", type=int, default=36_000)
    parser.add_argument("--seed", type=int, default=20251220)
    parser.add_argument("--cores", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--workdir", type=Path, help="keep the files here (default: a temp dir)")
    parser.add_argument("--out", type=Path, help=f"default {REAL_RESULT} (real), {RESULT}")
    args = parser.parse_args(argv)
    if args.mode == "real":
        args.out = args.out or REAL_RESULT
        return real_main(args)
    args.out = args.out or RESULT

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="cordis_scale_"))
    shutil.rmtree(workdir / "results", ignore_errors=True)
    export = workdir / "export"
    started = time.perf_counter()
    sizes = synthetic_export(args.projects, args.seed, export)
    build_s = time.perf_counter() - started
    if sizes["participations"] < 180_000:
        raise SystemExit(f"only {sizes['participations']} participations; raise --projects")

    config = ROOT / "config" / "cordis.yaml"
    adapter_dir = workdir / "adapter"
    adapter = timed(
        [sys.executable, "-m", "consortia.cli", "ingest", "cordis",
         "--projects", str(export / "project.csv"),
         "--organizations", str(export / "organization.csv"),
         "--out", str(adapter_dir), "--config", str(config)],
        ROOT, workdir / "adapter.log",
    )  # fmt: skip
    source = json.loads((adapter_dir / "source.json").read_text())

    results = workdir / "results"
    overlay = workdir / "scale.yaml"
    overlay.write_text(
        yaml.safe_dump(
            {
                "dataset": str(results / "dataset"),
                "results": str(results),
                "claims": str(results / "claims" / "registry.yaml"),
                "cordis": {
                    "projects": str(export / "project.csv"),
                    "organizations": str(export / "organization.csv"),
                },
            }
        )
    )
    workflow = timed(
        [sys.executable, "-m", "snakemake", "--nolock", "--cores", str(args.cores),
         "--configfile", str(config), str(overlay)],
        ROOT, workdir / "workflow.log",
    )  # fmt: skip
    # Other Snakemake runs may share .snakemake/log: take the log this run names.
    named = re.search(r"Complete log\(s\): (\S+)", (workdir / "workflow.log").read_text())
    per_rule = rule_times(Path(named.group(1))) if named else {}
    quality = json.loads((results / "data" / "quality.json").read_text())
    claims = json.loads((results / "claims" / "claims.json").read_text())

    write_report(args, sizes, build_s, adapter, workflow, per_rule, source, quality, claims)
    print(args.out.read_text())
    return 0


def write_report(args, sizes, build_s, adapter, workflow, per_rule, source, quality, claims):
    summary = source["summary"]
    lines = [
        "# CORDIS at the scale of the full H2020 export",
        "",
        (
            f"Written by `benchmarks/cordis_scale.py` on {dt.date.today().isoformat()} "
            f"({platform.platform()}, Python {platform.python_version()}, {os.cpu_count()} CPUs, "
            f"`--cores {args.cores}`, seed {args.seed})."
        ),
        "",
        "## The synthetic export (EC layout)",
        "",
        f"{sizes['projects']:,} projects ({sizes['project_mb']:.1f} MB) and "
        f"{sizes['participations']:,} participations ({sizes['organization_mb']:.1f} MB), "
        f"built in {build_s:.1f} s. Mess injected (shares): "
        + ", ".join(f"{k} {v:g}" for k, v in MESS.items())
        + ". Schemes: "
        + ", ".join(f"{k} {v[0]:.0%}" for k, v in SCHEMES.items())
        + " (ERC, MSCA-IF and SME instrument projects have one beneficiary).",
        "",
        "## Wall time and peak memory",
        "",
        "Peak memory: the largest single process's maximum resident set size (`/usr/bin/time -v`).",
        "",
        (
            "CPU time: user + system of the process and its children. Wall time depends on what "
            "else the machine runs: the 1-minute load average at the end of each step is shown."
        ),
        "",
        "| step | wall time (s) | CPU time (s) | peak RSS (MB) | load average |",
        "|---|---:|---:|---:|---:|",
        *(
            f"| {label} | {r['wall_s']:.1f} | {r['cpu_s']:.1f} | {r['peak_rss_mb']:.0f} | "
            f"{r['load'][0]:.1f} |"
            for label, r in (
                ("adapter (`consortia ingest cordis`, one process)", adapter),
                (
                    "workflow (`snakemake --configfile config/cordis.yaml`, every rule of `all`)",
                    workflow,
                ),
            )
        ),
        "",
        "Per rule (Snakemake's log, one-second resolution; jobs may overlap):",
        "",
        "| rule | s |",
        "|---|---:|",
        *(f"| {rule} | {s:.0f} |" for rule, s in sorted(per_rule.items(), key=lambda x: -x[1])),
        "",
        "## What went through",
        "",
        f"Projects: {summary['projects']['read']:,} read, {summary['projects']['written']:,} "
        f"written, {summary['projects']['excluded']:,} excluded by the selection. "
        f"Organisation rows: {summary['organization_rows']['read']:,} read, "
        f"{summary['organization_rows']['written']:,} written. Passed to cleaning as found: "
        + ", ".join(f"{k} {v:,}" for k, v in summary["passed_to_cleaning"].items())
        + f". Rewritten by the adapter: {summary['rewritten']}.",
        "",
        "| table | read | kept | quarantined | collapsed |",
        "|---|---:|---:|---:|---:|",
        *(
            f"| {t} | {i['rows_read']:,} | {i['rows_kept']:,} | {i['rows_quarantined']:,} | "
            f"{i['duplicates_collapsed']:,} |"
            for t, i in quality["tables"].items()
        ),
        "",
        "Verdicts: " + ", ".join(f"{c['id']} {c['verdict']}" for c in claims["claims"]) + ".",
        "",
        (
            "The synthetic truth: durations depend on the funding scheme only and coordinators are "
            f"drawn from an organisation pool that is {ACTIVITY['PRC']:.0%} PRC, so the time ratio "
            f"is 1 and the enterprise-led share about {ACTIVITY['PRC']:.2f}. Estimates:"
        ),
        "",
        "| claim | test | estimate | 95% CI |",
        "|---|---|---:|---|",
        *(
            f"| {c['id']} | {t['name']} | {t['estimate']:.3f} | "
            f"[{t['ci_lower']:.3f}, {t['ci_upper']:.3f}] |"
            for c in claims["claims"]
            for t in c["tests"]
            if t.get("estimate") is not None and t["role"] == "primary"
        ),
        "",
    ]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines), encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
