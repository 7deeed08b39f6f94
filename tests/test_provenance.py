"""Provenance (results/provenance.json) and the replication README (results/REPLICATION.md).

Unit tests on small inputs, then checks of a finished demo run against independent
computations: hashlib over the dataset, `git rev-parse`, the config loaded by
consortia.config, the files on disk.
"""

import hashlib
import importlib
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pandas
import pytest
from snakemake.cli import parse_config

from consortia import provenance as prov
from consortia.config import load_config
from consortia.replication import readme_command, replication_readme, rerun_command
from consortia.simulate import simulate_to_folder

ROOT = Path(__file__).resolve().parents[1]


def test_sha256_matches_the_fips_test_vector(tmp_path):
    path = tmp_path / "abc.txt"
    path.write_bytes(b"abc")
    expected = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    assert prov.hash_files([path], relative_to=tmp_path) == {
        "abc.txt": {"sha256": expected, "bytes": 3}
    }


def test_dataset_files_are_the_tables_and_the_known_files_beside_them(tmp_path):
    for name in ("consortia.csv", "members.parquet", "truth.json", "source.json", "notes.txt",
                 ".DS_Store"):
        (tmp_path / name).write_text(name)
    (tmp_path / "out" / "data").mkdir(parents=True)  # a results folder inside the dataset's
    (tmp_path / "out" / "data" / "panel.parquet").write_text("an output")
    (tmp_path / "tasks.csv.bak").symlink_to(tmp_path / "gone")
    tables = [str(tmp_path / "consortia.csv"), str(tmp_path / "members.parquet")]
    # the adapter's log is not there yet, but a rule of the workflow writes it
    promised = [str(tmp_path / "adapter_log.csv"), str(tmp_path / "unrelated.csv")]
    files = prov.dataset_files(tmp_path, tables, made_by_workflow=promised)
    assert files == [tmp_path / name for name in (
        "adapter_log.csv", "consortia.csv", "members.parquet", "source.json", "truth.json")]
    assert prov.not_in_dataset(tmp_path, files) == [
        ".DS_Store", "notes.txt", "out", "tasks.csv.bak"
    ]


