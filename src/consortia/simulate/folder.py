"""Writing a world: the four raw tables (CSV, Parquet or Excel) and ``truth.json``."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pandas as pd

from consortia.contract import TABLES
from consortia.simulate.world import World, simulate_world


def write_world(world: World, out_dir, fmt: str = "csv") -> dict[str, Path]:
    """Write the raw tables (contract column names) and ``truth.json`` into ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {}
    for table in TABLES:
        df = world.raw[table]
        if fmt == "csv":
            path = out / f"{table}.csv"
            df.to_csv(path, index=False, lineterminator="\n", encoding="utf-8")
        elif fmt == "parquet":
            path = out / f"{table}.parquet"
            _parquet_ready(df).to_parquet(path, index=False)
        elif fmt == "xlsx":
            path = out / f"{table}.xlsx"
            df.to_excel(path, index=False, sheet_name=table)
        else:
            raise ValueError(f"unknown format {fmt!r}: use csv, parquet or xlsx")
        for other in ("csv", "parquet", "xlsx"):
            stale = out / f"{table}.{other}"
            if other != fmt and stale.exists():
                stale.unlink()  # one file per table, or discovery would be ambiguous
        paths[table] = path
    truth_path = out / "truth.json"
    # imported here, not with the module: consortia.files imports pyarrow, and importing it
    # before the claims are fitted moves the Monte Carlo batches' last digits (~1e-8)
    from consortia.files import write_json

    write_json(world.truth, truth_path)
    paths["truth"] = truth_path
    return paths


def _parquet_ready(df: pd.DataFrame) -> pd.DataFrame:
    out = df.copy()
    for col in out.columns:
        if out[col].dtype == object:
            kinds = {type(v) for v in out[col] if v is not None and not pd.isna(v)}
            if kinds <= {bool, np.bool_}:
                out[col] = out[col].astype("boolean")
            elif len(kinds) > 1:
                out[col] = out[col].astype("string")
    return out


def simulate_to_folder(
    out_dir,
    n_consortia: int = 300,
    n_years: int = 8,
    seed: int = 20251220,
    truth_overrides: dict | None = None,
    fmt: str = "csv",
    first_year: int = 2016,
    mess=None,
) -> World:
    """``consortia simulate``: draw a world and write it; returns the ``World``.

    ``truth_overrides`` may carry a ``mess`` entry (same form as
    ``simulate_world(mess=...)``) besides parameter overrides.
    """
    overrides = copy.deepcopy(truth_overrides) if truth_overrides else {}
    if "mess" in overrides:
        if mess is not None:
            raise ValueError("mess given both as an argument and in truth_overrides")
        mess = overrides.pop("mess")
    world = simulate_world(
        n_consortia=n_consortia,
        n_years=n_years,
        first_year=first_year,
        seed=seed,
        truth=overrides,
        mess=mess,
    )
    write_world(world, out_dir, fmt=fmt)
    return world
