"""Provenance of a run: what produced the results folder, from what, on what.

``results/provenance.json`` records the package versions installed, the
resolved configuration (after the schema's defaults), SHA-256 hashes of the
dataset's files (:func:`dataset_files`) and of the config files, the git commit and
whether the tree was dirty, the random seeds, the Python version, platform,
cores and memory, the runtime and peak memory Snakemake measured for each job
(its ``benchmark:`` files), and every output file with its hash, the rule that
wrote it and the package function that rule calls.

The rule → function map is read from the rules themselves
(:func:`producing_function` parses a rule's script), so it cannot drift from
the workflow. The Snakemake layer (``rules/provenance.smk``) only turns
Snakemake's rule objects into the plain records :func:`collect_provenance`
takes.
"""

from __future__ import annotations

import ast
import datetime as dt
import hashlib
import importlib.metadata as md
import json
import logging
import os
import platform
import re
import subprocess
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from consortia.adapters import cordis
from consortia.claims.history import HISTORY_FILE, read_verdict_history

SCHEMA_VERSION = 1
PROJECT = "consortia"
SIMULATOR_MODULE = "consortia.simulate"
TRUTH_FILE = "truth.json"
# What the tools that make dataset folders write beside the tables: the simulator's
# truth, the CORDIS adapter's source note, log and list of excluded projects.
SIDECAR_FILES = (TRUTH_FILE, cordis.SOURCE_FILE, cordis.LOG_FILE, cordis.EXCLUDED_FILE)
STEP_CONTEXT = "logged_step"
# Snakemake benchmark columns kept: wall-clock seconds and peak resident memory (MB).
BENCHMARK_COLUMNS = {"s": "seconds", "max_rss": "max_rss_mb"}

log = logging.getLogger(__name__)