def test_a_file_that_cannot_be_hashed_is_named(tmp_path, monkeypatch):
    table = tmp_path / "members.csv"
    table.write_text("x")
    real_open = open

    def deny(file, *args, **kwargs):
        if str(file) == str(table):
            raise PermissionError(13, "Permission denied", str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr("builtins.open", deny)
    with pytest.raises(OSError, match=rf"^{re.escape(str(table))}: cannot be read to hash it "
                                      r"\(Permission denied\)"):
        prov.hash_files([table])


def test_producing_function_is_the_one_call_inside_the_step(tmp_path):
    script = tmp_path / "step.py"
    script.write_text(
        "from pathlib import Path\n"
        "from consortia.workflow import logged_step\n"
        "from consortia.render.table_writers import write_table as write\n"
        "with logged_step(snakemake.log[0]):\n"
        "    write(Path(snakemake.input[0]))\n"
    )
    assert prov.producing_function(script) == "consortia.render.table_writers.write_table"
    script.write_text(
        script.read_text() + "from consortia.render import figure\nfigure.save_figure()\n"
    )
    assert prov.producing_function(script) is None


def test_every_rule_script_names_an_importable_function():
    for script in sorted((ROOT / "rules" / "scripts").glob("*.py")):
        function = prov.producing_function(script)
        assert function, f"{script.name}: no single package function called"
        module, name = function.rsplit(".", 1)
        assert callable(getattr(importlib.import_module(module), name)), function


def test_seeds_are_found_at_any_depth():
    config = {"seed": 1, "models": {"bootstrap": {"seed": 2}}, "mc": [{"draw_seed": 3}], "n": 4}
    assert prov.find_seeds(config) == {"seed": 1, "models.bootstrap.seed": 2, "mc[0].draw_seed": 3}


def test_wildcards_are_filled_with_or_without_constraints():
    assert prov.fill_wildcards("r/fits/{model}.json", {"model": "ols"}) == "r/fits/ols.json"
    assert prov.fill_wildcards("r/{a,[a-z]{2}}/{b}.csv", {"a": "xy", "b": "t"}) == "r/xy/t.csv"


def test_trace_outputs_finds_the_job_and_its_siblings():
    rules = [
        {
            "name": "fit",
            "function": "pkg.fit_step",
            "outputs": [
                {"pattern": "r/fits/{model}.json", "regex": r"r/fits/(?P<model>.+)\.json",
                 "caption": None, "category": None, "title": None},
                {"pattern": "r/fits/{model}.png", "regex": r"r/fits/(?P<model>.+)\.png",
                 "caption": "report/fit.rst", "category": "SCP models", "title": "A fit."},
            ],
        }
    ]
    traced = prov.trace_outputs(["r/fits/ols.json", "r/other.csv"], rules)
    assert traced["r/fits/ols.json"] == {
        "rule": "fit", "function": "pkg.fit_step", "title": "A fit."
    }
    assert traced["r/fits/ols.png"]["caption"] == "report/fit.rst"
    assert traced["r/other.csv"] == {"rule": None, "function": None}


def test_trace_outputs_follows_inputs_to_the_jobs_upstream():
    def rule(name, outputs, inputs=()):
        return {
            "name": name,
            "function": f"pkg.{name}_step",
            "inputs": list(inputs),
            "outputs": [
                {"pattern": o, "regex": re.escape(o).replace(re.escape("{m}"), "(?P<m>[^/]+)"),
                 "caption": None, "category": None, "title": None}
                for o in outputs
            ],
        }

    rules = [
        rule("table", ["r/tables/{m}.csv"], inputs=["r/fits/{m}.json", "data/raw.csv"]),
        rule("fit", ["r/fits/{m}.json"], inputs=["r/panel.parquet"]),
        rule("panel", ["r/panel.parquet"], inputs=["data/raw.csv"]),
    ]
    traced = prov.trace_outputs(["r/tables/ols.csv"], rules)
    assert {file: record["rule"] for file, record in traced.items()} == {
        "r/tables/ols.csv": "table",
        "r/fits/ols.json": "fit",
        "r/panel.parquet": "panel",
    }


def test_benchmarks_are_read_from_snakemake_tsv(tmp_path):
    path = tmp_path / "clean.tsv"
    path.write_text("s\th:m:s\tmax_rss\tmax_vms\n2.50\t0:00:02\t150.25\t900\n")
    records = prov.read_benchmarks({"clean": [path, tmp_path / "absent.tsv"]})
    assert records == [{"rule": "clean", "file": str(path), "seconds": 2.5, "max_rss_mb": 150.25}]


def test_package_versions_are_the_installed_ones():
    versions = prov.package_versions()
    assert versions["installed"]["pandas"] == pandas.__version__
    assert versions["declared"]["runtime"]["pandas"] == pandas.__version__
    assert "pytest" in versions["declared"]["extras"]


def test_machine_info_reports_this_machine():
    info = prov.machine_info()
    assert info["cpu_count"] == os.cpu_count()
    assert info["memory_bytes"] > 2**28
    assert info["python"]["version"].startswith("3.")


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_git_state_commit_and_dirty_tree(tmp_path):
    assert prov.git_state(tmp_path)["available"] is False

    def git(*args):
        subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=tmp_path,
                       check=True, capture_output=True)

    git("init", "-q")
    (tmp_path / "a.txt").write_text("1")
    git("add", "a.txt")
    git("commit", "-q", "-m", "first")
    clean = prov.git_state(tmp_path)
    assert clean["available"] and clean["dirty"] is False
    assert re.fullmatch(r"[0-9a-f]{40}", clean["commit"])
    (tmp_path / "a.txt").write_text("2")
    assert prov.git_state(tmp_path)["dirty"] is True


def test_readme_commands_are_extracted():
    text = "x\n<!-- demo-command -->\n```bash\nrun it\n```\n"
    assert readme_command(text, "demo-command") == "run it"
    assert readme_command(text, "test-command") is None


