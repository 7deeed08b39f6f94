"""The shared file helpers (consortia.files)."""

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from consortia.files import (
    json_safe,
    parquet_columns,
    read_parquet_columns,
    shared_stem,
    software_versions,
    stems_by_name,
    write_json,
)


def test_json_is_strict_whatever_numpy_and_pandas_hand_it(tmp_path):
    payload = {
        1: np.float64("nan"), "inf": -math.inf, "int": np.int64(3), "flag": np.bool_(True),
        "array": np.array([1.5, np.nan]), "tuple": (np.float32(0.5),),
    }  # fmt: skip
    write_json(payload, tmp_path / "out" / "x.json")
    text = (tmp_path / "out" / "x.json").read_text(encoding="utf-8")
    assert text.endswith("}\n")
    assert json.loads(text) == {
        "1": None, "inf": None, "int": 3, "flag": True, "array": [1.5, None], "tuple": [0.5],
    }  # fmt: skip
    assert json_safe({"a": [np.int32(2)]}) == {"a": [2]}


def test_a_rules_outputs_share_one_stem_per_name():
    assert stems_by_name({"t": ["a/t.csv", "a/t.md"]}) == {"t": Path("a/t")}
    assert stems_by_name({"f": "a/f.png"}) == {"f": Path("a/f")}
    assert shared_stem(["a/t.csv", "a/t.tex"]) == Path("a/t")
    with pytest.raises(ValueError, match="'t' do not share one stem"):
        stems_by_name({"t": ["a/t.csv", "a/u.md"]})


def test_parquet_columns_are_read_in_the_files_order(tmp_path):
    path = tmp_path / "p.parquet"
    pd.DataFrame({"a": [1], "b": [2.0], "c": ["x"]}).to_parquet(path)
    assert parquet_columns(path) == ["a", "b", "c"]
    assert list(read_parquet_columns(path, ["c", "a", "absent"]).columns) == ["a", "c"]


def test_software_versions_keep_the_order_asked_for():
    versions = software_versions(["pandas", "numpy", "no-such-package-xyz"], python=True)
    assert list(versions) == ["python", "pandas", "numpy", "no-such-package-xyz"]
    assert versions["pandas"] == pd.__version__
    assert versions["no-such-package-xyz"] == "absent"