def sha256_file(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def hash_files(paths: Iterable[str | Path], relative_to: str | Path | None = None) -> dict:
    """``{path: {"sha256", "bytes"}}``, keys relative to ``relative_to`` when given, sorted."""
    hashed = {}
    for path in paths:
        key = os.path.relpath(path, relative_to) if relative_to is not None else str(path)
        try:
            digest = sha256_file(path)
        except OSError as error:
            raise OSError(
                f"{path}: cannot be read to hash it ({error.strerror or error}); provenance "
                "records the SHA-256 of every input file"
            ) from error
        hashed[Path(key).as_posix()] = {"sha256": digest, "bytes": Path(path).stat().st_size}
    return dict(sorted(hashed.items()))


def dataset_files(
    folder: str | Path, table_files: Iterable[str | Path], made_by_workflow: Iterable[str] = ()
) -> list[Path]:
    """The files of a dataset: its contract tables and the known files beside them.

    ``table_files`` are the tables the dataset plan found; of :data:`SIDECAR_FILES`,
    those in the folder count, and those a rule of the workflow writes there
    (``made_by_workflow``, e.g. the CORDIS ingest), which do not exist before the run.
    Nothing else in the folder is part of the dataset: not notes or editor backups that
    may not even be readable, and not a results folder placed inside it, whose outputs
    would otherwise become inputs of the provenance that describes them.
    """
    folder = Path(folder)
    made = {os.path.normpath(path) for path in made_by_workflow}
    files = {Path(path) for path in table_files}
    for name in SIDECAR_FILES:
        path = folder / name
        if path.is_file() or os.path.normpath(path) in made:
            files.add(path)
    return sorted(files)


def not_in_dataset(folder: str | Path, files: Iterable[str | Path]) -> list[str]:
    """Names of the folder's entries that are not dataset files nor hold one (not hashed)."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    listed = {Path(os.path.relpath(path, folder)).parts[0] for path in files}
    return sorted(entry.name for entry in folder.iterdir() if entry.name not in listed)


def referenced_config_files(config: Mapping, suffixes=(".yaml", ".yml", ".json")) -> list[str]:
    """Files a configuration points to (e.g. the claims registry): string values that name an
    existing YAML or JSON file, anywhere in the nested config."""
    found = set()

    def walk(value):
        if isinstance(value, Mapping):
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)
        elif isinstance(value, str) and value.endswith(suffixes) and Path(value).is_file():
            found.add(value)

    walk(config)
    return sorted(found)


def package_versions(project: str = PROJECT) -> dict:
    """The versions installed now: the project, its declared dependencies, and everything."""
    installed = {}
    for dist in md.distributions():
        name = dist.metadata["Name"]
        if name:
            installed[_canonical(name)] = dist.version
    declared: dict[str, dict[str, str]] = {"runtime": {}, "extras": {}}
    try:
        requirements = md.requires(project) or []
        version = md.version(project)
    except md.PackageNotFoundError:
        requirements, version = [], None
    for requirement in requirements:
        name = _canonical(re.match(r"\s*([A-Za-z0-9._-]+)", requirement).group(1))
        group = "extras" if "extra ==" in requirement else "runtime"
        declared[group][name] = installed.get(name, "not installed")
    return {
        "project": {"name": project, "version": version},
        "declared": {group: dict(sorted(pins.items())) for group, pins in declared.items()},
        "installed": dict(sorted(installed.items())),
    }


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def git_state(project_dir: str | Path) -> dict:
    """The commit checked out and whether tracked or untracked files differ from it.

    Without git, or outside a repository, says so instead of failing: a
    results folder made from an unpacked archive is still a valid run.
    """

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=project_dir, capture_output=True, text=True, check=True, timeout=30
        ).stdout

    try:
        commit = git("rev-parse", "HEAD").strip()
        changes = [line for line in git("status", "--porcelain").splitlines() if line.strip()]
    except FileNotFoundError:
        return {"available": False, "commit": None, "dirty": None, "reason": "git is not installed"}
    except subprocess.CalledProcessError as error:
        reason = (error.stderr or "").strip().splitlines()[:1] or ["git failed"]
        return {"available": False, "commit": None, "dirty": None, "reason": reason[0]}
    return {
        "available": True,
        "commit": commit,
        "dirty": bool(changes),
        "changed_paths": len(changes),
    }


def machine_info() -> dict:
    """Python, operating system, logical CPUs and physical memory of this machine."""
    try:
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # not a POSIX system
        memory = None
    return {
        "python": {
            "version": platform.python_version(),
            "implementation": platform.python_implementation(),
            "executable": sys.executable,
        },
        "platform": {
            "system": platform.system(),
            "release": platform.release(),
            "machine": platform.machine(),
            "description": platform.platform(),
        },
        "cpu_count": os.cpu_count(),
        "memory_bytes": memory,
    }


def find_seeds(payload: Any, prefix: str = "") -> dict[str, int]:
    """Every ``seed`` or ``*_seed`` integer in a nested dict/list, keyed by its dotted path."""
    found: dict[str, int] = {}
    if isinstance(payload, Mapping):
        for key, value in payload.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            if (key == "seed" or str(key).endswith("_seed")) and isinstance(value, int):
                found[path] = value
            else:
                found.update(find_seeds(value, path))
    elif isinstance(payload, list):
        for index, value in enumerate(payload):
            found.update(find_seeds(value, f"{prefix}[{index}]"))
    return found


def simulated_origin(dataset: str | Path) -> dict | None:
    """The simulator's record when the dataset was drawn by ``consortia simulate``, else None."""
    truth_path = Path(dataset) / TRUTH_FILE
    if not truth_path.is_file():
        return None
    truth = json.loads(truth_path.read_text(encoding="utf-8"))
    simulator = truth.get("simulator", {}) if isinstance(truth, dict) else {}
    if simulator.get("module") != SIMULATOR_MODULE:
        return None
    return {
        "truth_file": TRUTH_FILE,
        "simulator": {key: simulator[key] for key in sorted(simulator) if key != "rows"},
        "seeds": find_seeds(truth),
    }


def producing_function(script: str | Path, package: str = PROJECT) -> str | None:
    """The package function a rule's entry-point script calls, as ``module.function``.

    Entry points follow one pattern (``rules/scripts/*.py``): import the step
    function from the package, call it once inside ``with logged_step(...)``.
    Only calls that are statements count (helpers called to build an
    argument do not), and only of functions imported from the package.
    Returns None when the script calls no package function other than
    ``logged_step``, or several.
    """
    tree = ast.parse(Path(script).read_text(encoding="utf-8"))
    imported = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                imported[alias.asname or alias.name] = f"{node.module}.{alias.name}"
        elif isinstance(node, ast.Import):
            for alias in node.names:
                imported[alias.asname or alias.name] = alias.name
    called = set()
    # Statements that are a call (not calls nested in another call's arguments).
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Call)):
            continue
        func = node.value.func
        if isinstance(func, ast.Name) and func.id in imported and func.id != STEP_CONTEXT:
            called.add(imported[func.id])
        elif (
            isinstance(func, ast.Attribute)
            and isinstance(func.value, ast.Name)
            and func.value.id in imported
        ):
            called.add(f"{imported[func.value.id]}.{func.attr}")
    in_package = {name for name in called if name.split(".")[0] == package}
    return in_package.pop() if len(in_package) == 1 else None


