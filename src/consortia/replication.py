"""The replication README of a run (``results/REPLICATION.md``).

Rendered from ``provenance.json`` alone (plus the project README's two
commands and the claims registry's citation), in the structure of the Social
Science Data Editors' template README
(https://social-science-data-editors.github.io/template_README/): data
availability and provenance, computational requirements, description of the
programs, instructions to replicators, and the list of every output file with
the rule and the function that produce it. Nothing in it is typed by hand:
a new rule's outputs appear as soon as the workflow asks for them.
"""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import yaml

# What an ingest adapter writes beside the tables it assembled.
from consortia.adapters.cordis import SOURCE_FILE as SOURCE_NOTE

TEMPLATE_URL = "https://social-science-data-editors.github.io/template_README/"
# The rules that run after every other output and describe them (rules/provenance.smk).
LEAF_RULES = ("provenance", "replication")
README_COMMANDS = {"demo": "demo-command", "test": "test-command"}
# Output groups in the list of tables and figures, by the results sub-folder.
OUTPUT_GROUPS = (
    ("tables", "Tables"),
    ("figures", "Figures"),
    ("models", "Fitted models"),
    ("claims", "Claims"),
    ("data", "Data"),
)


def readme_command(readme_text: str, label: str) -> str | None:
    """The fenced command after ``<!-- label -->`` in the project README, if any."""
    match = re.search(rf"<!-- {label} -->\s*```(?:bash|sh)?\n(.+?)\n```", readme_text, re.DOTALL)
    return match.group(1).strip() if match else None


def _cell(value) -> str:
    text = "–" if value is None or value == "" else str(value)
    return text.replace("|", "\\|").replace("\n", " ")