def _minimal_provenance(source=None, files=None):
    return {
        "created": "2026-01-01T00:00:00+00:00",
        "git": {"available": False, "commit": None, "dirty": None, "reason": "no git"},
        "machine": {"python": {"version": "3.11.0", "implementation": "CPython"},
                    "platform": {"description": "Linux"}, "cpu_count": 2, "memory_bytes": 2**30},
        "run": {"cores": 2, "snakemake": "9", "configfiles": ["my.yaml"], "config_overrides": {}},
        "packages": {"project": {"name": "consortia", "version": "0.1"},
                     "declared": {"runtime": {"pandas": "2"}, "extras": {}},
                     "installed": {"pandas": "2"}},
        "config": {"dataset": "d", "results": "r", "seed": 1},
        "config_files": {},
        "dataset": {"folder": "d",
                    "files": files or {"consortia.csv": {"sha256": "0" * 64, "bytes": 1}},
                    "source": source, "simulated": None},
        "seeds": {"config": {"seed": 1}, "dataset": {}},
        "runtime": {"measured_by": "benchmarks", "jobs": [], "rules_without_benchmark": []},
        "rules": {},
        "outputs": {"tables/t.csv": {"rule": "t", "function": "f", "sha256": "1", "bytes": 2}},
    }


def test_replication_readme_states_the_recorded_source_or_its_absence():
    source = {"citation": "Agency (2024). Consortia register.", "licence": "CC BY 4.0"}
    text = replication_readme(_minimal_provenance(source=source), readme_text="")
    assert "Agency (2024). Consortia register." in text and "CC BY 4.0" in text
    missing = replication_readme(_minimal_provenance(), readme_text="")
    assert "No source is recorded" in missing
    assert "--configfile my.yaml --config dataset=d results=r" in missing


def test_rerun_command_reads_back_exactly_and_runs_nothing(tmp_path):
    marker = tmp_path / "executed"
    dataset = f"/data/my world (v2) $(touch {marker}) `touch {marker}` it's; a&b"
    provenance = _minimal_provenance()
    provenance["config"].update(dataset=dataset, results="/out/x y")
    provenance["run"].update(configfiles=["my config's.yaml"],
                             config_overrides={"dataset": dataset, "seed": 3,
                                               "money": {"currency": "EUR", "note": "it's"}})
    command = rerun_command(provenance)
    words = shlex.split(command)
    assert words[:3] == [".venv/bin/snakemake", "--cores", "all"]
    assert words[words.index("--configfile") + 1] == "my config's.yaml"
    config_args = words[words.index("--config") + 1:]
    # Snakemake's own --config parser gets the values that were recorded
    assert parse_config(config_args) == {
        "dataset": dataset, "seed": 3, "money": {"currency": "EUR", "note": "it's"},
        "results": "/out/x y",
    }
    # pasted into a shell: the words arrive as split above, and nothing runs
    echoed = subprocess.run(
        ["bash", "-c", command.replace(".venv/bin/snakemake", "printf '%s\\0'", 1)],
        capture_output=True, text=True, check=True, cwd=tmp_path,
    )
    assert echoed.stdout.split("\0")[:-1] == words[1:]
    assert not marker.exists()
    readme = replication_readme(provenance, readme_text="")
    assert f"   {command}\n" in readme


# ------------------------------------------------------------------ a finished demo run


@pytest.fixture(scope="module")
def provenance(demo_run):
    return json.loads((demo_run.results / "provenance.json").read_text())


@pytest.mark.workflow
def test_provenance_hashes_every_dataset_file(provenance):
    dataset = ROOT / "data" / "raw" / "demo"
    expected = {
        path.name: hashlib.sha256(path.read_bytes()).hexdigest()
        for path in dataset.iterdir()
        if path.is_file()
    }
    assert {
        name: info["sha256"] for name, info in provenance["dataset"]["files"].items()
    } == expected
    assert (
        provenance["dataset"]["simulated"]["simulator"]["seed"]
        == provenance["seeds"]["dataset"]["simulator.seed"]
    )