def caption_title(caption: str | Path) -> str:
    """A caption's title: its first non-empty line, without reStructuredText emphasis."""
    for line in Path(caption).read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith(".."):
            return line.strip().strip("*").strip()
    return ""


WILDCARD = re.compile(r"\{\s*(\w+)\s*(?:,[^{}]*(?:\{[^{}]*\}[^{}]*)*)?\}")


def trace_outputs(files: Iterable[str], rules: list[dict]) -> dict[str, dict]:
    """The jobs behind ``files`` and the jobs upstream of them.

    For each file, the rule whose output pattern matches it gives the job;
    every output of that job (its siblings) is traced, and so are the job's
    declared inputs that another rule produces (intermediate files such as
    fitted models), the pattern's wildcards filled in from the match.
    Inputs given by functions are not followed.

    Returns ``{file: {"rule", "function", "caption", "category", "title"}}``;
    a requested file that no rule makes gets ``rule: None``. Files that
    share a stem (``x.csv`` beside the report item ``x.html``) share its
    caption's title.
    """
    traced: dict[str, dict] = {}
    requested = list(map(str, files))
    pending = [(file, True) for file in requested]
    while pending:
        file, is_requested = pending.pop()
        if file in traced:
            continue
        job = _producing_job(file, rules)
        if job is None:
            if is_requested:
                traced[file] = {"rule": None, "function": None}
            continue
        rule, wildcards = job
        for out in rule["outputs"]:
            traced.setdefault(
                fill_wildcards(out["pattern"], wildcards),
                {
                    "rule": rule["name"],
                    "function": rule["function"],
                    **{key: out.get(key) for key in ("caption", "category", "title")},
                },
            )
        pending += [(fill_wildcards(i, wildcards), False) for i in rule.get("inputs", [])]
    titles = {
        _stem(file): record["title"] for file, record in traced.items() if record.get("title")
    }
    for file, record in traced.items():
        if not record.get("title") and _stem(file) in titles:
            record["title"] = titles[_stem(file)]
    return {
        file: {k: v for k, v in record.items() if v is not None or k in ("rule", "function")}
        for file, record in sorted(traced.items())
    }


def _producing_job(file: str, rules: list[dict]) -> tuple[dict, dict[str, str]] | None:
    """The first rule with an output pattern matching ``file``, and the wildcards matched."""
    for rule in rules:
        for out in rule["outputs"]:
            if match := re.fullmatch(out["regex"], file):
                return rule, match.groupdict()
    return None


def fill_wildcards(pattern: str, wildcards: Mapping[str, str]) -> str:
    """A Snakemake file pattern with its ``{wildcard}`` (or ``{wildcard,regex}``) filled in."""
    return WILDCARD.sub(lambda found: wildcards[found.group(1)], pattern)


def _stem(file: str) -> str:
    return str(Path(file).with_suffix(""))


def read_benchmarks(benchmarks: Mapping[str, Iterable[str | Path]]) -> list[dict]:
    """One record per Snakemake benchmark file that exists: rule, file, seconds, peak RSS (MB)."""
    records = []
    for rule, paths in sorted(benchmarks.items()):
        for path in sorted(map(str, paths)):
            if not Path(path).is_file():
                continue
            table = pd.read_csv(path, sep="\t")
            row = table.iloc[-1]  # the last repeat: Snakemake writes one row per repeat
            record = {"rule": rule, "file": path}
            for column, name in BENCHMARK_COLUMNS.items():
                value = pd.to_numeric(row.get(column), errors="coerce")
                record[name] = None if pd.isna(value) else round(float(value), 3)
            records.append(record)
    return records


def benchmark_files(pattern: str) -> list[Path]:
    """Existing files matching a benchmark pattern (each ``{wildcard}`` matches a path part)."""
    parts = re.split(r"\{[^}]*\}", pattern)
    if len(parts) == 1:
        return [Path(pattern)] if Path(pattern).is_file() else []
    glob = "*".join(parts)
    anchor = Path(glob).anchor or "."
    return sorted(Path(anchor).glob(os.path.relpath(glob, anchor)))