def _table(header: list[str], rows: list[list]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    lines += ["| " + " | ".join(_cell(value) for value in row) + " |" for row in rows]
    return lines + [""]


def _code(value) -> str:
    """``value`` as Markdown inline code, whatever backticks it holds."""
    if not value:
        return "–"
    text = str(value)
    fence = "`" * (_longest_backtick_run(text) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _longest_backtick_run(text: str) -> int:
    return max((len(run) for run in re.findall(r"`+", text)), default=0)


def _size(n_bytes: int | None) -> str:
    if n_bytes is None:
        return "unknown"
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if n_bytes < 1024 or unit == "GiB":
            return f"{n_bytes:,.0f} {unit}" if unit == "bytes" else f"{n_bytes:,.1f} {unit}"
        n_bytes /= 1024
    raise AssertionError("unreachable")


def _output_group(path: str) -> str:
    top = path.split("/", 1)[0] if "/" in path else ""
    for folder, title in OUTPUT_GROUPS:
        if top == folder:
            return title
    return "Other"


def rerun_command(provenance: dict) -> str:
    """The Snakemake command of this run: its ``--configfile`` and ``--config`` arguments.

    Every word is quoted for a POSIX shell: a path may hold spaces, quotes, ``$(...)``
    or backticks, which must reach Snakemake as they are, not run.
    """
    run = provenance["run"]
    parts = [".venv/bin/snakemake --cores all"]
    parts += [f"--configfile {shlex.quote(name)}" for name in run.get("configfiles", [])]
    overrides = dict(run.get("config_overrides", {}))
    for key in ("dataset", "results"):
        overrides.setdefault(key, provenance["config"][key])
    if overrides:
        parts.append(
            "--config "
            + " ".join(
                shlex.quote(f"{key}={_config_value(value)}") for key, value in overrides.items()
            )
        )
    return " ".join(parts)


def _config_value(value) -> str:
    if isinstance(value, (dict, list)):
        return yaml.safe_dump(value, default_flow_style=True, width=float("inf")).strip()
    return str(value)


def _availability(provenance: dict) -> list[str]:
    dataset = provenance["dataset"]
    source, simulated = dataset.get("source"), dataset.get("simulated")
    lines = ["## Data availability and provenance statements", ""]
    if source:
        lines += ["### Statement about rights", ""]
        lines += [
            "The dataset's source, as recorded in the configuration (`source:`):",
            "",
        ]
        for key in ("citation", "url", "licence", "access", "accessed", "notes"):
            if source.get(key):
                lines.append(f"- **{key}**: {source[key]}")
        lines += [
            "",
            (
                "The replicator must obtain the files from that source under its terms; the hashes "
                "in the dataset list below tell whether the files obtained are the ones used here."
            ),
            "",
        ]
        status = "available from the source above (see its access terms)"
    elif simulated:
        sim = simulated["simulator"]
        lines += ["### Statement about rights", ""]
        lines += [
            (
                "The data are **simulated** by this package's own code (`consortia.simulate`): no "
                "third-party data are used and there are no restrictions on their use or "
                "redistribution. The simulator's known truth (its parameters, the estimands, and "
                "every defect it injected, by table and rule) is "
                f"`{simulated['truth_file']}` in the dataset folder."
            ),
            "",
            (
                f"Drawn with seed {sim.get('seed')}: {sim.get('n_consortia')} consortia over "
                f"{sim.get('first_year')}–{sim.get('last_year')}. Regenerate with "
                + _code(
                    f"consortia simulate {shlex.quote(dataset['folder'])} "
                    f"--consortia {sim.get('n_consortia')} --years {sim.get('n_years')} "
                    f"--seed {sim.get('seed')}"
                )
                + " (add `--truth FILE` if the "
                "world was drawn from a modified truth); the hashes below tell whether the "
                "regenerated files are identical."
            ),
            "",
        ]
        status = "simulated: regenerated by code in this package, included in the repository"
    else:
        lines += [
            (
                "**No source is recorded for this dataset.** Add a `source:` block to the "
                "configuration (`citation`, `url`, `licence`, `access`, `accessed`, `notes`) "
                "so that this statement can say where the data come from and how a replicator "
                "obtains them."
            ),
            "",
        ]
        if SOURCE_NOTE in dataset["files"]:
            lines += [
                (
                    f"The dataset folder holds `{SOURCE_NOTE}`, written by the tool that "
                    "assembled it (e.g. `consortia ingest`): it records where the files come "
                    "from; copy its citation and terms into the `source:` block."
                ),
                "",
            ]
        status = "not recorded"
    lines += ["### Summary of availability", "", f"- Data: {status}.", ""]
    lines += ["### Details on each data source", ""]
    lines += [
        (
            f"Dataset folder {_code(dataset['folder'])}: SHA-256 of every file of the dataset "
            "(its tables, and what the tool that made it wrote beside them):"
        ),
        "",
    ]
    lines += _table(
        ["file", "bytes", "SHA-256"],
        [
            [_code(name), f"{info['bytes']:,}", _code(info["sha256"])]
            for name, info in dataset["files"].items()
        ],
    )
    if dataset.get("not_hashed"):
        lines += [
            "Also in the folder, not part of the dataset (not read, not hashed): "
            + ", ".join(_code(name) for name in dataset["not_hashed"])
            + ".",
            "",
        ]
    return lines


def _requirements(provenance: dict) -> list[str]:
    machine, packages, run = provenance["machine"], provenance["packages"], provenance["run"]
    runtime = provenance["runtime"]
    lines = ["## Computational requirements", "", "### Software requirements", ""]
    lines += [
        f"- Python {machine['python']['version']} ({machine['python']['implementation']})",
        f"- Snakemake {run.get('snakemake') or 'unknown'}",
        (
            f"- {packages['project']['name']} "
            f"{packages['project']['version'] or '(not installed)'} "
            "and its declared dependencies, at the versions installed for this run:"
        ),
        "",
    ]
    lines += _table(
        ["package", "version"],
        [[name, version] for name, version in packages["declared"]["runtime"].items()],
    )
    lines += [
        (
            f"All {len(packages['installed'])} installed distributions and their versions are in "
            "`provenance.json` (`packages.installed`); `requirements.lock` in the repository pins "
            "the environment (`pip install -c requirements.lock -e '.[test]'`)."
        ),
        "",
        "### Controlled randomness",
        "",
    ]
    seeds = provenance["seeds"]
    for origin, found in (
        ("configuration", seeds["config"]),
        ("dataset (simulator)", seeds["dataset"]),
    ):
        for key, value in found.items():
            lines.append(f"- {origin}: `{key}` = {value}")
    if not seeds["config"] and not seeds["dataset"]:
        lines.append("- no seeds recorded")
    lines += ["", "### Memory, runtime and storage requirements", ""]
    memory = machine.get("memory_bytes")
    git = provenance["git"]
    lines += [
        (
            f"- Machine of this run: {machine['platform']['description']}, "
            f"{machine['cpu_count']} logical CPUs, {_size(memory)} memory; "
            f"Snakemake was given {run.get('cores') or 'an unrecorded number of'} cores."
        ),
        "- Code version: "
        + (
            f"git commit `{git['commit']}`" + (" with uncommitted changes" if git["dirty"] else "")
            if git["available"]
            else f"unknown ({git['reason']})"
        ),
    ]
    jobs = runtime["jobs"]
    if jobs:
        total = sum(job["seconds"] or 0 for job in jobs)
        peak = max((job["max_rss_mb"] or 0 for job in jobs), default=0)
        lines += [
            (
                f"- Runtime, {runtime['measured_by']}: {total:,.1f} s summed over {len(jobs)} jobs "
                "(jobs run in parallel when cores allow, so a run's wall-clock time is at most "
                f"this plus Snakemake's own start-up); the largest job peaked at {peak:,.0f} MB."
            ),
            "",
        ]
        lines += _table(
            ["rule", "benchmark file", "wall-clock (s)", "peak memory (MB)"],
            [[job["rule"], f"`{job['file']}`", job["seconds"], job["max_rss_mb"]] for job in jobs],
        )
    else:
        lines += ["- Runtime: no job was benchmarked.", ""]
    if runtime["rules_without_benchmark"]:
        lines += [
            "Rules without a `benchmark:` directive (their runtime is not measured): "
            + ", ".join(f"`{name}`" for name in runtime["rules_without_benchmark"])
            + ".",
            "",
        ]
    dataset_bytes = sum(info["bytes"] for info in provenance["dataset"]["files"].values())
    output_bytes = sum(info["bytes"] for info in provenance["outputs"].values())
    lines += [
        (
            f"- Storage: the dataset is {_size(dataset_bytes)}; the outputs listed below are "
            f"{_size(output_bytes)}."
        ),
        "",
    ]
    return lines


def _programs(provenance: dict) -> list[str]:
    lines = [
        "## Description of programs/code",
        "",
        (
            "- `Snakefile` validates the configuration against `config/schemas/` and includes "
            "`rules/*.smk`, one file per stage."
        ),
        (
            "- Each rule calls one function of the package `consortia` (`src/consortia/`) "
            "through a few-line entry point in `rules/scripts/`; all logic is in the package, "
            "unit-tested under `tests/`."
        ),
        (
            "- `config/config.yaml` is the study configuration; `notebooks/` only display what the "
            "workflow wrote."
        ),
        "",
        "The rules of this run (each rule's log is `logs/<rule>.log` in the results folder):",
        "",
    ]
    used = {record["rule"] for record in provenance["outputs"].values()} | set(LEAF_RULES)
    rows = [
        [f"`{name}`", rule["description"], _code(rule["script"]), _code(rule["function"])]
        for name, rule in provenance["rules"].items()
        if name in used
    ]
    lines += _table(["rule", "what it does", "script", "function"], rows)
    return lines


def _instructions(provenance: dict, readme_text: str) -> list[str]:
    demo = readme_command(readme_text, README_COMMANDS["demo"])
    test = readme_command(readme_text, README_COMMANDS["test"])
    rerun = rerun_command(provenance)
    rerun_fence = "`" * max(3, _longest_backtick_run(rerun) + 1)
    lines = ["## Instructions to replicators", ""]
    lines += [
        (
            "From the repository root, on a machine with Python 3.11 (the two commands of the "
            "project README):"
        ),
        "",
        "1. Set up the environment and run the whole workflow on the built-in demo data:",
        "",
        "   ```bash",
        f"   {demo or '(see README.md: it has no demo-command block)'}",
        "   ```",
        "",
        "2. Run the tests:",
        "",
        "   ```bash",
        f"   {test or '(see README.md: it has no test-command block)'}",
        "   ```",
        "",
        "3. Rerun exactly this configuration (dataset and results folder as recorded):",
        "",
        f"   {rerun_fence}bash",
        f"   {rerun}",
        f"   {rerun_fence}",
        "",
        (
            "4. Compare: every output below is listed with its SHA-256 in `provenance.json` "
            "(`outputs`); tables and figures are byte-identical between runs on the same inputs "
            "(`tests/test_determinism.py`). `snakemake --report report.html` with the same "
            "`--config` bundles every table and figure with its caption into one HTML file."
        ),
        "",
    ]
    return lines


def _outputs(provenance: dict) -> list[str]:
    lines = [
        "## List of tables, figures and programs",
        "",
        (
            "Every file the workflow's final target asks for, with the rule and the package "
            "function that write it (paths relative to the results folder)."
        ),
        "",
    ]
    groups: dict[str, list[list]] = {}
    for path, record in provenance["outputs"].items():
        groups.setdefault(_output_group(path), []).append(
            [f"`{path}`", record.get("title"), _code(record["rule"]), _code(record["function"])]
        )
    for _, title in (*OUTPUT_GROUPS, ("", "Other")):
        if title in groups:
            lines += [f"### {title}", ""]
            lines += _table(["file", "caption", "rule", "function"], groups[title])
    leaves = [
        [
            f"`{out['pattern']}`",
            out["title"],
            f"`{name}`",
            _code(provenance["rules"][name]["function"]),
        ]
        for name in LEAF_RULES
        if name in provenance["rules"]
        for out in provenance["rules"][name]["outputs"]
    ]
    lines += ["### Provenance", ""]
    lines += _table(["file", "caption", "rule", "function"], leaves)
    return lines


def _claims_registries(provenance: dict) -> list[str]:
    """Which claims registry the verdicts were judged by, and the verdicts of any earlier
    registry used in the same results folder (a rule changed after results existed)."""
    history = provenance.get("claims_history") or []
    if not history:
        return []
    current = history[-1]
    lines = [
        "## Claims registry",
        "",
        f"The verdicts were judged by the rules, bands and smallest effects of interest in "
        f"{_code(current['registry_source'])}, sha256 `{current['registry_sha256']}`.",
        "",
    ]
    for earlier in reversed(history[:-1]):
        changed = {
            claim: (verdict, current["verdicts"].get(claim))
            for claim, verdict in earlier["verdicts"].items()
            if current["verdicts"].get(claim) != verdict
        }
        lines.append(
            f"- Earlier in this results folder ({earlier.get('recorded', 'date unknown')}), "
            f"registry sha256 `{earlier['registry_sha256'][:16]}…`: "
            + (
                "; ".join(f"{c}: {old} (now {new})" for c, (old, new) in changed.items())
                if changed
                else "the same verdicts"
            )
            + "."
        )
    if len(history) > 1:
        lines.append("")
    return lines


def _references(provenance: dict, registry_document: dict | None) -> list[str]:
    lines = ["## References", ""]
    source = provenance["dataset"].get("source") or {}
    if source.get("citation"):
        lines.append(f"- {source['citation']}" + (f" {source['url']}" if source.get("url") else ""))
    if registry_document and registry_document.get("citation"):
        lines.append(f"- {registry_document['citation']} (the review whose claims are tested)")
    lines.append(f"- Social Science Data Editors, template README: {TEMPLATE_URL}")
    return lines + [""]


def replication_readme(
    provenance: dict, readme_text: str, registry_document: dict | None = None
) -> str:
    """The replication README as Markdown (see the module docstring)."""
    tables = [path for path in provenance["outputs"] if path.startswith("tables/")]
    figures = [path for path in provenance["outputs"] if path.startswith("figures/")]
    lines = [
        "# Replication package",
        "",
        (
            f"Generated by the `replication` rule of the consortia workflow from `provenance.json` "
            f"(beside this file, written {provenance['created']}), which holds every fact below in "
            f"machine-readable form. Structure: the Social Science Data Editors' template README "
            f"({TEMPLATE_URL})."
        ),
        "",
        "## Overview",
        "",
        (
            f"The workflow reads the dataset folder {_code(provenance['dataset']['folder'])}, "
            "sets aside (quarantines) rows that break the data contract, builds a clean "
            "consortium-year panel, and writes descriptive tables and figures, the "
            "structure-conduct-performance models and verdicts on the review's quantitative "
            "claims. This run wrote "
            f"{len(tables)} table files and {len(figures)} figure files "
            f"({len(provenance['outputs'])} output files in all). One command runs everything."
        ),
        "",
    ]
    lines += _availability(provenance)
    lines += _requirements(provenance)
    lines += _programs(provenance)
    lines += _instructions(provenance, readme_text)
    lines += _outputs(provenance)
    lines += _claims_registries(provenance)
    lines += _references(provenance, registry_document)
    return "\n".join(lines).rstrip() + "\n"


def replication_step(
    provenance_path: str | Path,
    readme_path: str | Path,
    claims_registry_path: str | Path | None,
    replication_path: str | Path,
) -> None:
    """Write ``REPLICATION.md`` from ``provenance.json`` (rule ``replication``)."""
    provenance = json.loads(Path(provenance_path).read_text(encoding="utf-8"))
    registry_document = None
    if claims_registry_path:
        registry = yaml.safe_load(Path(claims_registry_path).read_text(encoding="utf-8"))
        registry_document = registry.get("document") if isinstance(registry, dict) else None
    text = replication_readme(
        provenance, Path(readme_path).read_text(encoding="utf-8"), registry_document
    )
    Path(replication_path).write_text(text, encoding="utf-8")