@pytest.mark.workflow
def test_provenance_holds_the_resolved_config(demo_run, provenance):
    resolved = load_config(ROOT / "config" / "config.yaml", {"results": str(demo_run.results)})
    assert provenance["config"] == json.loads(json.dumps(resolved))
    assert provenance["seeds"]["config"]["seed"] == resolved["seed"]
    assert {"config/config.yaml", "config/schemas/config.schema.yaml", resolved["claims"]} <= set(
        provenance["config_files"]
    )


@pytest.mark.workflow
def test_provenance_traces_every_table_and_figure_with_its_hash(demo_run, provenance):
    for folder in ("tables", "figures"):
        for path in sorted((demo_run.results / folder).iterdir()):
            record = provenance["outputs"][f"{folder}/{path.name}"]
            assert record["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest(), path.name
            module, name = record["function"].rsplit(".", 1)
            assert callable(getattr(importlib.import_module(module), name)), path.name
            assert record["rule"] in provenance["rules"]


@pytest.mark.workflow
@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_provenance_records_the_checked_out_commit(provenance):
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    if head.returncode != 0:
        assert provenance["git"]["available"] is False
    else:
        assert provenance["git"]["commit"] == head.stdout.strip()


@pytest.mark.workflow
def test_replication_readme_lists_every_table_and_figure_with_its_rule(demo_run, provenance):
    text = (demo_run.results / "REPLICATION.md").read_text()
    for heading in ("## Data availability and provenance statements",
                    "## Computational requirements",
                    "## Description of programs/code", "## Instructions to replicators",
                    "## List of tables, figures and programs"):
        assert heading in text
    files = [
        p for folder in ("tables", "figures") for p in sorted((demo_run.results / folder).iterdir())
    ]
    assert files
    for path in files:
        relative = f"{path.parent.name}/{path.name}"
        rule = provenance["outputs"][relative]["rule"]
        assert re.search(
            rf"^\| `{re.escape(relative)}` \|.*\| `{rule}` \|", text, re.MULTILINE
        ), relative
    assert "simulated" in text and "truth.json" in text
    assert provenance["runtime"]["jobs"], "no job was benchmarked"
    for job in provenance["runtime"]["jobs"]:
        assert f"| {job['rule']} | `{job['file']}` | {job['seconds']} |" in text


@pytest.mark.workflow
@pytest.mark.skipif(not Path("/proc/self/mem").is_file(), reason="needs Linux /proc")
def test_results_inside_the_dataset_folder_and_an_unreadable_file_beside_the_tables(tmp_path):
    dataset = tmp_path / "world"
    simulate_to_folder(dataset, n_consortia=30, n_years=4, seed=3, truth_overrides=None, fmt="csv")
    # a regular file by its type that no one can read, not even root
    (dataset / "notes.txt").symlink_to("/proc/self/mem")
    results = dataset / "out"
    command = [sys.executable, "-m", "snakemake", "--cores", "2", "--nolock",
               "--config", f"dataset={dataset}", f"results={results}"]

    def run():
        done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        return done.stdout + done.stderr

    def recorded():
        provenance = json.loads((results / "provenance.json").read_text())
        replication = (results / "REPLICATION.md").read_text()
        return provenance["dataset"], replication

    def sha256(name):
        return hashlib.sha256((dataset / name).read_bytes()).hexdigest()

    first = run()
    assert "not part of the dataset (not read, not hashed): notes.txt, out\n" in first
    record, replication = recorded()
    tables = ["consortia.csv", "members.csv", "panel.csv", "tasks.csv", "truth.json"]
    assert {name: info["sha256"] for name, info in record["files"].items()} == {
        name: sha256(name) for name in tables}
    assert record["not_hashed"] == ["notes.txt", "out"]

    again = run()
    assert "Nothing to be done" in again and "Cyclic" not in again

    with open(dataset / "members.csv", "a", encoding="utf-8") as members:
        members.write("C0001,NEW001,enterprise,False,,,,,,,,\n")
    assert "not part of the dataset (not read, not hashed): notes.txt, out\n" in run()
    record, replication = recorded()
    assert record["files"]["members.csv"]["sha256"] == sha256("members.csv")
    assert sha256("members.csv") in replication
