"""The command line: `consortia simulate`, `validate`, `run` (progress display over Snakemake)."""

import io
import json
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from consortia import runner
from consortia.cli import build_parser, main
from consortia.simulate import simulate_to_folder

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def small_world(tmp_path_factory):
    folder = tmp_path_factory.mktemp("world")
    world = simulate_to_folder(
        folder, n_consortia=40, n_years=4, seed=11, truth_overrides=None, fmt="csv"
    )
    return folder, world


def test_simulate_writes_the_tables_and_the_truth(tmp_path, capsys):
    assert (
        main(["simulate", str(tmp_path), "--consortia", "25", "--years", "3", "--seed", "4"]) == 0
    )
    truth = json.loads((tmp_path / "truth.json").read_text())
    assert truth["simulator"]["seed"] == 4 and truth["simulator"]["n_consortia"] == 25
    read = truth["mess"]["tables"] if "tables" in truth["mess"] else truth["mess"]
    for table in ("consortia", "members", "panel", "tasks"):
        assert len(pd.read_csv(tmp_path / f"{table}.csv")) == read[table]["rows_read"], table
    assert "25 consortia x 3 years" in capsys.readouterr().out


def test_validate_prints_what_would_be_quarantined(small_world, capsys):
    folder, world = small_world
    assert main(["validate", str(folder), "--show", "5"]) == 0
    out = capsys.readouterr().out
    injected = (
        world.truth["mess"]["tables"] if "tables" in world.truth["mess"] else world.truth["mess"]
    )
    for table in ("consortia", "members", "panel", "tasks"):
        counts = injected[table]
        row = next(line for line in out.splitlines() if line.strip().startswith(table + " "))
        assert row.split()[1:5] == [
            str(counts[k])
            for k in ("rows_read", "rows_kept", "rows_quarantined", "duplicates_collapsed")
        ]
    total = sum(injected[t]["rows_quarantined"] for t in injected)
    assert total > 0
    assert f"first 5 of {total} rows that would be set aside:" in out
    listed = out.split("rows that would be set aside:")[1].strip().splitlines()
    assert len(listed) == 1 + 5  # header and the rows shown


def test_validate_names_the_missing_column(small_world, tmp_path, capsys):
    folder, _ = small_world
    broken = tmp_path / "broken"
    broken.mkdir()
    for path in folder.iterdir():
        (broken / path.name).write_bytes(path.read_bytes())
    members = pd.read_csv(broken / "members.csv").drop(columns=["member_type"])
    members.to_csv(broken / "members.csv", index=False)
    assert main(["validate", str(broken)]) == 2
    err = capsys.readouterr().err
    assert "members" in err and "member_type" in err


def copy_folder(source, target):
    target.mkdir()
    for path in source.iterdir():
        (target / path.name).write_bytes(path.read_bytes())
    return target


def test_validate_works_from_any_directory(small_world, tmp_path, monkeypatch, capsys):
    folder, _ = small_world
    monkeypatch.chdir(tmp_path)  # no config/ here: the project's config is found from the package
    assert main(["validate", str(folder), "--show", "0"]) == 0
    assert "members" in capsys.readouterr().out


def test_validate_reports_every_fault_of_the_folder(small_world, tmp_path, capsys):
    broken = copy_folder(small_world[0], tmp_path / "broken")
    members = pd.read_csv(broken / "members.csv").drop(columns=["member_type"])
    members.to_csv(broken / "members.csv", index=False)
    # the panel's header is fine; a row further down is not UTF-8
    panel = (broken / "panel.csv").read_bytes()
    (broken / "panel.csv").write_bytes(panel + "C0001,2019,研发\n".encode("gbk"))
    assert main(["validate", str(broken)]) == 2
    err = capsys.readouterr().err
    assert "2 faults" in err
    assert (
        f"{broken / 'members.csv'}: the members table lacks required column(s) member_type" in err
    )
    assert f"{broken / 'panel.csv'}: byte {len(panel) + 11} (line " in err
    assert "is not valid utf-8" in err


