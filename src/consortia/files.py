"""The small file helpers every stage shares: JSON that is always valid (no NaN), reading a
Parquet file's columns, the stem a rule's table or figure files share, and the versions of
the software that made a result."""

from __future__ import annotations

import functools
import importlib.metadata
import json
import math
import platform
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq


def json_safe(obj: Any) -> Any:
    """The payload with NaN and infinities as None and numpy scalars and arrays as Python
    values, so that it is strict JSON (a reader in any language accepts it)."""
    if isinstance(obj, Mapping):
        return {str(key): json_safe(value) for key, value in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_safe(value) for value in obj]
    if isinstance(obj, np.ndarray):
        return json_safe(obj.tolist())
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        value = float(obj)
        return value if math.isfinite(value) else None
    return obj


def json_text(payload: Any, indent: int | None = 1) -> str:
    return json.dumps(json_safe(payload), indent=indent, ensure_ascii=False, allow_nan=False)


def write_json(payload: Any, path: str | Path) -> None:
    """Strict JSON (see :func:`json_safe`), one-space indent, UTF-8, newline at the end."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json_text(payload) + "\n", encoding="utf-8")


def read_json(path: str | Path) -> Any:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def parquet_columns(path: str | Path) -> list[str]:
    """The column names of a Parquet file (its schema only is read)."""
    return list(pq.read_schema(path).names)


def read_parquet_columns(path: str | Path, wanted: Iterable[str]) -> pd.DataFrame:
    """The columns of a Parquet file that are in ``wanted`` (in the file's order): a step
    that uses a few columns of the panel does not read its forty."""
    wanted = set(wanted)
    return pd.read_parquet(path, columns=[c for c in parquet_columns(path) if c in wanted])


def shared_stem(files: Iterable[str | Path], what: str = "outputs") -> Path:
    """The one stem a set of files shares (``t.csv``, ``t.tex`` → ``t``): where a table or
    figure step writes its formats."""
    files = [str(f) for f in files]
    stems = {str(Path(f).with_suffix("")) for f in files}
    if len(stems) != 1:
        raise ValueError(f"{what} do not share one stem: {sorted(files)}")
    return Path(stems.pop())


def stems_by_name(outputs: Mapping[str, Any]) -> dict[str, Path]:
    """{name: the stem its files share} of a rule's named outputs (Snakemake's named output
    list, or any mapping name -> file or files)."""
    return {
        name: shared_stem(
            [files] if isinstance(files, (str, Path)) else files, f"the outputs {name!r}"
        )
        for name, files in outputs.items()
    }


@functools.lru_cache(maxsize=None)
def _installed_versions(packages: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    versions = []
    for package in packages:
        try:
            versions.append((package, importlib.metadata.version(package)))
        except importlib.metadata.PackageNotFoundError:
            versions.append((package, "absent"))
    return tuple(versions)


def software_versions(packages: Iterable[str], python: bool = False) -> dict[str, str]:
    """{package: installed version} in the order given, "absent" for one not installed,
    with Python's own version first when asked (looked up once per process: it is slow)."""
    versions = {"python": platform.python_version()} if python else {}
    return versions | dict(_installed_versions(tuple(packages)))
