"""Command line: what a user does outside Snakemake.

    consortia simulate OUT [--consortia N] [--years T] [--seed S] [--truth FILE] [--format csv]
    consortia validate DIR [--config FILE] [--show 20] [--json]
    consortia run [--dataset DIR] [--results OUT] [--configfile F] [--cores N] [-- SNAKEMAKE ARGS]
    consortia ingest cordis --projects FILE --organizations FILE --out DIR [--config FILE]
                            [--programme-parts FILE]
    consortia --version
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import pandas as pd
import yaml

from consortia import __version__, io, money, report
from consortia.config import load_config


def _simulate(args: argparse.Namespace) -> int:
    from consortia.simulate import simulate_to_folder

    overrides = yaml.safe_load(Path(args.truth).read_text(encoding="utf-8")) if args.truth else None
    simulate_to_folder(
        args.out,
        n_consortia=args.consortia,
        n_years=args.years,
        seed=args.seed,
        truth_overrides=overrides,
        fmt=args.format,
    )
    print(
        f"wrote a simulated dataset of {args.consortia} consortia x {args.years} years "
        f"to {args.out}"
    )
    return 0


def _validate(args: argparse.Namespace) -> int:
    """Check a folder against the contract and show what cleaning would set aside.

    Every fault of the folder is reported at once (exit code 2), as is money in a year
    the config's price index lacks; without ``--config`` the project's own config is
    used, wherever the command runs.
    """
    from consortia import runner
    from consortia.clean import clean_dataset

    try:
        config_path = args.config or runner.find_project_dir() / "config" / "config.yaml"
    except FileNotFoundError as error:
        print(f"consortia validate: {error}; or name a config with --config", file=sys.stderr)
        return 2
    config = load_config(config_path, {"dataset": str(args.dataset)})
    try:
        read = io.read_dataset(config["dataset"], config["tables"], config["columns"])
        cleaned = clean_dataset(read.tables, sources=read.files, config=config)
    except io.ContractError as error:
        print(f"contract error: {error}", file=sys.stderr)
        return 2
    except money.PriceIndexGap as error:
        print(f"contract error: {error}", file=sys.stderr)
        return 2
    quality = report.quality_report(
        cleaned, dataset=config["dataset"], absent_tables=read.absent_tables
    )
    print(report.summary_text(quality))
    if len(cleaned.quarantine) and args.show > 0:
        shown = cleaned.quarantine.head(args.show)
        with pd.option_context("display.max_colwidth", 60, "display.width", 200):
            print(
                f"\nfirst {len(shown)} of {len(cleaned.quarantine)} rows that would be set aside:"
            )
            print(shown[["table", "source_row", "rule", "column", "detail"]].to_string(index=False))
    if args.json:
        print(json.dumps(quality, indent=2, default=str))
    return 0


def _ingest_cordis(args: argparse.Namespace) -> int:
    """Write a contract dataset folder from the EC's CORDIS project and organization exports."""
    from consortia.adapters.cordis import CordisFormatError, Selection, ingest_cordis

    cordis_cfg = (load_config(args.config).get("cordis") or {}) if args.config else {}
    selection = Selection.from_config(cordis_cfg.get("selection"))
    encoding = args.encoding or cordis_cfg.get("encoding", "utf-8")
    programme_parts = args.programme_parts or cordis_cfg.get("programme_parts")
    try:
        summary = ingest_cordis(
            args.projects, args.organizations, args.out, selection=selection, encoding=encoding,
            table_format=args.format, programme_parts_path=programme_parts,
        )
    except CordisFormatError as error:
        print(f"CORDIS format error: {error}", file=sys.stderr)
        return 2
    projects, rows = summary["projects"], summary["organization_rows"]
    print(
        f"wrote {projects['written']} projects and {rows['written']} organisation rows to "
        f"{args.out}\n"
        f"  selection: >= {selection.min_participants} distinct participants "
        f"({', '.join(selection.counted_roles)}), a collaborative kind of grant "
        f"({summary['scheme_or_part']['source']}); "
        f"{projects['excluded']} of {projects['read']} projects excluded "
        f"(each with its rule in {args.out / 'excluded_projects.csv'})\n"
        f"  passed to cleaning as found: {json.dumps(summary['passed_to_cleaning'])}\n"
        f"  provenance, mapping, proxy and caveats: {args.out / 'source.json'}"
    )
    return 0