def test_validate_names_the_years_a_price_index_lacks(small_world, tmp_path, capsys):
    folder, world = small_world
    config_dir = tmp_path / "config"
    (config_dir / "schemas").mkdir(parents=True)
    schema = ROOT / "config" / "schemas" / "config.schema.yaml"
    (config_dir / "schemas" / schema.name).write_bytes(schema.read_bytes())
    config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text(encoding="utf-8"))
    # 2014 is a founding year of this world (and no panel year): members' funding is
    # deflated by its consortium's founding year
    founded = pd.to_numeric(pd.read_csv(folder / "consortia.csv")["founded_year"], errors="coerce")
    assert 2014 in set(founded) and world.truth["simulator"]["first_year"] > 2014
    del config["money"]["deflator"]["index"][2014]
    (config_dir / "config.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    assert main(["validate", str(folder), "--config", str(config_dir / "config.yaml")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("contract error: ")
    assert "members.funding" in err and "year(s) 2014 " in err and "money.deflator.index" in err


def test_run_passes_what_follows_the_double_dash_to_snakemake():
    args = build_parser().parse_args(
        ["run", "--results", "out", "--cores", "3", "--", "-n", "--nolock"]
    )
    assert args.snakemake_args == ["--", "-n", "--nolock"] and args.cores == "3"
    command = runner.snakemake_command(results=args.results, cores=args.cores, extra=["-n"])
    assert command[1:5] == ["-m", "snakemake", "--cores", "3"]
    assert f"results={Path('out').resolve()}" in command and command[-1] == "-n"


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("12 of 40 steps (30%) done", runner.Progress(12, 40, 30.0)),
        ("40 of 40 steps (100%) done", runner.Progress(40, 40, 100.0)),
        ("1 of 3 steps (33.3%) done", runner.Progress(1, 3, 33.3)),
        ("Select jobs to execute...", None),
    ],
)
def test_progress_lines_are_parsed(line, expected):
    assert runner.parse_progress(line) == expected


def test_job_lines_are_parsed():
    assert runner.parse_job_start("localrule clean:") == "clean"
    assert runner.parse_job_start("rule fit_models:") == "fit_models"
    assert runner.parse_job_end("Finished jobid: 9 (Rule: replication)") == "replication"
    assert runner.parse_job_start("    input: x") is None


FAKE_SNAKEMAKE = """
import sys
print("consortia: dataset demo", flush=True)
for line in ["Building DAG of jobs...", "localrule clean:", "Finished jobid: 1 (Rule: clean)",
             "1 of 2 steps (50%) done", "localrule all:", "Finished jobid: 0 (Rule: all)",
             "2 of 2 steps (100%) done", "Complete log(s): /x.log"]:
    print(line, file=sys.stderr, flush=True)
print("data quality: demo", flush=True)
sys.exit(int(sys.argv[1]))
"""


def test_run_shows_progress_and_the_workflow_messages(tmp_path):
    out = io.StringIO()
    code = runner.run_workflow([sys.executable, "-c", FAKE_SNAKEMAKE, "0"], tmp_path, stream=out,
                               interactive=False)
    text = out.getvalue()
    assert code == 0
    assert "[############------------] 1/2 steps (50%)" in text
    assert "[########################] 2/2 steps (100%)" in text
    assert "consortia: dataset demo" in text and "data quality: demo" in text
    assert "Building DAG" not in text  # Snakemake's log is not shown on success


def test_run_redraws_one_line_on_a_terminal(tmp_path):
    out = io.StringIO()
    runner.run_workflow(
        [sys.executable, "-c", FAKE_SNAKEMAKE, "0"], tmp_path, stream=out, interactive=True
    )
    assert "\r\033[Kconsortia run: [" in out.getvalue()
    assert out.getvalue().count("\n") < 6


def test_failed_run_prints_the_end_of_the_log(tmp_path):
    out = io.StringIO()
    code = runner.run_workflow([sys.executable, "-c", FAKE_SNAKEMAKE, "3"], tmp_path, stream=out,
                               interactive=False)
    assert code == 3
    assert "Snakemake failed (exit 3)" in out.getvalue()
    assert "Building DAG of jobs..." in out.getvalue()


@pytest.mark.workflow
def test_run_on_the_demo_reaches_every_step(demo_run):
    lines = [line for line in demo_run.output.splitlines() if line.startswith("consortia run: [")]
    assert lines, demo_run.output[-2000:]
    done, total = lines[-1].split("] ")[1].split(" steps")[0].split("/")
    assert done == total and int(total) > 5
    assert "data quality:" in demo_run.output
    assert (demo_run.results / "tables" / "table1_descriptives.csv").is_file()