def collect_provenance(
    *,
    outputs: list[str],
    results: str | Path,
    dataset_files: list[str],
    config_files: list[str],
    config: dict,
    rules: list[dict],
    run: dict,
    created: str | None = None,
) -> dict:
    """The provenance record of a finished run (see the module docstring).

    ``outputs`` are the files the workflow's final target asks for;
    ``dataset_files`` (:func:`dataset_files` of ``config["dataset"]``) are hashed as
    they are now, and the folder's other entries are named as not hashed;
    ``rules`` the records :func:`rule_record` makes of every rule; ``run``
    says how Snakemake was called: ``project_dir``, ``cores``, ``snakemake``
    (its version), ``configfiles`` (given with ``--configfile``, relative to
    the project) and ``config_overrides`` (given with ``--config``).
    """
    project_dir = Path(run["project_dir"])
    dataset = Path(config["dataset"])
    output_records = {
        _relative(file, results): {**record, **hash_files([file])[Path(file).as_posix()]}
        for file, record in trace_outputs(outputs, rules).items()
        if Path(file).is_file()
    }
    ran = {record["rule"] for record in output_records.values()}
    benchmarks = {
        rule["name"]: [path for pattern in rule["benchmarks"] for path in benchmark_files(pattern)]
        for rule in rules
        if rule.get("benchmarks") and rule["name"] in ran
    }
    origin = simulated_origin(dataset) if dataset.is_dir() else None
    unlisted = not_in_dataset(dataset, dataset_files)
    if unlisted:
        log.warning(
            "%s: not part of the dataset, not hashed: %s", dataset, ", ".join(unlisted)
        )
    history = [
        entry
        for file in outputs
        if Path(file).name == "claims.json"
        for entry in read_verdict_history(Path(file).with_name(HISTORY_FILE))
    ]
    return {
        "schema_version": SCHEMA_VERSION,
        "created": created or dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "git": git_state(project_dir),
        "machine": machine_info(),
        "run": dict(run),
        "packages": package_versions(),
        "config": config,
        "config_files": hash_files(config_files, relative_to=project_dir),
        "dataset": {
            "folder": str(dataset),
            "files": hash_files(dataset_files, relative_to=dataset),
            "not_hashed": unlisted,
            "source": config.get("source"),
            "simulated": origin,
        },
        "seeds": {
            "config": find_seeds(config),
            "dataset": origin["seeds"] if origin else {},
        },
        "runtime": {
            "measured_by": "Snakemake benchmark files (wall-clock seconds, peak resident memory)",
            "jobs": [
                {**record, "file": _relative(record["file"], results)}
                for record in read_benchmarks(benchmarks)
            ],
            "rules_without_benchmark": sorted(
                rule["name"] for rule in rules if not rule.get("benchmarks") and rule["name"] in ran
            ),
        },
        "rules": {
            rule["name"]: {
                **{key: rule[key] for key in ("description", "script", "function")},
                "outputs": [
                    {
                        "pattern": _relative(out["pattern"], results),
                        **{key: out[key] for key in ("caption", "category", "title")},
                    }
                    for out in rule["outputs"]
                ],
            }
            for rule in rules
        },
        "outputs": output_records,
        # every registry the claims were judged by in this results folder, oldest first:
        # a rule changed after results existed shows as a second hash with the old verdicts
        "claims_history": history,
    }


def rule_record(
    name: str,
    description: str | None,
    script: str | None,
    outputs: list[dict],
    benchmarks: list[str],
    project_dir: str | Path,
    inputs: list[str] = (),
) -> dict:
    """A plain record of one rule for :func:`collect_provenance`.

    ``outputs``: ``{"pattern", "regex", "caption" (path or None), "category"}``
    per output; ``inputs``: the rule's input patterns that are not functions.
    Script and caption paths are made relative to the project.
    """

    def relative(path):
        return Path(os.path.relpath(path, project_dir)).as_posix() if path else None

    return {
        "name": name,
        "description": " ".join((description or "").split()) or None,
        "script": relative(script),
        "function": producing_function(script) if script else None,
        "outputs": [
            {
                **out,
                "caption": relative(out.get("caption")),
                "title": caption_title(out["caption"]) if out.get("caption") else None,
            }
            for out in outputs
        ],
        "inputs": list(inputs),
        "benchmarks": list(benchmarks),
    }


def _relative(file: str | Path, results: str | Path) -> str:
    return Path(os.path.relpath(file, results)).as_posix()


def provenance_step(
    outputs: list[str],
    dataset_files: list[str],
    config_files: list[str],
    provenance_path: str | Path,
    config: dict,
    rules: list[dict],
    run: dict,
) -> dict:
    """Write ``provenance.json`` beside the outputs it describes (rule ``provenance``)."""
    provenance_path = Path(provenance_path)
    record = collect_provenance(
        outputs=outputs,
        results=provenance_path.parent,
        dataset_files=dataset_files,
        config_files=config_files,
        config=config,
        rules=rules,
        run=run,
    )
    provenance_path.parent.mkdir(parents=True, exist_ok=True)
    provenance_path.write_text(
        json.dumps(record, indent=1, ensure_ascii=False, default=str) + "\n", encoding="utf-8"
    )
    return record