def _run(args: argparse.Namespace) -> int:
    """Run the workflow through Snakemake, showing its progress on one line."""
    from consortia import runner

    extra = list(args.snakemake_args)
    if extra[:1] == ["--"]:
        extra = extra[1:]
    try:
        project_dir = runner.find_project_dir()
    except FileNotFoundError as error:
        print(f"consortia run: {error}", file=sys.stderr)
        return 2
    command = runner.snakemake_command(
        dataset=args.dataset,
        results=args.results,
        configfile=args.configfile,
        cores=args.cores,
        extra=extra,
    )
    return runner.run_workflow(command, project_dir, verbose=args.verbose)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="consortia", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"consortia {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    simulate = commands.add_parser("simulate", help="write a simulated dataset with a known truth")
    simulate.add_argument(
        "out", type=Path, help="folder to write the four tables and truth.json into"
    )
    simulate.add_argument("--consortia", type=int, default=300, help="number of consortia (300)")
    simulate.add_argument("--years", type=int, default=8, help="number of panel years (8)")
    simulate.add_argument("--seed", type=int, default=20251220, help="random seed (20251220)")
    simulate.add_argument(
        "--truth", help="YAML/JSON file overriding parameters of the default truth"
    )
    simulate.add_argument("--format", choices=["csv", "parquet", "xlsx"], default="csv")
    simulate.set_defaults(handler=_simulate)

    validate = commands.add_parser("validate", help="check a dataset folder against the contract")
    validate.add_argument("dataset", type=Path, help="the dataset folder")
    validate.add_argument("--config", type=Path,
                          help="study config giving column maps, units, synonyms (default: the "
                          "project's config/config.yaml, found as `consortia run` finds the "
                          "project)")
    validate.add_argument("--show", type=int, default=20, help="quarantined rows to list (20)")
    validate.add_argument("--json", action="store_true", help="also print the quality report")
    validate.set_defaults(handler=_validate)

    run = commands.add_parser("run", help="run the workflow (Snakemake) with a progress display")
    run.add_argument(
        "--dataset", type=Path, help="dataset folder (default: the config's, the demo)"
    )
    run.add_argument("--results", type=Path, help="folder to write into (default: the config's)")
    run.add_argument("--configfile", type=Path, help="study config on top of config/config.yaml")
    run.add_argument("--cores", default="all", help="cores Snakemake may use (all)")
    run.add_argument("--verbose", action="store_true", help="show Snakemake's whole log")
    run.add_argument("snakemake_args", nargs=argparse.REMAINDER,
                     help="after --, passed to Snakemake unchanged (e.g. -- --dry-run)")
    run.set_defaults(handler=_run)

    ingest = commands.add_parser("ingest", help="turn a public data source into a dataset folder")
    sources = ingest.add_subparsers(dest="source", required=True)
    cordis = sources.add_parser("cordis", help="EU framework-programme projects (CORDIS exports)")
    cordis.add_argument("--projects", type=Path, required=True, help="the EC's project.csv")
    cordis.add_argument("--organizations", type=Path, required=True,
                        help="the EC's organization.csv")
    cordis.add_argument("--out", type=Path, required=True, help="dataset folder to write")
    cordis.add_argument("--config", type=Path,
                        help="config whose cordis block gives the selection (default: the "
                        "adapter's, as in config/cordis.yaml)")
    cordis.add_argument("--programme-parts", type=Path,
                        help="programme-parts file (projectID;programmePart), for an export "
                        "without funding schemes")
    cordis.add_argument("--encoding", help="text encoding of the exports (default utf-8)")
    cordis.add_argument("--format", choices=("csv", "parquet"), default="csv",
                        help="file format of the contract tables written (default csv)")
    cordis.set_defaults(handler=_ingest_cordis)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
